"""Benchmark: images per second of the reference QuickDraw Datasets, PIL per item vs in memory.

The two Dataset classes and the timing helper are taken from the reference notebook
solutions/quickdraw_loader/quickdraw_loader.ipynb (its setup, Dataset and timing cells are
executed here), so the benchmark measures exactly the code the students are shown. Both datasets
are read through a shuffling DataLoader (batch 64) over the homework training split; the ratio
printed at the end comes from this one run. Target: the in-memory Dataset >= 20x faster.

    python bench/bench_loader.py [--root data/quickdraw/homework] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "solutions" / "quickdraw_loader" / "quickdraw_loader.ipynb"
# the notebook cells (by nbgrader grade_id) that define what is measured
CELLS = ("qd_setup", "quickdraw_dataset", "inmemory_dataset", "qd_speed_helpers")
TARGET = 20


def load_reference(root: Path) -> dict:
    """Run the notebook's setup, Dataset and timing cells; return their namespace."""
    os.environ["QUICKDRAW_HOMEWORK"] = str(root)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in nb.cells}
    namespace: dict = {}
    for grade_id in CELLS:
        exec(compile(by_id[grade_id], f"{NOTEBOOK.name}:{grade_id}", "exec"), namespace)
    return namespace


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_root = os.environ.get("QUICKDRAW_HOMEWORK", REPO / "data" / "quickdraw" / "homework")
    parser.add_argument("--root", type=Path, default=Path(default_root), help="the homework dataset folder")
    parser.add_argument("--repeats", type=int, default=5, help="passes per dataset; the best one counts")
    args = parser.parse_args()
    if not (args.root / "train.csv").is_file():
        print(f"error: no homework data in {args.root}; run `autograder data quickdraw prepare homework`",
              file=sys.stderr)
        return 2

    ref = load_reference(args.root.resolve())
    per_item = ref["QuickDrawDataset"](args.root, "train")
    start = time.perf_counter()
    in_memory = ref["InMemoryQuickDrawDataset"](args.root, "train")
    decode_seconds = time.perf_counter() - start

    per_item_rate = ref["images_per_second"](per_item, repeats=args.repeats)
    in_memory_rate = ref["images_per_second"](in_memory, repeats=args.repeats)
    epochs = 10  # the one-time decoding, spread over a typical training run
    amortised_rate = epochs * len(in_memory) / (decode_seconds + epochs * len(in_memory) / in_memory_rate)
    ratio = in_memory_rate / per_item_rate
    print(f"QuickDraw homework train split: {len(per_item)} images, DataLoader batch 64, best of {args.repeats}")
    print(f"  PIL open per item     : {per_item_rate:12,.0f} images/s")
    print(f"  in memory (uint8)     : {in_memory_rate:12,.0f} images/s   (decoding once took {decode_seconds:.2f} s)")
    print(f"  in memory incl. decode: {amortised_rate:12,.0f} images/s   (decoding spread over {epochs} epochs)")
    print(f"speed-up: {ratio:.1f}x (target >= {TARGET}x: {'met' if ratio >= TARGET else 'NOT met'}); "
          f"including the decoding: {amortised_rate / per_item_rate:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
