"""Benchmark: does the competition's jitter cost a model accuracy, and what does a pixel lookup
against the public QuickDraw files still recover?

The competition is prepared twice into a temporary folder from the offline source with one
secret: once as released (every image jittered, see autograder/quickdraw/jitter.py) and once
with jitter switched off. The secret fixes the drawings and ids, so the two share them and each
released test image's original public drawing is known. Printed, all from this one run:

  accuracy   the starter notebook's MLP (784-256-128-5, Adam, 10 epochs; 3 seeds) on the released
             test set (the public half; the private half is never released): trained and tested
             on clean drawings, on jittered ones (as released), and trained clean / tested
             jittered; the difference jittered - clean
  lookup     for released test images, matching against the 15,000 public drawings of the five
             classes: exact bytes, exact ink mask, nearest neighbour (L2), and nearest neighbour
             over integer shifts of -1..1 px; for each: how often it finds the very drawing, and
             the accuracy of the labels it gives; and the same nearest-neighbour searches with
             the originals removed from the pool (an ordinary k-NN classifier on public data)
  margin     the noise margin of `leaderboard verify` (n = 1000 public / 2000 verification
             images) and of `leaderboard close` (1000 public / 1000 private) at a few accuracies

    python bench/bench_competition_data.py [--lookup-sample 400]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from autograder.leaderboard.verify import noise_margin
from autograder.quickdraw.prepare import prepare_dataset
from autograder.quickdraw.sources import find_source
from autograder.quickdraw.spec import load_spec, parse_spec

SECRET = b"bench secret, fixed for one run!"


def prepare(root: Path, jitter: bool) -> Path:
    raw = json.loads(load_spec().path.read_text())
    raw["datasets"]["competition"]["jitter"] = jitter
    spec = parse_spec(raw, Path("bench-spec.json"))
    prepare_dataset("competition", root, find_source(), spec=spec, progress=False, secret=SECRET)
    return root


def load(root: Path, split: str):
    """Images (N, 28, 28) and labels of a split; the test split's labels from instructor/."""
    folder = root / "competition"
    with open(folder / f"{split}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    images = np.stack([np.asarray(Image.open(folder / row["filename"])) for row in rows])
    if split != "test":
        return images, np.array([int(row["label"]) for row in rows]), None
    with open(root / "instructor" / "competition_labels.csv", newline="") as f:
        truth = {row["id"]: int(row["label"]) for row in csv.DictReader(f)}
    ids = [row["id"] for row in rows]
    return images, np.array([truth[i] for i in ids]), ids


def train_mlp(images, labels, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 5))
    x, y = torch.from_numpy(images).float().div(255), torch.from_numpy(labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(10):
        for batch in torch.randperm(len(x), generator=generator).split(64):
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def accuracy(model, images, labels) -> float:
    with torch.no_grad():
        return float((model(torch.from_numpy(images).float().div(255)).argmax(1).numpy() == labels).mean())


def nearest(queries: np.ndarray, pool: np.ndarray, shifts: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Index of the nearest pool image (L2) over integer shifts of the query by -shifts..shifts px."""
    pool_t = torch.from_numpy(pool.reshape(len(pool), -1).astype(np.float32))
    pool_norm = (pool_t**2).sum(1)
    best = torch.full((len(queries),), float("inf"))
    arg = torch.zeros(len(queries), dtype=torch.long)
    for dy in range(-shifts, shifts + 1):
        for dx in range(-shifts, shifts + 1):
            moved = np.roll(np.roll(queries, dy, axis=1), dx, axis=2).reshape(len(queries), -1)
            q = torch.from_numpy(moved.astype(np.float32))
            distance = (q**2).sum(1)[:, None] - 2 * q @ pool_t.T + pool_norm[None, :]
            if exclude is not None:
                distance[torch.arange(len(q)), torch.from_numpy(exclude)] = float("inf")
            value, index = distance.min(1)
            better = value < best
            best[better], arg[better] = value[better], index[better]
    return arg.numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lookup-sample", type=int, default=400, help="test images for the lookup attacks")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-competition-") as tmp:
        jittered, clean = prepare(Path(tmp) / "jittered", True), prepare(Path(tmp) / "clean", False)
        data = {name: {split: load(root, split) for split in ("train", "test")}
                for name, root in (("jittered", jittered), ("clean", clean))}
        classes = (jittered / "competition" / "classes.txt").read_text().split()
    assert data["jittered"]["test"][2] == data["clean"]["test"][2]  # the same ids, the same drawings

    n_test = len(data["jittered"]["test"][1])
    print(f"accuracy of the starter MLP on the {n_test:,} released test drawings (3 seeds)")
    results = {}
    for train_on, test_on in (("clean", "clean"), ("jittered", "jittered"), ("clean", "jittered")):
        scores = [accuracy(train_mlp(*data[train_on]["train"][:2], seed), *data[test_on]["test"][:2])
                  for seed in range(3)]
        results[train_on, test_on] = np.mean(scores)
        each = ", ".join(f"{s:.3f}" for s in scores)
        print(f"  train {train_on:<8} test {test_on:<8} {np.mean(scores):.4f}  ({each})")
    p = results["clean", "clean"]
    gap = results["jittered", "jittered"] - results["clean", "clean"]
    print(f"  jittered - clean (as released vs no jitter): {gap:+.4f}"
          f"   standard error of one accuracy on {n_test:,} images: {np.sqrt(p * (1 - p) / n_test):.4f}")

    source = find_source()
    pool = np.concatenate([source.load(name) for name in classes])
    owner = np.repeat(np.arange(len(classes)), [len(source.load(name)) for name in classes])
    where = {hashlib.sha256(image.tobytes()).digest(): k for k, image in enumerate(pool)}
    test, labels = data["jittered"]["test"][0], data["jittered"]["test"][1]
    original = np.array([where[hashlib.sha256(image.tobytes()).digest()] for image in data["clean"]["test"][0]])
    exact = np.mean([hashlib.sha256(image.tobytes()).digest() in where for image in test])
    masks = {(p > 0).tobytes() for p in pool}
    mask = np.mean([(image > 0).tobytes() in masks for image in test])
    print(f"\nlookup of the released (jittered) test images against {len(pool):,} public drawings")
    print(f"  exact bytes      found {exact:.1%} of {n_test:,}")
    print(f"  exact ink mask   found {mask:.1%} of {n_test:,}")
    sample = np.random.default_rng(0).choice(len(test), size=min(args.lookup_sample, len(test)), replace=False)
    for shifts in (0, 1):
        name = "nearest (L2)" if shifts == 0 else "nearest, shifts +-1"
        hit = nearest(test[sample], pool, shifts)
        found, right = np.mean(hit == original[sample]), np.mean(owner[hit] == labels[sample])
        other = nearest(test[sample], pool, shifts, exclude=original[sample])
        knn = np.mean(owner[other] == labels[sample])
        print(f"  {name:<20} finds the drawing {found:.1%}, labels right {right:.1%}; "
              f"without the originals in the pool (plain 1-NN) {knn:.1%}   (n = {len(sample)})")

    print("\nnoise margin (99.9% one-sided) against n = 1000 public images: verify on 2000 verification "
          "images / close on 1000 private ones")
    for p in (0.80, 0.85, 0.90, 0.95):
        verify, close = noise_margin(p, 1000, p, 2000, 0.999), noise_margin(p, 1000, p, 1000, 0.999)
        print(f"  accuracy {p:.2f}: verified down to {p - verify:.4f} (margin {verify:.4f}) / "
              f"{p - close:.4f} (margin {close:.4f})")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
