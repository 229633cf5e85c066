"""``autograder release``: turn reference notebooks into student notebooks.

Drives nbgrader's generate-assignment step with the course's ``nbgrader_config.py``:
``solutions/<name>/`` (nbgrader's source) becomes ``assignments/<name>/`` (its release),
with solution code replaced by stubs, hidden tests removed, cells locked and
checksummed, and the assignment recorded in the gradebook (which keeps only the
released text of each cell and is readable by its owner alone).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder import paths
from autograder.errors import UserError


def load_course_config(root: Path) -> Config:
    """Load ``nbgrader_config.py`` from the course root."""
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise UserError(f"no nbgrader_config.py in {root}; run inside the course repository")
    config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


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
    gradebook, e.g. to compare a fresh release with the committed one.
    """
    # Imported here: nbgrader is slow to import and most subcommands never need it.
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root = (root or paths.course_root()).resolve()
    config = load_course_config(root)
    available = source_assignments(root, config)
    if name not in available:
        listed = ", ".join(available) or "none"
        raise UserError(f"unknown assignment {name!r}; available in solutions/: {listed}")
    if out_dir is not None:
        config.CourseDirectory.release_directory = str(Path(out_dir).resolve())
    if db_url is not None:
        config.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=config)
    target = Path(coursedir.format_path(coursedir.release_directory, ".", name))
    # A clean target: files removed from the source must disappear from the release too.
    if target.exists():
        shutil.rmtree(target)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    result = api.generate_assignment(name, force=True, create=True)
    if not result["success"]:
        detail = _last_error_line(result.get("error") or result.get("log") or "")
        raise UserError(f"nbgrader could not release {name!r}: {detail}")
    # nbgrader stored every cell, hidden tests included, in the gradebook: replace them with the
    # released text and make the file private before anyone can read it.
    from autograder.classroom.course import Course
    from autograder.classroom.gradebook import prepare_gradebook

    course = Course(root, db_url)
    course.coursedir.release_directory = coursedir.release_directory
    prepare_gradebook(course, name)
    return target


def _last_error_line(text: str) -> str:
    """The most informative single line of an nbgrader error log."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


def run(args: argparse.Namespace) -> int:
    """Handle ``autograder release``."""
    root = paths.course_root()
    if args.all:
        names = source_assignments(root, load_course_config(root))
        if not names:
            raise UserError(f"no assignments found in {root / 'solutions'}")
    elif args.names:
        names = args.names
    else:
        raise UserError("name the assignments to release, or pass --all")
    for name in names:
        target = release_assignment(name, root=root, out_dir=args.out)
        notebooks = sorted(p.name for p in target.glob("*.ipynb"))
        print(f"released {name}: {target} ({', '.join(notebooks)})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``release`` subcommand."""
    parser = subparsers.add_parser(
        "release",
        help="make the student version of assignments (solutions/ -> assignments/)",
        description=(
            "Run nbgrader's generate-assignment step on solutions/NAME/: solution code is "
            "replaced by stubs, hidden tests are removed, instructions are locked, and the "
            "result is written to assignments/NAME/."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="assignment folder in solutions/")
    parser.add_argument("--all", action="store_true", help="release every assignment in solutions/")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write the released folders here instead of assignments/ (e.g. to compare)",
    )
    parser.set_defaults(func=run)
