"""Where QuickDraw drawings come from.

A source is a folder of per-class files: ``<class>.npz`` holding an ``images`` array
of shape (N, 28, 28), or ``<class>.npy`` of shape (N, 784), (N, 28, 28) or (N, 1, 784);
pixels are uint8 with 0 for the background and 255 for ink. The download cache is such
a folder too, and it fills itself from Google's bucket when a class is missing.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.errors import UserError
from autograder.paths import course_root, quickdraw_dir
from autograder.quickdraw import download
from autograder.quickdraw.download import one_line

SIDE = 28
SOURCE_ENV = "QUICKDRAW_SOURCE"
HOW_TO_PROVIDE = (
    "give a folder of per-class .npz/.npy files with --source DIR or the QUICKDRAW_SOURCE "
    "environment variable (e.g. ../shared/quickdraw), or run "
    "`autograder data quickdraw download CLASS ...` on a machine with internet access"
)
_LOAD_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def check_class_name(name: str) -> None:
    """Reject names that cannot be a class file's stem (empty, hidden, or with a path separator)."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0"):
        raise UserError(f"invalid class name {name!r}")


def as_drawings(array: np.ndarray, path: Path) -> np.ndarray:
    """Check a loaded array and return it as contiguous uint8 (N, 28, 28)."""
    shape = tuple(array.shape)
    if array.dtype != np.uint8:
        raise UserError(f"{path}: expected uint8 pixels, got dtype {array.dtype} (shape {shape})")
    pixels = SIDE * SIDE
    if array.ndim == 3 and shape[1:] == (SIDE, SIDE):
        pass
    elif (array.ndim == 2 and shape[1] == pixels) or (array.ndim == 3 and shape[1:] == (1, pixels)):
        array = array.reshape(-1, SIDE, SIDE)
    else:
        raise UserError(
            f"{path}: expected drawings of shape (N, 28, 28), (N, 784) or (N, 1, 784), got {shape}"
        )
    if len(array) == 0:
        raise UserError(f"{path}: holds no drawings")
    return np.ascontiguousarray(array)


def read_drawings(path: Path) -> np.ndarray:
    """Load one class file (.npz with ``images``, or .npy) as uint8 (N, 28, 28).

    A .npy file is memory-mapped, so a large downloaded class is read only as far as used.
    """
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                if "images" not in archive.files:
                    found = ", ".join(archive.files) or "nothing"
                    raise UserError(f"{path}: no 'images' array in the .npz (found: {found})")
                array = archive["images"]
        else:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
    except _LOAD_ERRORS as exc:
        raise UserError(f"{path}: corrupt or unreadable file ({one_line(exc)})") from None
    if not isinstance(array, np.ndarray):
        raise UserError(f"{path}: corrupt or unreadable file (not a single numpy array)")
    return as_drawings(array, path)


@dataclass
class Source:
    """A folder of per-class files; ``base_url`` set means missing classes are downloaded into it."""

    folder: Path
    origin: str
    base_url: str | None = None

    def classes(self) -> list[str]:
        """Sorted names of the classes present in the folder."""
        if not self.folder.is_dir():
            return []
        names = {
            p.stem
            for p in self.folder.iterdir()
            if p.suffix in (".npz", ".npy") and not p.name.startswith(".") and p.is_file()
        }
        return sorted(names)

    def path_for(self, name: str) -> Path | None:
        """The file holding class ``name`` (.npz preferred over .npy), or None."""
        for suffix in (".npz", ".npy"):
            path = self.folder / f"{name}{suffix}"
            if path.is_file():
                return path
        return None

    def load(self, name: str, progress: bool | None = None) -> np.ndarray:
        """Return class ``name`` as uint8 (N, 28, 28), downloading it first if this source may."""
        check_class_name(name)
        path = self.path_for(name)
        if path is None and self.base_url is not None:
            path = download.download_class(name, self.folder, self.base_url, progress=progress)
        if path is None:
            available = ", ".join(self.classes()) or "none (the folder holds no .npz/.npy files)"
            raise UserError(
                f"unknown class '{name}' in {self.describe()}; available: {available}"
            )
        return read_drawings(path)

    def describe(self) -> str:
        """Where this source is and how it was found, for messages."""
        how = f"download cache, filled from {self.base_url}" if self.base_url else self.origin
        return f"{self.folder} ({how})"


def find_source(
    source: str | os.PathLike | None = None,
    cache: str | os.PathLike | None = None,
    base_url: str | None = None,
    download_missing: bool = False,
) -> Source:
    """Resolve the drawings' source.

    In order: ``source`` (the --source option), the QUICKDRAW_SOURCE environment variable,
    ``../shared/quickdraw`` beside the course root, and finally the download cache
    (``cache`` or data/quickdraw/cache), which downloads missing classes from ``base_url``.
    ``download_missing`` (the --download option) goes straight to the download cache.
    """
    if download_missing:
        if source:
            raise UserError("--download and --source exclude each other: --download reads the download cache")
        return _download_cache(cache, base_url)
    for value, origin in ((source, "--source"), (os.environ.get(SOURCE_ENV), SOURCE_ENV)):
        if value:
            folder = Path(value).expanduser()
            if not folder.is_dir():
                raise UserError(f"{origin} {value}: no such folder; {HOW_TO_PROVIDE}")
            return Source(folder.resolve(), origin)
    shared = course_root().parent / "shared" / "quickdraw"
    if shared.is_dir():
        return Source(shared.resolve(), "found beside the course: ../shared/quickdraw")
    return _download_cache(cache, base_url)


def _download_cache(cache: str | os.PathLike | None, base_url: str | None) -> Source:
    """The download cache (``cache`` or data/quickdraw/cache), filled from ``base_url``."""
    folder = Path(cache).expanduser() if cache else quickdraw_dir() / "cache"
    return Source(folder.resolve(), "download cache", download.resolve_base_url(base_url))
