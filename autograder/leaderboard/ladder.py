"""The Ladder mechanism (Blum & Hardt 2015, "The Ladder: A Reliable Leaderboard for
Machine Learning Competitions"), fixed-step version, for a score where higher is better.

Each entrant has a best reported score. A new submission's public accuracy only replaces it
when it beats the best by more than the step ``eta``, and then the board shows it rounded to
a multiple of ``eta``; otherwise the board repeats the old best. A submission that does not
climb therefore reveals nothing beyond "not better than best + eta", which is what stops
repeated probing and the boosting attack from fitting the public half.
"""

from __future__ import annotations

# Scores are fractions k/n; this slack keeps "more than eta" from depending on float rounding.
_SLACK = 1e-9


def round_to_step(score: float, eta: float) -> float:
    """``score`` rounded to the nearest multiple of ``eta``."""
    return round(round(score / eta) * eta, 10)


def ladder_step(best: float | None, score: float, eta: float) -> tuple[float, bool]:
    """Return (reported score, whether the board moved) for a new submission.

    ``best`` is the entrant's current reported score (None before the first submission).
    """
    if eta <= 0:
        raise ValueError("the Ladder step eta must be positive")
    if best is None or score > best + eta + _SLACK:
        return round_to_step(score, eta), True
    return best, False
