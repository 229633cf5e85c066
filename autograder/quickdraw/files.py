"""Files written byte for byte the same every time: UTF-8 text, PNGs without metadata, zip
archives with fixed timestamps, and the labeled / unlabeled split layouts of the course data."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def write_labeled(folder: Path, split: str, images, labels, bar) -> dict[str, str]:
    """``split/NNNNNN.png`` and ``split.csv`` (filename,label); return {file: sha256}."""
    width = max(6, len(str(len(images) - 1)))
    files, csv_rows = {}, ["filename,label"]
    (folder / split).mkdir()
    for k in range(len(images)):
        png = f"{split}/{k:0{width}d}.png"
        files[png] = write_png(folder / png, images[k])
        csv_rows.append(f"{png},{labels[k]}")
        bar.update()
    files[f"{split}.csv"] = write_text(folder / f"{split}.csv", lines(csv_rows))
    return files


def write_unlabeled(root: Path, split: str, ids: list[str], images, bar) -> tuple[dict[str, str], np.ndarray]:
    """``split/<id>.png`` and ``split.csv`` (id,filename, sorted by id); return ({file: sha256}, order)."""
    order = np.argsort(ids)
    files, rows = {}, ["id,filename"]
    (root / split).mkdir(parents=True)
    for k in order:
        png = f"{split}/{ids[k]}.png"
        files[png] = write_png(root / png, images[k])
        rows.append(f"{ids[k]},{png}")
        bar.update()
    files[f"{split}.csv"] = write_text(root / f"{split}.csv", lines(rows))
    return files, order


def lines(rows: list[str]) -> str:
    """The rows as text, each ending in \\n."""
    return "".join(row + "\n" for row in rows)


def write_text(path: Path, text: str) -> str:
    """Write UTF-8 text with \\n line ends; return its sha256."""
    data = text.encode("utf-8")
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_png(path: Path, image: np.ndarray) -> str:
    """Write a 28x28 mode-"L" PNG without metadata at a fixed compression; return its sha256."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=9)
    data = buffer.getvalue()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def write_npz(path: Path, **arrays: np.ndarray) -> str:
    """Like ``np.savez_compressed`` but with fixed zip timestamps; return the file's sha256."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())
    return sha256_file(path)


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
