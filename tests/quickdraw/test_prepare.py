"""The prepare step on a tiny fake source: determinism, dedup, allocation, atomicity, reruns."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.errors import UserError
from autograder.quickdraw import files as files_module
from autograder.quickdraw.prepare import prepare_all, prepare_dataset
from autograder.quickdraw.spec import parse_spec


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def digest(image) -> str:
    return hashlib.sha256(np.asarray(image, dtype=np.uint8).tobytes()).hexdigest()


def dataset_digests(root: Path, dataset: str) -> dict[str, list[str]]:
    """Digest of every image per split (instructor-only splits included)."""
    out = {}
    for csv_path in sorted((root / dataset).glob("*.csv")):
        if csv_path.name == "sample_submission.csv":
            continue
        with open(csv_path, newline="") as f:
            out[csv_path.stem] = [digest(Image.open(root / dataset / r["filename"])) for r in csv.DictReader(f)]
    for npz in (root / "instructor").glob(f"{dataset}_*.npz"):
        with np.load(npz) as z:
            out[npz.stem.split("_", 1)[1]] = [digest(i) for i in z["images"]]
    for name in ("verification", "private"):  # instructor-only folders laid out like the released test split
        folder = root / "instructor" / f"{dataset}_{name}"
        if folder.is_dir():
            with open(folder / "test.csv", newline="") as f:
                out[name] = [digest(Image.open(folder / r["filename"])) for r in csv.DictReader(f)]
    return out


def spec_of(tiny, **changes):
    raw = copy.deepcopy(tiny["spec"])
    for dataset, fields in changes.items():
        raw["datasets"][dataset].update(fields)
    return parse_spec(raw, Path("test-spec.json"))


def test_two_runs_give_identical_bytes_seed_and_secret_matter(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    source = tiny_quickdraw["source"]
    prepare_all(tmp_path / "a", source, spec=spec, progress=False, secret=instructor_secret)
    prepare_all(tmp_path / "b", source, spec=spec, progress=False, secret=instructor_secret)
    prepare_all(tmp_path / "c", source, seed=8, spec=spec, progress=False, secret=instructor_secret)
    prepare_all(tmp_path / "d", source, spec=spec, progress=False, secret=b"another secret, 32 bytes long.!!")
    a, b, c, d = (tree(tmp_path / x) for x in "abcd")
    assert a == b
    # the public seed draws what students get with labels ...
    assert a["homework/train.csv"] != c["homework/train.csv"]
    assert a["competition/train/000000.png"] != c["competition/train/000000.png"]
    # ... the secret everything else: same released training data, other hidden sets
    for name in ("homework/train.csv", "homework/test.csv", "competition/train.csv", "competition/valid.csv"):
        assert a[name] == d[name], name
    assert a["competition/train/000000.png"] == d["competition/train/000000.png"]
    assert dataset_digests(tmp_path / "a", "homework")["heldout"] != dataset_digests(tmp_path / "d", "homework")["heldout"]
    for name in ("instructor/competition_labels.csv", "competition/test.csv",
                 "instructor/competition_verification_labels.csv"):
        assert a[name] != d[name], name


def test_one_dataset_alone_equals_the_same_dataset_from_all(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    prepare_all(tmp_path / "all", tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    prepare_dataset("competition", tmp_path / "one", tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    both, alone = tree(tmp_path / "all"), tree(tmp_path / "one")
    for name, data in alone.items():
        if name != "instructor/MANIFEST.json":
            assert both[name] == data, name
    assert not (tmp_path / "one" / "homework").exists()


def test_duplicates_are_dropped_and_datasets_never_overlap(tiny_quickdraw, tmp_path, instructor_secret):
    # ant has 39 distinct drawings; take all of them: 20 for the homework, 19 for the competition
    # (not jittered here, so that every image can be traced to its source drawing)
    spec = spec_of(
        tiny_quickdraw,
        homework={"splits": {"train": 10, "valid": 4, "test": 4, "heldout": 2}},
        competition={"splits": {"train": 9, "valid": 4, "test": 3, "verification": 3}, "jitter": False},
    )
    prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    arrays = tiny_quickdraw["arrays"]
    homework, competition = dataset_digests(tmp_path, "homework"), dataset_digests(tmp_path, "competition")
    all_images = [d for splits in (homework, competition) for ds in splits.values() for d in ds]
    assert len(all_images) == len(set(all_images)) == 3 * 20 + 3 * 19

    ant = {digest(i) for i in arrays["ant"]}
    used_ant = {d for d in all_images if d in ant}
    assert used_ant == ant and len(ant) == 39  # every distinct ant drawing, each exactly once
    shared = digest(arrays["cow"][9])  # also bee's drawing 7: ambiguous, so in neither dataset
    assert shared not in all_images


def test_splits_are_stratified_and_labels_right(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    owner = {digest(img): name for name, imgs in tiny_quickdraw["arrays"].items() for img in imgs}
    classes = (tmp_path / "homework" / "classes.txt").read_text().split()
    assert classes == ["ant", "bee", "cow"]
    for split, per_class in (("train", 6), ("valid", 3), ("test", 3)):
        with open(tmp_path / "homework" / f"{split}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == 3 * per_class
        for row in rows:
            image = Image.open(tmp_path / "homework" / row["filename"])
            assert image.mode == "L" and image.size == (28, 28)
            assert owner[digest(image)] == classes[int(row["label"])]
    with np.load(tmp_path / "instructor" / "homework_heldout.npz") as z:
        assert sorted(z["labels"].tolist()) == [0, 0, 1, 1, 2, 2]
        assert [owner[digest(i)] for i in z["images"]] == [classes[label] for label in z["labels"]]
    with open(tmp_path / "instructor" / "competition_labels.csv", newline="") as f:
        labels = list(csv.DictReader(f))
    splits = sorted((r["label"], r["split"]) for r in labels)
    assert splits == sorted((str(c), s) for c in range(3) for s in ("public",) * 3 + ("private",) * 3)


def test_rerun_is_up_to_date_and_rewrites_nothing(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    results = prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    assert [r.status for r in results] == ["up to date", "up to date"]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == stamps


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda root: (root / "homework" / "train" / "000001.png").write_bytes(b"x"), "was changed"),
        (lambda root: (root / "homework" / "valid" / "000000.png").unlink(), "is missing"),
        (lambda root: (root / "homework" / "notes.txt").write_text("mine"), "not in its MANIFEST"),
        (lambda root: (root / "instructor" / "homework_heldout.npz").write_bytes(b"x"), "was changed"),
    ],
)
def test_changed_output_is_refused_then_forced(tiny_quickdraw, tmp_path, damage, message, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    good = tree(tmp_path)
    damage(tmp_path)
    with pytest.raises(UserError, match=message):
        prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, force=True, secret=instructor_secret)
    assert tree(tmp_path) == good


def test_force_replaces_only_our_folders(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    (tmp_path / "homework").mkdir()
    (tmp_path / "homework" / "theirs.txt").write_text("someone else's")
    (tmp_path / "keep.txt").write_text("unrelated")
    with pytest.raises(UserError, match="holds other data"):
        prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    assert not (tmp_path / "competition").exists()  # refused before writing anything
    prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, force=True, secret=instructor_secret)
    assert not (tmp_path / "homework" / "theirs.txt").exists()
    assert (tmp_path / "keep.txt").read_text() == "unrelated"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["competition", "homework", "instructor", "keep.txt"]


def test_interrupted_build_leaves_old_dataset_or_nothing(tiny_quickdraw, tmp_path, monkeypatch, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    real_write_png = files_module.write_png
    calls = []

    def failing_write_png(path, image):
        calls.append(path)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return real_write_png(path, image)

    monkeypatch.setattr(files_module, "write_png", failing_write_png)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    assert os.listdir(tmp_path) == []  # no half dataset, no temporary folder

    monkeypatch.setattr(files_module, "write_png", real_write_png)
    prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    old = tree(tmp_path)
    calls.clear()
    monkeypatch.setattr(files_module, "write_png", failing_write_png)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], seed=9, spec=spec, progress=False, force=True,
                        secret=instructor_secret)
    assert tree(tmp_path) == old and sorted(os.listdir(tmp_path)) == ["homework", "instructor"]


def test_leftovers_of_a_killed_run_are_cleaned(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    dead = tmp_path / ".homework.tmp-999999999-abcd1234"
    (dead / "homework").mkdir(parents=True)
    prepare_dataset("homework", tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    assert not dead.exists()
    assert sorted(os.listdir(tmp_path)) == ["homework", "instructor"]


def test_manifest_and_npz_carry_no_time_or_place(tiny_quickdraw, tmp_path, instructor_secret):
    spec = spec_of(tiny_quickdraw)
    prepare_all(tmp_path, tiny_quickdraw["source"], spec=spec, progress=False, secret=instructor_secret)
    text = (tmp_path / "homework" / "MANIFEST.json").read_text()
    assert str(tmp_path) not in text and str(tiny_quickdraw["source"]) not in text
    manifest = json.loads(text)
    assert manifest["seed"] == 7 and set(manifest["source"]) == {"ant", "bee", "cow", "dog"}
    png = (tmp_path / "homework" / "train" / "000000.png").read_bytes()
    assert b"tIME" not in png and b"tEXt" not in png and b"iTXt" not in png
