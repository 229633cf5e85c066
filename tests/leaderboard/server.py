"""A real ``autograder leaderboard serve`` process on a free port of 127.0.0.1, for the HTTP and
browser tests (and bench/bench_leaderboard.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]


class Server:
    """``autograder leaderboard serve`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, db: str, refresh: float = 0.5, workers: int = 1, options: tuple = ("--auto-verify-top", "0")):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LEADERBOARD_DB": "", "LEADERBOARD_URL": ""}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "leaderboard", "serve", "--db", db, "--port", str(self.port),
             "--refresh", str(refresh), "--workers", str(workers), *map(str, options)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/api/competition", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the leaderboard server did not start:\n" + self.output)
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the server dies mid-request, like a crash."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
