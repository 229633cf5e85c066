"""Validation of predictions files, scoring against the answer key, and the Ladder rule."""

from __future__ import annotations

from itertools import pairwise
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.errors import UserError
from autograder.leaderboard.ladder import (
    DEFAULT_ALPHA,
    critical_value,
    ladder_answer,
    ladder_step,
    pack,
    paired_standard_error,
    paired_step,
    precision_of,
    round_to_step,
    unpack,
)
from autograder.leaderboard.scoring import AnswerKey, read_answer_key, read_classes
from autograder.leaderboard.validate import InvalidSubmission, careful_parse, decode, parse_predictions
from tests.leaderboard.boards import csv_bytes, synthetic_key

KEY = synthetic_key(n=60)
LIMIT = 100_000


def parse(data: bytes) -> np.ndarray:
    return parse_predictions(data, KEY.test_ids, KEY.n_classes, LIMIT)


def rejected(data: bytes) -> str:
    with pytest.raises(InvalidSubmission) as info:
        parse(data)
    return str(info.value)


def test_valid_file_in_any_order_gives_labels_in_key_order():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, len(KEY.ids))
    order = rng.permutation(len(KEY.test_ids.ids))  # the released (public) ids, shuffled
    assert parse(csv_bytes(KEY, labels, order)).tolist() == labels[KEY.public].tolist()


@pytest.mark.parametrize("transform", [
    lambda text: text.replace("\n", "\r\n"),  # Windows line ends
    lambda text: "\ufeff" + text,  # Excel's byte-order mark
    lambda text: text + "\n\n",  # blank lines at the very end
    lambda text: "\n".join(",".join(f'"{field}"' for field in line.split(",")) for line in text.split("\n")[:-1]),
])
def test_tolerated_variants(transform):
    labels = np.arange(len(KEY.ids)) % 5
    text = transform(csv_bytes(KEY, labels).decode())
    assert parse(text.encode()).tolist() == labels[KEY.public].tolist()


def good_lines() -> list[str]:
    return csv_bytes(KEY, KEY.labels).decode().splitlines()


def join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_header_must_be_exact():
    lines = good_lines()
    lines[0] = "ID,Label"
    assert rejected(join(lines)) == "line 1: the header must be exactly `id,label`, got 'ID,Label'"


def test_unknown_id_names_line_and_value():
    lines = good_lines()
    lines[7] = "q99999x,1"
    assert rejected(join(lines)) == "line 8: unknown id 'q99999x' (not a competition test id)"


def test_duplicate_id_names_both_lines():
    lines = good_lines()
    lines[9] = lines[3]
    message = rejected(join(lines))
    assert message.startswith("line 10: id ") and "first on line 4" in message


def test_missing_ids_are_counted():
    message = rejected(join(good_lines()[:-3]))
    assert message.startswith("3 of 30 test ids are missing, e.g. ")


@pytest.mark.parametrize("label, expected", [
    ("5", "line 3: label 5 is out of range; expected an integer class index 0-4"),
    ("-1", "line 3: label -1 is out of range; expected an integer class index 0-4"),
    ("2.0", "line 3: label '2.0' is not an integer class index 0-4"),
    ("cat", "line 3: label 'cat' is not an integer class index 0-4"),
    ("", "line 3: label '' is not an integer class index 0-4"),
    (" 2", "line 3: label ' 2' is not an integer class index 0-4"),
])
def test_bad_labels(label, expected):
    lines = good_lines()
    lines[2] = lines[2].split(",")[0] + "," + label
    assert rejected(join(lines)) == expected


def test_wrong_field_count_and_blank_line():
    lines = good_lines()
    lines[4] = lines[4] + ",0.93"
    assert rejected(join(lines)).startswith("line 5: expected 2 fields `id,label`, got 3")
    lines = good_lines()
    lines.insert(6, "")
    assert rejected(join(lines)) == "line 7: empty line (one row `id,label` per test id)"


def test_size_encoding_and_empty():
    with pytest.raises(InvalidSubmission) as info:
        parse_predictions(csv_bytes(KEY, KEY.labels), KEY.test_ids, 5, max_bytes=100)
    assert info.value.too_large and "the limit is 100 bytes" in str(info.value)
    data = join(good_lines()).replace(b"q", b"\xff", 1)
    assert rejected(data) == "line 2: not UTF-8 text (byte 0xff at column 1); save the file as UTF-8 CSV"
    assert rejected(b"  \n").startswith("the file is empty")
    lines = good_lines()
    lines[5] = 'q1,"2'
    assert rejected(join(lines)).startswith("line ")  # unterminated quote: a CSV error with its line


def test_long_values_are_shortened_and_escaped():
    lines = good_lines()
    lines[1] = "<script>" + "x" * 500 + "\x07,1"
    message = rejected(join(lines))
    assert len(message) < 120 and "..." in message


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(KEY.ids + ("zz", "", "q1")), st.sampled_from(["0", "4", "5", "x", "", "01"])),
             min_size=0, max_size=70),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_fast_path_agrees_with_reference_parser(rows, newline, shuffle_full):
    """Whatever the input, parse_predictions (fast path first) equals the careful parser."""
    if shuffle_full:  # mostly-valid files: every id once, some labels possibly broken
        rows = [(key_id, label) for key_id, (_, label)
                in zip(KEY.test_ids.ids, rows + [("", "1")] * len(KEY.ids), strict=False)]
    text = newline.join(["id,label"] + [f"{key_id},{label}" for key_id, label in rows]) + newline
    try:
        expected = careful_parse(decode(text.encode(), LIMIT), KEY.test_ids, KEY.n_classes).tolist()
    except InvalidSubmission as exc:
        expected = str(exc)
    try:
        got = parse(text.encode()).tolist()
    except InvalidSubmission as exc:
        got = str(exc)
    assert got == expected


def test_uploads_list_and_score_the_public_half_only():
    public = np.flatnonzero(KEY.public)
    assert KEY.test_ids.ids == tuple(KEY.ids[i] for i in public) and KEY.n_private == 30
    predictions = KEY.labels.copy()
    predictions[public[:6]] = (predictions[public[:6]] + 1) % 5  # six mistakes
    assert KEY.score(parse(csv_bytes(KEY, predictions))) == pytest.approx(24 / 30)
    private_id = KEY.ids[np.flatnonzero(~KEY.public)[0]]  # never released: not an id an upload may list
    lines = good_lines()
    lines[1] = f"{private_id},0"
    assert "unknown id" in rejected(join(lines))


def test_answer_key_file_and_classes(tmp_path):
    (tmp_path / "classes.txt").write_text("apple\nbicycle\ncat\neye\nfish\n")
    (tmp_path / "labels.csv").write_text("id,label,split\nq1,0,public\nq2,4,private\nq3,2,public\n")
    classes = read_classes(str(tmp_path / "classes.txt"))
    key = read_answer_key(tmp_path / "labels.csv", classes)
    assert key.ids == ("q1", "q2", "q3") and key.labels.tolist() == [0, 4, 2]
    assert key.public.tolist() == [True, False, True] and read_classes("a, b") == ("a", "b")
    (tmp_path / "bad.csv").write_text("id,label,split\nq1,7,public\nq2,0,private\n")
    with pytest.raises(UserError, match="labels outside 0-4"):
        read_answer_key(tmp_path / "bad.csv", classes)
    with pytest.raises(UserError, match="both a public and a private half"):
        AnswerKey.from_arrays(["a", "b"], [0, 1], [True, True], classes)


def test_ladder_moves_only_beyond_eta_and_rounds():
    eta = 0.003
    reported, moved = ladder_step(None, 0.6004, eta)
    assert moved and reported == 0.6
    assert ladder_step(0.6, 0.6029, eta) == (0.6, False)  # within eta: the board repeats the best
    assert ladder_step(0.6, 0.603, eta) == (0.6, False)  # exactly eta is not "more than"
    assert ladder_step(0.6, 0.6031, eta) == (0.603, True)
    assert ladder_step(0.6, 0.5, eta) == (0.6, False)
    assert round_to_step(0.61049, 0.0025) == 0.61
    with pytest.raises(ValueError):
        ladder_step(None, 0.5, 0)


def hits(n: int, right) -> np.ndarray:
    correct = np.zeros(n, dtype=bool)
    correct[list(right)] = True
    return correct


def test_parameter_free_ladder_moves_beyond_the_paired_standard_error():
    n = 1000
    best = hits(n, range(600))  # 0.600
    first = paired_step(None, None, best)  # a first submission always moves; rounded to its own error
    assert first.moved and first.margin == pytest.approx(np.std(best, ddof=1) / np.sqrt(n))
    assert first.reported == 0.6 and precision_of(first.margin) == 0.01
    # +0.02 where the new model only adds right answers: tiny paired error, the board moves
    better = hits(n, range(620))
    step = paired_step(first.reported, best, better)
    assert step.margin == pytest.approx(paired_standard_error(better, best)) and step.margin < 0.005
    assert step.moved and step.reported == 0.62
    # the same +0.02 as the net of 260 gains and 240 losses: within the noise, the board stays
    noisy = hits(n, list(range(240, 600)) + list(range(600, 860)))
    assert noisy.mean() == pytest.approx(0.62)
    step = paired_step(first.reported, best, noisy)
    assert step.margin > 0.02 and not step.moved and step.reported == first.reported
    # an identical resubmission (no difference, no error) and a worse one never move it
    assert not paired_step(0.6, best, best.copy()).moved
    assert not paired_step(0.6, best, hits(n, range(500))).moved


def test_parameter_free_ladder_rounds_to_the_errors_precision_and_never_shows_less():
    assert precision_of(0.0179) == 0.01 and precision_of(0.0042) == 0.001 and precision_of(0.0) == 0.0
    n = 1000
    best = hits(n, range(805))  # shown as 0.81 (error 0.0125 -> two decimals)
    shown = paired_step(None, None, best).reported
    assert shown == 0.81
    better = hits(n, range(809))  # a better file, at finer precision 0.809 < 0.81: the board keeps 0.81
    step = paired_step(shown, best, better)
    assert step.moved and step.reported == 0.81
    perfect = paired_step(None, None, np.ones(n, dtype=bool))  # no noise at all: the exact score
    assert perfect.moved and perfect.reported == 1.0


def test_best_hits_are_stored_as_packed_bits_and_the_mode_is_checked():
    correct = np.random.default_rng(1).random(1001) < 0.5
    data = pack(correct)
    assert len(data) == 126 and np.array_equal(unpack(data, 1001), correct)
    step = ladder_answer("free", 0.003, None, None, correct)
    assert step.moved
    again = ladder_answer("free", 0.003, step.reported, data, correct)
    assert not again.moved
    assert ladder_answer("fixed", 0.003, 0.5, None, correct).margin == 0.003
    with pytest.raises(ValueError, match="unknown Ladder"):
        ladder_answer("kaggle", 0.003, None, None, correct)


def test_sequential_critical_values_spend_alpha_over_an_unlimited_history():

    levels = [1 - NormalDist().cdf(critical_value(j)) for j in range(1, 200_001)]
    # the levels sum to alpha: the tail beyond 200,000 tries is below 2 / (zeta(3/2) sqrt(200,000))
    assert sum(levels) < DEFAULT_ALPHA and sum(levels) > DEFAULT_ALPHA - 0.5 * 2 / (2.6 * 200_000**0.5)
    assert all(a > b for a, b in pairwise(levels))  # each later try needs more evidence
    z = [critical_value(j) for j in (1, 2, 5, 20, 600)]
    assert z == pytest.approx([0.87, 1.49, 2.12, 2.86, 4.20], abs=0.01)
    assert critical_value(3, alpha=0.05) > critical_value(3, alpha=0.5)
    for bad in ((0, 0.5), (1, 0.0), (1, 1.0)):
        with pytest.raises(ValueError):
            critical_value(*bad)


def test_sequential_ladder_needs_more_evidence_the_more_tries_against_one_best():
    n = 1000
    best = hits(n, range(600))  # 0.600
    # +0.04 as the net of 290 gains and 250 losses: paired error 0.0232, 1.72 errors above the best
    better = hits(n, list(range(250, 600)) + list(range(600, 890)))
    error = paired_standard_error(better, best)
    assert better.mean() == pytest.approx(0.64) and 0.04 / error == pytest.approx(1.72, abs=0.01)
    bits = pack(best)
    moves = {tries: ladder_answer("sequential", 0.003, 0.6, bits, better, tries=tries) for tries in (1, 2, 3, 20)}
    assert moves[1].moved and moves[2].moved and moves[1].reported == 0.64  # z_1 = 0.87, z_2 = 1.49
    assert not moves[3].moved and not moves[20].moved and moves[20].reported == 0.6  # z_3 = 1.79 > 1.72
    assert moves[20].margin == pytest.approx(critical_value(20) * error)
    assert ladder_answer("free", 0.003, 0.6, bits, better, tries=20).moved  # the parameter-free Ladder: z = 1
    one_fix = hits(n, range(601))  # one image fixed: a gain of exactly one paired error (1/n)
    assert ladder_answer("sequential", 0.003, 0.6, bits, one_fix, tries=1).moved  # z_1 = 0.87 (documented)
    assert not ladder_answer("sequential", 0.003, 0.6, bits, one_fix, tries=2).moved
    assert not ladder_answer("free", 0.003, 0.6, bits, one_fix, tries=1).moved
    clear = hits(n, range(700))  # +0.10 with no losses: clear at any try
    assert ladder_answer("sequential", 0.003, 0.6, bits, clear, tries=600).moved
