"""A real ``autograder leaderboard serve`` process on a free port of 127.0.0.1, for the HTTP and
browser tests (and bench/bench_leaderboard.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from autograder.local_server import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]


class Server:
    """``autograder leaderboard serve`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, db: str, refresh: float = 0.5, workers: int = 1, options: tuple = ("--auto-verify-top", "0")):
        env = {**os.environ, "LEADERBOARD_DB": "", "LEADERBOARD_URL": ""}
        argv = ["leaderboard", "serve", "--db", db, "--refresh", str(refresh), "--workers", str(workers),
                *map(str, options)]
        self.process, self.url = start_server(argv, cwd=REPO, env=env, output=subprocess.PIPE, timeout=30)
        self.port = int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL: the server dies mid-request, like a crash."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        stop_server(self.process)
        self.output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
