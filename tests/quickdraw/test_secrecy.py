"""Playing the student: with the repository (its public seed), the public QuickDraw files and the
released competition folder, but not the instructor's secret, try to recover the hidden labels.

``quickdraw_root`` stands for the instructor's data (prepared with the fixture ``instructor_secret``). The
student re-prepares everything from the public seed, which gives them the released training data
byte for byte but hidden sets of their own; labels carried over from those by id, by row or by
identical pixels score at chance on the private half. The private half's images are not released
at all (only the public half's are): no released image is within 4 grey levels of any private
one, so there is nothing to look the private labels up with; they are scored by re-running the
entrants' notebooks at close (tests/leaderboard/test_close.py). Matching the released test images
against Google's files finds no exact copy and no copy with the same ink.

What does not hold, and is not claimed: a nearest-neighbour search of Google's files still finds
the drawing each released (public-half) image was made from (bench/bench_lookup.py), because the
images are public drawings, only lightly distorted. Such labels can fill the public board but
neither win (verification re-runs the entry's code, capped at 32 KiB, on never-released drawings:
tests/leaderboard/test_verify.py) nor score on the private board.
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.quickdraw.prepare import prepare_all
from autograder.quickdraw.sources import find_source

CLASSES = ["apple", "bicycle", "cat", "eye", "fish"]


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def released_images(competition: Path) -> dict[str, np.ndarray]:
    return {row["id"]: np.asarray(Image.open(competition / row["filename"])) for row in rows(competition / "test.csv")}


def no_better_than_chance(correct: int, n: int, chance: float = 1 / len(CLASSES)) -> bool:
    """``correct`` of ``n`` is within the one-sided 99.99% binomial bound of guessing (normal approx.)."""
    return correct <= chance * n + 3.72 * math.sqrt(chance * (1 - chance) * n) + 1


@pytest.fixture(scope="module")
def truth(quickdraw_root) -> dict[str, tuple[int, str]]:
    """The instructor's hidden labels: id -> (label, public|private)."""
    return {row["id"]: (int(row["label"]), row["split"])
            for row in rows(quickdraw_root / "instructor" / "competition_labels.csv")}


@pytest.mark.parametrize("student_secret", [
    b"the student's own machine secret",  # what `prepare` makes on the student's machine
    (2019).to_bytes(32, "big"),  # a guess: the public seed as the secret
])
def test_re_preparing_from_the_public_seed_recovers_nothing(quickdraw_root, truth, tmp_path, student_secret):
    mine = tmp_path / "student"
    prepare_all(mine, find_source(), progress=False, secret=student_secret)
    released = quickdraw_root / "competition"
    # the student side is reproducible from the public seed ...
    for name in ("train.csv", "valid.csv", "train/000000.png", "classes.txt"):
        assert (mine / "competition" / name).read_bytes() == (released / name).read_bytes(), name
    # ... the hidden sets are not
    guessed = {row["id"]: int(row["label"]) for row in rows(mine / "instructor" / "competition_labels.csv")}
    private = [i for i, (_, split) in truth.items() if split == "private"]

    by_id = [i for i in private if i in guessed]
    assert no_better_than_chance(sum(guessed[i] == truth[i][0] for i in by_id), len(by_id))

    released_order = [row["id"] for row in rows(released / "test.csv")]
    assert len(released_order) == 1000 and not set(released_order) & set(private)  # no private row to line up

    theirs = {hashlib.sha256(image.tobytes()).digest() for image in released_images(mine / "competition").values()}
    ours = {hashlib.sha256(image.tobytes()).digest() for image in released_images(released).values()}
    assert not theirs & ours  # no released test image is among the student's own draw


def test_no_released_image_is_near_a_private_one(quickdraw_root, truth):
    source = find_source()
    public = np.concatenate([source.load(name) for name in CLASSES])
    exact = {image.tobytes() for image in public}
    ink = {(image > 0).tobytes() for image in public}
    released = released_images(quickdraw_root / "competition")
    assert len(released) == 1000 and all(truth[i][1] == "public" for i in released)
    assert not any(image.tobytes() in exact for image in released.values())  # no byte-identical copy
    assert not any((image > 0).tobytes() in ink for image in released.values())  # no copy with the same ink

    # the private half is not released: every released PNG differs from every private image by
    # more than 4 grey levels RMS, so nothing released leads to a private drawing or its label
    private = released_images(quickdraw_root / "instructor" / "competition_private")
    assert len(private) == 1000 and all(truth[i][1] == "private" for i in private)
    queries = np.stack(list(released.values())).reshape(len(released), -1).astype(np.float32)
    pool = np.stack(list(private.values())).reshape(len(private), -1).astype(np.float32)
    squared = (queries**2).sum(1)[:, None] - 2 * queries @ pool.T + (pool**2).sum(1)[None, :]
    rms = np.sqrt(np.maximum(squared.min(1), 0) / 784)
    assert rms.min() > 4, rms.min()
