"""30 students handing in at once over HTTP to a real ``autograder serve`` (two grading processes),
on SQLite and on PostgreSQL: no 5xx, the hourly limit holds, and every accepted attempt is graded
exactly once (claimed once, one result) and none is lost. The notebook is the blank released one:
the cheapest real run in the sandbox."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from autograder.local_server import stop_server
from tests.web.conftest import competition_database, start_course_server
from tests.web.handin_notebooks import released
from tests.web.test_handin import FINISHED, all_attempts, hand_in, poll

STUDENTS = tuple(f"student{i:02d}" for i in range(30))
TRIES_EACH = 2  # at once, against a limit of 1 per hour (and of one queued run)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_thirty_students_at_once_each_accepted_attempt_graded_exactly_once(backend, request, tmp_path,
                                                                           handin_course, quickdraw_root):
    url = request.getfixturevalue("postgresql")() if backend == "postgresql" else None
    url, tokens, instructor = competition_database(tmp_path, quickdraw_root, STUDENTS, url)
    process, address = start_course_server(url, handin_course, quickdraw_root, "--attempts-per-hour", "1",
                                           "--auto-verify-top", "0", "--graders", "2")
    server = SimpleNamespace(url=address, tokens=tokens, instructor=instructor)
    blank = json.dumps(released(handin_course)).encode()
    try:
        with ThreadPoolExecutor(len(STUDENTS) * TRIES_EACH) as pool:
            replies = list(pool.map(lambda student: (student, hand_in(server, student, blank)),
                                    [s for s in STUDENTS for _ in range(TRIES_EACH)]))
        assert {reply.status_code for _, reply in replies} <= {201, 429}, [r.text for _, r in replies]
        accepted = {}
        for student, reply in replies:
            if reply.status_code == 201:
                accepted.setdefault(student, []).append(reply.json()["id"])
        assert set(accepted) == set(STUDENTS)  # each student got at least one in
        assert max(len(ids) for ids in accepted.values()) == 1  # ... and no more than the hourly limit
        for student, ids in accepted.items():
            for attempt_id in ids:
                assert poll(server, student, attempt_id, timeout=600)["state"] in FINISHED
        rows = {a["id"]: a for a in all_attempts(server)}
        assert sorted(rows) == sorted(i for ids in accepted.values() for i in ids)  # none lost, none extra
        assert {a["tries"] for a in rows.values()} == {1}  # each claimed and graded once
        assert all(a["state"] == "done" for a in rows.values())
    finally:
        stop_server(process)
        process.stdout.close()
