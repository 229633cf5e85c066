"""Fixtures several test folders share (each folder's own are in its conftest.py).

``instructor_secret``  (session) the fixed instructor secret of every test preparation.
``quickdraw_root``  (session) the real QuickDraw datasets, prepared once per test session from
                    the offline source (../shared/quickdraw beside the repo, or $QUICKDRAW_SOURCE)
                    with ``instructor_secret`` into a pytest temp dir.
                    Holds ``homework/``, ``competition/``, ``instructor/`` in the layout of
                    data/quickdraw/README.md. Treat it as read-only.
``tiny_quickdraw``  a fake source (4 small classes, with planted duplicates) and a matching tiny
                    spec, for fast tests of the data pipeline itself.
``postgresql``      (session) a throw-away PostgreSQL 15 server (Debian's binaries) on 127.0.0.1,
                    started the first time a test asks for it and stopped after the session: a
                    function ``new_database() -> SQLAlchemy URL`` of a new, empty database.
``browser``         Debian's Chromium, headless, driven by Playwright (one per test).
``run_cli``         run ``autograder ARGS...`` in-process (``autograder.cli.main``) with optional
                    environment variables; returns ``.returncode``, ``.stdout``, ``.stderr``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psycopg
import pytest
from playwright.sync_api import sync_playwright

from autograder.cli import main
from autograder.local_server import free_port
from autograder.quickdraw.prepare import prepare_all
from autograder.quickdraw.sources import find_source

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def instructor_secret() -> bytes:
    """The instructor secret of every test preparation: fixed, so that test data is deterministic."""
    return bytes(range(32))


@pytest.fixture(scope="session")
def quickdraw_root(tmp_path_factory, instructor_secret) -> Path:
    """Root folder of the real prepared QuickDraw datasets (seed 2019, default spec)."""
    root = tmp_path_factory.mktemp("quickdraw")
    prepare_all(root, find_source(), progress=False, secret=instructor_secret)
    return root


TINY_SPEC = {
    "seed": 7,
    "datasets": {
        "homework": {
            "classes": ["ant", "bee", "cow"],
            "take": "front",
            "splits": {"train": 6, "valid": 3, "test": 3, "heldout": 2},
            "instructor_only": ["heldout"],
        },
        "competition": {
            "classes": ["ant", "bee", "dog"],
            "take": "back",
            "splits": {"train": 6, "valid": 2, "test": 6, "verification": 6},
            "hidden_labels": "test",
            "public_fraction": 0.5,
            "verification": "verification",
            "jitter": True,
        },
    },
}


def fake_drawings(seed: int, n: int) -> np.ndarray:
    """``n`` random uint8 (28, 28) 'drawings': mostly 0 background, some ink up to 255."""
    rng = np.random.default_rng(seed)
    ink = rng.random((n, 28, 28)) < 0.3
    images = np.where(ink, rng.integers(1, 256, (n, 28, 28)), 0).astype(np.uint8)
    images[:, 14, 14] = 255
    return images


@pytest.fixture
def tiny_quickdraw(tmp_path_factory) -> dict:
    """A fake source folder and spec: ``{"source", "spec", "spec_path", "arrays"}``.

    Classes ant/bee/cow/dog with 40 drawings each, stored in all accepted file layouts;
    ant repeats one of its own drawings (2 copies) and bee shares one drawing with cow,
    so 39 + 39 + 39 + 40 distinct, unambiguous drawings remain.
    """
    folder = tmp_path_factory.mktemp("tiny_quickdraw")
    source = folder / "source"
    source.mkdir()
    arrays = {name: fake_drawings(i, 40) for i, name in enumerate(["ant", "bee", "cow", "dog"])}
    arrays["ant"][5] = arrays["ant"][2]
    arrays["bee"][7] = arrays["cow"][9]
    np.savez_compressed(source / "ant.npz", images=arrays["ant"])
    np.save(source / "bee.npy", arrays["bee"].reshape(40, 784))
    np.save(source / "cow.npy", arrays["cow"].reshape(40, 1, 784))
    np.save(source / "dog.npy", arrays["dog"])
    spec_path = folder / "tiny_spec.json"
    spec_path.write_text(json.dumps(TINY_SPEC))
    return {"source": source, "spec": TINY_SPEC, "spec_path": spec_path, "arrays": arrays}


@pytest.fixture
def browser():
    """A headless Chromium (Debian's binary) for the browser tests."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Call the CLI in this process; QUICKDRAW_* variables from the outside are removed."""
    for name in [n for n in os.environ if n.startswith("QUICKDRAW_")]:
        monkeypatch.delenv(name)

    def run(*args, env: dict | None = None) -> SimpleNamespace:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, str(value))
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --help and usage errors
                code = exc.code
        captured = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)

    return run


@pytest.fixture(scope="session")
def postgresql():
    """Start PostgreSQL on 127.0.0.1 (as user postgres when we are root); yield ``new_database``."""
    root = Path(tempfile.mkdtemp(prefix="lb-pg-"))  # not under pytest's 0700 temp root: postgres must enter it
    as_user = {}
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
    data, port = root / "data", free_port()
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True, cwd=root, **as_user)  # noqa: E731
    run(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start")
    counter = iter(range(1_000_000))

    def new_database() -> str:
        name = f"lb_test_{next(counter)}"
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    try:
        yield new_database
    finally:
        subprocess.run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, cwd=root, **as_user)
        shutil.rmtree(root, ignore_errors=True)
