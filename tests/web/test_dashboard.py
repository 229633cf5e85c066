"""The instructor's dashboard on a small class (in process, attempts recorded as a grading worker
records them, so no sandbox run): counts of on time / late / missing, the table, histograms that
show the recorded points, 403 for a student everywhere, regrade all re-queueing each graded
attempt once, the export downloads, and in Chromium the instructor releasing feedback that a
student then sees."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from datetime import datetime
from types import SimpleNamespace

import pytest
import uvicorn
from nbgrader.api import Gradebook
from playwright.sync_api import expect
from starlette.testclient import TestClient

from autograder.classroom.handout import CourseHandouts
from autograder.leaderboard.errors import SubmissionRejected
from autograder.leaderboard.store import Leaderboard
from autograder.local_server import free_port
from autograder.web.app import create_app
from tests.web.conftest import competition_database

CLASS = ("alice", "bob", "carol", "dave")
PAST = datetime(2020, 1, 1)
# student -> (late, [points of check_fit (of 2), points of check_shape (of 1)]) per attempt; dave hands in nothing
RESULTS = {"alice": [(False, [2.0, 1.0])], "bob": [(True, [0.0, 1.0])], "carol": [(False, [0.0, 0.0]), (False, [1.0, 0.0])]}
MAX = {"check_fit": 2.0, "check_shape": 1.0}


def hidden(points: list[float]) -> str:
    checks = [{"name": name, "cell": name, "points": p, "max_points": MAX[name], "outcome": "passed" if p else "failed",
               "message": f"{name} <b>{p}</b>"} for name, p in zip(MAX, points, strict=True)]
    return json.dumps({"score": sum(points), "max_score": 3.0, "checks": checks})


def grade_queued(lb: Leaderboard, results: dict[int, list[float]]) -> list[int]:
    """Work the queue as a worker does, recording ``results`` by attempt id; the ids claimed."""
    claimed = []
    while (attempt := lb.claim("test:1:1")) is not None:
        claimed.append(attempt.id)
        points = results[attempt.id]
        assert lb.finish("test:1:1", attempt.id, failed=False, score=sum(points), max_score=3.0,
                         visible=json.dumps({"tests": [], "cell_errors": [], "error": None, "seconds": 0.1}),
                         hidden=hidden(points))
    return claimed


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, course_folder, quickdraw_root):
    url, tokens, instructor = competition_database(tmp_path_factory.mktemp("dash-db"), quickdraw_root, CLASS)
    with Gradebook(f"sqlite:///{course_folder / 'gradebook.db'}", "mlp-week") as gradebook:
        for student in CLASS:
            gradebook.update_or_create_student(student, first_name=student.title())
    handouts = CourseHandouts(course_folder, quickdraw_root)
    notebook = next(iter(handouts.find("xor").notebooks))
    lb = Leaderboard(url)
    app = create_app(lb, handouts=handouts, attempts_per_hour=1)
    results = {}
    for student, attempts in RESULTS.items():
        who = lb.authenticate(tokens[student])
        for late, points in attempts:
            attempt = lb.hand_in(who, "xor", notebook, "xor.ipynb", b"{}", PAST if late else None, per_hour=10)
            results[attempt.id] = points
            grade_queued(lb, results)
    with TestClient(app) as client:
        yield SimpleNamespace(app=app, lb=lb, url=url, course=course_folder, client=client, tokens=tokens,
                              instructor=instructor, results=results)
    lb.dispose()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_counts_and_table_of_a_class_with_on_time_late_and_missing_students(dashboard):
    reply = dashboard.client.get("/api/instructor/assignments/xor/progress", headers=bearer(dashboard.instructor))
    assert reply.status_code == 200, reply.text
    found = reply.json()
    assert (len(found["students"]), found["submitted"], found["on_time"], found["late"],
            found["missing"]) == (4, 3, 2, 1, 1)
    rows = {row["student"]: row for row in found["students"]}
    assert {s: (r["status"], r["attempts"], r["score"]) for s, r in rows.items()} == {
        "alice": ("on time", 1, 3.0), "bob": ("late", 1, 1.0), "carol": ("on time", 2, 1.0), "dave": ("missing", 0, None)}
    assert rows["carol"]["graded"] == max(i for i, p in dashboard.results.items() if p == [1.0, 0.0])
    dashboard.client.cookies.set("lb_token", dashboard.instructor)
    assert 'href="/instructor/assignments/xor"' in dashboard.client.get("/instructor").text
    page = dashboard.client.get("/instructor/assignments/xor").text
    assert re.search(r'id="on-time">2<.*id="late">1<.*id="missing">1<', page, re.S)
    assert f'href="/instructor/attempts/{rows["bob"]["graded"]}"' in page
    assert dashboard.client.get(f"/instructor/attempts/{rows['bob']['graded']}").json()["hidden"]["score"] == 1.0


def test_histograms_show_the_recorded_points_hardest_check_first(dashboard):
    found = dashboard.client.get("/api/instructor/assignments/xor/progress", headers=bearer(dashboard.instructor)).json()
    assert [c["name"] for c in found["checks"]] == ["check_fit", "check_shape"]  # 3 of 6 points, then 2 of 3
    assert sorted(found["checks"][0]["points"]) == [0.0, 1.0, 2.0] and sorted(found["totals"]) == [1.0, 1.0, 3.0]
    svg = dashboard.client.get("/instructor/assignments/xor/plots/0.svg", headers=bearer(dashboard.instructor))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    drawn = {int(b): int(c) for b, c in re.findall(r'id="bar-(\d+)-(\d+)"', svg.text)}
    assert drawn == {0: 1, 5: 1, 9: 1, **{b: 0 for b in (1, 2, 3, 4, 6, 7, 8)}}  # 0, 1 and 2 points of 2
    assert ">check_fit</text>" in svg.text or "check_fit" in re.sub(r"<[^>]+>", "", svg.text)
    assert dashboard.client.get("/instructor/assignments/xor/plots/total.svg",
                                headers=bearer(dashboard.instructor)).status_code == 200
    assert dashboard.client.get("/instructor/assignments/xor/plots/9.svg",
                                headers=bearer(dashboard.instructor)).status_code == 404


def test_a_student_gets_403_on_every_dashboard_route(dashboard):
    student = dashboard.tokens["alice"]
    client = TestClient(dashboard.app, cookies={"lb_token": student})
    routes = [("get", "/instructor/assignments/xor"), ("get", "/api/instructor/assignments/xor/progress"),
              ("get", "/instructor/assignments/xor/plots/total.svg"), ("get", "/instructor/assignments/xor/export.csv"),
              ("post", "/instructor/assignments/xor/regrade"), ("post", "/api/instructor/assignments/xor/regrade"),
              ("post", "/instructor/assignments/xor/feedback"), ("get", "/instructor/attempts/1")]
    for method, path in routes:
        assert getattr(client, method)(path, headers=bearer(student)).status_code == 403, path
    instructor = TestClient(dashboard.app, cookies={"lb_token": dashboard.instructor})
    for form in ("regrade", "feedback"):  # the instructor's own session, but a forged form: no CSRF value
        assert instructor.post(f"/instructor/assignments/xor/{form}", data={"csrf": "forged"}).status_code == 403
    assert dashboard.lb.policy("xor").feedback_released is False
    assert {a.state for a in dashboard.lb.all_attempts("xor")} == {"done"}


def test_regrade_all_requeues_each_graded_attempt_once(dashboard):
    lb, instructor = dashboard.lb, bearer(dashboard.instructor)
    before = [(a.student, a.created_at) for a in lb.all_attempts("xor")]
    reply = dashboard.client.post("/api/instructor/assignments/xor/regrade", headers=instructor)
    assert reply.json()["queued"] == 3
    assert dashboard.client.post("/api/instructor/assignments/xor/regrade", headers=instructor).json()["queued"] == 0
    graded = {r["graded"] for r in dashboard.client.get("/api/instructor/assignments/xor/progress",
                                                        headers=instructor).json()["students"]} - {None}
    assert sorted(grade_queued(lb, dashboard.results)) == sorted(graded)  # each graded attempt once, nothing else
    assert [(a.student, a.created_at) for a in lb.all_attempts("xor")] == before  # no new attempt: no limit used
    who = lb.authenticate(dashboard.tokens["dave"])
    assert lb.hand_in(who, "xor", "xor.ipynb", "x.ipynb", b"{}", None, per_hour=1).state == "queued"
    lb.regrade_all("xor")  # dave's own is still queued: it is left alone, the finished ones are queued again
    assert sorted(grade_queued(lb, {**{i: [0.0, 0.0] for i in range(1, 100)}, **dashboard.results})) == sorted(
        graded | {a.id for a in lb.all_attempts("xor") if a.student == "dave"})
    lb.regrade_all("xor")  # a regrade waiting in the queue is not the student's own waiting attempt
    alice = lb.authenticate(dashboard.tokens["alice"])
    last = max(a.id for a in lb.all_attempts("xor") if a.student == "alice")
    again = lb.hand_in(alice, "xor", "xor.ipynb", "x.ipynb", b"{}", None, per_hour=5)
    assert again.state == "queued"
    with pytest.raises(SubmissionRejected):  # but her own one waiting still blocks a second
        lb.hand_in(alice, "xor", "xor.ipynb", "x.ipynb", b"{}", None, per_hour=5)
    dashboard.results[again.id] = dashboard.results[last]  # the module's later tests see the same points
    grade_queued(lb, {**{i: [0.0, 0.0] for i in range(1, 100)}, **dashboard.results})


def test_the_exports_download_as_csv_with_a_row_per_student(dashboard):
    instructor = bearer(dashboard.instructor)
    canvas = dashboard.client.get("/instructor/assignments/xor/export.csv?format=canvas", headers=instructor)
    assert canvas.status_code == 200 and "attachment" in canvas.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(canvas.text)))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and rows[0][5] == "xor"
    assert sorted(row[3] for row in rows[2:]) == list(CLASS)
    plain = list(csv.DictReader(io.StringIO(dashboard.client.get("/instructor/assignments/xor/export.csv?format=csv",
                                                                 headers=instructor).text)))
    assert sorted(row["student_id"] for row in plain) == list(CLASS) and {row["assignment"] for row in plain} == {"xor"}
    assert dashboard.client.get("/instructor/assignments/xor/export.csv?format=xls", headers=instructor).status_code == 422


@pytest.fixture
def live(dashboard):
    server = uvicorn.Server(uvicorn.Config(dashboard.app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    give_up = time.monotonic() + 20
    while not server.started and time.monotonic() < give_up:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def log_in(browser, url: str, token: str):
    page = browser.new_page()
    page.goto(url + "/login")
    page.fill("#token", token)
    page.click("#login")
    return page


def test_the_instructor_sees_the_table_and_plots_and_releases_feedback_a_student_then_sees(dashboard, live, browser):
    page = log_in(browser, live, dashboard.instructor)
    page.goto(live + "/instructor/assignments/xor")
    expect(page.locator("#students tbody tr")).to_have_count(4)
    expect(page.locator("#students tbody tr").filter(has_text="bob")).to_contain_text("late")
    plot = page.locator("#plots img").first
    expect(plot).to_be_visible()
    assert plot.evaluate("img => img.naturalWidth") > 0
    page.click("#release")
    expect(page.locator("#feedback-status")).to_have_text("released")
    alice = next(i for i, p in dashboard.results.items() if p == [2.0, 1.0])
    student = log_in(browser, live, dashboard.tokens["alice"])
    student.goto(f"{live}/attempts/{alice}")
    expect(student.locator("#hidden")).to_be_visible()
    expect(student.locator("#hidden tbody tr").filter(has_text="check_fit")).to_contain_text("2 / 2")


def test_the_command_line_releases_and_holds_back_on_the_servers_database(dashboard, run_cli):
    env = {"COURSE_ROOT": dashboard.course}
    held = run_cli("feedback", "hold", "xor", "--server-db", dashboard.url, env=env)
    assert held.returncode == 0 and "held back" in held.stdout
    assert dashboard.lb.policy("xor").feedback_released is False
    released = run_cli("feedback", "release", "xor", "--server-db", dashboard.url, env=env)
    assert released.returncode == 0 and dashboard.lb.policy("xor").feedback_released is True
    missing = run_cli("feedback", "release", "nope", "--server-db", dashboard.url, env=env)
    assert missing.returncode != 0 and "not released" in missing.stderr and "Traceback" not in missing.stderr
    assert "release" in run_cli("feedback", "--help").stdout
