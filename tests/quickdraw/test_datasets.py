"""The real prepared QuickDraw datasets (from the offline source, default spec, seed 2019)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.quickdraw.prepare import prepare_all
from autograder.quickdraw.sources import find_source
from autograder.quickdraw.spec import load_spec

HOMEWORK = ["apple", "bicycle", "diamond"]
COMPETITION = ["apple", "bicycle", "cat", "eye", "fish"]


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def digest(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image, dtype=np.uint8).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def source_classes() -> dict[str, str]:
    """sha256 of every source drawing -> its class."""
    source = find_source()
    owner = {}
    for name in source.classes():
        for image in source.load(name):
            owner[digest(image)] = name
    return owner


@pytest.fixture(scope="module")
def decoded(quickdraw_root) -> dict:
    """Every image of both datasets: {(dataset, split): [(digest, label or None, id)]}."""
    out: dict[tuple[str, str], list] = {}
    for dataset in ("homework", "competition"):
        root = quickdraw_root / dataset
        for split in ("train", "valid", "test"):
            header, rows = read_csv(root / f"{split}.csv")
            entries = []
            for row in rows:
                with Image.open(root / row["filename"]) as im:
                    assert im.format == "PNG" and im.mode == "L" and im.size == (28, 28)
                    pixels = np.asarray(im)
                label = int(row["label"]) if "label" in row else None
                entries.append((digest(pixels), label, row.get("id"), pixels))
            out[(dataset, split)] = entries
    with np.load(quickdraw_root / "instructor" / "homework_heldout.npz") as z:
        images, labels = z["images"], z["labels"]
    assert images.dtype == np.uint8 and images.shape == (300, 28, 28)
    assert labels.dtype == np.int64 and labels.shape == (300,)
    out[("homework", "heldout")] = [(digest(i), int(label), None, i) for i, label in zip(images, labels, strict=True)]
    for name in ("verification", "private"):  # instructor-only, laid out like the released test split
        folder = quickdraw_root / "instructor" / f"competition_{name}"
        _, rows = read_csv(folder / "test.csv")
        _, label_rows = read_csv(quickdraw_root / "instructor" / f"competition_{name}_labels.csv")
        hidden = {row["id"]: int(row["label"]) for row in label_rows}
        out[("competition", name)] = [
            (digest(pixels := np.asarray(Image.open(folder / row["filename"]))), hidden[row["id"]], row["id"], pixels)
            for row in rows
        ]
    return out


def test_classes_and_split_sizes_are_stratified(quickdraw_root, decoded):
    assert (quickdraw_root / "homework" / "classes.txt").read_text() == "apple\nbicycle\ndiamond\n"
    assert (quickdraw_root / "competition" / "classes.txt").read_text() == "".join(
        c + "\n" for c in COMPETITION
    )
    expected = {
        ("homework", "train"): 1000,
        ("homework", "valid"): 200,
        ("homework", "test"): 200,
        ("homework", "heldout"): 100,
        ("competition", "train"): 600,
        ("competition", "valid"): 100,
        ("competition", "verification"): 400,
        ("competition", "private"): 200,  # the private half of the test set, never released
    }
    for key, per_class in expected.items():
        n_classes = len(HOMEWORK if key[0] == "homework" else COMPETITION)
        counts = Counter(label for _, label, _, _ in decoded[key])
        assert counts == {label: per_class for label in range(n_classes)}, key
    assert len(decoded[("competition", "test")]) == 1000  # only the public half is released
    # the folders hold exactly the listed PNGs
    for dataset in ("homework", "competition"):
        for split in ("train", "valid", "test"):
            on_disk = len(list((quickdraw_root / dataset / split).iterdir()))
            assert on_disk == len(decoded[(dataset, split)])


def test_no_drawing_in_two_places(decoded):
    everything = [d for entries in decoded.values() for d, _, _, _ in entries]
    assert len(everything) == 3 * 1500 + 5 * 1500
    assert len(set(everything)) == len(everything)
    homework = {d for (ds, _), entries in decoded.items() if ds == "homework" for d, *_ in entries}
    competition = {d for (ds, _), entries in decoded.items() if ds == "competition" for d, *_ in entries}
    assert homework.isdisjoint(competition)


def test_pixels_and_labels_match_the_source(quickdraw_root, decoded, source_classes):
    """Homework images are source drawings byte for byte; competition images are jittered:
    none equals a source drawing, yet each is nearest to a source drawing of its own class."""
    _, rows = read_csv(quickdraw_root / "instructor" / "competition_labels.csv")
    hidden = {row["id"]: int(row["label"]) for row in rows}
    source = find_source()
    pool = np.concatenate([source.load(name) for name in COMPETITION]).reshape(-1, 784).astype(np.float32)
    owner = np.repeat(np.arange(len(COMPETITION)), [len(source.load(name)) for name in COMPETITION])
    for (dataset, split), entries in decoded.items():
        if dataset == "homework":
            for d, label, _, _ in entries:
                assert source_classes.get(d) == HOMEWORK[label], split  # exact bytes, label right
            continue
        assert not any(d in source_classes for d, *_ in entries), split  # no exact copy of public data
        sample = entries[:: max(1, len(entries) // 100)]
        labels = np.array([hidden[i] if label is None else label for _, label, i, _ in sample])
        images = np.stack([p for *_, p in sample]).reshape(-1, 784).astype(np.float32)
        distances = (images**2).sum(1)[:, None] - 2 * images @ pool.T + (pool**2).sum(1)[None, :]
        assert np.mean(owner[distances.argmin(1)] == labels) > 0.9, split  # labels right, doodles intact
    pixels = np.stack([p for entries in decoded.values() for *_, p in entries])
    assert pixels.min() == 0 and pixels.max() == 255
    assert (pixels == 0).mean() > 0.5  # background is 0, not inverted
    assert all(image.max() == 255 for image in pixels[:500])  # homework ink is 255
    assert all(image.max() >= 150 for image in pixels)  # jittered ink is dimmed by at most a quarter


def test_competition_test_set_is_unlabeled_and_opaque(quickdraw_root, decoded):
    root = quickdraw_root / "competition"
    header, rows = read_csv(root / "test.csv")
    assert header == ["id", "filename"]
    ids = [row["id"] for row in rows]
    assert all(re.fullmatch(r"q\d{5}", i) for i in ids)
    assert [row["filename"] for row in rows] == [f"test/{i}.png" for i in ids]
    assert len(set(ids)) == len(ids) == 1000
    header, sample = read_csv(root / "sample_submission.csv")
    assert header == ["id", "label"] and [row["id"] for row in sample] == ids
    assert all(0 <= int(row["label"]) < 5 for row in sample)

    header, labels = read_csv(quickdraw_root / "instructor" / "competition_labels.csv")
    assert header == ["id", "label", "split"]
    assert sorted(row["id"] for row in labels if row["split"] == "public") == sorted(ids)
    assert sorted(row["id"] for row in labels if row["split"] == "private") == sorted(
        i for _, _, i, _ in decoded[("competition", "private")])
    per_class = Counter((int(row["label"]), row["split"]) for row in labels)
    assert per_class == {(c, s): 200 for c in range(5) for s in ("public", "private")}
    # the order of test.csv says nothing about the class
    by_id = {row["id"]: int(row["label"]) for row in labels}
    sequence = [by_id[i] for i in ids]
    changes = sum(a != b for a, b in pairwise(sequence))
    assert changes > 600  # about 800 expected for a random order, 4 for grouped classes


def test_manifest_records_parameters_and_every_file(quickdraw_root):
    for dataset in ("homework", "competition"):
        folder = quickdraw_root / dataset
        manifest = json.loads((folder / "MANIFEST.json").read_text())
        assert manifest["seed"] == 2019 and manifest["dataset"] == dataset
        files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        assert set(manifest["files"]) == files - {"MANIFEST.json"}
        for name in ("classes.txt", "train.csv", "train/000000.png"):
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == manifest["files"][name]
    text = (quickdraw_root / "competition" / "MANIFEST.json").read_text()
    assert "public" not in text.replace("public_fraction", "")  # nothing about who is public


def test_second_run_is_byte_identical(quickdraw_root, tmp_path, instructor_secret):
    results = prepare_all(tmp_path, find_source(), progress=False, secret=instructor_secret)
    assert [r.status for r in results] == ["prepared", "prepared"]
    first = {p.relative_to(quickdraw_root): p for p in quickdraw_root.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path): p for p in tmp_path.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert len(first) > 11700
    for rel, path in first.items():
        assert path.read_bytes() == second[rel].read_bytes(), rel


def test_default_spec_matches_the_contract():
    spec = load_spec()
    assert spec.seed == 2019
    homework, competition = spec.get("homework"), spec.get("competition")
    assert list(homework.classes) == HOMEWORK and list(competition.classes) == COMPETITION
    assert dict(homework.splits) == {"train": 1000, "valid": 200, "test": 200, "heldout": 100}
    assert dict(competition.splits) == {"train": 600, "valid": 100, "test": 400, "verification": 400}
    assert homework.instructor_only == ("heldout",) and competition.hidden_labels == "test"
    assert competition.verification == "verification" and competition.jitter and not homework.jitter
