"""What a student gets for each released assignment: its notebooks, its due date, and a zip of
exactly the data its notebook reads.

What a notebook reads is its description's (:func:`autograder.grading.assignments.describe`):
the files released beside it, and for each dataset it names, ``classes.txt``, the ``<split>.csv``
of each split it reads and the images that CSV lists, all taken from the public folder of the
prepared dataset (``<data root>/<dataset>/``; the instructor-only folder is never read). The zip
lays them out as the sandbox does (``data/<dataset>/...`` beside the notebook), which is where the
released notebooks look when ``$QUICKDRAW_HOMEWORK`` / ``$QUICKDRAW_COMPETITION`` is not set.
Due dates are nbgrader's (:mod:`autograder.classroom.due_dates`).
"""

from __future__ import annotations

import csv
import io
import os
import stat
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from autograder.classroom.course import Course
from autograder.classroom.due_dates import DueDates
from autograder.errors import UserError
from autograder.grading.assignments import AssignmentSpec, beside_notebook, describe

INSTRUCTOR_ONLY = "instructor"  # the prepared data's folder that no student file ever comes from
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every entry's time: the same data gives the same zip, byte for byte


@dataclass(frozen=True)
class DataFile:
    """One file of a data zip: where it is on disk and its path in the zip."""

    source: Path
    name: str


@dataclass(frozen=True)
class Handout:
    """A released assignment as a student sees it."""

    name: str
    notebooks: dict[str, Path]  # file name -> released notebook
    due: datetime | None  # naive UTC, as nbgrader keeps it (None: no due date set)
    spec: AssignmentSpec

    @property
    def reads_data(self) -> bool:
        """Whether the notebook reads any file besides itself (else there is no data zip)."""
        return bool(self.spec.datasets) or bool(beside_notebook(self.folder))

    @property
    def folder(self) -> Path:
        """The released folder."""
        return next(iter(self.notebooks.values())).parent

    @property
    def zip_name(self) -> str:
        """The data zip's file name."""
        return f"{self.name}-data.zip"


class CourseHandouts:
    """The released assignments of the course at ``root``, with the prepared data under ``data_root``."""

    def __init__(self, root: Path, data_root: Path, gradebook: str | None = None):
        self.course = Course(root, gradebook)
        self.data_root = Path(data_root).resolve()
        self.due_dates = DueDates(self.course)
        self._zips: dict[str, tuple[tuple, bytes]] = {}  # name -> (what it was built from, the zip)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the gradebook's connections."""
        self.due_dates.dispose()

    def released(self) -> list[Handout]:
        """Every released assignment (a folder of the release directory holding a notebook), in course order."""
        release = self.course.root / self.course.coursedir.release_directory
        due = self.due_dates.all()
        handouts = [self._handout(name, due.get(name)) for name in _released_names(release)]
        return sorted(handouts, key=lambda h: (h.spec.order is None, h.spec.order or 0, h.name))

    def find(self, name: str) -> Handout | None:
        """The released assignment ``name`` (None: no such assignment was released)."""
        return next((handout for handout in self.released() if handout.name == name), None)

    def _handout(self, name: str, due: datetime | None) -> Handout:
        notebooks = {path.name: path for path in self.course.released_notebooks(name).values()}
        return Handout(name, notebooks, due, describe(name))

    def check(self) -> list[Handout]:
        """Every released assignment, after checking that the data each one reads is there (UserError if not)."""
        handouts = self.released()
        for handout in handouts:
            self.data_files(handout)
        return handouts

    def data_files(self, handout: Handout) -> list[DataFile]:
        """Exactly the files ``handout``'s notebook reads, with their paths in the data zip."""
        files = [DataFile(path, path.relative_to(handout.folder).as_posix())
                 for path in _released_files(handout.folder)]
        for dataset in handout.spec.datasets:
            folder = handout.spec.dataset_folder(dataset, self.data_root).resolve()
            inside = handout.spec.data_folder(dataset)
            chosen = self._dataset_files(folder, handout.spec.splits.get(dataset))
            files += [DataFile(path, f"{inside}/{relative}") for path, relative in chosen]
        return files

    def _dataset_files(self, folder: Path, splits: tuple[str, ...] | None) -> list[tuple[Path, str]]:
        """``classes.txt`` and, per split, its CSV and the images it lists (default: every prepared split)."""
        if splits is None:
            splits = tuple(sorted(p.stem for p in folder.glob("*.csv") if (folder / p.stem).is_dir()))
        checked: dict[PurePosixPath, Path] = {}  # folders of the dataset already found to be inside it
        chosen = [(self._inside(folder, "classes.txt", checked), "classes.txt")]
        for split in splits:
            if not (folder / f"{split}.csv").is_file():
                raise UserError(f"the prepared data in {folder} has no split {split!r} ({split}.csv is missing)")
            listing = self._inside(folder, f"{split}.csv", checked)
            chosen.append((listing, listing.name))
            chosen += [(self._inside(folder, name, checked), name) for name in _listed_files(listing)]
        return chosen

    def _inside(self, folder: Path, name: str, checked: dict[PurePosixPath, Path]) -> Path:
        """``folder/name`` when it is a regular file (not a link) in a folder inside ``folder`` and
        outside the instructor's data; each folder on the way is resolved once (``checked``)."""
        relative = PurePosixPath(name)
        refused = UserError(f"{folder}: {name!r} is not a file of this dataset (a link, or outside it)")
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise refused
        parent = checked.get(relative.parent)
        if parent is None:
            parent = (folder / relative.parent).resolve()
            if not parent.is_relative_to(folder) or parent.is_relative_to(self.data_root / INSTRUCTOR_ONLY):
                raise refused
            checked[relative.parent] = parent
        path = parent / relative.name
        try:
            regular = stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            regular = False
        if not regular:
            raise refused
        return path

    def data_zip(self, handout: Handout) -> bytes:
        """The zip of :meth:`data_files`, built again only when one of them changed (size or time)."""
        files = self.data_files(handout)
        stamp = tuple((item.name, *_stamp(item.source)) for item in files)
        with self._lock:
            cached = self._zips.get(handout.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        body = _zip(files)
        with self._lock:
            self._zips[handout.name] = (stamp, body)
        return body


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _zip(files: list[DataFile]) -> bytes:
    """A zip of ``files`` (PNG images stored as they are, text compressed), the same bytes for the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in files:
            entry = zipfile.ZipInfo(item.name, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_STORED if item.source.suffix == ".png" else zipfile.ZIP_DEFLATED
            archive.writestr(entry, item.source.read_bytes())
    return buffer.getvalue()


def _released_names(release: Path) -> list[str]:
    """The folders of the release directory that hold a notebook (not nbgrader's or a release's scratch)."""
    if not release.is_dir():
        return []
    return sorted(p.name for p in release.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")) and any(p.glob("*.ipynb")))


def _released_files(release: Path) -> list[Path]:
    """The plain files released beside the notebooks (walking any released folder; no dot files, no links)."""
    found = []
    for path in beside_notebook(release):
        inner = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [p for p in inner if p.is_file() and not p.is_symlink()
                  and not any(part.startswith(".") for part in p.relative_to(release).parts)]
    return found


def _listed_files(listing: Path) -> list[str]:
    """The ``filename`` column of a split's CSV."""
    with open(listing, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and "filename" not in rows[0]:
        raise UserError(f"{listing} has no filename column")
    return [row["filename"] for row in rows]
