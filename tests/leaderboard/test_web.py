"""The web app in-process (ASGI through httpx): pages, JSON API, security, fuzzed uploads."""

from __future__ import annotations

import html
import re
import warnings
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from autograder.leaderboard.models import DailyCount, Entrant, Student, Upload
from autograder.web.app import create_app
from tests.leaderboard.boards import Clock, csv_bytes, make_board, sqlite_url, synthetic_key
from tests.leaderboard.uploads import malformed_uploads

with warnings.catch_warnings():  # Starlette nags about its httpx dependency on import
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

KEY = synthetic_key(n=60)
GOOD = csv_bytes(KEY, KEY.labels)
MAX_BYTES = 4096
NOTEBOOK_LIMIT = 4096
EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def site(tmp_path):
    lb, tokens, instructor = make_board(sqlite_url(tmp_path), KEY, students=("alice", "bob"), clock=Clock(),
                                        daily_limit=3, max_bytes=MAX_BYTES, max_notebook_bytes=NOTEBOOK_LIMIT)
    client = TestClient(create_app(lb, refresh_seconds=1))
    yield lb, tokens, instructor, client
    client.close()
    lb.dispose()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post_csv(client, token, data=GOOD, **kwargs):
    return client.post("/api/submissions", files={"file": ("predictions.csv", data, "text/csv")},
                       headers=bearer(token), **kwargs)


def stored(lb) -> tuple[int, int]:
    with lb.engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(Upload)).scalar_one(),
                conn.execute(select(func.count()).select_from(DailyCount)).scalar_one())


def login(client, token) -> None:
    """Log in through the form (sets the session cookie)."""
    response = client.post("/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303


def test_api_submission_and_board(site):
    lb, tokens, _, client = site
    response = post_csv(client, tokens["alice"])
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "accepted" and body["public_score"] == 1.0 and body["remaining_today"] == 2
    assert client.get("/api/board").json() == [
        {"rank": None, "student": "alice", "score": 1.0, "submitted_at": body["submitted_at"],
         "state": "no notebook"}]  # without a notebook nothing can verify it: listed, unranked
    raw = client.post("/api/submissions", content=GOOD, headers={**bearer(tokens["bob"]), "Content-Type": "text/csv"})
    assert raw.status_code == 201 and raw.json()["id"] == body["id"] + 1
    history = client.get("/api/submissions", headers=bearer(tokens["alice"])).json()
    assert [entry["id"] for entry in history] == [body["id"]]
    assert client.get("/api/me", headers=bearer(tokens["alice"])).json()["remaining_today"] == 2
    competition = client.get("/api/competition").json()
    assert competition["n_test"] == 60 and competition["classes"][0] == "apple" and not competition["closed"]


def test_tokens_missing_wrong_or_someone_elses(site):
    lb, tokens, instructor, client = site
    for headers in ({}, bearer("lbs_" + "A" * 43), bearer(instructor), {"Authorization": f"Basic {tokens['alice']}"},
                    bearer("' OR '1'='1"), bearer(tokens["alice"] + "x")):
        response = client.post("/api/submissions", files={"file": ("p.csv", GOOD)}, headers=headers)
        assert response.status_code == 401 and "token" in response.json()["message"]
    assert stored(lb) == (0, 0)
    alice_id = post_csv(client, tokens["alice"]).json()["id"]
    # bob sees only his own history and cannot pick alice's submission
    assert client.get("/api/submissions", headers=bearer(tokens["bob"])).json() == []
    response = client.put("/api/selection", json={"submission_id": alice_id}, headers=bearer(tokens["bob"]))
    assert response.status_code == 404
    assert client.put("/api/selection", json={"submission_id": alice_id},
                      headers=bearer(tokens["alice"])).status_code == 200
    login(client, tokens["bob"])
    assert client.get(f"/result/{alice_id}").status_code == 404
    assert "alice" not in client.get("/me").text.split("<main>")[1].replace("alice</td>", "")
    assert client.get("/api/instructor/students", headers=bearer(tokens["bob"])).status_code == 403
    assert client.get("/instructor").status_code == 403


def test_names_are_escaped_everywhere(site):
    lb, tokens, instructor, client = site
    response = client.put("/api/me/name", json={"name": EVIL[:40]}, headers=bearer(tokens["alice"]))
    assert response.status_code == 200 and response.json()["name"] == EVIL[:40]
    post_csv(client, tokens["alice"])
    assert client.get("/api/board").json()[0]["student"] == EVIL[:40]  # JSON is data; the page uses textContent
    login(client, instructor)
    for page in (client.get("/").text, client.get("/instructor").text):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert html.escape(EVIL[:40], quote=True).replace("&#x27;", "&#39;") in page


def test_sql_looking_input_is_inert(site):
    lb, tokens, _, client = site
    sneaky = "x'); DROP TABLE lb_submission;--"
    assert client.put("/api/me/name", json={"name": sneaky}, headers=bearer(tokens["bob"])).status_code == 200
    lines = GOOD.decode().splitlines()
    lines[3] = "q1' OR '1'='1,2"
    response = post_csv(client, tokens["bob"], ("\n".join(lines)).encode())
    assert response.status_code == 422 and "unknown id \"q1' OR '1'='1\"" in response.json()["message"]
    assert post_csv(client, tokens["bob"]).status_code == 201
    assert client.get("/api/board").json()[0]["student"] == sneaky
    with lb.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Student)).scalar_one() == 2
        assert conn.execute(select(Entrant.name).where(Entrant.name == sneaky)).scalar_one() == sneaky


def test_oversized_uploads_are_refused_before_parsing(site):
    lb, tokens, _, client = site
    too_big = GOOD + b"\n" * MAX_BYTES
    response = post_csv(client, tokens["alice"], too_big)
    assert response.status_code == 413 and "limit is 4,096 bytes" in response.json()["message"]
    huge = b"x" * (MAX_BYTES + NOTEBOOK_LIMIT + 70_000)  # over the whole-request cap
    response = client.post("/api/submissions", content=huge, headers={**bearer(tokens["alice"]), "Content-Type": "text/csv"})
    assert response.status_code == 413 and "limit" in response.json()["message"]
    assert response.json()["detail"] == response.json()["message"]  # before routing: the JSON API's key too

    def chunks():  # no Content-Length: the cap applies while the body streams in
        for _ in range(40):
            yield b"y" * 4096

    response = client.post("/api/submissions", content=chunks(), headers={**bearer(tokens["alice"]), "Content-Type": "text/csv"})
    assert response.status_code == 413
    response = client.post("/api/submissions", content=b"", headers={**bearer(tokens["alice"]), "Content-Length": "-5",
                                                                    "Content-Type": "text/csv"})
    assert response.status_code == 413
    assert stored(lb) == (0, 0)


def test_over_limit_submissions(site):
    lb, tokens, _, client = site
    assert [post_csv(client, tokens["alice"]).status_code for _ in range(5)] == [201, 201, 201, 429, 429]
    assert "daily limit" in post_csv(client, tokens["alice"]).json()["message"]
    assert post_csv(client, tokens["bob"]).status_code == 201
    assert stored(lb) == (4, 2)


def test_form_flow_csrf_and_cookie(site):
    lb, tokens, _, client = site
    assert client.get("/submit", follow_redirects=False).headers["location"] == "/login"
    response = client.post("/login", data={"token": "nope"})
    assert response.status_code == 401 and "unknown token" in response.text
    response = client.post("/login", data={"token": tokens["alice"]}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and tokens["alice"].lower() in cookie
    csrf = re.search(r'name="csrf" value="(\w+)"', client.get("/submit").text).group(1)
    forged = client.post("/submit", files={"file": ("p.csv", GOOD)}, data={"csrf": "0" * 64})
    assert forged.status_code == 403 and stored(lb) == (0, 0)
    bad = client.post("/submit", files={"file": ("p.csv", b"id,label\nq1,9\n")}, data={"csrf": csrf})
    assert bad.status_code == 422 and "line 2: unknown id" in bad.text and stored(lb) == (0, 0)
    good = client.post("/submit", files={"file": ("p.csv", GOOD)}, data={"csrf": csrf})
    assert good.status_code == 200 and good.url.path.startswith("/result/")
    assert re.search(r'id="score">([^<]+)<', good.text).group(1) == "1.000"
    assert "moved" in client.get("/me").text
    renamed = client.post("/me", data={"csrf": csrf, "name": "Ada"})
    assert renamed.status_code == 200 and "Ada" in client.get("/").text
    client.post("/logout")
    assert client.get("/submit", follow_redirects=False).status_code == 303


def test_private_board_hidden_until_close(site):
    lb, tokens, instructor, client = site
    post_csv(client, tokens["alice"])
    assert client.get("/api/board?private=true").status_code == 403
    assert client.get("/api/board?private=true", headers=bearer(tokens["alice"])).status_code == 403
    [entry] = client.get("/api/board?private=true", headers=bearer(instructor)).json()
    assert entry["student"] == "alice" and entry["score"] is None  # scored when close re-runs the notebook
    assert "private-board" not in client.get("/").text
    login(client, instructor)
    page = client.get("/instructor").text
    assert "Private board" in page and "unverified" in page and "alice" in page
    students = client.get("/api/instructor/students", headers=bearer(instructor)).json()
    assert {row["student"]: row["submissions"] for row in students} == {"alice": 1, "bob": 0}
    lb.close()
    lb.record_private(lb.board(private=True)[0].submission_id, "not_reproducible", "no notebook", None)
    [entry] = client.get("/api/board?private=true").json()
    assert (entry["student"], entry["rank"], entry["score"], entry["state"]) == ("alice", None, None, "no notebook")
    assert 'id="private-board"' in client.get("/").text
    assert post_csv(client, tokens["bob"]).status_code == 403


def test_security_headers(site):
    _, _, _, client = site
    for response in (client.get("/"), client.get("/api/board"), client.get("/login")):
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert "<script src=\"/static/board.js\">" in client.get("/").text


def test_fuzzed_malformed_uploads_are_refused_cleanly(site):
    """>= 1,000 malformed uploads: each a clean 4xx with a message, never a 5xx, never a row."""
    lb, tokens, _, client = site
    seen: dict[str, int] = {}

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(malformed_uploads(KEY, tokens["alice"], MAX_BYTES, NOTEBOOK_LIMIT))
    def check(case):
        kind, request, status, words = case
        response = client.post("/api/submissions", **request)  # a server error would raise here
        assert response.status_code == status, (kind, response.status_code, response.text[:300])
        body = response.json()
        assert body["status"] == "rejected" and body["id"] is None and body["message"]
        assert words in body["message"], (kind, body["message"])
        assert stored(lb) == (0, 0)
        seen[kind] = seen.get(kind, 0) + 1

    check()
    assert sum(seen.values()) >= 1000 and len(seen) == 21, seen
    assert post_csv(client, tokens["alice"]).status_code == 201  # and the account still works


def test_deadline_on_every_page_and_the_rules_page(site, tmp_path):
    lb, tokens, instructor, client = site
    page_deadline = re.compile(r'id="deadline">([^<]*)<')
    unset = page_deadline.search(client.get("/").text).group(1)
    assert unset == "Deadline: not announced yet (see the competition rules)."
    lb.close(at=datetime(2025, 11, 30, 23, 59))  # a deadline in the future of the test clock
    result = post_csv(client, tokens["alice"]).json()["id"]
    pages = ["/", "/login", "/rules", "/instructor"]
    seen = {path: client.get(path).text for path in pages}
    login(client, tokens["alice"])
    for path in ("/submit", "/me", f"/result/{result}", "/", "/rules"):
        seen[f"{path} (alice)"] = client.get(path).text
    for path, text in seen.items():
        assert page_deadline.search(text).group(1).startswith("Deadline: 2025-11-30 23:59 UTC (27 days "), path
        assert 'href="/rules"' in text, path
    rules = seen["/rules"]
    assert "<h2>Teams</h2>" in rules and "up to 5 students" in rules  # docs/competition-rules.md itself
    assert 'id="rules-link"' in seen["/"]
    lb.close(at=datetime(2025, 11, 3))  # in the past: closed
    assert "(passed; the competition is closed)" in client.get("/").text


def test_rules_page_shows_the_instructors_file_escaped(site, tmp_path):
    lb = site[0]
    rules = tmp_path / "rules.md"
    rules.write_text(f"# Our rules\n\n**Prize:** a book. {EVIL}\n", encoding="utf-8")
    with TestClient(create_app(lb, rules=rules)) as client:
        page = client.get("/rules")
        assert page.status_code == 200 and "<h1>Our rules</h1>" in page.text and "<strong>Prize:</strong>" in page.text
        assert EVIL not in page.text and html.escape(EVIL, quote=False) in page.text
    with TestClient(create_app(lb, rules=tmp_path / "missing.md")) as client:
        page = client.get("/rules")
        assert page.status_code == 404 and "has not published the competition rules yet" in page.text


def test_malformed_json_bodies_get_400_with_an_example_and_change_nothing(site):
    lb, tokens, _, client = site
    alice = bearer(tokens["alice"])
    first = post_csv(client, tokens["alice"]).json()["id"]
    for body in ({"name": 5}, {"nom": "Ada"}, ["Ada"], None, "Ada"):
        response = client.put("/api/me/name", json=body, headers=alice)
        assert response.status_code == 400 and response.json() == {"detail": 'send JSON {"name": "..."}'}, body
    for body in ({"submission_id": str(first)}, {"submission_id": True}, {"submission_id": float(first)}, {}, [first]):
        response = client.put("/api/selection", json=body, headers=alice)
        assert response.status_code == 400, body
        assert response.json() == {"detail": 'send JSON {"submission_id": <id or null>}'}
    broken = client.put("/api/me/name", content=b'{"name": "Ada"',
                        headers={**alice, "Content-Type": "application/json"})
    assert broken.status_code == 400 and "send JSON" in broken.json()["detail"]
    assert client.get("/api/board").json()[0]["student"] == "alice"
    assert not any(row["selected"] for row in lb.history(lb.authenticate(tokens["alice"])))
    # a well-formed body with a wrong token is refused before anything else
    response = client.put("/api/me/name", json={"name": "Ada"}, headers=bearer("lbs_nobody"))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.put("/api/selection", json={"submission_id": None}, headers=alice).json() == {"submission_id": None}
    # other invalid parameters keep FastAPI's answer, unknown paths its 404
    assert client.get("/api/board?private=perhaps").status_code == 422
    assert client.get("/api/nothing-here").json() == {"detail": "Not Found"}


def test_refused_forms_show_their_page_again_with_the_message(site):
    lb, tokens, _, client = site
    bob_upload = post_csv(client, tokens["bob"]).json()["id"]
    login(client, tokens["alice"])
    csrf = re.search(r'name="csrf" value="(\w+)"', client.get("/me").text).group(1)
    taken = client.post("/me", data={"csrf": csrf, "name": "bob"})
    assert taken.status_code == 409 and 'id="error">the name &#39;bob&#39; is already taken' in taken.text
    assert "My submissions" in taken.text and f'value="{csrf}"' in taken.text  # the history page, still usable
    theirs = client.post("/me", data={"csrf": csrf, "submission_id": str(bob_upload)})
    assert theirs.status_code == 404 and f"no submission {bob_upload} of yours" in theirs.text
    expired = client.post("/me", data={"csrf": "0" * 64, "name": "Ada"})
    assert expired.status_code == 403 and "the form expired" in expired.text
    unreadable = client.post("/submit", data={"csrf": csrf})  # no file part
    assert unreadable.status_code == 400 and "no file" in unreadable.text and 'id="remaining">3<' in unreadable.text
    assert client.get(f"/result/{bob_upload}").status_code == 404
    assert lb.authenticate(tokens["alice"]).name == "alice" and stored(lb) == (1, 1)
