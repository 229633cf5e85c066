"""Looking the hidden labels up in the public QuickDraw files, and what verification's code cap leaves of it.

Plays the student who has the repository and the public drawings (the offline copy: 3,000 per
class) but not the instructor's secret. The competition is prepared into a temporary folder with
a fresh secret, through the real pipeline; then, in one run:

1. Offline lookup of the **released** test images (how a student would fill a submission): exact
   byte and ink matches, and nearest-neighbour matching against every public drawing of the five
   classes (raw pixels and blurred, energy-normalised pixels): the accuracy of the nearest
   drawing's label on the released images (the public half: all that is released). Control: the
   same matching with the matched drawings left out (an ordinary 1-NN classifier on the public
   data): the gap between the two is what finding the source itself is worth. The private half is
   not released: how many of its images are released (0) and how close the nearest released
   image comes to any of them (RMS grey levels; nothing to look its labels up with). It is scored
   by re-running each entry's notebook at close, which meets the same code cap as part 2.
2. Carrying the lookup into verification, where only code cells run, capped at --cap-kib:
   - the whole pool, bit-packed and compressed: its size against the cap;
   - the best nearest-neighbour index that fits (PCA codes, one byte per component, of every
     public drawing, base85 in the code): its accuracy on the verification set;
   - int8 weights that fit (a 784-h-5 MLP) trained on the whole public pool, hidden drawings
     included (data the rules forbid): accuracy on the verification set;
   - the honest baseline: the same MLP trained on the released training set only.
Targets: no exact or ink match; within the cap the index scores below the honest MLP (the lookup
does not pay). Run:  .venv/bin/python bench/bench_lookup.py [--cap-kib 32]
"""

from __future__ import annotations

import argparse
import base64
import csv
import os
import sys
import tempfile
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.quickdraw.prepare import prepare_all  # noqa: E402
from autograder.quickdraw.sources import find_source  # noqa: E402

OVERHEAD = 2048  # bytes of code around an embedded blob (loading, matching, writing predictions)


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def images_of(folder: Path, table: str) -> tuple[list[str], np.ndarray]:
    listed = rows(folder / table)
    return [r["id"] for r in listed], np.stack([np.asarray(Image.open(folder / r["filename"])) for r in listed])


def blurred(x: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur (separable), then each image scaled to unit energy."""
    radius = int(3 * sigma)
    kernel = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    kernel /= kernel.sum()
    padded = np.pad(x.astype(np.float32), ((0, 0), (radius, radius), (radius, radius)))
    y = sum(k * padded[:, i:i + 28, :] for i, k in enumerate(kernel))
    y = sum(k * y[:, :, i:i + 28] for i, k in enumerate(kernel)).reshape(len(x), -1)
    return y / (np.linalg.norm(y, axis=1, keepdims=True) + 1e-6)


def nearest(queries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Index of the nearest pool row (Euclidean) for each query row."""
    norms = (pool**2).sum(1)
    return np.concatenate([(norms[None] - 2 * q @ pool.T).argmin(1) for q in np.array_split(queries, 8)])


def mlp_accuracy(train_x, train_y, test_x, test_y, hidden: int, epochs: int = 30) -> float:
    """A 784-hidden-5 MLP (Adam, fixed seed), weights rounded to int8 per layer as if embedded."""
    torch.manual_seed(0)
    x = torch.tensor(train_x.reshape(len(train_x), -1) / 255, dtype=torch.float32)
    y = torch.tensor(train_y)
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 5))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(128):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        for p in model.parameters():
            scale = p.abs().max() / 127
            p.copy_(torch.round(p / scale) * scale)
        t = torch.tensor(test_x.reshape(len(test_x), -1) / 255, dtype=torch.float32)
        return float((model(t).argmax(1).numpy() == test_y).mean())


def prepared_data() -> SimpleNamespace:
    """Prepare the datasets in a scratch folder; read its released test images (with their labels and
    halves), the verification set and the training set."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prepare_all(root, find_source(), progress=False, secret=os.urandom(32))
        competition, instructor = root / "competition", root / "instructor"
        classes = (competition / "classes.txt").read_text().split()
        truth = {r["id"]: (int(r["label"]), r["split"]) for r in rows(instructor / "competition_labels.csv")}
        ids, released = images_of(competition, "test.csv")
        _, private = images_of(instructor / "competition_private", "test.csv")
        swap_ids, swap = images_of(instructor / "competition_verification", "test.csv")
        swap_truth = {r["id"]: int(r["label"]) for r in rows(instructor / "competition_verification_labels.csv")}
        train_rows = rows(competition / "train.csv")
        return SimpleNamespace(
            classes=classes, released=released, labels=np.array([truth[i][0] for i in ids]),
            private=private, private_released=sum(truth[i][1] == "private" for i in ids),
            swap=swap, swap_labels=np.array([swap_truth[i] for i in swap_ids]),
            train=np.stack([np.asarray(Image.open(competition / r["filename"])) for r in train_rows]),
            train_labels=np.array([int(r["label"]) for r in train_rows]))


def offline_lookup(data: SimpleNamespace, public: np.ndarray, public_labels: np.ndarray) -> None:
    """Part 1: how well the public pool looks up the released test images' labels."""
    released, labels = data.released, data.labels
    print("\n1. offline lookup of the released test images")
    exact = {image.tobytes() for image in public}
    ink = {(image > 0).tobytes() for image in public}
    print(f"   exact byte matches {sum(i.tobytes() in exact for i in released)}, "
          f"ink matches {sum((i > 0).tobytes() in ink for i in released)}   (target 0)")
    for name, embed in (("raw pixels", lambda x: x.reshape(len(x), -1).astype(np.float32)),
                        ("blurred", blurred)):
        pool, queries = embed(public), embed(released)
        hit = nearest(queries, pool)
        accuracy = (public_labels[hit] == labels).mean()
        print(f"   nearest public drawing, {name}: label accuracy on the released (public) half {accuracy:.3f}")
    keep = np.ones(len(public), bool)
    keep[np.unique(hit)] = False  # leave each image's matched drawing (its source, mostly) out
    control = (public_labels[keep][nearest(queries, pool[keep])] == labels).mean()
    print(f"   control, the matched drawings left out (a plain 1-NN classifier): {control:.3f}")
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32)  # noqa: E731
    near = flat(released)[nearest(flat(data.private), flat(released))]
    rms = np.sqrt(((near - flat(data.private)) ** 2).mean(1))
    print(f"   private half: {len(data.private)} images, {data.private_released} of them released (target 0); "
          f"nearest released image at {rms.min():.1f} grey levels RMS at least (target > 4)")


def carried_into_verification(data: SimpleNamespace, public: np.ndarray, public_labels: np.ndarray, cap: int) -> None:
    """Part 2: what of the pool fits in a notebook's code under the verification cap, and what it scores."""
    train, train_labels, swap, swap_labels = data.train, data.train_labels, data.swap, data.swap_labels
    print(f"\n2. carrying it into verification (code cap {cap / 1024:.0f} KiB; only code cells run)")
    packed = zlib.compress(np.packbits(public > 0).tobytes(), 9)
    print(f"   whole pool bit-packed + zlib: {len(base64.b85encode(packed)) / 1024:.0f} KiB as base85 "
          f"({len(base64.b85encode(packed)) / cap:.1f}x the cap): not run")
    budget = (cap - OVERHEAD) * 4 // 5  # raw bytes that fit as base85
    k = 0
    while (k + 1) * (len(public) + 784 * 2) <= budget:
        k += 1
    honest = mlp_accuracy(train, train_labels, swap, swap_labels, hidden=128)
    if k:
        flat = blurred(public)
        mean = flat.mean(0)
        basis = np.linalg.svd(flat - mean, full_matrices=False)[2][:k]
        codes = (flat - mean) @ basis.T
        low, high = codes.min(0), codes.max(0)
        quantise = lambda z: np.rint((z - low) / (high - low) * 255).clip(0, 255)  # noqa: E731
        hit = nearest(quantise((blurred(swap) - mean) @ basis.T), quantise(codes))
        accuracy = (public_labels[hit] == swap_labels).mean()
        print(f"   best index that fits: PCA-{k} codes of all {len(public)} drawings "
              f"({k * len(public) / 1024:.0f} KiB raw): verification accuracy {accuracy:.3f}")
    else:
        print("   no index of one byte per drawing fits")
    hidden = max(h for h in range(1, 257) if h * 789 + 5 <= budget)
    print(f"   int8 MLP 784-{hidden}-5 that fits, on the verification set:")
    print(f"     trained on the whole public pool (hidden drawings included): "
          f"{mlp_accuracy(public, public_labels, swap, swap_labels, hidden):.3f}")
    print(f"     honest: the same size trained on the released training set: "
          f"{mlp_accuracy(train, train_labels, swap, swap_labels, hidden):.3f}")
    print(f"   honest baseline, 784-128-5 on the released training set: {honest:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-kib", type=float, default=32.0, help="verification's code cap (default 32)")
    args = parser.parse_args()
    started = time.time()
    data = prepared_data()
    source = find_source()
    public = np.concatenate([source.load(name) for name in data.classes])
    public_labels = np.repeat(np.arange(len(data.classes)), [len(source.load(name)) for name in data.classes])
    print(f"{len(public)} public drawings of {data.classes}; {len(data.released)} released test images "
          f"(the public half; {len(data.private)} private ones kept back), {len(data.swap)} verification images, "
          f"{len(data.train)} training images")
    offline_lookup(data, public, public_labels)
    carried_into_verification(data, public, public_labels, int(args.cap_kib * 1024))
    print(f"\n{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
