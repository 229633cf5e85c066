"""The Ladder mechanism (Blum & Hardt 2015, "The Ladder: A Reliable Leaderboard for
Machine Learning Competitions") for accuracy, where higher is better. Three versions:

* ``sequential`` (the default) — the parameter-free Ladder's paired test with a critical
  value that accounts for the multiple comparisons an entrant makes against one best. The
  ``j``-th submission compared with the entrant's current best (``j`` counts from 1 after
  every move) moves the board only when

      acc_new - acc_best > z_j * s,     s = sd(correct_new - correct_best) / sqrt(n),
      z_j = Phi^{-1}(1 - alpha_j),      alpha_j = alpha / (zeta(3/2) * j^{3/2}),

  with ``sum_j alpha_j = alpha`` (zeta(3/2) = 2.612...). Each comparison is a one-sided
  paired z-test at level ``alpha_j`` (normal approximation), so however many submissions an
  entrant makes against a best that none of them truly beats, the probability that any of
  them moves the board is at most ``alpha`` (a union bound), and the expected number of false
  moves over an unlimited history at most ``alpha / (1 - alpha)``. That is exact for files
  made without the public labels; an adaptive entrant sees nothing but the moves, a bit or
  so per submission, which is the Ladder's own argument (Blum & Hardt, section 3) against
  using them. The default ``alpha = 0.5`` gives
  z_1 = 0.87, z_2 = 1.49, z_5 = 2.12, z_20 = 2.86, z_600 = 4.20.
  Why: the parameter-free Ladder's fixed one standard error (z = 1) is exceeded by a pure
  guess against the best one time in six, so 600 guesses climb the board by about 0.03 at
  n = 1,000. The union bound stops that climb; the spending sequence decays as j^{-3/2}
  (not j^{-2}) and restarts after every move, so an honest improvement is still seen when it
  comes soon after the entrant's last move. ``alpha`` trades the two (bench/bench_ladder.py,
  n = 1,000, 60 competitions: board minus chance after 600 random guesses / boosting leak /
  an honest +0.02 as submissions 2..20 moving the board): alpha 0.05: +0.004 / 0.003 / 47 %;
  0.2: +0.008 / 0.006 / 73 %; 0.5: +0.009 / 0.005 / 92 %; 0.8: +0.012 / 0.007 / 92 %; the
  parameter-free Ladder: +0.033 / 0.019 / 100 % (targets 0.02 / 0.015 / 90 %). A conventional
  alpha like 0.05 hides most honest gains at this n; 0.5 is where their visibility stops
  growing, and leaves the attacks at half the targets or less.
  The cost: after many submissions that did not move the board, a real gain of about 1.5
  standard errors needs several tries before the board shows it. And z_1 < 1: the first try
  after a move is slightly more lenient than the parameter-free Ladder, so a file that fixes
  one image (a gain of exactly one paired error) moves the board there, restarting the count;
  a prober learns at most a run of such first tries, each continuing only when its probed
  label is right, while any second try needs 1.49 errors. A floor z_j >= 1 closes that but
  costs honest entrants (same simulation, 200 competitions: +0.02 seen in 90.0 % instead of
  92.5 %), which is why there is none.
* ``free`` — the paper's parameter-free Ladder (its second algorithm): the same paired test
  at one standard error, ``z_j = 1`` for every submission.
* ``fixed`` — the fixed-step Ladder: a submission moves the board only by beating the best
  by more than ``eta``, and the board shows it rounded to a multiple of ``eta``.

In the two paired versions the released score is the new accuracy rounded to the precision
of the paired standard error (its leading decimal: 0.01 at n = 1,000), never below the
previous release, so the board never shows digits below the noise. A submission that does
not move the board is told the old best again, which reveals nothing beyond "not
significantly better": that is what stops probing and the boosting attack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

SEQUENTIAL, FREE, FIXED = "sequential", "free", "fixed"
MODES = (SEQUENTIAL, FREE, FIXED)
DEFAULT_ALPHA = 0.5  # the sequential Ladder's bound on a false move against one best
_ZETA_3_2 = 2.612375348685488  # sum over j >= 1 of j^(-3/2)

# Scores are fractions k/n; this slack keeps "more than" from depending on float rounding.
_SLACK = 1e-9


@dataclass(frozen=True)
class Step:
    """The Ladder's answer to one submission: what the board shows, whether it moved, and
    the margin the submission had to beat (eta, or the paired standard error)."""

    reported: float
    moved: bool
    margin: float


def round_to_step(score: float, eta: float) -> float:
    """``score`` rounded to the nearest multiple of ``eta``."""
    return round(round(score / eta) * eta, 10)


def ladder_step(best: float | None, score: float, eta: float) -> tuple[float, bool]:
    """Fixed-step Ladder: (reported score, whether the board moved) for a new submission.

    ``best`` is the entrant's current reported score (None before the first submission).
    """
    if eta <= 0:
        raise ValueError("the Ladder step eta must be positive")
    if best is None or score > best + eta + _SLACK:
        return round_to_step(score, eta), True
    return best, False


def paired_standard_error(correct: np.ndarray, best_correct: np.ndarray) -> float:
    """Standard error of the mean paired difference ``correct - best_correct`` (0/1 per image)."""
    diffs = correct.astype(np.int8) - best_correct.astype(np.int8)
    return float(np.std(diffs, ddof=1)) / math.sqrt(len(diffs))


def precision_of(standard_error: float) -> float:
    """The decimal precision of a standard error: 0.0179 -> 0.01, 0.0042 -> 0.001."""
    if standard_error <= 0:
        return 0.0
    return 10.0 ** math.floor(math.log10(standard_error))


def _round_to_precision(score: float, standard_error: float) -> float:
    precision = precision_of(standard_error)
    if precision == 0:
        return score
    digits = max(0, -int(round(math.log10(precision))))
    return round(score, digits)


def critical_value(tries: int, alpha: float = DEFAULT_ALPHA) -> float:
    """The sequential Ladder's ``z_j`` for the ``tries``-th comparison with one best:
    ``Phi^{-1}(1 - alpha / (zeta(3/2) tries^{3/2}))``; these levels sum to ``alpha``."""
    if tries < 1:
        raise ValueError("a comparison with the best is numbered from 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    return NormalDist().inv_cdf(1 - alpha / (_ZETA_3_2 * tries**1.5))


def paired_step(best: float | None, best_correct: np.ndarray | None, correct: np.ndarray,
                z: float = 1.0) -> Step:
    """Paired Ladder: the answer to a submission whose public per-image correctness is
    ``correct`` (bool), given the entrant's reported ``best`` and the best's correctness; it
    moves the board when it beats the best by more than ``z`` paired standard errors
    (``z = 1``: the parameter-free Ladder).

    The first submission always moves the board (its own standard error sets the rounding).
    """
    score = float(np.count_nonzero(correct)) / len(correct)
    if best is None or best_correct is None:
        error = float(np.std(correct.astype(np.float64), ddof=1)) / math.sqrt(len(correct))
        return Step(_round_to_precision(score, error), True, error)
    error = paired_standard_error(correct, best_correct)
    best_score = float(np.count_nonzero(best_correct)) / len(best_correct)
    if score > best_score + z * error + _SLACK:
        # Never show a lower number for a better submission (the old best may have been
        # rounded at a coarser precision than this one).
        return Step(max(_round_to_precision(score, error), best), True, z * error)
    return Step(best, False, z * error)


def pack(correct: np.ndarray) -> bytes:
    """Per-image correctness (bool) as a packed bit array: n/8 bytes per stored best."""
    return np.packbits(correct.astype(bool)).tobytes()


def unpack(data: bytes, n: int) -> np.ndarray:
    """The bool array :func:`pack` stored for ``n`` images."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=n).astype(bool)


def ladder_answer(mode: str, eta: float, best: float | None, best_bits: bytes | None,
                  correct: np.ndarray, *, alpha: float = DEFAULT_ALPHA, tries: int = 1) -> Step:
    """The answer of the competition's Ladder (``mode`` sequential, free or fixed) to a
    submission with public correctness ``correct``; ``best_bits`` is the stored :func:`pack`
    of the best's, ``tries`` numbers this submission among those compared with that best
    (1 for the first after a move) and ``alpha`` is the sequential Ladder's level."""
    if mode == FIXED:
        score = float(np.count_nonzero(correct)) / len(correct)
        reported, moved = ladder_step(best, score, eta)
        return Step(reported, moved, eta)
    if mode not in MODES:
        raise ValueError(f"unknown Ladder {mode!r} (expected one of {', '.join(MODES)})")
    best_correct = None if best_bits is None else unpack(best_bits, len(correct))
    z = critical_value(tries, alpha) if mode == SEQUENTIAL else 1.0
    return paired_step(best, best_correct, correct, z)
