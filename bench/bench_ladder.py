"""The public board's Ladder against adaptive overfitting and against honest progress.

For n = 1,000 public (and 1,000 private) images of a 5-class competition, in one run, the
fixed-step Ladder (eta = 0.003, the old default) against Blum & Hardt's parameter-free Ladder
(the default), both through ``autograder.leaderboard.ladder.ladder_answer``, the function the
store calls for every submission:

1. Pure guessing: an entrant submits 600 uniformly random label vectors. Board score after
   them minus true accuracy (chance, 0.200).                          target <= 0.02
2. Boosting attack (Blum & Hardt 2015, section 5): of those 600, keep the ones that moved the
   board, submit their plurality vote. Leak = the vote's public accuracy minus its private
   accuracy (what it fits of the public labels beyond skill).         target <= 0.015
   A board that shows every exact score (keep those above chance) is the reference.
3. Honest progress: an entrant whose model is at 0.80 trains better models, each at 0.82 true
   accuracy (retrains of one pipeline: correlated with the old model, image by image). How
   many submissions before the board moves; and, as the control, how often retrains with no
   real gain (0.80) move it.                                          target: gain visible

A third board, the fixed step at eta = 0.04, shows the trade-off at this n: a step wide enough
for the guessing and leak targets hides the honest +0.02.
Figures 1 and 2 are also given for --budget submissions: what the daily limit lets one entrant
(a team included) submit in a four-week competition (5 a day x 28 days = 140).
Figures are over --trials independent competitions (fixed seeds); ratios to the targets are
printed. Run: .venv/bin/python bench/bench_ladder.py [--trials 60]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_leaderboard_support import (  # noqa: E402
    CHANCE,
    ETA,
    N_CLASSES,
    N_PUBLIC,
    exact_board_leak,
    guessing_and_boosting,
    submissions_until_move,
)

from autograder.leaderboard.ladder import FIXED, FREE  # noqa: E402

WIDE = 0.04  # a fixed step wide enough for the guessing target, to show what it costs
BOARDS = {"fixed": (FIXED, ETA, f"fixed step (eta {ETA})"), "free": (FREE, ETA, "parameter-free"),
          "wide": (FIXED, WIDE, f"fixed step (eta {WIDE}, for comparison)")}


def summary(values) -> str:
    values = np.asarray(values, dtype=float)
    return (f"mean {values.mean():+.4f}, median {np.median(values):+.4f}, "
            f"95th pct {np.percentile(values, 95):+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=60, help="independent competitions per figure")
    parser.add_argument("--submissions", type=int, default=600, help="random submissions of the attacker")
    parser.add_argument("--budget", type=int, default=140, help="submissions the daily limit allows one entrant")
    parser.add_argument("--honest-limit", type=int, default=20, help="retrains tried by the honest entrant")
    args = parser.parse_args()
    start = time.perf_counter()
    seeds = range(args.trials)
    one_error = math.sqrt(CHANCE * (1 - CHANCE) / N_PUBLIC)
    print(f"n = {N_PUBLIC} public images, {N_CLASSES} classes, {args.trials} trials; the standard error of one "
          f"accuracy at chance is {one_error:.4f}")
    exact = [exact_board_leak(seed, args.submissions) for seed in seeds]
    print(f"reference, a board showing exact scores: boosting leak {summary(exact)}")
    results = {}
    for board, (mode, eta, title) in BOARDS.items():
        print(f"\n{title} Ladder")
        for k in (args.submissions, args.budget):
            runs = np.array([guessing_and_boosting(mode, seed, k, eta) for seed in seeds])
            results.setdefault(board, runs)
            print(f"  1. board - true accuracy after {k} random submissions: {summary(runs[:, 0])}; "
                  f"within 0.02 of chance in {np.mean(runs[:, 0] <= 0.02):.0%} of trials"
                  f"  -> target 0.02 / mean = {0.02 / runs[:, 0].mean():.2f}x")
            print(f"  2. boosting leak from those {k} (vote's public - private accuracy): {summary(runs[:, 1])}"
                  f"  -> target 0.015 / mean = {0.015 / runs[:, 1].mean():.2f}x; "
                  f"the vote moved the board in {np.mean(runs[:, 2] > 0):.0%} of trials")
        honest = [submissions_until_move(mode, seed, 0.82, args.honest_limit, eta) for seed in seeds]
        control = [submissions_until_move(mode, seed, 0.80, args.honest_limit, eta) for seed in seeds]
        moved = [count for count in honest if count is not None]
        false = [count for count in control if count is not None]
        print(f"  3. honest +0.02: the board moved within {args.honest_limit} retrains in "
              f"{len(moved) / len(honest):.0%} of trials, median after {np.median(moved) if moved else 'n/a'} "
              f"(90th pct {np.percentile(moved, 90) if moved else 'n/a':.0f}), first retrain in "
              f"{np.mean([count == 1 for count in honest]):.0%}; retrains with no gain moved it within "
              f"{args.honest_limit} in {len(false) / len(control):.0%} of trials, at the first in "
              f"{np.mean([count == 1 for count in control]):.0%}")
    ratio = results["fixed"][:, 0].mean() / results["free"][:, 0].mean()
    leak_ratio = results["fixed"][:, 1].mean() / results["free"][:, 1].mean()
    print(f"\nparameter-free vs fixed ({args.submissions} submissions): random guessing inflated {ratio:.2f}x less, "
          f"boosting leak {leak_ratio:.2f}x "
          f"smaller ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
