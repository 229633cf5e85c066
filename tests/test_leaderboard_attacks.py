"""Adaptive overfitting: the attacks the Ladder exists to stop, run through the real store.

Boosting attack (Blum & Hardt 2015, section 5): submit k random label vectors, keep those the
board scores above chance, submit their majority vote. Against a board that reports each
submission's exact public accuracy (Kaggle's), the vote's public accuracy is predicted by
theory: for binary labels and n public images, each kept vector agrees with the labels on
E[c | c > 0] = sqrt(2 / (pi n)) more than half the images, so the vote over |S| kept vectors
is right with probability Phi(sqrt(|S| * 2 / (pi n))), while its private accuracy stays at
chance. Against the Ladder, the attacker only sees the rounded best, so the vote cannot move
the board by more than eta, and the board stays within sampling noise of chance.

Single-image probing: change one label of a fixed submission at a time and watch the score.
A naive board reveals, for every probed public image, whether the label was right; on the
Ladder every probe reports the same number, so nothing is learned (fixed: one image = 1/n <
eta; parameter-free: one image = 1/n, exactly the paired standard error, not more).

Both Ladders run each attack. The fixed step against the parameter-free Ladder, at the
competition's size (1,000 public images): after 600 random submissions, the parameter-free
board is inflated less above chance and the boosting vote leaks less of the public labels and
never moves the board, while an honest +0.02 still moves it (figures in bench/bench_ladder.py).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from test_leaderboard_support import (
    CHANCE,
    ETA,
    Clock,
    csv_bytes,
    exact_board_leak,
    guessing_and_boosting,
    make_board,
    sqlite_url,
    submissions_until_move,
    synthetic_key,
)

N_TEST = 2000  # 1000 public, 1000 private: the competition's size
K = 400
TRIALS = 30  # independent competitions for the statistical comparisons (fixed seeds)
LADDERS = ("fixed", "free")


def majority(vectors: np.ndarray, rng) -> np.ndarray:
    """Per image, the label most kept vectors give (binary; ties by a coin flip)."""
    votes = vectors.sum(axis=0) * 2 - len(vectors)
    return np.where(votes > 0, 1, np.where(votes < 0, 0, rng.integers(0, 2, vectors.shape[1])))


@pytest.fixture(params=LADDERS)
def binary_board(tmp_path, request):
    key = synthetic_key(n=N_TEST, n_classes=2, seed=3)
    lb, tokens, _ = make_board(sqlite_url(tmp_path), key, students=("naive", "ladder", "greedy"),
                               clock=Clock(), ladder=request.param, eta=ETA, daily_limit=10_000)
    return key, lb, tokens


def test_boosting_attack_climbs_a_naive_board_but_not_the_ladder(binary_board):
    key, lb, tokens = binary_board
    rng = np.random.default_rng(2015)
    vectors = rng.integers(0, 2, (K, N_TEST))
    n_public = int(key.public.sum())
    sigma = 0.5 / math.sqrt(n_public)  # sd of a random vector's public accuracy

    # --- the naive board: each submission's exact public accuracy ------------------------
    exact = np.array([key.score(vector).public for vector in vectors])
    kept = vectors[exact > 0.5]
    vote = key.score(majority(kept, rng))
    predicted = NormalDist().cdf(math.sqrt(len(kept) * 2 / (math.pi * n_public)))
    assert abs(vote.public - predicted) < 3 * sigma, (vote.public, predicted)
    assert vote.public - 0.5 > 0.1  # a real climb...
    assert abs(vote.private - 0.5) < 4 * sigma  # ...that is pure overfitting
    naive_climb = vote.public - 0.5

    # --- the Ladder: the same attack, seeing only what the Ladder reports ----------------
    attacker = lb.authenticate(tokens["ladder"])
    reported = np.array([lb.submit(attacker, csv_bytes(key, vector)).public_score for vector in vectors])
    before = lb.board()[0].score
    kept = vectors[reported > 0.5]
    result = lb.submit(attacker, csv_bytes(key, majority(kept, rng)))
    after = lb.board()[0].score
    assert after - before <= ETA  # the vote buys nothing on the Ladder
    assert result.public_score == after
    # What is left is the best of K noise draws, which any board that shows a best has:
    noise = sigma * math.sqrt(2 * math.log(K)) + sigma
    print(f"naive climb {naive_climb:.3f}, Ladder climb {after - 0.5:.3f}, bound {ETA + noise:.3f}")
    assert after - 0.5 <= ETA + noise
    assert after - 0.5 < naive_climb / 2
    entry = lb.board(private=True)[0]
    assert abs(entry.score - 0.5) < 4 * sigma  # the board entry is a chance-level model

    # --- a sharper attacker: vote only the submissions that moved the Ladder -------------
    greedy = lb.authenticate(tokens["greedy"])
    moved = [vector for vector in vectors if lb.submit(greedy, csv_bytes(key, vector)).moved]
    best = lb.history(greedy)[0]["public_score"]
    last = lb.submit(greedy, csv_bytes(key, majority(np.array(moved), rng)))
    assert last.public_score - best <= ETA + 2 * sigma
    assert last.public_score - 0.5 < naive_climb / 2


@pytest.mark.parametrize("ladder", LADDERS)
def test_single_image_probing_learns_nothing_on_the_ladder(tmp_path, ladder):
    key = synthetic_key(n=N_TEST, n_classes=5, seed=4)
    lb, tokens, _ = make_board(sqlite_url(tmp_path), key, students=("prober",), clock=Clock(),
                               ladder=ladder, eta=ETA, daily_limit=10_000)
    prober = lb.authenticate(tokens["prober"])
    rng = np.random.default_rng(7)
    base = np.where(rng.random(N_TEST) < 0.7, key.labels, (key.labels + rng.integers(1, 5, N_TEST)) % 5)  # 70 %
    probed = np.arange(150)

    def probe(image: int) -> np.ndarray:
        variant = base.copy()
        variant[image] = (base[image] + 1) % 5
        return variant

    # Naive board: the exact score difference tells the label's fate for each public image.
    base_exact = key.score(base).public
    deltas = np.array([key.score(probe(i)).public - base_exact for i in probed])
    informative = key.public[probed] & ((base[probed] == key.labels[probed])
                                         | ((base[probed] + 1) % 5 == key.labels[probed]))
    assert np.array_equal(deltas != 0, informative) and informative.sum() > 30
    learned = base.copy()
    improve = probed[deltas > 0]
    learned[improve] = (base[improve] + 1) % 5
    gain = key.score(learned)
    assert gain.public - base_exact == pytest.approx(len(improve) / key.public.sum())
    assert len(improve) > 0 and gain.private == key.score(base).private  # gains only where it looked

    # Ladder: every probe reports the same number and never moves the board.
    first = lb.submit(prober, csv_bytes(key, base))
    results = [lb.submit(prober, csv_bytes(key, probe(i))) for i in probed]
    assert {result.public_score for result in results} == {first.public_score}
    assert not any(result.moved for result in results)
    assert [row.score for row in lb.board()] == [first.public_score]


def test_random_guessing_through_the_store_inflates_the_parameter_free_board_less(tmp_path):
    """600 random 5-class submissions per entrant, through the real store, on both Ladders."""
    key = synthetic_key(n=N_TEST, n_classes=5, seed=11)
    rng = np.random.default_rng(600)
    guesses = rng.integers(0, 5, (600, N_TEST))
    shown = {}
    for ladder in LADDERS:
        lb, tokens, _ = make_board(sqlite_url(tmp_path, f"{ladder}.db"), key, students=("guesser",),
                                   clock=Clock(), ladder=ladder, eta=ETA, daily_limit=10_000)
        guesser = lb.authenticate(tokens["guesser"])
        moves = sum(lb.submit(guesser, csv_bytes(key, guess)).moved for guess in guesses)
        shown[ladder] = (lb.board()[0].score, moves, lb.board(private=True)[0].score)
        lb.dispose()
    sigma = math.sqrt(CHANCE * (1 - CHANCE) / 1000)
    (fixed, fixed_moves, _), (free, free_moves, free_private) = shown["fixed"], shown["free"]
    print(f"after 600 random submissions: fixed {fixed:.3f} ({fixed_moves} moves), free {free:.3f} ({free_moves})")
    assert free < fixed and free_moves < fixed_moves
    # every move of the parameter-free board needs about 1.4 sigma more than the best (the
    # paired standard error of two independent guesses); 600 draws reach about 3 sigma
    assert free_moves <= 4 and free - CHANCE <= 4 * sigma
    assert abs(free_private - CHANCE) < 4 * sigma  # what the board shows is a chance-level entry


def test_parameter_free_ladder_against_guessing_boosting_and_honest_progress():
    """Over independent competitions (fixed seeds), with margins of several standard errors of
    the mean: the parameter-free Ladder beats the fixed step against both attacks and still
    shows an honest +0.02."""
    runs = {ladder: np.array([guessing_and_boosting(ladder, seed, 600) for seed in range(TRIALS)])
            for ladder in LADDERS}
    inflation = {ladder: runs[ladder][:, 0].mean() for ladder in LADDERS}
    leak = {ladder: runs[ladder][:, 1].mean() for ladder in LADDERS}
    exact = np.mean([exact_board_leak(seed, 600) for seed in range(TRIALS)])
    print(f"inflation {inflation}, leak {leak}, exact-score board leak {exact:.3f}")
    assert inflation["free"] < inflation["fixed"] - 0.002 and inflation["free"] < 0.038
    assert exact > 0.1 and leak["free"] < exact / 4  # the Ladder hides what an exact board gives away
    assert leak["free"] < leak["fixed"] - 0.004 and leak["free"] < 0.027
    assert np.count_nonzero(runs["free"][:, 2] > 0) <= 1  # the vote (almost) never moves the board

    honest = [submissions_until_move("free", seed, 0.82, 20) for seed in range(TRIALS)]
    idle = [submissions_until_move(ladder, seed, 0.80, 1) for seed in range(TRIALS) for ladder in LADDERS]
    assert all(count is not None and count <= 4 for count in honest)  # +0.02 is seen, within 4 retrains
    assert sum(count == 1 for count in honest) >= TRIALS / 2  # usually at the first one
    false_free = sum(count is not None for count in idle[1::2])
    false_fixed = sum(count is not None for count in idle[0::2])
    assert false_free <= TRIALS / 6 and false_free < false_fixed  # a retrain with no gain rarely moves it
