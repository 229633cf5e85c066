"""The course server over real HTTP (``autograder serve`` on 127.0.0.1): a student logs in, sees
the released assignments with their due dates, downloads a notebook and the zip of exactly the data
it reads, and the released notebook runs on that data unzipped beside it. Without a valid token
nothing is handed out; no spelling of a path reaches a file that was not released."""

from __future__ import annotations

import csv
import hashlib
import html
import http.client
import io
import json
import os
import re
import zipfile
from pathlib import Path, PurePosixPath

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

from autograder.classroom.course_client import CourseClient, unzip_beside
from autograder.errors import UserError

REPO = Path(__file__).resolve().parents[2]

IN_ORDER = ["xor", "mlp_scratch", "quickdraw_loader", "activations", "competition"]
# What each notebook reads: dataset -> splits (the released files beside it come on top).
READS = {"xor": {}, "mlp_scratch": {"homework": ("train", "valid")},
         "quickdraw_loader": {"homework": ("train", "valid", "test")},
         "competition": {"competition": ("train", "valid", "test")}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def released(course: Path, name: str) -> Path:
    return course / "assignments" / name / f"{name}.ipynb"


def expected_zip(course: Path, data: Path, name: str) -> dict[str, Path]:
    """Zip name -> file, worked out here from the released folder and the prepared CSVs."""
    folder = course / "assignments" / name
    files = {p.name: p for p in folder.iterdir() if p.suffix != ".ipynb"}
    for dataset, splits in READS[name].items():
        files[f"data/{dataset}/classes.txt"] = data / dataset / "classes.txt"
        for split in splits:
            files[f"data/{dataset}/{split}.csv"] = data / dataset / f"{split}.csv"
            with open(data / dataset / f"{split}.csv", newline="") as f:
                files.update({f"data/{dataset}/{row['filename']}": data / dataset / row["filename"]
                              for row in csv.DictReader(f)})
    return files


def instructor_digests(data: Path) -> set[str]:
    """The sha256 of every instructor-only file (held-out drawings, hidden labels, the secret)."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in (data / "instructor").rglob("*") if p.is_file()}


def test_a_student_logs_in_and_sees_the_released_assignments_with_due_dates(course_server):
    with httpx.Client(base_url=course_server.url, timeout=30) as client:
        before = client.get("/assignments", follow_redirects=False)
        assert before.status_code == 303 and before.headers["location"] == "/login"
        login = client.post("/login", data={"token": course_server.tokens["alice"]}, follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/assignments"
        page = client.get("/assignments")
        assert page.status_code == 200 and 'signed in as <b id="who">alice</b>' in page.text
        rows = dict(re.findall(r'<tr id="assignment-(\w+)">(.*?)</tr>', page.text, re.S))
        assert list(rows) == IN_ORDER
        due = {name: re.search(r'<td class="due">(.*?)</td>', row).group(1) for name, row in rows.items()}
        assert due == {"xor": "2026-12-14 23:59:00 UTC", "mlp_scratch": "2026-12-21 12:00:00 UTC",
                       "quickdraw_loader": "no due date", "activations": "no due date", "competition": "no due date"}
        for name, row in rows.items():
            assert f'href="/assignments/{name}/{name}.ipynb"' in row
            assert (f'href="/assignments/{name}/data.zip"' in row) == (name != "activations")
        # the page's links work with the session cookie alone
        notebook = client.get("/assignments/mlp_scratch/mlp_scratch.ipynb")
        assert notebook.status_code == 200
        assert notebook.content == released(course_server.course, "mlp_scratch").read_bytes()
        assert client.get("/assignments/xor/data.zip").status_code == 200


def test_the_api_lists_each_released_assignment_with_its_due_date_and_urls(course_server):
    listing = httpx.get(course_server.url + "/api/assignments", headers=bearer(course_server.tokens["bob"]))
    assert listing.status_code == 200
    body = listing.json()
    assert [item["name"] for item in body] == IN_ORDER
    by_name = {item["name"]: item for item in body}
    assert by_name["xor"] == {
        "name": "xor", "due": course_server.due["xor"].isoformat(timespec="milliseconds") + "Z",
        "notebooks": [{"name": "xor.ipynb", "url": "/assignments/xor/xor.ipynb"}],
        "data": {"url": "/assignments/xor/data.zip", "filename": "xor-data.zip"}}
    assert by_name["activations"]["due"] is None and by_name["activations"]["data"] is None
    one = httpx.get(course_server.url + "/api/assignments/mlp_scratch", headers=bearer(course_server.instructor))
    assert one.status_code == 200 and one.json() == by_name["mlp_scratch"]


@pytest.mark.parametrize("name", IN_ORDER)
def test_the_notebook_download_is_the_released_file(course_server, name):
    response = httpx.get(f"{course_server.url}/assignments/{name}/{name}.ipynb",
                         headers=bearer(course_server.tokens["alice"]))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{name}.ipynb"'
    assert response.content == released(course_server.course, name).read_bytes()
    nbformat.validate(nbformat.reads(response.text, as_version=4))


@pytest.mark.parametrize("name", [name for name in IN_ORDER if name != "activations"])
def test_the_data_zip_holds_exactly_what_the_notebook_reads(course_server, name):
    response = httpx.get(f"{course_server.url}/assignments/{name}/data.zip", headers=bearer(course_server.tokens["bob"]),
                         timeout=60)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}-data.zip"'
    expected = expected_zip(course_server.course, course_server.data, name)
    secret = instructor_digests(course_server.data)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        entries = archive.infolist()
        assert len(entries) == len({e.filename for e in entries}) == len(expected)
        for entry in entries:  # walk the whole zip
            path = PurePosixPath(entry.filename)
            assert not entry.is_dir() and not path.is_absolute() and ".." not in path.parts
            assert "instructor" not in path.parts and not any(part.startswith(".") for part in path.parts)
            content = archive.read(entry)
            assert content == expected[entry.filename].read_bytes(), entry.filename
            assert hashlib.sha256(content).hexdigest() not in secret, entry.filename
        names = {e.filename for e in entries}
    assert names == set(expected)
    if name == "mlp_scratch":  # it never opens the test split, so it does not get it
        assert not any(n.startswith("data/homework/test") for n in names)
    if name == "competition":  # the test drawings come without their labels
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert archive.read("data/competition/test.csv").decode().splitlines()[0] == "id,filename"


def test_an_assignment_that_reads_no_data_has_no_zip(course_server):
    response = httpx.get(course_server.url + "/assignments/activations/data.zip",
                         headers=bearer(course_server.tokens["alice"]))
    assert response.status_code == 404 and "reads no data" in response.json()["detail"]


def notebook_cells(name: str, notebook) -> list:
    """The cells that read the data: the released ones, and for quickdraw_loader the solution's
    Dataset and make_loaders (what a student writes) before its visible tests on the real data."""
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in notebook.cells}
    if name == "mlp_scratch":
        return [by_id["mlp_setup"], by_id["mlp_load_quickdraw"]]
    if name == "quickdraw_loader":
        solution = nbformat.read(REPO / "solutions" / name / f"{name}.ipynb", as_version=4)
        solved = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in solution.cells}
        return [by_id["qd_setup"], solved["quickdraw_dataset"], by_id["test_quickdraw_dataset"], solved["make_loaders"],
                by_id["test_make_loaders"]]
    return [cell for cell in notebook.cells if cell.cell_type == "code"
            and ("COMPETITION = Path(" in cell.source or "def load_split" in cell.source)]


PROBES = {  # what the kernel reports after the data-loading cells
    "mlp_scratch": '{"root": str(HOMEWORK.resolve()), "classes": CLASSES, "n": [len(X_train), len(X_valid)], '
                   '"width": X_train.shape[1]}',
    "quickdraw_loader": '{"root": str(HOMEWORK.resolve()), "classes": CLASSES, '
                        '"n": [sum(len(b[1]) for b in make_loaders(HOMEWORK)[split]) for split in ("train", "valid", "test")]}',
    "competition": '{"root": str(COMPETITION.resolve()), "classes": CLASSES, '
                   '"n": [len(train_images), len(valid_images), len(test_ids)], "ids": test_ids[:5]}',
}


@pytest.mark.parametrize("name", ["mlp_scratch", "quickdraw_loader", "competition"])
def test_the_released_notebook_reads_the_data_unzipped_beside_it(course_server, tmp_path, name):
    folder = tmp_path / "downloads"
    folder.mkdir()
    headers = bearer(course_server.tokens["alice"])
    with httpx.Client(base_url=course_server.url, headers=headers, timeout=60) as client:
        (folder / f"{name}.ipynb").write_bytes(client.get(f"/assignments/{name}/{name}.ipynb").content)
        with zipfile.ZipFile(io.BytesIO(client.get(f"/assignments/{name}/data.zip").content)) as archive:
            archive.extractall(folder)
    notebook = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    notebook.cells = notebook_cells(name, notebook)
    notebook.cells.append(nbformat.v4.new_code_cell(f"import json\nprint('PROBE' + json.dumps({PROBES[name]}))"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUICKDRAW_")}  # only the folder tells it
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute(
        env=env)
    printed = "".join(out.get("text", "") for out in notebook.cells[-1].outputs if out.output_type == "stream")
    report = json.loads(printed.split("PROBE", 1)[1])
    dataset = next(iter(READS[name]))
    assert report["root"] == str((folder / "data" / dataset).resolve())
    assert report["classes"] == (course_server.data / dataset / "classes.txt").read_text().split()
    counts = []
    for split in READS[name][dataset]:
        with open(course_server.data / dataset / f"{split}.csv", newline="") as f:
            counts.append(sum(1 for _ in csv.DictReader(f)))
    assert report["n"] == counts and min(counts) > 0
    if name == "competition":
        with open(course_server.data / dataset / "test.csv", newline="") as f:
            assert report["ids"] == [row["id"] for row in csv.DictReader(f)][:5]


DOWNLOADS = ["/api/assignments", "/api/assignments/xor", "/assignments/xor/xor.ipynb", "/assignments/xor/data.zip"]


@pytest.mark.parametrize("path", DOWNLOADS)
def test_without_a_valid_token_nothing_is_handed_out(course_server, path):
    for headers in ({}, bearer("not-a-token"), bearer(course_server.tokens["alice"] + "x"), {"Authorization": "Basic YQ=="}):
        response = httpx.get(course_server.url + path, headers=headers)
        assert response.status_code == 401, (headers, response.status_code)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "detail" in response.json() and b"nbformat" not in response.content
    with httpx.Client(base_url=course_server.url, cookies={"lb_token": "forged"}) as client:
        assert client.get(path).status_code == 401
        page = client.get("/assignments", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"


TRAVERSALS = [
    "/assignments/../nbgrader_config.py", "/assignments/xor/../../nbgrader_config.py",
    "/assignments/xor/..%2F..%2Fnbgrader_config.py", "/assignments/..%2F..%2Fsolutions%2Fxor/xor.ipynb",
    "/assignments/%2E%2E/xor.ipynb", "/assignments/%2e%2e%2fsolutions/xor.ipynb", "/assignments/..%5Csolutions/xor.ipynb",
    "/assignments/xor/%2Fetc%2Fpasswd", "/assignments//etc/passwd", "/assignments/%2Fetc/passwd",
    "/assignments/%2F" + "%2F".join(REPO.parts[1:]) + "%2Fsolutions%2Fxor/xor.ipynb",
    "/assignments/competition/..%2F..%2Fdata%2Fquickdraw%2Finstructor%2Fcompetition_labels.csv",
    "/assignments/xor/xor_data.csv", "/assignments/xor/XOR.ipynb", "/assignments/xor/xor.ipynb%00.zip",
    "/assignments/solutions/xor.ipynb", "/assignments/nope/nope.ipynb", "/assignments/nope/data.zip",
    "/api/assignments/nope", "/api/assignments/..", "/api/assignments/%2E%2E%2Fsolutions",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_spelling_of_a_path_reaches_a_file_that_was_not_released(course_server, path):
    """Sent byte for byte (http.client does not tidy the path as httpx would): 404, or 400 for a
    request line the server refuses to parse, and nothing of the file in the answer."""
    host, port = course_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path, headers=bearer(course_server.tokens["alice"]))
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status in (400, 404), (path, response.status)
    for leak in (b"get_config", b"root:", b"id,label,split", b"BEGIN SOLUTION", b"nbformat"):
        assert leak not in body


def test_the_competition_part_is_still_served(course_server):
    """The course server is the leaderboard app too: the board, the settings and the upload form."""
    assert httpx.get(course_server.url + "/api/board").status_code == 200
    with httpx.Client(base_url=course_server.url) as client:
        client.post("/login", data={"token": course_server.tokens["bob"]})
        submit = client.get("/submit")
        assert submit.status_code == 200 and 'href="/assignments"' in submit.text
        assert html.escape("Submit predictions") in submit.text


def test_a_student_fetches_an_assignment_from_the_command_line(course_server, run_cli, tmp_path):
    server = ["--url", course_server.url, "--token", course_server.tokens["bob"]]
    listing = run_cli("fetch", *server)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert [line.split()[0] for line in lines] == IN_ORDER
    assert lines[0].split(None, 1)[1] == "due " + course_server.due["xor"].isoformat(timespec="milliseconds") + "Z"
    folder = tmp_path / "hw"
    fetched = run_cli("fetch", "mlp_scratch", *server, "--into", folder)
    assert fetched.returncode == 0, fetched.stderr
    expected = expected_zip(course_server.course, course_server.data, "mlp_scratch")
    assert f"mlp_scratch.ipynb and {len(expected)} data file(s) in {folder}" in fetched.stdout
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert written == set(expected) | {"mlp_scratch.ipynb"}
    assert (folder / "mlp_scratch.ipynb").read_bytes() == released(course_server.course, "mlp_scratch").read_bytes()
    (folder / "mlp_scratch.ipynb").write_text("my work")
    again = run_cli("fetch", "mlp_scratch", *server, "--into", folder)
    assert again.returncode == 2 and "already exists: your work is kept" in again.stderr
    assert (folder / "mlp_scratch.ipynb").read_text() == "my work"
    for args, message in [(["nope", *server], "no released assignment 'nope'; released: xor, mlp_scratch"),
                          (["xor", "--url", course_server.url, "--token", "wrong"],
                           "the course server refused /api/assignments: missing or unknown token"),
                          (["xor", "--token", "t"], "give the course server's address with --url")]:
        refused = run_cli("fetch", *args, "--into", tmp_path / "other")
        assert refused.returncode == 2 and message in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr


def test_a_hostile_data_zip_lands_nowhere_outside_the_folder(tmp_path):
    for evil in ("../escaped.txt", "/tmp/escaped.txt", "data\\..\\..\\escaped.txt"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("data/fine.txt", "ok")
            archive.writestr(evil, "escaped")
        folder = tmp_path / "inside"
        with pytest.raises(UserError, match="would land outside"):
            unzip_beside(buffer.getvalue(), folder)
        assert not (tmp_path / "escaped.txt").exists() and not (folder / "data" / "fine.txt").exists()


def test_the_client_sends_the_token_to_its_own_server_only(tmp_path, monkeypatch):
    """A download address the server lists must be a path on it: the token never travels elsewhere."""
    client = CourseClient("http://127.0.0.1:9", "secret-token")
    listing = [{"name": "xor", "due": None, "data": None,
                "notebooks": [{"name": "xor.ipynb", "url": "http://elsewhere.example/steal"}]}]
    monkeypatch.setattr(client, "assignments", lambda: listing)
    asked = []
    monkeypatch.setattr(client, "_get", lambda path: asked.append(path))
    for url in ("http://elsewhere.example/steal", "//elsewhere.example/steal", "xor.ipynb"):
        listing[0]["notebooks"][0]["url"] = url
        with pytest.raises(UserError, match="not on it"):
            client.fetch("xor", tmp_path / "xor")
    assert asked == [] and not (tmp_path / "xor" / "xor.ipynb").exists()
    client.close()
