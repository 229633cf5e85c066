"""One of this package's servers as a child process on 127.0.0.1: pick a free port, start it and
wait until it answers, stop it by its own process id. The demos, the benchmarks and the tests'
fixtures start ``autograder serve`` (:func:`start_course_server`) and ``autograder leaderboard serve``
through it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from autograder.errors import UserError

PACKAGE_PARENT = Path(__file__).resolve().parents[1]  # the child runs this same code


def free_port() -> int:
    """A port of 127.0.0.1 no one listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                 output=subprocess.DEVNULL, probe: str = "/api/competition",
                 timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Run ``python -m autograder ARGV --port PORT`` in its own session with this package first on
    its path; return the process and its URL once ``GET probe`` answers. ``output`` takes its stdout
    and stderr (a file, ``subprocess.PIPE`` or DEVNULL). A server that exits or does not answer
    within ``timeout`` seconds is stopped and reported in one line."""
    port = free_port()
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen([sys.executable, "-m", "autograder", *argv, "--port", str(port)], cwd=cwd, env=env,
                               stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < give_up:
        try:
            httpx.get(url + probe, timeout=2).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_server(process)
    raise UserError(f"`autograder {' '.join(argv)}` did not start{_where_its_output_is(process, output)}")


def start_course_server(db: str, course: Path, data: Path, *options: str, env: dict[str, str] | None = None,
                        output=subprocess.DEVNULL, timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """``autograder serve`` of the course folder ``course`` and the prepared data ``data`` on the
    database ``db`` (with ``options``), run in ``course``; as :func:`start_server`."""
    return start_server(["serve", "--db", db, "--course", str(course), "--data", str(data), *options],
                        cwd=course, env=env, output=output, timeout=timeout)


def stop_server(process: subprocess.Popen, grace: float = 10.0) -> None:
    """Terminate a server this process started (SIGKILL after ``grace`` seconds)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(grace)


def _where_its_output_is(process: subprocess.Popen, output) -> str:
    if output is subprocess.PIPE:
        return ": " + process.stdout.read().decode(errors="replace")[-2000:].strip().replace("\n", " | ")
    name = getattr(output, "name", None)
    return f"; see {name}" if isinstance(name, str) else ""
