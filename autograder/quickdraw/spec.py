"""The dataset specification (data/quickdraw/datasets.json): which classes, how many drawings.

Format::

    {"seed": 2019,
     "datasets": {
       "<name>": {"classes": [...],            # label i is classes[i]
                  "take": "front" | "back",    # end of each class's permutation to take from
                  "splits": {"train": 1000, ...},   # drawings per class, in allocation order
                  "instructor_only": ["heldout"],   # splits kept whole in instructor/<name>_<split>.npz
                  "hidden_labels": "test",          # split released without labels (opaque ids);
                  "public_fraction": 0.5,           #   its labels go to instructor/<name>_labels.csv
                  "verification": "verification",   # split written like the hidden one but kept in
                                                    #   instructor/<name>_verification/ (never released)
                  "jitter": true}}}                 # distort every image (autograder.quickdraw.jitter)

Splits named by "instructor_only", "hidden_labels" and "verification" are the *secret* ones:
drawn with the instructor's secret, from every drawing no released split uses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import UserError
from autograder.paths import quickdraw_dir

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED = {"instructor", "cache"}


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the course layout."""

    name: str
    classes: tuple[str, ...]
    take: str
    splits: tuple[tuple[str, int], ...]
    instructor_only: tuple[str, ...] = ()
    hidden_labels: str | None = None
    public_fraction: float = 0.5
    verification: str | None = None
    jitter: bool = False

    @property
    def per_class(self) -> int:
        """Drawings of each class this dataset uses."""
        return sum(n for _, n in self.splits)

    @property
    def secret_splits(self) -> tuple[str, ...]:
        """Splits drawn with the instructor's secret (students never get their labels)."""
        hidden = {*self.instructor_only, self.hidden_labels, self.verification}
        return tuple(split for split, _ in self.splits if split in hidden)

    @property
    def released_per_class(self) -> int:
        """Drawings of each class in the splits drawn from the public seed."""
        return sum(n for split, n in self.splits if split not in self.secret_splits)

    def as_dict(self) -> dict:
        """JSON form (as recorded in MANIFEST.json)."""
        data = {
            "classes": list(self.classes),
            "take": self.take,
            "splits": dict(self.splits),
            "instructor_only": list(self.instructor_only),
        }
        if self.hidden_labels:
            data["hidden_labels"] = self.hidden_labels
            data["public_fraction"] = self.public_fraction
        if self.verification:
            data["verification"] = self.verification
        if self.jitter:
            data["jitter"] = True
        return data


@dataclass(frozen=True)
class Spec:
    """All datasets of one specification file, with its default seed."""

    seed: int
    datasets: tuple[DatasetSpec, ...]
    path: Path

    def names(self) -> list[str]:
        """Dataset names in file order."""
        return [d.name for d in self.datasets]

    def get(self, name: str) -> DatasetSpec:
        """The dataset called ``name``."""
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        raise UserError(f"no dataset '{name}' in {self.path}; choose from: {', '.join(self.names())}, all")

    def all_classes(self) -> list[str]:
        """Every class any dataset uses, sorted."""
        return sorted({c for d in self.datasets for c in d.classes})


def default_spec_path() -> Path:
    """data/quickdraw/datasets.json in the course repository."""
    return quickdraw_dir() / "datasets.json"


def load_spec(path: str | Path | None = None) -> Spec:
    """Read and check a specification file (default: data/quickdraw/datasets.json)."""
    path = Path(path) if path else default_spec_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"dataset specification {path} not found (pass --spec FILE)") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable JSON file ({' '.join(str(exc).split())})") from None
    return parse_spec(raw, path)


def parse_spec(raw: object, path: Path) -> Spec:
    """Check the JSON form of a specification and return it as a :class:`Spec`."""

    def fail(message: str) -> UserError:
        return UserError(f"{path}: {message}")

    if not isinstance(raw, dict) or not isinstance(raw.get("datasets"), dict) or not raw["datasets"]:
        raise fail('expected an object with a non-empty "datasets" object')
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise fail('"seed" must be a non-negative integer')
    datasets = tuple(_parse_dataset(name, entry, fail) for name, entry in raw["datasets"].items())
    return Spec(seed=seed, datasets=datasets, path=path)


def _parse_dataset(name: str, entry: object, fail) -> DatasetSpec:
    """Check one entry of ``datasets``."""
    where = f"dataset '{name}'"
    if not NAME.match(name) or name in RESERVED:
        raise fail(f"{where}: names are lowercase identifiers other than {sorted(RESERVED)}")
    if not isinstance(entry, dict):
        raise fail(f"{where}: expected an object")
    known = {"classes", "take", "splits", "instructor_only", "hidden_labels", "public_fraction", "description",
             "verification", "jitter"}
    if extra := sorted(set(entry) - known):
        raise fail(f"{where}: unknown keys {extra}")
    classes = entry.get("classes")
    if (
        not isinstance(classes, list)
        or not classes
        or not all(isinstance(c, str) and c.strip() == c and c for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise fail(f"{where}: \"classes\" must be a non-empty list of distinct class names")
    take = entry.get("take")
    if take not in ("front", "back"):
        raise fail(f'{where}: "take" must be "front" or "back"')
    splits = entry.get("splits")
    if (
        not isinstance(splits, dict)
        or not splits
        or not all(NAME.match(s) for s in splits)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in splits.values())
    ):
        raise fail(f'{where}: "splits" must map split names to positive per-class counts')
    instructor_only = entry.get("instructor_only", [])
    if not isinstance(instructor_only, list) or not set(instructor_only) <= set(splits):
        raise fail(f'{where}: "instructor_only" must list some of its splits')
    hidden = entry.get("hidden_labels")
    if hidden is not None and (hidden not in splits or hidden in instructor_only):
        raise fail(f'{where}: "hidden_labels" must name a released split')
    verification = entry.get("verification")
    if verification is not None and (
        not hidden or verification not in splits or verification in (hidden, *instructor_only)
    ):
        raise fail(f'{where}: "verification" must name another split of a dataset with "hidden_labels"')
    jitter = entry.get("jitter", False)
    if not isinstance(jitter, bool):
        raise fail(f'{where}: "jitter" must be true or false')
    fraction = entry.get("public_fraction", 0.5)
    if not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise fail(f'{where}: "public_fraction" must be between 0 and 1')
    return DatasetSpec(
        name=name,
        classes=tuple(classes),
        take=take,
        splits=tuple(splits.items()),
        instructor_only=tuple(instructor_only),
        hidden_labels=hidden,
        public_fraction=float(fraction),
        verification=verification,
        jitter=jitter,
    )
