"""Write the course's QuickDraw datasets (layout in data/quickdraw/README.md).

Each dataset is built in a temporary folder beside its target and moved into place only
when complete, so an interrupted run never leaves half a dataset. Every file is
byte-identical for the same seed, secret, spec and source data (see files.py), and
MANIFEST.json records the parameters and every file's sha256.
A dataset whose MANIFEST.json matches the requested parameters and whose files match
their hashes is left alone ("up to date"; output_state.py decides).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from autograder.errors import UserError
from autograder.quickdraw.files import lines, write_labeled, write_npz, write_text, write_unlabeled
from autograder.quickdraw.jitter import jitter_unlike
from autograder.quickdraw.output_state import (
    INSTRUCTOR,
    MANIFEST,
    PRIVATE_SET,
    dataset_state,
    expected_instructor_files,
    instructor_entry,
    read_json,
    refuse_foreign_entries,
    remove_stale_temps,
)
from autograder.quickdraw.secret import Secret, resolve_secret, store_secret
from autograder.quickdraw.selection import allocate, image_digests, seeded_rng, source_fingerprint
from autograder.quickdraw.sources import Source
from autograder.quickdraw.spec import DatasetSpec, Spec, load_spec

FORMAT = 2


@dataclass
class SplitInfo:
    """One split as written: how many images and in what form."""

    name: str
    count: int
    kind: str  # "labeled", "unlabeled" (labels in instructor/) or "instructor" (whole split hidden)
    public: int = 0


@dataclass
class Result:
    """What ``prepare`` did for one dataset."""

    name: str
    path: Path
    status: str  # "prepared" or "up to date"
    classes: tuple[str, ...]
    splits: list[SplitInfo] = field(default_factory=list)
    instructor_files: list[str] = field(default_factory=list)
    secret: Secret | None = None


def prepare_datasets(
    names: list[str],
    out_root: str | Path,
    source: Source | str | Path,
    seed: int | None = None,
    spec: Spec | str | Path | None = None,
    force: bool = False,
    progress: bool | None = None,
    secret: bytes | str | Path | None = None,
) -> list[Result]:
    """Prepare the named datasets of ``spec`` (default data/quickdraw/datasets.json) under ``out_root``.

    ``seed`` defaults to the spec's seed (2019) and draws what students receive. ``secret``
    draws everything instructor-only: a key (bytes), a secret file, or None for
    ``OUT/instructor/secret`` (created on first use); see :mod:`autograder.quickdraw.secret`.
    Raises UserError when the output folder holds anything not made by this tool with the
    same parameters, unless ``force``.
    """
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    seed = spec.seed if seed is None else seed
    if not isinstance(source, Source):
        source = Source(Path(source).resolve(), "given folder")
    datasets = [spec.get(name) for name in names]
    out_root = Path(out_root)
    _check_output_folder(out_root, spec, force)
    key = resolve_secret(out_root / INSTRUCTOR, secret)
    arrays = {name: source.load(name, progress=progress) for name in spec.all_classes()}
    rows = allocate(spec, arrays, seed, key)
    plans = _plans(datasets, spec, out_root, seed, key, source_fingerprint(arrays), force)
    out_root.mkdir(parents=True, exist_ok=True)
    if any(state != "current" for _, _, state in plans):
        store_secret(key)
    public = {d for images in arrays.values() for d in image_digests(images)}
    results = []
    for dataset, params, state in plans:
        if state == "current":
            results.append(_describe(dataset, out_root, "up to date", key))
            continue
        _build_in_place(dataset, arrays, rows[dataset.name], Draw(seed, key, public), params, out_root, progress)
        results.append(_describe(dataset, out_root, "prepared", key))
    return results


def _check_output_folder(out_root: Path, spec: Spec, force: bool) -> None:
    """Refuse an output that is not a folder; delete what killed runs left; unless ``force``, refuse
    a folder holding anything this tool did not make."""
    if out_root.exists() and not out_root.is_dir():
        raise UserError(f"output {out_root} exists and is not a folder")
    if out_root.is_dir():
        remove_stale_temps(out_root)
        if not force:
            refuse_foreign_entries(out_root, spec)


def _plans(datasets: list[DatasetSpec], spec: Spec, out_root: Path, seed: int, key: Secret, fingerprint,
           force: bool) -> list[tuple[DatasetSpec, dict, str]]:
    """Each dataset with its parameters and the state of its existing output (see
    :func:`~autograder.quickdraw.output_state.dataset_state`); UserError when an output is in the
    way, unless ``force``."""
    plans = []
    for dataset in datasets:
        params = {
            "format": FORMAT,
            "dataset": dataset.name,
            "seed": seed,
            "spec": dataset.as_dict(),
            "dedup_classes": spec.all_classes(),
            "source": fingerprint,
        }
        if dataset.hidden_labels or dataset.verification:  # its released test images are secret draws
            params["secret_id"] = key.id
        state = dataset_state(out_root, dataset, params, key)
        if state not in ("current", "build") and not force:
            raise UserError(
                f"cannot prepare '{dataset.name}' in {out_root}: {state}; pass --force to replace "
                f"it (--force replaces only {dataset.name}/ and its files in {INSTRUCTOR}/)"
            )
        plans.append((dataset, params, state))
    return plans


def _build_in_place(dataset: DatasetSpec, arrays, rows, draw: Draw, params: dict, out_root: Path, progress) -> None:
    """Build the dataset in a temporary folder beside its target, then move it into place."""
    tmp = out_root / f".{dataset.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        _build(dataset, arrays, rows, draw, params, tmp, progress)
        _commit(tmp, out_root, dataset)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_dataset(name: str, out_root, source, seed: int | None = None, **options) -> Result:
    """Prepare one dataset (``homework`` or ``competition``); see :func:`prepare_datasets`."""
    return prepare_datasets([name], out_root, source, seed, **options)[0]


def prepare_all(out_root, source, seed: int | None = None, **options) -> list[Result]:
    """Prepare every dataset of the spec; see :func:`prepare_datasets`."""
    spec = options.pop("spec", None)
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    return prepare_datasets(spec.names(), out_root, source, seed, spec=spec, **options)


# ---- building --------------------------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    """The randomness of one prepare run: the public seed, the secret, the public drawings."""

    seed: int
    secret: Secret
    public: set[bytes]  # sha256 of every source drawing (a jittered image must differ from all)

    def rng(self, dataset: DatasetSpec, split: str) -> np.random.Generator:
        """The split's generator: the secret's for secret splits, else the public seed's."""
        if split in dataset.secret_splits:
            return self.secret.rng(dataset.name, split)
        return seeded_rng(self.seed, dataset.name, split)


def _build(dataset: DatasetSpec, arrays, rows, draw: Draw, params, tmp: Path, progress) -> None:
    """Write the dataset folder and its instructor files into ``tmp``."""
    folder, instructor = tmp / dataset.name, tmp / INSTRUCTOR
    folder.mkdir(parents=True)
    instructor.mkdir()
    files = {"classes.txt": write_text(folder / "classes.txt", "".join(c + "\n" for c in dataset.classes))}
    hidden: dict[str, str] = {}
    n_classes = len(dataset.classes)
    opaque = [s for s in (dataset.hidden_labels, dataset.verification) if s]
    ids = _opaque_ids(draw.secret.rng(dataset.name, "ids"), n_classes * sum(dict(dataset.splits)[s] for s in opaque))
    written = sum(n for s, n in dataset.splits if s not in dataset.instructor_only)
    bar = tqdm(total=written * n_classes, desc=dataset.name, unit="img",
               disable=None if progress is None else not progress)
    with bar:
        for split, _ in dataset.splits:
            rng = draw.rng(dataset, split)
            items = [(label, int(i)) for label, name in enumerate(dataset.classes) for i in rows[name][split]]
            items = [items[i] for i in rng.permutation(len(items))]
            labels = np.array([label for label, _ in items], dtype=np.int64)
            images = np.stack([arrays[dataset.classes[label]][i] for label, i in items])
            if dataset.jitter:
                images = jitter_unlike(images, rng, draw.public)
            if split in dataset.instructor_only:
                file = f"{dataset.name}_{split}.npz"
                hidden[file] = write_npz(instructor / file, images=images, labels=labels)
            elif split in opaque:
                split_ids, ids = ids[: len(items)], ids[len(items) :]
                _write_opaque(dataset, split, split_ids, images, labels, folder, instructor, files, hidden, bar)
            else:
                files.update(write_labeled(folder, split, images, labels, bar))

    manifest = {**params, "files": dict(sorted(files.items()))}
    write_text(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    write_text(instructor / MANIFEST, json.dumps(instructor_entry(params, draw.secret, hidden)))


def _write_opaque(dataset, split, ids, images, labels, folder, instructor, files, hidden, bar) -> None:
    """The hidden-label split (its public half released, its private half laid out like it in
    ``instructor/<name>_private/``, all labels to the instructor) or the verification split (laid
    out like the released test split, in ``instructor/<name>_<split>/``)."""
    if split != dataset.hidden_labels:
        _write_instructor_set(dataset, split, ids, images, labels, instructor, hidden, bar)
        return
    public = _public_mask(labels, dataset.public_fraction)
    shown = np.flatnonzero(public)
    written, order = write_unlabeled(folder, split, [ids[k] for k in shown], images[shown], bar)
    files.update(written)
    sample = ["id,label"] + [f"{ids[shown[k]]},0" for k in order]
    files["sample_submission.csv"] = write_text(folder / "sample_submission.csv", lines(sample))
    kept = np.flatnonzero(~public)  # the private half: only ever read by `leaderboard close`'s re-runs
    _write_instructor_set(dataset, PRIVATE_SET, [ids[k] for k in kept], images[kept], labels[kept],
                          instructor, hidden, bar)
    order = np.argsort(ids)
    label_rows = ["id,label,split"] + [
        f"{ids[k]},{labels[k]},{'public' if public[k] else 'private'}" for k in order
    ]
    hidden[f"{dataset.name}_labels.csv"] = write_text(instructor / f"{dataset.name}_labels.csv", lines(label_rows))


def _write_instructor_set(dataset, name, ids, images, labels, instructor, hidden, bar) -> None:
    """``instructor/<dataset>_<name>/`` laid out like the released test folder, and its
    ``<dataset>_<name>_labels.csv`` (id,label): the verification set and the private half."""
    target = f"{dataset.name}_{name}"
    written, order = write_unlabeled(instructor / target, dataset.hidden_labels, ids, images, bar)
    hidden.update({f"{target}/{file}": digest for file, digest in written.items()})
    label_rows = ["id,label"] + [f"{ids[k]},{labels[k]}" for k in order]
    hidden[f"{target}_labels.csv"] = write_text(instructor / f"{target}_labels.csv", lines(label_rows))


def _opaque_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct random ids like ``q04711`` (the number of digits grows with n)."""
    digits = max(5, len(str(20 * n)))
    return [f"q{k:0{digits}d}" for k in rng.choice(10**digits, size=n, replace=False)]


def _public_mask(labels: np.ndarray, fraction: float) -> np.ndarray:
    """Per class, the first ``round(fraction * count)`` (already shuffled) items are public."""
    public = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        public[where[: int(round(fraction * len(where)))]] = True
    return public


# ---- moving a finished build into place ------------------------------------------------


def _commit(tmp: Path, out_root: Path, dataset: DatasetSpec) -> None:
    """Move the instructor files, then the dataset folder, from ``tmp`` into ``out_root``."""
    instructor = out_root / INSTRUCTOR
    instructor.mkdir(exist_ok=True)
    entry = json.loads((tmp / INSTRUCTOR / MANIFEST).read_text())
    manifest = read_json(instructor / MANIFEST)
    manifest = manifest if isinstance(manifest, dict) else {}
    old = {name.split("/")[0] for name in (manifest.get(dataset.name) or {}).get("files") or {}}
    new = {name.split("/")[0] for name in entry["files"]}
    for name in sorted(new):  # a folder (the verification set) is replaced as a whole
        if (instructor / name).is_dir() and not (instructor / name).is_symlink():
            os.rename(instructor / name, tmp / f"replaced-{name}")
        os.replace(tmp / INSTRUCTOR / name, instructor / name)
    for name in sorted(old - new):
        if name.startswith(f"{dataset.name}_"):
            if (instructor / name).is_dir() and not (instructor / name).is_symlink():
                shutil.rmtree(instructor / name)
            else:
                (instructor / name).unlink(missing_ok=True)
    if entry["files"]:
        manifest[dataset.name] = entry
    else:
        manifest.pop(dataset.name, None)
    staged = instructor / f".{MANIFEST}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    staged.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staged, instructor / MANIFEST)

    target = out_root / dataset.name
    if target.exists() or target.is_symlink():
        os.rename(target, tmp / "replaced")
    os.rename(tmp / dataset.name, target)


def _describe(dataset: DatasetSpec, out_root: Path, status: str, secret: Secret) -> Result:
    """Summarise a dataset for printing."""
    n = len(dataset.classes)
    splits = []
    for split, per_class in dataset.splits:
        if split in dataset.instructor_only or split == dataset.verification:
            kind = "instructor"
        elif split == dataset.hidden_labels:
            kind = "unlabeled"
        else:
            kind = "labeled"
        public = n * int(round(dataset.public_fraction * per_class)) if kind == "unlabeled" else 0
        splits.append(SplitInfo(split, per_class * n, kind, public))
    instructor = [f"{INSTRUCTOR}/{f}" for f in expected_instructor_files(dataset)]
    return Result(dataset.name, out_root / dataset.name, status, dataset.classes, splits, instructor, secret)
