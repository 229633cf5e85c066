"""Simulated entrants played against the Ladder's own decision function: random guessers, the
boosting attack, honest retrains (the attack tests and bench/bench_ladder.py)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from autograder.leaderboard.ladder import DEFAULT_ALPHA, ladder_answer, pack

N_PUBLIC = N_PRIVATE = 1000  # the competition's size
N_CLASSES = 5
CHANCE = 1 / N_CLASSES
ETA = 0.003  # the fixed Ladder's old default step


class Entrant:
    """One entrant's Ladder state as the store keeps it (reported best, packed best hits,
    submissions compared with that best), driven by the store's own decision function."""

    def __init__(self, mode: str, eta: float = ETA, alpha: float = DEFAULT_ALPHA):
        self.mode, self.eta, self.alpha, self.best, self.bits, self.since_best = mode, eta, alpha, None, None, 0

    def submit(self, correct: np.ndarray) -> bool:
        step = ladder_answer(self.mode, self.eta, self.best, self.bits, correct, alpha=self.alpha,
                             tries=self.since_best + 1)
        if step.moved:
            self.best, self.bits, self.since_best = step.reported, pack(correct), 0
        else:
            self.since_best += 1
        return step.moved


def plurality(vectors: np.ndarray, rng) -> np.ndarray:
    """Per image, the label most vectors give (ties broken at random)."""
    counts = np.stack([(vectors == label).sum(axis=0) for label in range(N_CLASSES)])
    return (counts + rng.random(counts.shape) * 0.5).argmax(axis=0)


def guessing_and_boosting(mode: str, seed: int, k: int, eta: float = ETA,
                          alpha: float = DEFAULT_ALPHA) -> tuple[float, float, float]:
    """(board after k random submissions - chance, boosting leak, board move from the vote)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, N_PUBLIC + N_PRIVATE)
    public = np.arange(len(labels)) < N_PUBLIC
    entrant, kept = Entrant(mode, eta, alpha), []
    for _ in range(k):
        guess = rng.integers(0, N_CLASSES, len(labels))
        if entrant.submit(guess[public] == labels[public]):
            kept.append(guess)
    board = entrant.best
    vote = plurality(np.array(kept), rng)
    leak = float(np.mean(vote[public] == labels[public]) - np.mean(vote[~public] == labels[~public]))
    entrant.submit(vote[public] == labels[public])
    return board - CHANCE, leak, entrant.best - board


def exact_board_leak(seed: int, k: int) -> float:
    """The boosting leak against a board that reports every exact public accuracy."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, N_PUBLIC + N_PRIVATE)
    public = np.arange(len(labels)) < N_PUBLIC
    guesses = rng.integers(0, N_CLASSES, (k, len(labels)))
    kept = guesses[np.mean(guesses[:, public] == labels[public], axis=1) > CHANCE]
    vote = plurality(kept, rng)
    return float(np.mean(vote[public] == labels[public]) - np.mean(vote[~public] == labels[~public]))


def model_hits(ease: np.ndarray, accuracy: float, rng, noise: float = 0.6) -> np.ndarray:
    """Per-image correctness of one trained model: right where ease + its own noise clears a
    threshold set for ``accuracy``; models of one pipeline share ``ease`` (so they agree on
    most images, as retrains do)."""
    threshold = -NormalDist().inv_cdf(accuracy) * math.sqrt(1 + noise**2)
    return ease + rng.normal(0, noise, len(ease)) > threshold


def honest_progress(mode: str, seed: int, accuracy: float, limit: int, eta: float = ETA,
                    first: int = 2, alpha: float = DEFAULT_ALPHA) -> tuple[int | None, float]:
    """After a 0.80 model on the board (submission 1) and retrains with no gain (submissions
    2 .. first - 1): how many retrains at ``accuracy`` (submissions first, first + 1, ...)
    until one moves the board (None if none of ``limit`` does), and the board after all
    ``limit`` of them minus ``accuracy`` (the expected public accuracy of one)."""
    rng = np.random.default_rng(seed)
    ease = rng.normal(0, 1, N_PUBLIC)
    entrant = Entrant(mode, eta, alpha)
    for _ in range(first - 1):
        entrant.submit(model_hits(ease, 0.80, rng))
    moved_at = None
    for number in range(1, limit + 1):
        if entrant.submit(model_hits(ease, accuracy, rng)) and moved_at is None:
            moved_at = number
    return moved_at, entrant.best - accuracy
