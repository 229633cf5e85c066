"""Checking a handed-in notebook before it is accepted, and writing the attempt that counts in
nbgrader's layout.

:func:`check_handin` refuses (:class:`Refused`, with the HTTP status to answer) a file name that
is not a plain ``*.ipynb`` name, a file over the size cap, bytes that are not a notebook, and a
notebook lacking a graded cell of the released one (by nbgrader ``grade_id``: another assignment's
notebook lacks them all). The uploaded name is only ever shown, never used as a path.
:func:`write_submitted` puts the attempt that counts at ``submitted/<student>/<assignment>/``
with nbgrader's ``timestamp.txt``, so nbgrader's late-penalty plugins see when it came in.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from datetime import datetime
from pathlib import Path

import nbformat

from autograder.classroom.course import Course
from autograder.classroom.handout import Handout
from autograder.errors import UserError
from autograder.grading.notebook import NotebookError, read_submission

MAX_NAME = 255
ODD_CATEGORIES = ("Zl", "Zp")  # line and paragraph separators, besides every control and format character
SAFE_STUDENT = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,99}")  # a student id that is a folder name
TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f UTC"  # how nbgrader writes timestamp.txt


class Refused(Exception):
    """A handed-in file that is not accepted; ``status`` is the HTTP status that says so."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def check_filename(filename: object) -> str:
    """``filename`` when it is a plain notebook file name (no folder, no control character)."""
    if not isinstance(filename, str) or not filename or len(filename) > MAX_NAME:
        raise Refused("send the notebook as a file named like xor.ipynb", 400)
    odd = any(unicodedata.category(char) in ODD_CATEGORIES or unicodedata.category(char).startswith("C")
              for char in filename)
    if odd or "/" in filename or "\\" in filename or filename.startswith(".") or not filename.endswith(".ipynb"):
        raise Refused(f"{filename!r} is not a notebook's file name: send a name like xor.ipynb, "
                      "without folders or control characters", 400)
    return filename


def graded_ids(released) -> list[str]:
    """The grade_ids of the released notebook's graded cells (answers and tests), in order."""
    ids = []
    for cell in released.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if isinstance(meta, dict) and meta.get("grade_id") and (meta.get("grade") or meta.get("solution")):
            ids.append(meta["grade_id"])
    return ids


def check_handin(handout: Handout, filename: object, data: bytes, max_bytes: int) -> str:
    """The released notebook's file name that ``data`` is an attempt at; :class:`Refused` otherwise."""
    name = check_filename(filename)
    if len(data) > max_bytes:
        raise Refused(f"the notebook is larger than {max_bytes // 1024} KiB", 413)
    try:
        nb = read_submission(data)
    except NotebookError as exc:
        raise Refused(f"{name}: {exc}", 422) from None
    target = name if name in handout.notebooks else None
    if target is None and len(handout.notebooks) == 1:
        target = next(iter(handout.notebooks))
    if target is None:
        raise Refused(f"{handout.name} has no notebook {name!r}; hand in one of {', '.join(handout.notebooks)}", 422)
    present = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in nb.cells
               if isinstance(cell.get("metadata", {}).get("nbgrader"), dict)}
    missing = [grade_id for grade_id in graded_ids(nbformat.read(handout.notebooks[target], as_version=4))
               if grade_id not in present]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise Refused(f"this is not a {handout.name} notebook: its graded cells {shown} are missing "
                      f"(download {target} again and work in it)", 422)
    return target


def write_submitted(course: Course, student: str, assignment: str, notebook_name: str, data: bytes,
                    when: datetime) -> Path:
    """Write an attempt as nbgrader's submission of ``student`` (with ``timestamp.txt``); return its folder."""
    if not SAFE_STUDENT.fullmatch(student):
        raise UserError(f"student id {student!r} cannot be a folder name; not written to submitted/")
    folder = course.folder("submitted_directory", student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(folder / notebook_name, data)
    _write_atomically(folder / "timestamp.txt", when.strftime(TIMESTAMP).encode())
    return folder


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    with os.fdopen(handle, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
