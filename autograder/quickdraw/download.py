"""The downloader for Google's Quick, Draw! numpy bitmaps (one ``<class>.npy`` per class).

Each file is an (N, 784) uint8 array. Downloads stream into a hidden ``.part`` file in
the cache with a progress bar, are checked, and only then renamed to ``<class>.npy``,
so an interrupted or broken download never looks like a valid cached class.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from tqdm import tqdm

from autograder.errors import UserError

DEFAULT_BASE_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/"
BASE_URL_ENV = "QUICKDRAW_BASE_URL"
CATEGORIES_URL = "https://github.com/googlecreativelab/quickdraw-dataset/blob/master/categories.txt"
PIXELS = 28 * 28
CHUNK = 1 << 20
TIMEOUT = 30


def one_line(exc: BaseException) -> str:
    """Return an exception's message squeezed onto one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def resolve_base_url(base_url: str | None = None) -> str:
    """The bucket folder to download from: the argument, $QUICKDRAW_BASE_URL, or Google's."""
    return base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def class_url(name: str, base_url: str) -> str:
    """URL of one class's .npy file (names may contain spaces, which are quoted)."""
    return base_url.rstrip("/") + "/" + urllib.parse.quote(name) + ".npy"


def check_bitmap_file(path: Path, label: str) -> int:
    """Check that ``path`` is a complete (N, 784) uint8 .npy file; return N.

    Memory-maps the file, so a truncated file is caught without reading it all.
    """
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise UserError(f"{label}: not a valid .npy file ({one_line(exc)})") from None
    shape = tuple(array.shape)
    if array.dtype != np.uint8 or array.ndim != 2 or shape[1] != PIXELS or shape[0] == 0:
        raise UserError(
            f"{label}: expected a uint8 array of shape (N, 784), got {array.dtype} {shape}"
        )
    return shape[0]


def cached_count(name: str, cache: Path) -> int | None:
    """Number of drawings in a valid cached copy of class ``name``, or None if there is none."""
    path = cache / f"{name}.npy"
    if not path.is_file():
        return None
    try:
        return check_bitmap_file(path, str(path))
    except UserError:
        return None


def download_class(
    name: str, cache: Path, base_url: str | None = None, progress: bool | None = None
) -> Path:
    """Download class ``name`` into ``cache`` (skipped when a valid copy is there); return its path."""
    target = cache / f"{name}.npy"
    if cached_count(name, cache) is not None:
        return target
    url = class_url(name, resolve_base_url(base_url))
    cache.mkdir(parents=True, exist_ok=True)
    part = cache / f".{name}.npy.part-{os.getpid()}"
    try:
        _fetch(url, part, name, progress)
        check_bitmap_file(part, f"download of '{name}' from {url}")
        os.replace(part, target)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise UserError(
                f"unknown class '{name}': {url} does not exist (HTTP 404); "
                f"the class names are listed in {CATEGORIES_URL}"
            ) from None
        raise UserError(f"cannot download '{name}' from {url}: HTTP {exc.code} {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise UserError(f"download of '{name}' from {url} was cut short ({one_line(exc)})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = one_line(getattr(exc, "reason", exc))
        raise UserError(
            f"cannot download '{name}' from {url} ({reason}); without network access, give a "
            "folder of per-class .npz/.npy files with --source DIR or QUICKDRAW_SOURCE "
            "(e.g. ../shared/quickdraw)"
        ) from None
    finally:
        part.unlink(missing_ok=True)
    return target


def _fetch(url: str, part: Path, name: str, progress: bool | None) -> None:
    """Stream ``url`` into ``part`` with a progress bar; fail if fewer bytes arrive than announced."""
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(part, "wb") as out:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        with tqdm(
            total=expected, unit="B", unit_scale=True, desc=name, disable=_disabled(progress)
        ) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise UserError(
            f"download of '{name}' from {url} was cut short: {received} of {expected} bytes"
        )


def _disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None (the default) shows the bar only on a terminal."""
    return None if progress is None else not progress
