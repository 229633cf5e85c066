"""What each graded assignment needs, read from its one description: ``autograder/checks/<name>/``.

That folder holds the hidden checks and ``assignment.toml`` (the datasets the notebook is given and
the splits of them it reads, whether the prelude seeds torch, the sandbox's limits, the graded
interface); the points are the solution notebook's (:mod:`autograder.grading.points`). An
assignment without hidden checks (the competition's starter notebook) may be described there too,
with ``hidden_checks = false``: then it says only what its notebook reads and is never graded by
checks. One name leads to everything: ``solutions/<name>/<name>.ipynb`` (the reference),
``assignments/<name>/`` (what students got) and ``autograder/checks/<name>/`` (never released,
never in a sandbox). Assignments are found by scanning that folder; a checks folder without a
valid ``assignment.toml`` is an error, never graded some other way. The keys are described in
``autograder/checks/README.md``.
"""

from __future__ import annotations

import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from autograder import paths
from autograder.errors import UserError
from autograder.sandbox.bwrap import Mount
from autograder.sandbox.limits import Limits

CHECKS_ROOT = Path(__file__).resolve().parent.parent / "checks"
DESCRIPTION_FILE = "assignment.toml"
CHECK_FILES = ("test_*.py", "check_*.py")  # as in CHECKS_ROOT/pytest.ini
# Environment variable -> prepared QuickDraw dataset the notebook reads through it.
DATA_ENV = {"homework": "QUICKDRAW_HOMEWORK", "competition": "QUICKDRAW_COMPETITION"}
DATA_FOLDER = "data"  # datasets sit at data/<dataset> beside the notebook: in the sandbox and in the data zip
SPLIT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_LIMIT_TYPES = typing.get_type_hints(Limits)


@dataclass(frozen=True)
class AssignmentSpec:
    """How to grade one assignment (read from its ``assignment.toml`` by :func:`load_assignment`)."""

    name: str
    checks_dir: Path  # folder of the hidden checks and their assignment.toml
    datasets: tuple[str, ...] = ()  # prepared QuickDraw datasets shown read-only in the sandbox
    # dataset -> the splits of it the notebook reads (absent: every split prepared in its folder)
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    hidden_checks: bool = True  # False: described only for what its notebook reads; never graded by checks
    uses_torch: bool = True  # the prelude seeds torch too
    limits: Limits = field(default_factory=Limits)
    interface: dict[str, str] = field(default_factory=dict, hash=False)  # "name" or "Class.method" -> signature
    order: int | None = None  # place in the course (listings follow it; unnumbered ones last, by name)

    def solution_notebook(self, root: Path | None = None) -> Path:
        """The reference solution (nbgrader's source notebook)."""
        root = root or paths.course_root()
        return root / "solutions" / self.name / f"{self.name}.ipynb"

    def release_folder(self, root: Path | None = None) -> Path:
        """The released assignment folder (what students got)."""
        root = root or paths.course_root()
        return root / "assignments" / self.name

    def release_notebook(self, root: Path | None = None) -> Path:
        """The released (blank) notebook."""
        return self.release_folder(root) / f"{self.name}.ipynb"

    def mounts(self, root: Path | None, data_root: Path) -> list[Mount]:
        """Everything the sandbox gets: files released beside the notebook and the datasets."""
        mounts = [Mount(path, path.name) for path in beside_notebook(self.release_folder(root))]
        for dataset in self.datasets:
            mounts.append(Mount(self.dataset_folder(dataset, data_root), self.data_folder(dataset)))
        return mounts

    def dataset_folder(self, dataset: str, data_root: Path) -> Path:
        """The prepared ``dataset`` under ``data_root``; a clear error when it is not prepared."""
        folder = Path(data_root) / dataset
        if not (folder / "classes.txt").is_file():
            raise UserError(f"{self.name} needs the prepared QuickDraw {dataset!r} data in {folder}; "
                            "run `autograder data quickdraw prepare all` (or pass --data DIR)")
        return folder

    def env(self) -> dict[str, str]:
        """Environment variables telling the notebook where its data is ({home} = working dir)."""
        return {DATA_ENV[d]: "{home}/" + self.data_folder(d) for d in self.datasets}

    @staticmethod
    def data_folder(dataset: str) -> str:
        """Where ``dataset`` sits relative to the notebook (``data/<dataset>``)."""
        return f"{DATA_FOLDER}/{dataset}"


def beside_notebook(release: Path) -> list[Path]:
    """The files released beside the notebooks in ``release`` (the folder's other plain files)."""
    if not release.is_dir():
        return []
    return [path for path in sorted(release.iterdir())
            if path.suffix != ".ipynb" and not path.name.startswith(".") and not path.is_symlink()]


class _Invalid(Exception):
    """One thing wrong in an assignment.toml (the message says what, without the file)."""


def _number(value, key: str, kind: type):
    """``value`` as a non-negative ``kind`` (int, or float which also takes an int)."""
    allowed = (int, float) if kind is float else (int,)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise _Invalid(f"{key} must be {'a number' if kind is float else 'an integer'}, not {value!r}")
    if value < 0:
        raise _Invalid(f"{key} must not be negative, got {value!r}")
    return kind(value)


def _limits(table) -> Limits:
    if not isinstance(table, dict):
        raise _Invalid(f"[limits] must be a table, not {table!r}")
    unknown = sorted(set(table) - set(_LIMIT_TYPES))
    if unknown:
        raise _Invalid(f"unknown key limits.{unknown[0]} (limits: {', '.join(_LIMIT_TYPES)})")
    return Limits(**{key: _number(value, f"limits.{key}", _LIMIT_TYPES[key]) for key, value in table.items()})


def _datasets(value) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise _Invalid(f"datasets must be a list of dataset names, not {value!r}")
    unknown = [d for d in value if d not in DATA_ENV]
    if unknown or len(set(value)) != len(value):
        raise _Invalid(f"datasets: {value!r} must name each of {', '.join(DATA_ENV)} at most once")
    return tuple(value)


def _interface(table) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise _Invalid(f'[interface] must map names to signatures ("name" = "a, b=1"), not {table!r}')
    return dict(table)


def _splits(table) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict) or not all(isinstance(v, list) for v in table.values()):
        raise _Invalid(f'[splits] must map datasets to lists of splits (homework = ["train"]), not {table!r}')
    unknown = sorted(set(table) - set(DATA_ENV))
    if unknown:
        raise _Invalid(f"unknown dataset splits.{unknown[0]} (datasets: {', '.join(DATA_ENV)})")
    for dataset, names in table.items():
        bad = [n for n in names if not (isinstance(n, str) and SPLIT_NAME.fullmatch(n))]
        if bad or not names or len(set(names)) != len(names):
            raise _Invalid(f"splits.{dataset} must list distinct split names (lower case, e.g. \"train\"), "
                           f"not {names!r}")
    return {dataset: tuple(names) for dataset, names in table.items()}


def _flag(key: str):
    def parse(value) -> bool:
        if not isinstance(value, bool):
            raise _Invalid(f"{key} must be true or false, not {value!r}")
        return value
    return parse


_KEYS = {"order": lambda v: _number(v, "order", int), "datasets": _datasets, "splits": _splits,
         "uses_torch": _flag("uses_torch"), "hidden_checks": _flag("hidden_checks"), "limits": _limits,
         "interface": _interface}


def load_assignment(folder: Path, name: str | None = None) -> AssignmentSpec:
    """The assignment described by ``folder/assignment.toml`` (named after the folder unless
    ``name`` is given); a one-line UserError naming the file when it is missing or invalid."""
    folder = Path(folder).resolve()
    path = folder / DESCRIPTION_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing: every checks folder describes its assignment there "
                        "(see autograder/checks/README.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    try:
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise _Invalid(f"unknown key {unknown[0]!r} (known: {', '.join(_KEYS)})")
        values = {key: _KEYS[key](value) for key, value in data.items()}
        stray = sorted(set(values.get("splits", {})) - set(values.get("datasets", ())))
        if stray:
            raise _Invalid(f"splits.{stray[0]} names a dataset not in datasets")
    except _Invalid as exc:
        raise UserError(f"{path}: {exc}") from None
    has_checks = any(hit for pattern in CHECK_FILES for hit in folder.rglob(pattern))
    if values.get("hidden_checks", True) and not has_checks:
        raise UserError(f"{path}: no hidden checks beside it (files named {' or '.join(CHECK_FILES)})")
    if not values.get("hidden_checks", True) and has_checks:
        raise UserError(f"{path}: says hidden_checks = false, but check files are beside it")
    return AssignmentSpec(name=name or folder.name, checks_dir=folder, **values)


def _checks_folders(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def discover(root: Path = CHECKS_ROOT) -> list[AssignmentSpec]:
    """Every graded assignment: one per folder of ``root`` with hidden checks, in course order (see ``order``)."""
    specs = [spec for spec in map(load_assignment, _checks_folders(root)) if spec.hidden_checks]
    return sorted(specs, key=lambda s: (s.order is None, s.order or 0, s.name))


def _plain(name: str) -> bool:
    return bool(name) and Path(name).name == name and not name.startswith((".", "_"))


def is_graded(name: str) -> bool:
    """True when ``name`` has a folder of hidden checks (else it is an nbgrader-style assignment)."""
    return _plain(name) and (CHECKS_ROOT / name).is_dir() and load_assignment(CHECKS_ROOT / name).hidden_checks


def describe(name: str, root: Path = CHECKS_ROOT) -> AssignmentSpec:
    """The description of any assignment: its ``assignment.toml`` in ``root``, graded or not; an
    assignment described nowhere reads only the files released beside its notebook."""
    if _plain(name) and (Path(root) / name).is_dir():
        return load_assignment(Path(root) / name)
    return AssignmentSpec(name=name, checks_dir=Path(root) / name, hidden_checks=False)


def get_assignment(name: str | AssignmentSpec, checks: Path | str | None = None) -> AssignmentSpec:
    """The spec of a graded assignment, or a clear error naming the known ones.

    ``checks`` grades ``name`` with the checks and description in that folder instead.
    """
    if isinstance(name, AssignmentSpec):
        return name
    if checks is not None:
        return load_assignment(Path(checks), name)
    if not is_graded(name):
        known = ", ".join(spec.name for spec in discover())
        raise UserError(f"unknown assignment {name!r}; graded assignments: {known}")
    return load_assignment(CHECKS_ROOT / name)

