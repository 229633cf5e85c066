"""The competition rules on the database: Ladder board, daily limit, ties, final selection,
private board, teams, tokens, atomic writes, roster, attached notebooks (verification: test_verify_top.py).

Tests taking ``db_url`` run on SQLite and on a real PostgreSQL server (tests/leaderboard/conftest.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from nbgrader.api import Base as GradebookBase
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, func, select, text

from autograder.errors import UserError
from autograder.leaderboard import uploads as uploads_module
from autograder.leaderboard.errors import NotFound, SubmissionRejected
from autograder.leaderboard.models import DailyCount, Upload
from autograder.leaderboard.roster import RosterEntry, read_gradebook, read_roster_csv
from autograder.leaderboard.store import Leaderboard
from tests.leaderboard.boards import Clock, csv_bytes, make_board, sqlite_url, synthetic_key, with_accuracy

KEY = synthetic_key(n=400)
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def test_the_database_really_is_postgresql(postgresql):
    lb = Leaderboard(postgresql())
    with lb.engine.connect() as conn:
        assert conn.execute(text("select version()")).scalar_one().startswith("PostgreSQL 15")
    lb.dispose()


def counts(lb) -> tuple[int, int]:
    with lb.engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(Upload)).scalar_one(),
                conn.execute(select(func.coalesce(func.sum(DailyCount.count), 0))).scalar_one())


def test_submission_scores_and_ladder_board(db_url):
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock(), daily_limit=50, ladder="fixed", eta=0.01)
    alice = lb.authenticate(tokens["alice"])
    first = lb.submit(alice, csv_bytes(KEY, with_accuracy(KEY, 0.60)))
    assert first.moved and first.public_score == 0.6
    row = lb.board()[0]
    assert (row.rank, row.student, row.score, row.submission_id) == (1, "alice", 0.6, first.id)
    # +0.5 %: within eta, the board repeats the old best and the stored raw score stays hidden
    second = lb.submit(alice, csv_bytes(KEY, with_accuracy(KEY, 0.605)))
    assert not second.moved and second.public_score == 0.6 and "did not beat your best" in second.message
    third = lb.submit(alice, csv_bytes(KEY, with_accuracy(KEY, 0.66)))
    assert third.moved and third.public_score == 0.66
    assert [row["public_score"] for row in lb.history(alice)] == [0.66, 0.6, 0.6]
    assert "private" not in json.dumps(lb.history(alice))  # students never see private scores
    assert lb.board()[0].score == 0.66 and lb.board()[0].submission_id == third.id
    private = lb.board(private=True)[0]  # the final submission, unscored until close re-runs its notebook
    assert (private.submission_id, private.score, private.rank) == (third.id, None, None)
    lb.record_private(third.id, "verified", "re-run on the private half", 0.5)
    private = lb.board(private=True)[0]
    assert (private.rank, private.score, private.verify_status) == (1, 0.5, "verified")


def test_daily_limit_is_per_utc_day_and_rejections_do_not_count(db_url):
    clock = Clock()
    clock.now = clock.now.replace(hour=23, minute=59, second=50)
    lb, tokens, _ = make_board(db_url, KEY, clock=clock, daily_limit=2)
    bob = lb.authenticate(tokens["bob"])
    for bad in (b"id,label\n", b"nonsense", csv_bytes(KEY, KEY.labels)[:-40]):
        with pytest.raises(SubmissionRejected) as info:
            lb.submit(bob, bad)
        assert info.value.reason == "invalid"
    assert counts(lb) == (0, 0)
    lb.submit(bob, csv_bytes(KEY, KEY.labels))
    assert lb.submit(bob, csv_bytes(KEY, KEY.labels)).remaining_today == 0
    with pytest.raises(SubmissionRejected, match="daily limit reached") as info:
        lb.submit(bob, csv_bytes(KEY, KEY.labels))
    assert info.value.reason == "limit" and counts(lb) == (2, 2)
    assert lb.remaining_today(lb.authenticate(tokens["alice"])) == 2  # per entrant
    clock.advance(seconds=11)  # past midnight UTC
    assert lb.submit(bob, csv_bytes(KEY, KEY.labels)).remaining_today == 1
    assert counts(lb) == (3, 3)


def test_ties_go_to_the_earliest_submission(db_url):
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock(), students=("alice", "bob", "carol"))
    same = csv_bytes(KEY, with_accuracy(KEY, 0.7))
    for name in ("carol", "alice", "bob"):
        lb.submit(lb.authenticate(tokens[name]), same)
    assert [row.student for row in lb.board()] == ["carol", "alice", "bob"]
    assert [row.rank for row in lb.board()] == [1, 2, 3]
    for row in lb.board(private=True):  # equal private re-run scores: the earliest submission first
        lb.record_private(row.submission_id, "verified", "re-run", 0.7)
    assert [(row.student, row.rank) for row in lb.board(private=True)] == [("carol", 1), ("alice", 2), ("bob", 3)]
    lb.submit(lb.authenticate(tokens["bob"]), csv_bytes(KEY, with_accuracy(KEY, 0.8)))
    assert [row.student for row in lb.board()] == ["bob", "carol", "alice"]
    # bob's final submission is now the new one, not re-run yet: listed unranked after the scored ones
    assert [(row.student, row.rank) for row in lb.board(private=True)] == [("carol", 1), ("alice", 2), ("bob", None)]


def test_final_selection_defaults_to_best_public_and_students_may_pick(db_url):
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock())
    alice = lb.authenticate(tokens["alice"])
    overfit = lb.submit(alice, csv_bytes(KEY, with_accuracy(KEY, 0.9)))
    robust = lb.submit(alice, csv_bytes(KEY, with_accuracy(KEY, 0.8)))
    assert lb.board(private=True)[0].submission_id == overfit.id  # default: best public
    lb.select_final(alice, robust.id)
    assert lb.board(private=True)[0].submission_id == robust.id
    assert [row["selected"] for row in lb.history(alice)] == [True, False]
    bob = lb.authenticate(tokens["bob"])
    theirs = lb.submit(bob, csv_bytes(KEY, KEY.labels))
    with pytest.raises(NotFound):
        lb.select_final(alice, theirs.id)  # another student's submission
    lb.select_final(alice, None)
    assert lb.board(private=True)[0].submission_id == overfit.id  # back to the best public (none is re-run yet)
    lb.close()
    with pytest.raises(SubmissionRejected, match="closed"):
        lb.select_final(alice, robust.id)


def test_closing_stops_submissions_deadline_included(db_url):
    clock = Clock()
    lb, tokens, _ = make_board(db_url, KEY, clock=clock, closes_at=clock.now.replace(hour=18))
    carol = lb.authenticate(tokens["carol"])
    lb.submit(carol, csv_bytes(KEY, KEY.labels))
    assert not lb.is_closed()
    clock.advance(hours=6)
    assert lb.is_closed()
    with pytest.raises(SubmissionRejected, match="closed") as info:
        lb.submit(carol, csv_bytes(KEY, KEY.labels))
    assert info.value.reason == "closed" and counts(lb) == (1, 1)


def test_teams_share_one_entry_limit_and_selection(db_url):
    roster = [RosterEntry("dana", team="Ravens"), RosterEntry("eli", team="Ravens"), RosterEntry("fay")]
    lb, tokens, _ = make_board(db_url, KEY, students=roster, clock=Clock(), daily_limit=2)
    dana, eli = lb.authenticate(tokens["dana"]), lb.authenticate(tokens["eli"])
    assert dana.entrant_id == eli.entrant_id and dana.name == "Ravens"
    lb.submit(dana, csv_bytes(KEY, with_accuracy(KEY, 0.6)))
    lb.submit(eli, csv_bytes(KEY, with_accuracy(KEY, 0.7)))
    with pytest.raises(SubmissionRejected, match="daily limit"):
        lb.submit(dana, csv_bytes(KEY, KEY.labels))
    assert [(row.student, row.score) for row in lb.board()] == [("Ravens", 0.7)]
    assert [row["by"] for row in lb.history(dana)] == ["eli", "dana"]
    with pytest.raises(SubmissionRejected, match="team"):
        lb.set_display_name(eli, "Crows")


def test_parameter_free_ladder_on_the_database(db_url):
    """The parameter-free board: moves only beyond the paired standard error, keeps the best's
    public hits as packed bits on the entrant, and never tells the student the margin."""
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock(), daily_limit=50, ladder="free")
    assert lb.settings().ladder == "free"
    alice = lb.authenticate(tokens["alice"])
    public = np.flatnonzero(KEY.public)  # 200 public images
    base = with_accuracy(KEY, 0.6)
    right, wrong = public[base[public] == KEY.labels[public]], public[base[public] != KEY.labels[public]]
    first = lb.submit(alice, csv_bytes(KEY, base))
    assert first.moved and first.public_score == 0.6
    # +0.03 by fixing 6 wrong answers and breaking none: significant, the board moves
    better = base.copy()
    better[wrong[:6]] = KEY.labels[wrong[:6]]
    moved = lb.submit(alice, csv_bytes(KEY, better))
    assert moved.moved and moved.public_score == 0.63
    # +0.03 again as the net of 36 fixes and 30 new mistakes: within the noise, unchanged
    noisy = better.copy()
    noisy[wrong[6:42]] = KEY.labels[wrong[6:42]]
    noisy[right[:30]] = (KEY.labels[right[:30]] + 1) % KEY.n_classes
    assert KEY.score(noisy[KEY.public]) == pytest.approx(0.66)
    stayed = lb.submit(alice, csv_bytes(KEY, noisy))
    assert not stayed.moved and stayed.public_score == 0.63
    assert "standard error" in stayed.message and "0.0" not in stayed.message.split("(unchanged)")[1]
    with lb.engine.connect() as conn:
        bits = conn.execute(text("SELECT best_correct FROM lb_entrant WHERE name = 'alice'")).scalar_one()
    assert len(bits) == 200 // 8
    assert np.array_equal(np.unpackbits(np.frombuffer(bits, np.uint8)).astype(bool),
                          better[KEY.public] == KEY.labels[KEY.public])
    assert [row.score for row in lb.board()] == [0.63]


def test_sequential_ladder_on_the_database(db_url):
    """The default board: the same +0.03 (2.5 paired standard errors) moves it at an entrant's
    first try against its best, not after 19 tries that did not move it; a move restarts the
    count, which the store keeps on the entrant."""
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock(), daily_limit=50)
    assert lb.settings().ladder == "sequential" and lb.settings().alpha == 0.5
    public = np.flatnonzero(KEY.public)  # 200 public images
    base = with_accuracy(KEY, 0.6)
    wrong = public[base[public] != KEY.labels[public]]
    better = base.copy()  # +0.03 by fixing 6 wrong answers: paired error 0.012, z_1 = 0.87 < 2.5 < z_20 = 2.86
    better[wrong[:6]] = KEY.labels[wrong[:6]]
    best = better.copy()  # +0.06 more: 3.6 errors above `better`, beyond z_j for every j up to 100
    best[wrong[6:18]] = KEY.labels[wrong[6:18]]

    def since_best(name: str) -> int:
        with lb.engine.connect() as conn:
            return conn.execute(text("SELECT since_best FROM lb_entrant WHERE name = :n"), {"n": name}).scalar_one()

    alice, bob = lb.authenticate(tokens["alice"]), lb.authenticate(tokens["bob"])
    assert lb.submit(alice, csv_bytes(KEY, base)).moved
    assert not any(lb.submit(alice, csv_bytes(KEY, base)).moved for _ in range(19))
    assert since_best("alice") == 19
    late = lb.submit(alice, csv_bytes(KEY, better))  # the 20th try against the same best
    assert not late.moved and late.public_score == 0.6 and "grows with your tries" in late.message
    assert lb.submit(bob, csv_bytes(KEY, base)).moved
    early = lb.submit(bob, csv_bytes(KEY, better))  # bob's first try against his best
    assert early.moved and early.public_score == 0.63 and since_best("bob") == 0
    assert not lb.submit(bob, csv_bytes(KEY, base)).moved and since_best("bob") == 1
    assert lb.submit(bob, csv_bytes(KEY, best)).moved and since_best("bob") == 0
    assert [(row.student, row.score) for row in lb.board()] == [("bob", 0.69), ("alice", 0.6)]


def test_team_size_is_enforced_when_the_roster_is_loaded(db_url, tmp_path):
    five = [RosterEntry(f"s{i}", team="Owls") for i in range(5)]
    lb, tokens, _ = make_board(db_url, KEY, students=five, clock=Clock(), daily_limit=3)
    assert lb.settings().max_team_size == 5
    members = [lb.authenticate(tokens[f"s{i}"]) for i in range(5)]
    assert len({who.entrant_id for who in members}) == 1
    for who in members[:3]:  # five members, one quota of 3 and one entry
        lb.submit(who, csv_bytes(KEY, with_accuracy(KEY, 0.6)))
    with pytest.raises(SubmissionRejected, match="daily limit"):
        lb.submit(members[4], csv_bytes(KEY, KEY.labels))
    assert [row.student for row in lb.board()] == ["Owls"] and lb.remaining_today(members[3]) == 0
    # a sixth member, in a roster of its own or with the others again: refused, nothing stored
    for roster in ([RosterEntry("s5", team="Owls")], [*five, RosterEntry("s5", team="Owls")]):
        with pytest.raises(UserError, match="teams have at most 5"):
            lb.add_students(roster)
    assert lb.authenticate(tokens["s0"]) is not None and len(lb.student_stats()) == 5
    six = [RosterEntry(f"t{i}", team="Larks") for i in range(6)]
    with pytest.raises(UserError, match="'Larks' has 6 members"):
        make_board(sqlite_url(tmp_path, "six.db"), KEY, students=six)
    bigger, tokens, _ = make_board(sqlite_url(tmp_path, "big.db"), KEY, students=six, max_team_size=6)
    assert len({bigger.authenticate(token).entrant_id for token in tokens.values()}) == 1


def test_tokens_are_hashed_at_rest_and_reissue_replaces_them(db_url, tmp_path):
    lb, tokens, instructor = make_board(db_url, KEY)
    assert lb.authenticate(instructor).is_instructor
    assert lb.authenticate(tokens["alice"]).student_id == "alice"
    for bad in (None, "", "lbs_nope", tokens["alice"][:-1], tokens["alice"] + " ", "x" * 10_000):
        assert lb.authenticate(bad) is None
    with lb.engine.connect() as conn:
        dump = json.dumps([list(map(str, row)) for table in ("lb_student", "lb_competition", "lb_entrant")
                           for row in conn.execute(text(f"SELECT * FROM {table}"))])
    for token in (*tokens.values(), instructor):
        assert token not in dump and token[4:] not in dump
    assert lb.add_students([RosterEntry("alice")]) == []  # known: keeps the token
    [(student, fresh)] = lb.add_students([RosterEntry("alice")], reissue=True)
    assert student == "alice" and fresh != tokens["alice"]
    assert lb.authenticate(tokens["alice"]) is None and lb.authenticate(fresh).student_id == "alice"


def test_a_failure_mid_transaction_writes_nothing(db_url, monkeypatch):
    lb, tokens, _ = make_board(db_url, KEY, clock=Clock())
    alice = lb.authenticate(tokens["alice"])

    def explode(*args, **kwargs):
        raise RuntimeError("crash after the quota was taken")

    monkeypatch.setattr(uploads_module, "ladder_answer", explode)
    with pytest.raises(RuntimeError):
        lb.submit(alice, csv_bytes(KEY, KEY.labels))
    assert counts(lb) == (0, 0) and lb.board() == []
    monkeypatch.undo()
    result = lb.submit(alice, csv_bytes(KEY, KEY.labels))
    assert counts(lb) == (1, 1) and lb.history(alice)[0]["number"] == 1 and result.remaining_today == 4


def test_display_names(db_url):
    lb, tokens, _ = make_board(db_url, KEY)
    alice = lb.authenticate(tokens["alice"])
    assert lb.set_display_name(alice, "  <script>alert(1)</script> ") == "<script>alert(1)</script>"
    for bad in ("", " ", "x" * 41, "a\u202eb", "tab\there", "new\nline"):
        with pytest.raises(SubmissionRejected):
            lb.set_display_name(alice, bad)
    with pytest.raises(SubmissionRejected, match="taken") as info:
        lb.set_display_name(alice, "bob")
    assert info.value.reason == "conflict"


def test_uninitialised_and_double_init(db_url):
    with pytest.raises(UserError, match="holds no competition"):
        Leaderboard(db_url).settings()
    make_board(db_url, KEY)
    with pytest.raises(UserError, match="already holds a competition"):
        Leaderboard(db_url).initialize(KEY)


def test_roster_csv_and_nbgrader_gradebook(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeffid,first_name,last_name,email,team,display_name\n"
                      "s1,Ada,Lovelace,ada@example.org,,Countess\n s2 ,Alan,Turing,,Bletchley,\n")
    assert read_roster_csv(roster) == [
        RosterEntry("s1", "Countess", "ada@example.org", None), RosterEntry("s2", None, None, "Bletchley")]
    (tmp_path / "bad.csv").write_text("name\nx\n")
    with pytest.raises(UserError, match="`id` column"):
        read_roster_csv(tmp_path / "bad.csv")

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    engine = create_engine(url)  # nbgrader's own schema; skips its slow `alembic heads` stamp
    GradebookBase.metadata.create_all(engine)
    engine.dispose()
    with Gradebook(url) as gradebook:
        gradebook.add_student("jdoe", first_name="Jane", last_name="Doe", email="jane@example.org")
        gradebook.add_student("rroe")
    entries = read_gradebook(str(tmp_path / "gradebook.db"))
    assert sorted(entries, key=lambda e: e.student_id) == [
        RosterEntry("jdoe", None, "jane@example.org"), RosterEntry("rroe")]


def test_attached_notebook_is_checked(db_url):
    lb, tokens, _ = make_board(db_url, KEY, max_notebook_bytes=1000)
    alice = lb.authenticate(tokens["alice"])
    for bad, reason in ((b"{not json", "invalid"), (b'{"cells": 3}', "invalid"), (b"x" * 1001, "too_large")):
        with pytest.raises(SubmissionRejected) as info:
            lb.submit(alice, csv_bytes(KEY, KEY.labels), notebook=bad)
        assert info.value.reason == reason
    assert counts(lb) == (0, 0)
    lb.submit(alice, csv_bytes(KEY, KEY.labels), notebook=NOTEBOOK)
    assert lb.submission_for_verify(lb.board()[0].submission_id)[1] == NOTEBOOK
