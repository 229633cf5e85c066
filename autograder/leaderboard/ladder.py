"""The Ladder mechanism (Blum & Hardt 2015, "The Ladder: A Reliable Leaderboard for
Machine Learning Competitions") for accuracy, where higher is better. Two versions:

* ``free`` (the default) — the paper's parameter-free Ladder (its second algorithm): a
  submission replaces the entrant's best only when its public accuracy beats the best's by
  more than the standard error of the paired per-image differences,
  ``s / sqrt(n)`` with ``s`` the sample standard deviation of ``correct_new - correct_best``
  over the ``n`` public images (a one-sided paired test at one standard error). The released
  score is rounded to the precision of that standard error (its leading decimal), so the
  board never shows digits that are below the noise.
* ``fixed`` — the fixed-step Ladder: a submission moves the board only by beating the best
  by more than ``eta``, and the board shows it rounded to a multiple of ``eta``.

A submission that does not move the board is told the old best again, which reveals nothing
beyond "not significantly better": that is what stops probing and the boosting attack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FREE, FIXED = "free", "fixed"
MODES = (FREE, FIXED)

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


def free_step(best: float | None, best_correct: np.ndarray | None, correct: np.ndarray) -> Step:
    """Parameter-free Ladder: the answer to a submission whose public per-image correctness is
    ``correct`` (bool), given the entrant's reported ``best`` and the best's correctness.

    The first submission always moves the board (its own standard error sets the rounding).
    """
    score = float(np.count_nonzero(correct)) / len(correct)
    if best is None or best_correct is None:
        error = float(np.std(correct.astype(np.float64), ddof=1)) / math.sqrt(len(correct))
        return Step(_round_to_precision(score, error), True, error)
    error = paired_standard_error(correct, best_correct)
    best_score = float(np.count_nonzero(best_correct)) / len(best_correct)
    if score > best_score + error + _SLACK:
        # Never show a lower number for a better submission (the old best may have been
        # rounded at a coarser precision than this one).
        return Step(max(_round_to_precision(score, error), best), True, error)
    return Step(best, False, error)


def pack(correct: np.ndarray) -> bytes:
    """Per-image correctness (bool) as a packed bit array: n/8 bytes per stored best."""
    return np.packbits(correct.astype(bool)).tobytes()


def unpack(data: bytes, n: int) -> np.ndarray:
    """The bool array :func:`pack` stored for ``n`` images."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=n).astype(bool)


def ladder_answer(mode: str, eta: float, best: float | None, best_bits: bytes | None,
                  correct: np.ndarray) -> Step:
    """The answer of the competition's Ladder (``mode`` free or fixed) to a submission with
    public correctness ``correct``; ``best_bits`` is the stored :func:`pack` of the best's."""
    if mode == FIXED:
        score = float(np.count_nonzero(correct)) / len(correct)
        reported, moved = ladder_step(best, score, eta)
        return Step(reported, moved, eta)
    if mode != FREE:
        raise ValueError(f"unknown Ladder {mode!r} (expected one of {', '.join(MODES)})")
    best_correct = None if best_bits is None else unpack(best_bits, len(correct))
    return free_step(best, best_correct, correct)
