"""The leaderboard on a real PostgreSQL 15 server (Debian's binaries, started on 127.0.0.1
for this module and stopped after it): the store's rule tests, and concurrent submissions
over HTTP, where the limit rests on row locks instead of SQLite's single writer."""

from __future__ import annotations

import pytest
from test_leaderboard_http import check_concurrent_submissions
from test_leaderboard_store import (  # noqa: F401  (collected here again, on PostgreSQL)
    test_a_failure_mid_transaction_writes_nothing,
    test_closing_stops_submissions_deadline_included,
    test_daily_limit_is_per_utc_day_and_rejections_do_not_count,
    test_display_names,
    test_final_selection_defaults_to_best_public_and_students_may_pick,
    test_parameter_free_ladder_on_the_database,
    test_sequential_ladder_on_the_database,
    test_submission_scores_and_ladder_board,
    test_team_size_is_enforced_when_the_roster_is_loaded,
    test_teams_share_one_entry_limit_and_selection,
    test_ties_go_to_the_earliest_submission,
    test_tokens_are_hashed_at_rest_and_reissue_replaces_them,
    test_uninitialised_and_double_init,
    test_verify_walks_down_until_top_k_reproduce,
)
from test_leaderboard_support import postgres_server


@pytest.fixture(scope="module")
def new_database():
    with postgres_server() as factory:
        yield factory


@pytest.fixture
def db_url(new_database):
    return new_database()


def test_the_database_really_is_postgresql(db_url):
    from sqlalchemy import text

    from autograder.leaderboard.store import Leaderboard

    lb = Leaderboard(db_url)
    with lb.engine.connect() as conn:
        assert conn.execute(text("select version()")).scalar_one().startswith("PostgreSQL 15")
    lb.dispose()


def test_concurrent_submissions_postgresql(db_url):
    check_concurrent_submissions(db_url, n_students=12, limit=5, per_student=8)
