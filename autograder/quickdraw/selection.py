"""Which source drawings each dataset gets: deduplication and the seeded per-class permutation.

Every class is deduplicated by content (sha256 of its 784 bytes): within a class only the
first copy of an image is kept, and an image found in two classes is dropped from both
(its label would be ambiguous). The remaining rows are permuted with a generator seeded
by (seed, class name) alone, so a dataset's drawings do not depend on which other
datasets are prepared. Datasets that take the "front" get consecutive slices from the
start of each permutation, "back" datasets from the end; they never overlap.
"""

from __future__ import annotations

import hashlib

import numpy as np

from autograder.errors import UserError
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


def allocate(spec: Spec, arrays: dict[str, np.ndarray], seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Source row indices per dataset and class (``per_class`` rows each, in permutation order)."""
    kept = distinct_rows(arrays)
    chosen: dict[str, dict[str, np.ndarray]] = {d.name: {} for d in spec.datasets}
    for name in spec.all_classes():
        order = kept[name][seeded_rng(seed, name).permutation(len(kept[name]))]
        users = [d for d in spec.datasets if name in d.classes]
        needed = sum(d.per_class for d in users)
        if needed > len(order):
            dropped = len(arrays[name]) - len(order)
            detail = " + ".join(f"{d.per_class} ({d.name})" for d in users)
            raise UserError(
                f"class '{name}' has only {len(order)} distinct drawings"
                + (f" ({dropped} duplicate{'s' * (dropped > 1)} dropped)" if dropped else "")
                + f" but the datasets need {needed} = {detail}; lower the counts in the spec or "
                "use a source with more drawings"
            )
        start, end = 0, len(order)
        for dataset in users:
            n = dataset.per_class
            if dataset.take == "front":
                chosen[dataset.name][name] = order[start : start + n]
                start += n
            else:
                chosen[dataset.name][name] = order[end - n : end]
                end -= n
    return chosen
