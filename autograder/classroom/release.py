"""Release assignments: turn reference notebooks into student notebooks.

Drives nbgrader's generate-assignment step with the course's ``nbgrader_config.py``:
``solutions/<name>/`` (nbgrader's source) becomes ``assignments/<name>/`` (its release),
with solution code replaced by stubs, hidden tests removed, cells locked and
checksummed, and the assignment recorded in the gradebook (which keeps only the
released text of each cell and is readable by its owner alone).

A release is generated into a temporary folder beside the old one and swapped in only once it
is complete (an atomic exchange of the two folders), so a failure leaves the committed release
untouched. nbgrader runs ``alembic`` (and ``jupyter``) as subprocesses found on PATH: the
running interpreter's bin folder is put first on PATH while it works, so
``.venv/bin/autograder release`` works without an activated environment. The command itself is
:mod:`autograder.commands.release`.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

from traitlets.config import Config

from autograder import paths
from autograder.classroom.course import Course
from autograder.classroom.gradebook import prepare_gradebook
from autograder.config import load_course_config
from autograder.errors import UserError
from autograder.grading.assignments import get_assignment, is_graded
from autograder.grading.plugin import verify_points


def source_assignments(root: Path, config: Config) -> list[str]:
    """Names of the assignments in the source folder (folders holding a notebook)."""
    source = root / config.CourseDirectory.source_directory
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def release_assignment(
    name: str,
    root: Path | None = None,
    out_dir: Path | None = None,
    db_url: str | None = None,
) -> Path:
    """Release one assignment and return the folder of the released files.

    ``out_dir`` replaces the release folder (``assignments/``) and ``db_url`` the
    gradebook, e.g. to compare a fresh release with the committed one. The old release is
    replaced only when the new one is complete, and not at all when the hidden checks do not fit
    the solution notebook's points.
    """
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    root = (root or paths.course_root()).resolve()
    config = load_course_config(root)
    available = source_assignments(root, config)
    if name not in available:
        listed = ", ".join(available) or "none"
        raise UserError(f"unknown assignment {name!r}; available in solutions/: {listed}")
    if is_graded(name):  # its hidden checks must score exactly the solution's autograder test cells
        verify_points(get_assignment(name), root)
    if out_dir is not None:
        config.CourseDirectory.release_directory = str(Path(out_dir).resolve())
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=config)
    target = Path(coursedir.format_path(coursedir.release_directory, ".", name))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".release-{name}-", dir=target.parent) as scratch:
        config.CourseDirectory.release_directory = scratch
        fresh = _generate(name, root, config, db_url)
        _swap_in(fresh, target)
    return target


def _generate(name: str, root: Path, config: Config, db_url: str | None) -> Path:
    """Run nbgrader's generate-assignment into ``config``'s release folder and make the gradebook
    hold only released text; return the generated folder."""
    from nbgrader.apps.api import NbGraderAPI  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    coursedir = CourseDirectory(config=config)
    with interpreter_on_path(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat's notices about the source notebooks' format
        result = NbGraderAPI(coursedir=coursedir, config=config).generate_assignment(name, force=True, create=True)
    if not result["success"]:
        raise UserError(f"nbgrader could not release {name!r}: {error_line(result)}")
    # nbgrader stored every cell, hidden tests included, in the gradebook: replace them with the
    # released text and make the file private before anyone can read it.
    course = Course(root, db_url)
    course.coursedir.release_directory = coursedir.release_directory
    prepare_gradebook(course, name)
    return Path(coursedir.format_path(coursedir.release_directory, ".", name))


@contextmanager
def interpreter_on_path():
    """Put the running interpreter's bin folder first on PATH (for nbgrader's subprocesses)."""
    bin_dir = str(Path(sys.executable).parent)
    old = os.environ.get("PATH")
    rest = [p for p in (old if old is not None else os.defpath).split(os.pathsep) if p and p != bin_dir]
    os.environ["PATH"] = os.pathsep.join([bin_dir, *rest])
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


RENAME_EXCHANGE = 2
AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    done = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    return done == 0


def _swap_in(fresh: Path, target: Path) -> None:
    """Make ``fresh`` the folder at ``target``; the old folder ends inside ``fresh``'s parent
    (a temporary folder, removed by the caller). Readers see the old release or the new one."""
    if not target.exists():
        fresh.rename(target)
        return
    if _exchange(fresh, target):
        return
    old = fresh.parent / ".old"
    target.rename(old)
    fresh.rename(target)


def error_line(result: dict) -> str:
    """The most informative single line of a failed nbgrader call: the exception that started it
    (nbgrader logs the first traceback's cause, then generic lines pointing at that traceback)."""
    log = result.get("log") or ""
    causes: list[str] = []
    in_traceback = False
    for line in log.splitlines():
        if line.startswith("["):
            in_traceback = line.startswith("[ERROR] Traceback")
            if in_traceback:
                causes.append("")
        elif in_traceback and line.strip():
            causes[-1] = line.strip()
    causes = [c for c in causes if c]
    if not causes:
        causes = [line.strip() for line in (result.get("error") or "").splitlines() if line.strip()]
    if not causes:
        return "unknown error"
    name, sep, message = causes[0].partition(": ")
    return f"{name.rsplit('.', 1)[-1]}{sep}{message}"
