"""Run the per-submission grading task on an existing Dask cluster.

Each submission becomes one task (:func:`~autograder.classroom.worker.grade_task`) holding the
notebook's bytes; workers send back its :class:`~autograder.classroom.worker.TaskOutput`. The
gradebook is never touched on the workers: the caller records results as they arrive. Workers
need this package, the course's released notebooks and hidden checks, and the sandbox
(bubblewrap) - i.e. the course repository checked out on every grading machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from autograder.classroom.worker import TaskOutput, grade_task
from autograder.errors import UserError
from autograder.grading.results import error_result


def connect(scheduler: str, timeout: float = 20.0):
    """A Dask client for ``scheduler`` (``tcp://host:port``); a clear error when it is unreachable."""
    from distributed import Client  # noqa: PLC0415 - deferred: distributed is heavy (~0.5 s), only --scheduler needs it

    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


def run_dask(payloads: list[dict], scheduler: str):
    """Yield (payload, task output) as the cluster's workers finish them."""
    from distributed import as_completed  # noqa: PLC0415 - deferred: see connect

    if not payloads:
        return
    client = connect(scheduler)
    try:
        if not client.scheduler_info().get("workers"):
            client.wait_for_workers(1, timeout=60)
        futures = {}
        for payload in payloads:
            key = f"grade-{payload['assignment']}-{payload['student']}-{payload['notebook']}-{uuid.uuid4().hex}"
            futures[client.submit(grade_task, payload, key=key, pure=False, retries=0)] = payload
        for future in as_completed(list(futures), loop=client.loop):
            payload = futures[future]
            try:
                output = future.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: this submission only
                output = TaskOutput(error_result(payload["student"], payload["notebook"],
                                                 f"the Dask task failed: {type(exc).__name__}: {exc}"),
                                    None, worker="failed")
            future.release()
            yield payload, output
    finally:
        client.close()


class DaskPool:
    """A Dask cluster as the executor of :class:`~autograder.classroom.handin_grader.HandinGrader`.

    Each attempt's task has a key of its own (:func:`handin_key`), is never cached, and is published
    on the scheduler, so it outlives this client: when the server dies mid-run, the task goes on
    on its worker and the restarted server waits for that same task instead of running the
    notebook a second time. The scheduler runs a task again only when its worker dies.
    """

    def __init__(self, scheduler: str):
        self.client = connect(scheduler)
        self._remote: dict[str, object] = {}  # key -> distributed.Future, until it is settled

    def submit(self, task: Callable[[dict], TaskOutput], payload: dict) -> Future:
        """Start ``task(payload)`` on a worker, or join the same attempt's task left by a dead server."""
        key = handin_key(payload)
        if key in self.client.list_datasets():
            remote = self.client.get_dataset(key)
        else:
            remote = self.client.submit(task, payload, key=key, pure=False, retries=0)
            self.client.publish_dataset(remote, name=key)
        self._remote[key] = remote
        local: Future = Future()
        local.set_running_or_notify_cancel()
        remote.add_done_callback(lambda done: self._settle(key, done, local))  # called in a thread of its own
        return local

    def _settle(self, key: str, remote, local: Future) -> None:
        try:
            local.set_result(remote.result())
        except BaseException as exc:  # noqa: BLE001 - e.g. KilledWorker or a cancel: the caller decides
            local.set_exception(exc)
        self._forget(key)

    def _forget(self, key: str) -> None:
        if self._remote.pop(key, None) is not None:
            with contextlib.suppress(Exception):  # already gone, or the scheduler is unreachable
                self.client.unpublish_dataset(key)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Cancel what still runs (``cancel_futures``: the runs go back to the queue) and disconnect."""
        if cancel_futures:
            for key, remote in list(self._remote.items()):
                with contextlib.suppress(Exception):
                    self.client.cancel(remote)
                self._forget(key)
        elif wait:
            for remote in list(self._remote.values()):
                with contextlib.suppress(Exception):
                    remote.result()
        self.client.close()


def handin_key(payload: dict) -> str:
    """The Dask key of one hand-in's grading: the course and the server's job name for it."""
    course = hashlib.sha256(str(payload.get("course_root")).encode()).hexdigest()[:12]
    return f"handin-{course}-{payload['job']}"


def dask_pools(scheduler: str) -> Callable[[int], DaskPool]:
    """The ``pools`` of a hand-in grader running its tasks on the Dask cluster at ``scheduler``."""
    return lambda _workers: DaskPool(scheduler)
