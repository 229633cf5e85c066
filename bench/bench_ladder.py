"""The public board's Ladder against adaptive overfitting and against honest progress.

For n = 1,000 public (and 1,000 private) images of a 5-class competition, in one run, four
boards, all through ``autograder.leaderboard.ladder.ladder_answer``, the function the store
calls for every submission: the sequential Ladder (the default: the paired test with a
critical value that grows with the tries against one best, alpha 0.5), Blum & Hardt's
parameter-free Ladder (one paired standard error), the fixed step (eta = 0.003, the old
default) and, for comparison, a fixed step wide enough for the guessing target (eta = 0.04).

1. Pure guessing: an entrant submits 600 uniformly random label vectors. Board score after
   them minus true accuracy (chance, 0.200), mean over competitions.  target <= 0.02
2. Boosting attack (Blum & Hardt 2015, section 5): of those 600, keep the ones that moved the
   board, submit their plurality vote. Leak = the vote's public accuracy minus its private
   accuracy (what it fits of the public labels beyond skill), mean.   target <= 0.015
   A board that shows every exact score (keep those above chance) is the reference.
3. Honest progress: an entrant whose model is at 0.80 (submission 1) trains better models,
   each at 0.82 true accuracy (retrains of one pipeline: correlated with the old model, image
   by image), as submissions 2..20. Target "gain visible": the board moves within them in at
   least 90 % of competitions. Printed: how many retrains until it moves (distribution), the
   board after them minus 0.82 (a board that shows the gain ends near 0), and, as the
   control, how often 19 retrains with no real gain (0.80) move it. Also when the gain only
   arrives after 3, 8 or 18 retrains with no gain (19 retrains at +0.02 from submission 5, 10
   or 20): what a multiple-comparison bound costs an entrant who tried many times.
4. The sequential Ladder's alpha (its bound on a false move against one best) against all
   three figures: the default's justification.
Figures 1 and 2 are also given for --budget submissions: what the daily limit lets one entrant
(a team included) submit in a four-week competition (5 a day x 28 days = 140).
Figures are over --trials independent competitions (fixed seeds). Run:
  .venv/bin/python bench/bench_ladder.py [--trials 60]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.leaderboard.ladder import DEFAULT_ALPHA, FIXED, FREE, SEQUENTIAL  # noqa: E402
from tests.leaderboard.entrants import (  # noqa: E402
    CHANCE,
    ETA,
    N_CLASSES,
    N_PUBLIC,
    exact_board_leak,
    guessing_and_boosting,
    honest_progress,
)

WIDE = 0.04  # a fixed step wide enough for the guessing target, to show what it costs
BOARDS = {"sequential": (SEQUENTIAL, ETA, f"sequential (alpha {DEFAULT_ALPHA}, the default)"),
          "free": (FREE, ETA, "parameter-free"), "fixed": (FIXED, ETA, f"fixed step (eta {ETA})"),
          "wide": (FIXED, WIDE, f"fixed step (eta {WIDE}, for comparison)")}
INFLATION, LEAK, VISIBLE = 0.02, 0.015, 0.9  # the targets
LATE_STARTS = (5, 10, 20)
ALPHAS = (0.05, 0.2, 0.5, 0.8)


def summary(values) -> str:
    values = np.asarray(values, dtype=float)
    return (f"mean {values.mean():+.4f}, median {np.median(values):+.4f}, "
            f"95th pct {np.percentile(values, 95):+.4f}")


def distribution(counts: list[int | None], limit: int) -> str:
    """Share of trials whose board moved at retrain 1, 2, 3, 4-5, 6-10, 11-limit, never."""
    bins = [(1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, limit)]
    parts = [f"{lo if lo == hi else f'{lo}-{hi}'}: {np.mean([c is not None and lo <= c <= hi for c in counts]):.0%}"
             for lo, hi in bins]
    return ", ".join(parts + [f"never: {np.mean([c is None for c in counts]):.0%}"])


def attacks(mode: str, eta: float, seeds, k: int) -> np.ndarray:
    """Rows (board - chance, boosting leak, vote's board move) over the seeded competitions."""
    runs = np.array([guessing_and_boosting(mode, seed, k, eta) for seed in seeds])
    print(f"  1. board - true accuracy after {k} random submissions: {summary(runs[:, 0])}; "
          f"within 0.02 of chance in {np.mean(runs[:, 0] <= 0.02):.0%} of trials"
          f"  -> target {INFLATION} / mean = {INFLATION / max(runs[:, 0].mean(), 1e-9):.2f}x")
    print(f"  2. boosting leak from those {k} (vote's public - private accuracy): {summary(runs[:, 1])}"
          f"  -> target {LEAK} / mean = {LEAK / max(runs[:, 1].mean(), 1e-9):.2f}x; "
          f"the vote moved the board in {np.mean(runs[:, 2] > 0):.0%} of trials")
    return runs


def honest(mode: str, eta: float, seeds, retrains: int) -> float:
    """Print the honest entrant's figures; return the share of trials whose board moved."""
    runs = [honest_progress(mode, seed, 0.82, retrains, eta) for seed in seeds]
    counts = [count for count, _ in runs]
    seen = np.mean([count is not None for count in counts])
    control = [honest_progress(mode, seed, 0.80, retrains, eta)[0] for seed in seeds]
    print(f"  3. honest +0.02 as submissions 2..{retrains + 1}: the board moved in {seen:.0%} of trials "
          f"-> target {VISIBLE:.0%}; retrains until it moved: {distribution(counts, retrains)}; board after "
          f"them - 0.82: {summary([gap for _, gap in runs])}; control, no real gain: the board moved in "
          f"{np.mean([count is not None for count in control]):.0%} (at the first retrain in "
          f"{np.mean([count == 1 for count in control]):.0%})")
    late = []
    for first in LATE_STARTS:
        counts = [honest_progress(mode, seed, 0.82, retrains, eta, first)[0] for seed in seeds]
        moved = [count for count in counts if count is not None]
        late.append(f"from submission {first}: {len(moved) / len(counts):.0%}"
                    f" (median {np.median(moved) if moved else float('nan'):.0f} retrains)")
    print(f"     gain only after retrains with no gain, moved within {retrains}: " + "; ".join(late))
    return float(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=60, help="independent competitions per figure")
    parser.add_argument("--submissions", type=int, default=600, help="random submissions of the attacker")
    parser.add_argument("--budget", type=int, default=140, help="submissions the daily limit allows one entrant")
    parser.add_argument("--retrains", type=int, default=19, help="+0.02 retrains of the honest entrant")
    args = parser.parse_args()
    start = time.perf_counter()
    seeds = range(args.trials)
    one_error = math.sqrt(CHANCE * (1 - CHANCE) / N_PUBLIC)
    print(f"n = {N_PUBLIC} public images, {N_CLASSES} classes, {args.trials} trials; the standard error of one "
          f"accuracy at chance is {one_error:.4f}")
    exact = [exact_board_leak(seed, args.submissions) for seed in seeds]
    print(f"reference, a board showing exact scores: boosting leak {summary(exact)}")
    table = {}
    for mode, eta, title in BOARDS.values():
        print(f"\n{title} Ladder")
        runs = attacks(mode, eta, seeds, args.submissions)
        attacks(mode, eta, seeds, args.budget)
        table[title] = (runs[:, 0].mean(), runs[:, 1].mean(), honest(mode, eta, seeds, args.retrains))
    print(f"\nthe sequential Ladder's alpha (600 random submissions; +0.02 as submissions 2..{args.retrains + 1}):")
    for alpha in ALPHAS:
        runs = np.array([guessing_and_boosting(SEQUENTIAL, seed, args.submissions, alpha=alpha) for seed in seeds])
        seen = np.mean([honest_progress(SEQUENTIAL, seed, 0.82, args.retrains, alpha=alpha)[0] is not None
                        for seed in seeds])
        late = np.mean([honest_progress(SEQUENTIAL, seed, 0.82, args.retrains, first=10, alpha=alpha)[0] is not None
                        for seed in seeds])
        print(f"  alpha {alpha:<4}: inflation {runs[:, 0].mean():+.4f}, leak {runs[:, 1].mean():+.4f}, "
              f"+0.02 seen {seen:.0%} (from submission 10: {late:.0%})")
    print(f"\ntargets at {args.submissions} submissions: inflation <= {INFLATION}, leak <= {LEAK}, "
          f"+0.02 seen in >= {VISIBLE:.0%} ({time.perf_counter() - start:.1f} s)")
    for title, (inflation, leak, seen) in table.items():
        met = inflation <= INFLATION and leak <= LEAK and seen >= VISIBLE
        print(f"  {title:42s} inflation {inflation:+.4f} ({INFLATION / max(inflation, 1e-9):.2f}x)  "
              f"leak {leak:+.4f} ({LEAK / max(leak, 1e-9):.2f}x)  +0.02 seen {seen:.0%}  "
              f"-> {'all three met' if met else 'not met'}")


if __name__ == "__main__":
    main()
