"""Whether a prepared dataset is already there and whether anything else is in the way.

A dataset folder is "current" when its MANIFEST.json records the requested parameters and every
file still has its recorded sha256; its instructor files are checked the same way against the
entry for the dataset in ``instructor/MANIFEST.json``, whose parameters include the secret's id.
Anything else in the output folder (another tool's data, a changed file, a left-over temporary
folder of a killed run) is reported or cleaned here, never silently overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from autograder.errors import UserError
from autograder.quickdraw.files import sha256_file
from autograder.quickdraw.secret import Secret
from autograder.quickdraw.spec import DatasetSpec, Spec
from autograder.sandbox.procfs import is_running

MANIFEST = "MANIFEST.json"
INSTRUCTOR = "instructor"
PRIVATE_SET = "private"  # instructor/<dataset>_private/: the hidden-label split's private half, never released
# What may sit in the output folder besides the datasets (data/quickdraw/ in the repo).
KNOWN_ENTRIES = {INSTRUCTOR, "cache", "README.md", "datasets.json", "datasets-2019.json", ".gitignore", ".gitkeep"}
TEMP = re.compile(r"^\.[\w.]+\.tmp-(\d+)-[0-9a-f]+$")


def _params_id(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def instructor_params_id(params: dict, secret: Secret) -> str:
    """The id of a dataset's instructor files: its parameters together with the secret's id."""
    return _params_id({**params, "secret_id": secret.id})


def instructor_entry(params: dict, secret: Secret, files: dict[str, str]) -> dict:
    """The dataset's entry in ``instructor/MANIFEST.json``: its parameters' id and its files' sha256."""
    return {"paramssha256_file": instructor_params_id(params, secret), "files": dict(sorted(files.items()))}


def expected_instructor_files(dataset: DatasetSpec) -> list[str]:
    """The dataset's entries in instructor/ (files, and the verification folder)."""
    files = [f"{dataset.name}_{split}.npz" for split in dataset.instructor_only]
    if dataset.hidden_labels:
        private = f"{dataset.name}_{PRIVATE_SET}"
        files += [f"{dataset.name}_labels.csv", private, f"{private}_labels.csv"]
    if dataset.verification:
        files += [f"{dataset.name}_{dataset.verification}", f"{dataset.name}_{dataset.verification}_labels.csv"]
    return sorted(files)


def read_json(path: Path):
    """The JSON in ``path``, or None when it is missing or not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def dataset_state(out_root: Path, dataset: DatasetSpec, params: dict, secret: Secret) -> str:
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
    manifest = read_json(folder / MANIFEST)
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
    expected = expected_instructor_files(dataset)
    if not expected:
        return "current"
    present = [name for name in expected if (instructor / name).exists()]
    if not present:
        return "absent"
    manifest = read_json(instructor / MANIFEST)
    entry = manifest.get(dataset.name) if isinstance(manifest, dict) else None
    if not isinstance(entry, dict):
        return f"{instructor / present[0]} was not made by this tool"
    if entry.get("paramssha256_file") != instructor_params_id(params, secret):
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


def refuse_foreign_entries(out_root: Path, spec: Spec) -> None:
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


def remove_stale_temps(out_root: Path) -> None:
    """Delete temporary folders/files left by prepare runs that were killed."""
    for folder in (out_root, out_root / INSTRUCTOR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = TEMP.match(path.name)
            if match and not is_running(int(match.group(1))):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
