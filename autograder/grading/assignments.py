"""What each graded assignment needs, read from its one description: ``autograder/checks/<name>/``.

That folder holds the hidden checks and ``assignment.toml`` (the datasets the notebook is given,
whether the prelude seeds torch, the sandbox's limits, the graded interface); the points are the
solution notebook's (:mod:`autograder.grading.points`). One name leads to everything:
``solutions/<name>/<name>.ipynb`` (the reference), ``assignments/<name>/`` (what students got)
and ``autograder/checks/<name>/`` (never released, never in a sandbox). Assignments are found by
scanning that folder; a checks folder without a valid ``assignment.toml`` is an error, never
graded some other way. The keys are described in ``autograder/checks/README.md``.
"""

from __future__ import annotations

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
_LIMIT_TYPES = typing.get_type_hints(Limits)


@dataclass(frozen=True)
class AssignmentSpec:
    """How to grade one assignment (read from its ``assignment.toml`` by :func:`load_assignment`)."""

    name: str
    checks_dir: Path  # folder of the hidden checks and their assignment.toml
    datasets: tuple[str, ...] = ()  # prepared QuickDraw datasets shown read-only in the sandbox
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
        mounts = []
        release = self.release_folder(root)
        if release.is_dir():
            for path in sorted(release.iterdir()):
                if path.suffix != ".ipynb" and not path.name.startswith(".") and not path.is_symlink():
                    mounts.append(Mount(path, path.name))
        for dataset in self.datasets:
            folder = Path(data_root) / dataset
            if not (folder / "classes.txt").is_file():
                raise UserError(f"{self.name} needs the prepared QuickDraw {dataset!r} data in {folder}; "
                                "run `autograder data quickdraw prepare all` (or pass --data DIR)")
            mounts.append(Mount(folder, f"data/{dataset}"))
        return mounts

    def env(self) -> dict[str, str]:
        """Environment variables telling the notebook where its data is ({home} = working dir)."""
        return {DATA_ENV[d]: "{home}/data/" + d for d in self.datasets}


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


def _flag(value) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"uses_torch must be true or false, not {value!r}")
    return value


_KEYS = {"order": lambda v: _number(v, "order", int), "datasets": _datasets, "uses_torch": _flag,
         "limits": _limits, "interface": _interface}


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
    except _Invalid as exc:
        raise UserError(f"{path}: {exc}") from None
    if not any(hit for pattern in CHECK_FILES for hit in folder.rglob(pattern)):
        raise UserError(f"{path}: no hidden checks beside it (files named {' or '.join(CHECK_FILES)})")
    return AssignmentSpec(name=name or folder.name, checks_dir=folder, **values)


def _checks_folders(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def discover(root: Path = CHECKS_ROOT) -> list[AssignmentSpec]:
    """Every graded assignment: one per folder of ``root``, in course order (see ``order``)."""
    specs = [load_assignment(folder) for folder in _checks_folders(root)]
    return sorted(specs, key=lambda s: (s.order is None, s.order or 0, s.name))


def is_graded(name: str) -> bool:
    """True when ``name`` has a folder of hidden checks (else it is an nbgrader-style assignment)."""
    plain = bool(name) and Path(name).name == name and not name.startswith((".", "_"))
    return plain and (CHECKS_ROOT / name).is_dir()


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

