"""Adaptive overfitting: the attacks the Ladder exists to stop, run through the real store.

Boosting attack (Blum & Hardt 2015, section 5): submit k random label vectors, keep those the
board scores above chance, submit their majority vote. Against a board that reports each
submission's exact public accuracy (Kaggle's), the vote's public accuracy is predicted by
theory: for binary labels and n public images, each kept vector agrees with the labels on
E[c | c > 0] = sqrt(2 / (pi n)) more than half the images, so the vote over |S| kept vectors
is right with probability Phi(sqrt(|S| * 2 / (pi n))), while it knows nothing of any other
drawing (the private half's images are not even released). Against the Ladder, the attacker
only sees the rounded best, so the vote cannot move the board by more than eta, and the board
stays within sampling noise of chance.

Single-image probing: change one label of a fixed submission at a time and watch the score.
A naive board reveals, for every probed public image, whether the label was right; on the
Ladder every probe reports the same number, so nothing is learned (fixed: one image = 1/n <
eta; parameter-free: one image = 1/n, exactly the paired standard error, not more;
sequential: from the second try against one best on, 1.49 paired errors or more).

Every Ladder runs each attack. At the competition's size (1,000 public images), over seeded
competitions, the default sequential Ladder meets the issue's targets with margins of several
standard errors of the mean: 600 random submissions leave the board within 0.02 of chance,
the boosting vote leaks at most 0.015 of the public labels, and an honest +0.02 on an
entrant's 2nd..20th submissions moves the board in at least 90 % of competitions; the
parameter-free Ladder and the fixed step miss the first two (figures in bench/bench_ladder.py).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from autograder.leaderboard.ladder import DEFAULT_ALPHA
from tests.leaderboard.boards import Clock, csv_bytes, make_board, sqlite_url, synthetic_key
from tests.leaderboard.entrants import CHANCE, ETA, exact_board_leak, guessing_and_boosting, honest_progress

N_TEST = 2000  # 1000 public (released), 1000 private: the competition's size
N_PUBLIC = 1000  # what an upload lists
K = 400
TRIALS = 60  # independent competitions for the attack statistics (fixed seeds)
HONEST_TRIALS = 200  # and for the honest entrant (cheap: 20 submissions each)
LADDERS = ("fixed", "free", "sequential")


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
    vectors = rng.integers(0, 2, (K, N_PUBLIC))
    n_public = int(key.public.sum())
    sigma = 0.5 / math.sqrt(n_public)  # sd of a random vector's public accuracy

    # --- the naive board: each submission's exact public accuracy ------------------------
    exact = np.array([key.score(vector) for vector in vectors])
    kept = vectors[exact > 0.5]
    vote = key.score(majority(kept, rng))
    predicted = NormalDist().cdf(math.sqrt(len(kept) * 2 / (math.pi * n_public)))
    assert abs(vote - predicted) < 3 * sigma, (vote, predicted)
    assert vote - 0.5 > 0.1  # a real climb, of pure overfitting: random vectors know no drawing
    naive_climb = vote - 0.5

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
    truth = key.labels[key.public]  # the released images' labels, in upload order
    base = np.where(rng.random(N_PUBLIC) < 0.7, truth, (truth + rng.integers(1, 5, N_PUBLIC)) % 5)  # 70 %
    probed = np.arange(150)

    def probe(image: int) -> np.ndarray:
        variant = base.copy()
        variant[image] = (base[image] + 1) % 5
        return variant

    # Naive board: the exact score difference tells the label's fate for each public image.
    base_exact = key.score(base)
    deltas = np.array([key.score(probe(i)) - base_exact for i in probed])
    informative = (base[probed] == truth[probed]) | ((base[probed] + 1) % 5 == truth[probed])
    assert np.array_equal(deltas != 0, informative) and informative.sum() > 30
    learned = base.copy()
    improve = probed[deltas > 0]
    learned[improve] = (base[improve] + 1) % 5
    assert len(improve) > 0 and key.score(learned) - base_exact == pytest.approx(len(improve) / N_PUBLIC)

    # Ladder: every probe reports the same number and never moves the board.
    first = lb.submit(prober, csv_bytes(key, base))
    results = [lb.submit(prober, csv_bytes(key, probe(i))) for i in probed]
    assert {result.public_score for result in results} == {first.public_score}
    assert not any(result.moved for result in results)
    assert [row.score for row in lb.board()] == [first.public_score]


def test_random_guessing_through_the_store_leaves_the_default_board_at_chance(tmp_path):
    """600 random 5-class submissions per entrant, through the real store, on every Ladder."""
    key = synthetic_key(n=N_TEST, n_classes=5, seed=11)
    rng = np.random.default_rng(600)
    guesses = rng.integers(0, 5, (600, N_PUBLIC))
    shown = {}
    for ladder in LADDERS:
        lb, tokens, _ = make_board(sqlite_url(tmp_path, f"{ladder}.db"), key, students=("guesser",),
                                   clock=Clock(), ladder=ladder, eta=ETA, daily_limit=10_000)
        guesser = lb.authenticate(tokens["guesser"])
        moves = sum(lb.submit(guesser, csv_bytes(key, guess)).moved for guess in guesses)
        shown[ladder] = (lb.board()[0].score, moves)
        lb.dispose()
    sigma = math.sqrt(CHANCE * (1 - CHANCE) / N_PUBLIC)
    print("after 600 random submissions (board, moves):", shown)
    (fixed, fixed_moves), (free, free_moves) = shown["fixed"], shown["free"]
    sequential, sequential_moves = shown["sequential"]
    assert free < fixed and free_moves < fixed_moves
    # the parameter-free board climbs: every move needs only about 1.4 sigma more than the
    # best (one paired standard error of two independent guesses), and 600 draws reach ~3 sigma
    assert 2 <= free_moves <= 4 and free - CHANCE >= 2 * sigma
    # the sequential board: the first submission and at most one more move (P <= alpha)
    assert sequential_moves <= 2 and sequential < free and sequential - CHANCE <= 0.02


def mean_and_error(values) -> tuple[float, float]:
    """The mean over seeded competitions and its standard error."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def test_default_ladder_meets_the_guessing_and_boosting_targets_with_margins():
    """Over 60 seeded competitions: the mean board after 600 random guesses is within 0.02 of
    chance and the boosting leak at most 0.015, each with 3 standard errors of the mean to
    spare; the parameter-free and fixed boards miss both and leak more (by 3 standard errors)."""
    runs = {ladder: np.array([guessing_and_boosting(ladder, seed, 600) for seed in range(TRIALS)])
            for ladder in LADDERS}
    inflation = {ladder: mean_and_error(runs[ladder][:, 0]) for ladder in LADDERS}
    leak = {ladder: mean_and_error(runs[ladder][:, 1]) for ladder in LADDERS}
    exact = np.mean([exact_board_leak(seed, 600) for seed in range(TRIALS)])
    print(f"inflation {inflation}, leak {leak}, exact-score board leak {exact:.3f}")
    mean, error = inflation["sequential"]
    assert mean + 3 * error <= 0.02
    mean, error = leak["sequential"]
    assert mean + 3 * error <= 0.015
    for ladder in ("free", "fixed"):  # the old boards, for contrast: the targets are not trivial
        assert inflation[ladder][0] - 3 * inflation[ladder][1] > 0.02 and leak[ladder][0] > 0.015
        assert leak[ladder][0] - leak["sequential"][0] > 3 * math.hypot(leak[ladder][1], leak["sequential"][1])
    assert exact > 0.1 and leak["sequential"][0] < exact / 10  # an exact board gives it all away
    assert np.count_nonzero(runs["sequential"][:, 2] > 0) <= 1  # the vote (almost) never moves the board


def test_default_ladder_still_shows_an_honest_gain():
    """An entrant at 0.80 whose 2nd..20th submissions are retrains at 0.82 (correlated with the
    first model, image by image): over 200 seeded competitions the default board moves in at
    least 90 %, usually at the first retrain, and ends the full +0.02 above where retrains with
    no real gain leave it; those move it in far fewer than alpha of the competitions (the
    sequential test's bound). The 90 % is met on these seeds, not with several binomial errors
    to spare: a lucky first model leaves no room for a +0.02 retrain to stand out."""
    honest = [honest_progress("sequential", seed, 0.82, 19) for seed in range(HONEST_TRIALS)]
    control = [honest_progress("sequential", seed, 0.80, 19) for seed in range(HONEST_TRIALS)]
    moved = np.array([count is not None for count, _ in honest])
    first = np.array([count == 1 for count, _ in honest])
    false = np.array([count is not None for count, _ in control])
    # the board after the retrains minus that of the same competition's no-gain twin (same first
    # model): the full +0.02 on average, where the twin's board is what noise alone shows
    gain, gain_error = mean_and_error([(0.82 + up) - (0.80 + idle) for (_, up), (_, idle) in zip(honest, control, strict=True)])
    print(f"moved {moved.mean():.3f}, at the first {first.mean():.3f}, board gain over the twin {gain:+.4f}, "
          f"no-gain moved {false.mean():.3f}")
    assert moved.mean() >= 0.9 and first.mean() >= 0.6
    assert abs(gain - 0.02) <= 3 * gain_error + 0.002
    # where it never moved, the first model's public score was already lucky: the board shows
    # at least 0.81 (0.82 to its precision, 0.01) in nearly every competition
    assert np.mean([0.82 + up >= 0.81 - 1e-9 for _, up in honest]) >= 0.95
    binomial = math.sqrt(false.mean() * (1 - false.mean()) / HONEST_TRIALS)
    assert false.mean() + 3 * binomial < DEFAULT_ALPHA
    # the parameter-free board moves far more often on no gain: the noise it lets through
    idle_free = np.mean([honest_progress("free", seed, 0.80, 19)[0] is not None for seed in range(HONEST_TRIALS)])
    assert idle_free > 2 * false.mean()
