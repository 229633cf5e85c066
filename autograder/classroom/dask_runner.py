"""Run the per-submission grading task on an existing Dask cluster.

Each submission becomes one task (:func:`~autograder.classroom.worker.grade_task`) holding the
notebook's bytes; workers send back its :class:`~autograder.classroom.worker.TaskOutput`. The
gradebook is never touched on the workers: the caller records results as they arrive. Workers
need this package, the course's released notebooks and hidden checks, and the sandbox
(bubblewrap) - i.e. the course repository checked out on every grading machine.
"""

from __future__ import annotations

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
    """A Dask cluster as the executor of :class:`~autograder.classroom.handin_grader.HandinGrader`:
    each task gets a unique key, is never cached, and is run again by the scheduler when its worker dies."""

    def __init__(self, scheduler: str):
        self.client = connect(scheduler)
        self._executor = self.client.get_executor(pure=False)

    def submit(self, task: Callable[[dict], TaskOutput], payload: dict) -> Future:
        """Start ``task(payload)`` on a worker of the cluster."""
        key = f"handin-{payload['assignment']}-{payload['student']}-{uuid.uuid4().hex}"
        return self._executor.submit(task, payload, key=key)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Cancel what still runs (``cancel_futures``) and disconnect from the scheduler."""
        self._executor.shutdown(wait=wait and not cancel_futures)
        self.client.close()


def dask_pools(scheduler: str) -> Callable[[int], DaskPool]:
    """The ``pools`` of a hand-in grader running its tasks on the Dask cluster at ``scheduler``."""
    return lambda _workers: DaskPool(scheduler)
