"""The downloader against a real HTTP server on 127.0.0.1 that plays Google's bucket."""

from __future__ import annotations

import io
import os
import threading
import urllib.parse
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from autograder.errors import UserError
from autograder.quickdraw.download import download_class
from autograder.quickdraw.spec import load_spec


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


class Bucket(BaseHTTPRequestHandler):
    """Serves ``routes`` (class name -> bytes); names in ``cut_short`` stop halfway."""

    routes: dict[str, bytes] = {}
    cut_short: set[str] = set()
    requests: Counter = Counter()

    def do_GET(self):
        name = urllib.parse.unquote(self.path.rsplit("/", 1)[-1]).removesuffix(".npy")
        self.requests[name] += 1
        body = self.routes.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.cut_short:
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def bucket():
    """Base URL of the local server; tests add files to ``Bucket.routes``."""
    rng = np.random.default_rng(0)
    cat = rng.integers(0, 256, (50, 784), dtype=np.uint8)
    Bucket.routes = {
        "cat": npy_bytes(cat),
        "hot dog": npy_bytes(cat[:20]),
        "flat": npy_bytes(cat.reshape(50, 28, 28)),
        "floaty": npy_bytes(cat.astype(np.float32)),
        "junk": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "short": npy_bytes(cat),
    }
    Bucket.cut_short = {"short"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bucket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/quickdraw_dataset/full/numpy_bitmap/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def run(run_cli):
    """``run(ACTION, ...)`` = ``autograder data quickdraw ACTION ...`` in-process."""
    return lambda *args, env=None: run_cli("data", "quickdraw", *args, env=env)


def leftovers(cache: Path) -> list[str]:
    return sorted(os.listdir(cache)) if cache.exists() else []


def test_download_checks_caches_and_quotes_names(bucket, tmp_path, run):
    cache = tmp_path / "cache"
    before = Bucket.requests.copy()
    proc = run("download", "cat", "hot dog", "--cache", cache, env={"QUICKDRAW_BASE_URL": bucket})
    assert proc.returncode == 0, proc.stderr
    assert "cat: downloaded, 50 drawings" in proc.stdout and "hot dog: downloaded, 20 drawings" in proc.stdout
    assert (cache / "cat.npy").read_bytes() == Bucket.routes["cat"]
    assert (cache / "hot dog.npy").read_bytes() == Bucket.routes["hot dog"]
    assert leftovers(cache) == ["cat.npy", "hot dog.npy"]
    again = run("download", "cat", "--cache", cache, "--base-url", bucket)
    assert again.returncode == 0 and "cat: already cached, 50 drawings" in again.stdout
    assert Bucket.requests - before == Counter({"cat": 1, "hot dog": 1})


@pytest.mark.parametrize(
    "name, fragments",
    [
        ("flat", ["download of 'flat'", "shape (N, 784)", "(50, 28, 28)"]),
        ("floaty", ["download of 'floaty'", "float32"]),
        ("junk", ["download of 'junk'", "not a valid .npy file"]),
        ("short", ["download of 'short'", "cut short"]),
        ("unicorn pony", ["unknown class 'unicorn pony'", "HTTP 404", "categories.txt"]),
    ],
)
def test_bad_downloads_leave_no_file(bucket, tmp_path, name, fragments, run):
    cache = tmp_path / "cache"
    proc = run("download", name, "--cache", cache, "--base-url", bucket)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert leftovers(cache) == []


def test_invalid_cached_file_is_fetched_again_with_progress(bucket, tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cat.npy").write_bytes(Bucket.routes["cat"][:1000])  # an old, broken copy
    path = download_class("cat", cache, bucket, progress=True)
    assert path.read_bytes() == Bucket.routes["cat"]
    assert "cat: 100%" in capsys.readouterr().err  # the tqdm bar
    with pytest.raises(UserError, match="cut short"):
        download_class("short", cache, bucket, progress=False)
    assert leftovers(cache) == ["cat.npy"]


def test_prepare_downloads_missing_classes(bucket, tiny_quickdraw, tmp_path, run):
    for name, images in tiny_quickdraw["arrays"].items():
        Bucket.routes[name] = npy_bytes(images.reshape(len(images), 784))
    course = tmp_path / "course" / "repo"  # no ../shared/quickdraw: falls back to the cache
    course.mkdir(parents=True)
    env = {"COURSE_ROOT": str(course), "QUICKDRAW_BASE_URL": bucket}
    listed = run("list", env=env)
    assert "download cache" in listed.stdout and "(no classes yet)" in listed.stdout
    proc = run("prepare", "all", "--spec", tiny_quickdraw["spec_path"], env=env)
    assert proc.returncode == 0, proc.stderr
    cache = course / "data" / "quickdraw" / "cache"
    assert leftovers(cache) == ["ant.npy", "bee.npy", "cow.npy", "dog.npy"]
    # same drawings as the offline folder (and the same instructor secret) -> byte-identical datasets
    downloaded = course / "data" / "quickdraw"
    offline = run("prepare", "all", "--spec", tiny_quickdraw["spec_path"], "--source",
                  tiny_quickdraw["source"], "--out", tmp_path / "offline",
                  "--secret-file", downloaded / "instructor" / "secret")
    assert offline.returncode == 0, offline.stderr
    for path in (tmp_path / "offline").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (downloaded / path.relative_to(tmp_path / "offline")).read_bytes()


EDITION_2019 = Path(__file__).resolve().parents[2] / "data" / "quickdraw" / "datasets-2019.json"


def test_the_2019_classes_are_one_switch_away(bucket, tiny_quickdraw, tmp_path, run):
    """`prepare all --spec data/quickdraw/datasets-2019.json --download` downloads the 2019
    edition's eight classes (even with an offline copy around) and prepares the course's datasets
    with them: the default spec's counts and seed, only the classes differ."""
    spec_2019, default = load_spec(EDITION_2019), load_spec()
    homework, competition = ["bird", "pizza", "screwdriver"], ["basket", "eye", "binoculars", "rabbit", "hand"]
    assert [list(d.classes) for d in spec_2019.datasets] == [homework, competition]
    assert spec_2019.seed == default.seed
    for edition, current in zip(spec_2019.datasets, default.datasets, strict=True):
        assert replace(edition, classes=current.classes) == current
    rng = np.random.default_rng(2019)
    for name in homework + competition:  # as many distinct drawings as a class needs (1,500)
        Bucket.routes[name] = npy_bytes(rng.integers(0, 256, (1500, 784), dtype=np.uint8))
    cache, out = tmp_path / "cache", tmp_path / "out"
    before = Bucket.requests.copy()
    env = {"QUICKDRAW_SOURCE": tiny_quickdraw["source"], "QUICKDRAW_BASE_URL": bucket}
    proc = run("prepare", "all", "--spec", EDITION_2019, "--download", "--cache", cache, "--out", out, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "download cache" in proc.stdout
    assert Bucket.requests - before == Counter(dict.fromkeys(homework + competition, 1))
    assert leftovers(cache) == sorted(f"{name}.npy" for name in homework + competition)
    assert (out / "homework" / "classes.txt").read_text().split() == homework
    assert (out / "competition" / "classes.txt").read_text().split() == competition
    conflict = run("prepare", "all", "--spec", EDITION_2019, "--download", "--source", tiny_quickdraw["source"])
    assert conflict.returncode != 0 and conflict.stderr.startswith("error: ") and "--download" in conflict.stderr
