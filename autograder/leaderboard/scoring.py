"""The instructor's answer key (both halves' labels) and an upload's accuracy on the public half."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from autograder.errors import UserError
from autograder.leaderboard.validate import TestIds


@dataclass(frozen=True)
class AnswerKey:
    """Hidden labels of the competition test set, in a fixed id order. Only the public half's
    images are released, so uploads list (and are scored on) the public ids alone; the private
    half is scored by re-running notebooks at close (:mod:`autograder.leaderboard.private_rerun`)."""

    ids: tuple[str, ...]
    labels: np.ndarray = field(repr=False)  # uint8, one per id
    public: np.ndarray = field(repr=False)  # bool, True for the public half
    classes: tuple[str, ...]

    @cached_property
    def test_ids(self) -> TestIds:
        """The ids an upload lists: the public half's, in id order."""
        return TestIds(tuple(i for i, shown in zip(self.ids, self.public, strict=True) if shown))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_private(self) -> int:
        return len(self.ids) - int(np.count_nonzero(self.public))

    def public_correct(self, predictions: np.ndarray) -> np.ndarray:
        """Per public image (in id order), whether ``predictions`` (one per public id) gets it right."""
        return predictions == self.labels[self.public]

    def score(self, predictions: np.ndarray) -> float:
        """Accuracy of ``predictions`` (one label per public id, in :attr:`test_ids` order)."""
        return float(np.mean(self.public_correct(predictions)))

    def fingerprint(self) -> str:
        """sha256 over ids, labels and split: identifies the key a database was made with."""
        digest = hashlib.sha256("\n".join(self.ids).encode())
        digest.update(self.labels.tobytes())
        digest.update(self.public.tobytes())
        digest.update("\n".join(self.classes).encode())
        return digest.hexdigest()

    @classmethod
    def from_arrays(cls, ids, labels, public, classes) -> AnswerKey:
        """Build and check a key from sequences (ids unique, labels in range, both halves non-empty)."""
        ids = tuple(ids)
        labels = np.asarray(labels, dtype=np.int64)
        public = np.asarray(public, dtype=bool)
        classes = tuple(classes)
        if len(classes) < 2 or len(classes) > 256:
            raise UserError(f"a competition needs 2-256 classes, got {len(classes)}")
        if not ids or len(labels) != len(ids) or len(public) != len(ids):
            raise UserError("the answer key needs one label and one split per test id")
        if len(set(ids)) != len(ids):
            raise UserError("the answer key lists a test id twice")
        if labels.min() < 0 or labels.max() >= len(classes):
            raise UserError(f"the answer key has labels outside 0-{len(classes) - 1}")
        if public.all() or not public.any():
            raise UserError("the answer key needs both a public and a private half")
        return cls(ids, labels.astype(np.uint8), public, classes)


def read_classes(spec: str) -> tuple[str, ...]:
    """Classes from a classes.txt file (one name per line) or a comma-separated list."""
    path = Path(spec)
    if path.is_file():
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        return tuple(name for name in names if name)
    if "," in spec:
        return tuple(name.strip() for name in spec.split(",") if name.strip())
    raise UserError(f"classes: no such file {spec} (give classes.txt or a comma-separated list)")


def read_answer_key(labels_csv: Path, classes: tuple[str, ...]) -> AnswerKey:
    """Read the instructor's ``id,label,split`` file (split is public or private)."""
    try:
        with open(labels_csv, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise UserError(
            f"no answer key at {labels_csv}; run `autograder data quickdraw prepare competition` "
            "or pass --labels"
        ) from None
    if not rows or not {"id", "label", "split"} <= set(rows[0]):
        raise UserError(f"{labels_csv}: expected the header id,label,split")
    try:
        labels = [int(row["label"]) for row in rows]
    except ValueError:
        raise UserError(f"{labels_csv}: a label is not an integer") from None
    splits = {row["split"] for row in rows}
    if not splits <= {"public", "private"}:
        raise UserError(f"{labels_csv}: split must be public or private, got {sorted(splits - {'public', 'private'})}")
    return AnswerKey.from_arrays(
        [row["id"] for row in rows], labels, [row["split"] == "public" for row in rows], classes
    )
