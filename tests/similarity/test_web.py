"""The similarity report on the course server: the instructor's page, stylesheet and CSV; 403 for a
student; linked from the assignment's dashboard."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from starlette.testclient import TestClient

from autograder.classroom.handout import CourseHandouts
from autograder.leaderboard.accounts import RosterEntry
from autograder.leaderboard.database import database_url
from autograder.leaderboard.scoring import AnswerKey
from autograder.leaderboard.store import Leaderboard
from autograder.web.app import create_app


@pytest.fixture(scope="module")
def server(tmp_path_factory, similarity_course):
    # the assignment gets a second notebook, handed in by two students (copies of their first one)
    course = tmp_path_factory.mktemp("sim-two-notebooks") / "course"
    shutil.copytree(similarity_course, course)
    folder = course / "assignments" / "activations"
    shutil.copy(folder / "activations.ipynb", folder / "extra.ipynb")
    for student in sorted(p.name for p in (course / "submitted").iterdir())[:2]:
        handed = course / "submitted" / student / "activations"
        shutil.copy(handed / "activations.ipynb", handed / "extra.ipynb")
    lb = Leaderboard(database_url(tmp_path_factory.mktemp("sim-db") / "lb.db"))
    instructor = lb.initialize(AnswerKey.from_arrays([f"q{i}" for i in range(8)], [i % 2 for i in range(8)],
                                                     [i < 4 for i in range(8)], ("a", "b")))
    student = dict(lb.add_students([RosterEntry("ada")]))["ada"]
    handouts = CourseHandouts(course, tmp_path_factory.mktemp("no-data"))
    with TestClient(create_app(lb, handouts=handouts)) as client:
        yield client, instructor, student
    lb.dispose()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_instructor_gets_the_report_and_a_student_does_not(server):
    client, instructor, student = server
    for path in ("/instructor/assignments/activations/similarity", "/instructor/assignments/activations/similarity.csv",
                 "/instructor/similarity.css"):
        assert client.get(path, headers=bearer(student)).status_code == 403, path
    page = client.get("/instructor/assignments/activations/similarity?top=3", headers=bearer(instructor))
    assert page.status_code == 200
    assert page.text.count('<section class="pair"') == 3 and "/instructor/similarity.css" in page.text
    assert "<style>" not in page.text  # the site's Content-Security-Policy allows no inline style
    sheet = client.get("/instructor/similarity.css", headers=bearer(instructor))
    assert sheet.status_code == 200 and "span.shared" in sheet.text
    table = client.get("/instructor/assignments/activations/similarity.csv", headers=bearer(instructor))
    assert table.status_code == 200 and "attachment" in table.headers["content-disposition"]
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == 55
    assert client.get("/instructor/assignments/nope/similarity", headers=bearer(instructor)).status_code == 404


def test_each_released_notebook_has_its_report(server):
    client, instructor, _ = server
    path = "/instructor/assignments/activations/similarity"
    table = client.get(f"{path}.csv?notebook=extra", headers=bearer(instructor))
    assert table.status_code == 200 and "similarity-activations-extra.csv" in table.headers["content-disposition"]
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == 1  # the two students who handed it in
    page = client.get(f"{path}?notebook=extra", headers=bearer(instructor))
    assert page.status_code == 200 and page.text.count('<section class="pair"') == 1
    missing = client.get(f"{path}?notebook=nope", headers=bearer(instructor))
    assert missing.status_code == 404 and "activations, extra" in missing.text


def test_the_dashboard_links_the_reports(server):
    client, instructor, _ = server
    assert client.post("/login", data={"token": instructor}, follow_redirects=False).status_code in (302, 303)
    page = client.get("/instructor/assignments/activations")
    assert page.status_code == 200
    for notebook in ("activations", "extra"):
        assert f'href="/instructor/assignments/activations/similarity?notebook={notebook}"' in page.text
