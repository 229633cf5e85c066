"""Which source drawings each dataset gets: deduplication, the public and the secret draw.

Every class is deduplicated by content (sha256 of its 784 bytes): within a class only the
first copy of an image is kept, and an image found in two classes is dropped from both
(its label would be ambiguous). The remaining rows are permuted with a generator seeded
by (seed, class name) alone. The released splits of datasets that take the "front" are
consecutive slices from the start of each permutation, those of "back" datasets from the
end; they never overlap. The secret splits (held-out, hidden-label and verification
splits) are drawn with the instructor's secret from everything the released splits leave.
"""

from __future__ import annotations

import hashlib

import numpy as np

from autograder.errors import UserError
from autograder.quickdraw.secret import Secret
from autograder.quickdraw.spec import Spec


def seeded_rng(seed: int, *words: str) -> np.random.Generator:
    """A generator determined by ``seed`` and the given words (class or dataset names)."""
    keys = [int.from_bytes(hashlib.sha256(w.encode()).digest()[:8], "big") for w in words]
    return np.random.default_rng([seed, *keys])


def image_digests(images: np.ndarray) -> list[bytes]:
    """sha256 of each image's raw bytes."""
    return [hashlib.sha256(image.tobytes()).digest() for image in images]


def distinct_rows(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Row indices to use per class: first copy within a class, none shared between classes."""
    first: dict[str, dict[bytes, int]] = {}
    owners: dict[bytes, int] = {}
    for name in sorted(arrays):
        rows: dict[bytes, int] = {}
        for index, digest in enumerate(image_digests(arrays[name])):
            if digest not in rows:
                rows[digest] = index
                owners[digest] = owners.get(digest, 0) + 1
        first[name] = rows
    return {
        name: np.array(sorted(i for d, i in rows.items() if owners[d] == 1), dtype=np.int64)
        for name, rows in first.items()
    }


def source_fingerprint(arrays: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per class: number of drawings and sha256 of the whole array (recorded in manifests)."""
    return {
        name: {"drawings": len(a), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
        for name, a in sorted(arrays.items())
    }


def allocate(
    spec: Spec, arrays: dict[str, np.ndarray], seed: int, secret: Secret
) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """Source row indices per dataset, class and split (``{dataset: {class: {split: rows}}}``).

    Released splits come from each dataset's slice (front or back) of the public permutation,
    cut in spec order. Secret splits are drawn with the instructor's secret from every
    drawing of the class that no released split uses, so the public seed does not tell
    which drawings they hold.
    """
    kept = distinct_rows(arrays)
    chosen: dict[str, dict[str, dict[str, np.ndarray]]] = {d.name: {} for d in spec.datasets}
    for name in spec.all_classes():
        order = kept[name][seeded_rng(seed, name).permutation(len(kept[name]))]
        users = [d for d in spec.datasets if name in d.classes]
        _check_capacity(name, users, len(order), len(arrays[name]) - len(order))
        used = np.zeros(len(order), dtype=bool)
        start, end = 0, len(order)
        for dataset in users:
            n = dataset.released_per_class
            if dataset.take == "front":
                where, start = slice(start, start + n), start + n
            else:
                where, end = slice(end - n, end), end - n
            used[where] = True
            released = [(s, k) for s, k in dataset.splits if s not in dataset.secret_splits]
            chosen[dataset.name][name] = _cut(order[where], released)
        rest = order[~used]
        rest = rest[secret.rng("draw", name).permutation(len(rest))]
        for dataset in users:
            hidden = [(s, k) for s, k in dataset.splits if s in dataset.secret_splits]
            taken = sum(k for _, k in hidden)
            chosen[dataset.name][name].update(_cut(rest[:taken], hidden))
            rest = rest[taken:]
    return chosen


def _cut(rows: np.ndarray, splits: list[tuple[str, int]]) -> dict[str, np.ndarray]:
    """Consecutive pieces of ``rows``, one per (split, count)."""
    pieces, start = {}, 0
    for split, n in splits:
        pieces[split] = rows[start : start + n]
        start += n
    return pieces


def _check_capacity(name: str, users: list, distinct: int, dropped: int) -> None:
    """A one-line error when a class has fewer distinct drawings than its datasets need."""
    needed = sum(d.per_class for d in users)
    if needed > distinct:
        detail = " + ".join(f"{d.per_class} ({d.name})" for d in users)
        raise UserError(
            f"class '{name}' has only {distinct} distinct drawings"
            + (f" ({dropped} duplicate{'s' * (dropped > 1)} dropped)" if dropped else "")
            + f" but the datasets need {needed} = {detail}; lower the counts in the spec or "
            "use a source with more drawings"
        )
