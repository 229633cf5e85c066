"""Write the course's QuickDraw datasets (layout in data/quickdraw/README.md).

Each dataset is built in a temporary folder beside its target and moved into place only
when complete, so an interrupted run never leaves half a dataset. Every file is
byte-identical for the same seed, secret, spec and source data (see files.py), and
MANIFEST.json records the parameters and every file's sha256.
A dataset whose MANIFEST.json matches the requested parameters and whose files match
their hashes is left alone ("up to date").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from autograder.errors import UserError
from autograder.quickdraw.files import lines, sha256_file, write_labeled, write_npz, write_text, write_unlabeled
from autograder.quickdraw.jitter import jitter_unlike
from autograder.quickdraw.secret import Secret, resolve_secret, store_secret
from autograder.quickdraw.selection import allocate, image_digests, seeded_rng, source_fingerprint
from autograder.quickdraw.sources import Source
from autograder.quickdraw.spec import DatasetSpec, Spec, load_spec

FORMAT = 2
MANIFEST = "MANIFEST.json"
INSTRUCTOR = "instructor"
# What may sit in the output folder besides the datasets (data/quickdraw/ in the repo).
KNOWN_ENTRIES = {INSTRUCTOR, "cache", "README.md", "datasets.json", ".gitignore", ".gitkeep"}
TEMP = re.compile(r"^\.[\w.]+\.tmp-(\d+)-[0-9a-f]+$")


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
    if out_root.exists() and not out_root.is_dir():
        raise UserError(f"output {out_root} exists and is not a folder")
    if out_root.is_dir():
        _remove_stale_temps(out_root)
        if not force:
            _refuse_foreign_entries(out_root, spec)

    key = resolve_secret(out_root / INSTRUCTOR, secret)
    arrays = {name: source.load(name, progress=progress) for name in spec.all_classes()}
    rows = allocate(spec, arrays, seed, key)
    fingerprint = source_fingerprint(arrays)
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
        state = _state(out_root, dataset, params, key)
        if state not in ("current", "build") and not force:
            raise UserError(
                f"cannot prepare '{dataset.name}' in {out_root}: {state}; pass --force to replace "
                f"it (--force replaces only {dataset.name}/ and its files in {INSTRUCTOR}/)"
            )
        plans.append((dataset, params, state))

    out_root.mkdir(parents=True, exist_ok=True)
    if any(state != "current" for _, _, state in plans):
        store_secret(key)
    public = {d for images in arrays.values() for d in image_digests(images)}
    results = []
    for dataset, params, state in plans:
        if state == "current":
            results.append(_describe(dataset, out_root, "up to date", key))
            continue
        tmp = out_root / f".{dataset.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            draw = Draw(seed, key, public)
            _build(dataset, arrays, rows[dataset.name], draw, params, tmp, progress)
            _commit(tmp, out_root, dataset)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results.append(_describe(dataset, out_root, "prepared", key))
    return results


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
    write_text(instructor / MANIFEST, json.dumps(_instructor_entry(params, draw.secret, hidden)))


def _write_opaque(dataset, split, ids, images, labels, folder, instructor, files, hidden, bar) -> None:
    """The hidden-label split (released, labels to the instructor) or the verification split
    (laid out like the released test split, but in ``instructor/<name>_<split>/``)."""
    if split == dataset.hidden_labels:
        written, order = write_unlabeled(folder, split, ids, images, bar)
        files.update(written)
        public = _public_mask(labels, dataset.public_fraction)
        sample = ["id,label"] + [f"{ids[k]},0" for k in order]
        files["sample_submission.csv"] = write_text(folder / "sample_submission.csv", lines(sample))
        label_rows = ["id,label,split"] + [
            f"{ids[k]},{labels[k]},{'public' if public[k] else 'private'}" for k in order
        ]
    else:
        target = f"{dataset.name}_{split}"
        written, order = write_unlabeled(instructor / target, dataset.hidden_labels, ids, images, bar)
        hidden.update({f"{target}/{name}": digest for name, digest in written.items()})
        label_rows = ["id,label"] + [f"{ids[k]},{labels[k]}" for k in order]
    file = f"{dataset.name}_{'labels' if split == dataset.hidden_labels else split + '_labels'}.csv"
    hidden[file] = write_text(instructor / file, lines(label_rows))


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


# ---- state of an existing output -------------------------------------------------------


def _params_id(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _instructor_params_id(params: dict, secret: Secret) -> str:
    return _params_id({**params, "secret_id": secret.id})


def _instructor_entry(params: dict, secret: Secret, files: dict[str, str]) -> dict:
    return {"paramssha256_file": _instructor_params_id(params, secret), "files": dict(sorted(files.items()))}


def _expected_instructor_files(dataset: DatasetSpec) -> list[str]:
    """The dataset's entries in instructor/ (files, and the verification folder)."""
    files = [f"{dataset.name}_{split}.npz" for split in dataset.instructor_only]
    if dataset.hidden_labels:
        files.append(f"{dataset.name}_labels.csv")
    if dataset.verification:
        files += [f"{dataset.name}_{dataset.verification}", f"{dataset.name}_{dataset.verification}_labels.csv"]
    return sorted(files)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _state(out_root: Path, dataset: DatasetSpec, params: dict, secret: Secret) -> str:
    """"current", "build" (nothing in the way), or why the existing output may not be replaced."""
    folder = _folder_state(out_root / dataset.name, params)
    instructor = _instructor_state(out_root / INSTRUCTOR, dataset, params, secret)
    for state in (folder, instructor):
        if state not in ("current", "absent"):
            return state
    return "current" if folder == instructor == "current" else "build"


def _folder_state(folder: Path, params: dict) -> str:
    """"absent", "current" or the reason the dataset folder is in the way."""
    if not folder.exists() and not folder.is_symlink():
        return "absent"
    if not folder.is_dir() or folder.is_symlink():
        return f"{folder} exists and is not a folder"
    manifest = _read_json(folder / MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        if not any(folder.iterdir()):
            return "absent"
        return f"{folder} holds other data (no {MANIFEST} from this tool)"
    old = {key: manifest.get(key) for key in params}
    if old != params:
        changed = ", ".join(k for k in params if old[k] != params[k])
        return f"{folder} was prepared with different parameters (changed: {changed})"
    present = {
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()
    } - {MANIFEST}
    expected = manifest["files"]
    if extra := sorted(present - set(expected)):
        return f"{folder} holds files not in its {MANIFEST} (e.g. {extra[0]})"
    if missing := sorted(set(expected) - present):
        return f"{folder} is missing {missing[0]}"
    for name, digest in expected.items():
        if sha256_file(folder / name) != digest:
            return f"{folder}/{name} was changed since it was prepared"
    return "current"


def _instructor_state(instructor: Path, dataset: DatasetSpec, params: dict, secret: Secret) -> str:
    """"absent", "current" or the reason the dataset's instructor files are in the way."""
    expected = _expected_instructor_files(dataset)
    if not expected:
        return "current"
    present = [name for name in expected if (instructor / name).exists()]
    if not present:
        return "absent"
    manifest = _read_json(instructor / MANIFEST)
    entry = manifest.get(dataset.name) if isinstance(manifest, dict) else None
    if not isinstance(entry, dict):
        return f"{instructor / present[0]} was not made by this tool"
    if entry.get("paramssha256_file") != _instructor_params_id(params, secret):
        return f"{instructor / present[0]} was prepared with different parameters or another secret"
    files = entry.get("files") or {}
    for top in present:
        path = instructor / top
        listed = {name for name in files if name == top or name.startswith(top + "/")}
        on_disk = {top} if not path.is_dir() else {
            f"{top}/{p.relative_to(path).as_posix()}" for p in path.rglob("*") if not p.is_dir()
        }
        if listed != on_disk or any(files[name] != sha256_file(instructor / name) for name in listed):
            return f"{path} was changed since it was prepared"
    return "current" if len(present) == len(expected) else "absent"


def _refuse_foreign_entries(out_root: Path, spec: Spec) -> None:
    """Stop when the output folder holds things this tool did not make."""
    allowed = KNOWN_ENTRIES | set(spec.names())
    foreign = sorted(p.name for p in out_root.iterdir() if p.name not in allowed)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise UserError(
            f"output folder {out_root} holds other data ({shown}); choose an empty or new folder "
            f"with --out, or pass --force to write there anyway (it replaces only the dataset "
            f"folders {', '.join(spec.names())} and their files in {INSTRUCTOR}/)"
        )


def _remove_stale_temps(out_root: Path) -> None:
    """Delete temporary folders/files left by prepare runs that were killed."""
    for folder in (out_root, out_root / INSTRUCTOR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = TEMP.match(path.name)
            if match and not _alive(int(match.group(1))):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---- moving a finished build into place ------------------------------------------------


def _commit(tmp: Path, out_root: Path, dataset: DatasetSpec) -> None:
    """Move the instructor files, then the dataset folder, from ``tmp`` into ``out_root``."""
    instructor = out_root / INSTRUCTOR
    instructor.mkdir(exist_ok=True)
    entry = json.loads((tmp / INSTRUCTOR / MANIFEST).read_text())
    manifest = _read_json(instructor / MANIFEST)
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
    instructor = [f"{INSTRUCTOR}/{f}" for f in _expected_instructor_files(dataset)]
    return Result(dataset.name, out_root / dataset.name, status, dataset.classes, splits, instructor, secret)
