"""The course server's grader of handed-in attempts: a thread of ``autograder serve`` that claims
queued attempts from the database and runs each in a local pool of grading processes, with the
task of ``autograder grade`` (:func:`~autograder.classroom.worker.grade_task`); the web server's
own processes never run student code.

The queue is the attempts table (``queue``: :class:`autograder.leaderboard.attempt_queue.AttemptQueue`,
given by the caller): rows are claimed atomically, this worker's rows get a heartbeat, and on start
rows left running by a dead worker are queued again. When a pool process dies mid-run (a crash, or
kill -9), its attempts are given back to the queue and a fresh pool is started. ``pools`` makes the
executor: the local process pool by default, or a Dask cluster's
(:func:`autograder.classroom.dask_runner.dask_pools`), where the scheduler itself runs again a task
whose worker died, and a task left running by a dead server is joined by the restarted one, not
run a second time.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Protocol

import nbformat

from autograder.classroom.attempt_feedback import hidden_feedback, visible_feedback
from autograder.classroom.autograded import finite_result
from autograder.classroom.course import Course
from autograder.classroom.grade_class import worker_pool
from autograder.classroom.worker import TaskOutput, grade_task, make_payload
from autograder.grading.structure import normalized_submission

HEARTBEAT_SECONDS = 5.0
RECOVER_SECONDS = 30.0
RETRY_SECONDS = 5.0
END_GRACE_SECONDS = 5.0


class Queue(Protocol):
    """What the grader needs of the attempts table."""

    def claim(self, worker: str): ...

    def heartbeat(self, worker: str) -> None: ...

    def finish(self, worker: str, attempt_id: int, **result) -> bool: ...

    def give_back(self, worker: str, attempt_id: int) -> None: ...

    def recover(self, worker: str) -> int: ...


def worker_name() -> str:
    """This process's name in the queue: ``host:pid:run``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class HandinGrader:
    """Grade queued attempts of the course at ``course_root`` (data under ``data_root``), ``workers``
    at a time, until :meth:`stop`."""

    def __init__(self, queue: Queue, course_root: Path, data_root: Path, workers: int = 1, poll_seconds: float = 0.5,
                 task: Callable[[dict], TaskOutput] = grade_task, report: Callable[[str], None] = print,
                 pools: Callable[[int], Executor] = worker_pool):
        self.queue, self.workers, self.poll_seconds, self.task, self.report = queue, workers, poll_seconds, task, report
        self.pools = pools
        self.course = Course(course_root)
        self.data_root = Path(data_root)
        self.name = worker_name()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="handin-grader", daemon=True)

    def start(self) -> HandinGrader:
        """Queue again what a dead worker left running, then start grading in the background."""
        recovered = self.queue.recover(self.name)
        if recovered:
            self.report(f"grading: {recovered} attempt(s) left running by a stopped worker queued again")
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; the runs under way are cut short and go back to the queue with this process."""
        self._stop.set()
        self._thread.join(timeout)

    def _payload(self, claimed) -> dict:
        stem = Path(claimed.notebook_name).stem
        released = nbformat.read(self.course.released_notebooks(claimed.assignment)[stem], as_version=4)
        data = normalized_submission(claimed.data, released)
        payload = make_payload(claimed.assignment, claimed.student, stem, data, claimed.seed, self.course.root,
                               options={"data_root": str(self.data_root)})
        payload["job"] = f"attempt-{claimed.id}"  # the run's name in a pool that outlives this server (Dask)
        return payload

    def _run(self) -> None:
        while not self._stop.is_set():
            pool = None
            try:
                pool = self.pools(self.workers)
                self._serve(pool)
            except Exception as exc:  # noqa: BLE001 - the database or the cluster went away: say so, try again
                self.report(f"grading: {type(exc).__name__}: {exc}; retrying in {RETRY_SECONDS:g} s")
                self.name = worker_name()  # the rows left running under the old name are recovered by lease
                self._stop.wait(RETRY_SECONDS)
            finally:
                if pool is not None:
                    _end(pool)

    def _serve(self, pool) -> None:
        """Keep ``pool`` busy until it breaks or the grader stops."""
        running: dict[Future, object] = {}
        beat = recover = time.monotonic()
        while not self._stop.is_set():
            if not self._fill(pool, running):  # a grading process died while idle: start a fresh pool
                break
            if running:
                done, _ = wait(running, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
            else:
                done = set()
                self._stop.wait(self.poll_seconds)
            broken = False
            for future in done:
                claimed = running.pop(future)
                broken |= self._settle(claimed, future)
            if broken:
                break
            now = time.monotonic()
            if now - beat > HEARTBEAT_SECONDS:
                self.queue.heartbeat(self.name)
                beat = now
            if now - recover > RECOVER_SECONDS:
                self.queue.recover(self.name)
                recover = now
        for claimed in running.values():  # cut short (a dead pool, or stopping): run again later
            self.queue.give_back(self.name, claimed.id)

    def _fill(self, pool, running: dict[Future, object]) -> bool:
        """Claim queued attempts until ``workers`` run; False when ``pool`` turned out to be broken."""
        while len(running) < self.workers and (claimed := self.queue.claim(self.name)) is not None:
            future = self._submit(pool, claimed)
            if future is None:
                return False
            running[future] = claimed
        return True

    def _submit(self, pool, claimed) -> Future | None:
        """Start grading ``claimed`` in ``pool`` (None: the pool is broken, the attempt given back)."""
        try:
            payload = self._payload(claimed)
        except Exception as exc:  # noqa: BLE001 - the released notebook went missing: the grader's fault
            future: Future = Future()
            future.set_exception(exc)
            return future
        try:
            return pool.submit(self.task, payload)
        except BrokenProcessPool:
            self.queue.give_back(self.name, claimed.id)
            return None

    def _settle(self, claimed, future: Future) -> bool:
        """Record one finished run; True when its process died (the attempt goes back to the queue)."""
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            self.queue.give_back(self.name, claimed.id)
            self.report(f"grading: the process grading attempt {claimed.id} died; it is queued again")
            return True
        if error is not None:
            self._record(claimed, None, fault=f"internal grading error: {type(error).__name__}: {error}")
            return False
        output = future.result()
        self._record(claimed, output, fault=output.result.error if output.grader_fault else None)
        return False

    def _record(self, claimed, output: TaskOutput | None, fault: str | None) -> None:
        if fault is not None:
            visible = {"tests": [], "cell_errors": [], "error": "the grader failed on this attempt; "
                       "the instructor has been told", "seconds": 0.0}
            self.report(f"grading: attempt {claimed.id} ({claimed.assignment}): {fault}")
            self.queue.finish(self.name, claimed.id, failed=True, score=None, max_score=None,
                              visible=json.dumps(visible), hidden=None)
            return
        result = finite_result(output.result)
        stem = Path(claimed.notebook_name).stem
        released = nbformat.read(self.course.released_notebooks(claimed.assignment)[stem], as_version=4)
        self.queue.finish(self.name, claimed.id, failed=False, score=result.score, max_score=result.max_score,
                          visible=json.dumps(visible_feedback(output.executed, released, result)),
                          hidden=json.dumps(hidden_feedback(result)))


def _end(pool, grace: float = END_GRACE_SECONDS) -> None:
    """Shut ``pool`` down without waiting for a student's notebook: idle processes leave by themselves
    (closing their zygotes), those still running after ``grace`` seconds are killed (a run cut short
    is given back to the queue by the caller; the next zygote started sweeps what it left)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor keeps no public list
    pool.shutdown(wait=False, cancel_futures=True)
    give_up = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, give_up - time.monotonic()))
        if process.is_alive():
            process.kill()
