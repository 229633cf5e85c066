"""Grade a class: fan the submissions out to workers, write the gradebook, each exactly once.

:func:`grade_class` is what ``autograder grade`` calls. It prepares the gradebook, skips the
submissions already graded completely (unless ``force``), runs :func:`~autograder.classroom.worker.grade_task`
for the rest - on a local pool of worker processes (all cores by default) or on an existing
Dask cluster (``scheduler``) - and, in this coordinating process only, records each result as
it arrives (autograded notebook, nbgrader grades, then our completion row). A submission that
crashes, times out or is not a notebook at all ends as that submission's error result only.
Whatever a notebook's nbgrader structure, it is graded and recorded: it is sent to the grader
with the released structure (:func:`~autograder.grading.structure.normalized_submission`) and
every score it gets is a finite number.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograder import paths
from autograder.classroom.autograded import finite_result, record_autograded
from autograder.classroom.course import Course
from autograder.classroom.dask_runner import run_dask
from autograder.classroom.gradebook import ResultStore, prepare_gradebook
from autograder.classroom.worker import TaskOutput, grade_task, make_payload
from autograder.grading.results import SubmissionResult, error_result
from autograder.grading.structure import normalized_submission
from autograder.grading.submissions import Submission

CRASHED = "the grading worker process died while grading this submission"


@dataclass
class ClassReport:
    """What grading a class did: every submission's result, sorted by student and notebook."""

    run_id: str
    seed: object
    results: list[SubmissionResult] = field(default_factory=list)
    skipped: int = 0
    graded: int = 0
    extra: list[str] = field(default_factory=list)  # submitted notebooks the release does not have
    not_recorded: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: Counter = field(default_factory=Counter)  # worker -> submissions it graded

    def summary(self) -> str:
        """A few lines for the end of a run."""
        statuses = Counter(r.status for r in self.results)
        scored = [r for r in self.results if r.max_score]
        mean = (sum(r.score / r.max_score for r in scored) / len(scored) * 100) if scored else 0.0
        rate = self.graded / self.seconds * 60 if self.seconds > 0 and self.graded else 0.0
        lines = [f"{len(self.results)} submissions: {self.graded} graded now, {self.skipped} already graded "
                 f"(skipped; --force regrades), {statuses.get('error', 0)} not gradable; "
                 f"mean score {mean:.1f}%; {self.seconds:.1f} s ({rate:.1f} notebooks/min); seed {self.seed}"]
        for result in self.results:
            if result.status == "error":
                lines.append(f"  error  {result.student}/{result.notebook}: {result.error or ''}")
        for name in self.extra:
            lines.append(f"  skipped  {name}: not a notebook of the release (nbgrader grades only those)")
        for key in self.not_recorded:
            lines.append(f"  NOT RECORDED (rerun to retry)  {key}")
        return "\n".join(lines)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(submission: Submission) -> bytes:
    try:
        return submission.path.read_bytes()
    except OSError as exc:
        return f"unreadable submission file: {exc.strerror}".encode()


def _released(course: Course, assignment: str) -> dict:
    """Notebook id -> released notebook (parsed), the structure every submission is given."""
    notebooks = course.released_notebooks(assignment)
    return {name: nbformat.read(path, as_version=4) for name, path in notebooks.items()}


def _to_grade(data: bytes, notebook: str, released: dict) -> bytes:
    """The bytes the grader receives: the submission with the released nbgrader structure."""
    return normalized_submission(data, released[notebook]) if notebook in released else data


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` grading processes (forked from a server that imported the grading stack)."""
    context = multiprocessing.get_context("forkserver")
    # workers start with the grading stack, nbgrader's course folders (read for every submission)
    # and torch (for the checks' reference) already imported
    context.set_forkserver_preload(["autograder.classroom.worker", "nbgrader.coursedir", "torch"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _crashed(payload: dict, message: str = CRASHED, fault: bool = False) -> TaskOutput:
    return TaskOutput(error_result(payload["student"], payload["notebook"], message), None, worker="crashed",
                      grader_fault=fault)


def run_local(payloads: list[dict], workers: int, task=grade_task):
    """Yield (payload, ``task(payload)``) as local worker processes finish them.

    At most ``workers`` submissions are in flight. A worker process that dies takes only its
    own submission down: the ones in flight at that moment are regraded one at a time in a
    fresh single-worker pool (so the one that kills its worker again is identified and gets an
    error result), the others continue in a fresh pool.
    """
    queue = list(reversed(payloads))
    suspects: list[dict] = []
    while queue:
        pool = worker_pool(workers)
        futures: dict = {}
        try:
            while queue or futures:
                while queue and len(futures) < workers:
                    payload = queue.pop()
                    futures[pool.submit(task, payload)] = payload
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    payload = futures.pop(future)
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        suspects.append(payload)
                        broken = True
                    elif error is not None:
                        message = f"internal grading error: {type(error).__name__}: {error}"
                        yield payload, _crashed(payload, message, True)
                    else:
                        yield payload, future.result()
                if broken:
                    suspects.extend(futures.values())
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for payload in suspects:
        single = worker_pool(1)
        try:
            yield payload, single.submit(task, payload).result()
        except BrokenProcessPool:
            yield payload, _crashed(payload)
        finally:
            single.shutdown(wait=True, cancel_futures=True)


def _jobs(assignment: str, submissions: list[Submission], report: ClassReport, store: ResultStore | None,
          course: Course | None, root: Path, force: bool, options: dict | None) -> tuple[dict, list[dict]]:
    """(key -> submission, payloads to grade); already graded submissions go into ``report``
    unless ``force``. Without a gradebook (``store`` None) every submission is graded."""
    done = store.graded(assignment) if store else {}
    released = _released(course, assignment) if store else {}
    by_key, payloads = {}, []
    for sub in submissions:
        key = (sub.student, sub.notebook) if store else len(by_key)
        if key in by_key:
            continue
        by_key[key] = sub
        if key in done and not force:
            report.results.append(store.result(assignment, *key))
            report.skipped += 1
            continue
        data = _read(sub)
        payload = make_payload(assignment, sub.student, sub.notebook, _to_grade(data, sub.notebook, released),
                               report.seed, root, options=options)
        payload["sha256"], payload["key"] = _sha256(data), key
        payloads.append(payload)
    return by_key, payloads


def _record(course: Course, store: ResultStore, assignment: str, sub: Submission, payload: dict,
            output: TaskOutput, report: ClassReport) -> SubmissionResult:
    """Write one graded submission into the gradebook (not a grader's fault: reported, not
    recorded); return the result as recorded."""
    result = finite_result(output.result)
    if output.grader_fault:
        report.not_recorded.append(f"{sub.student}/{sub.notebook}: {result.error}")
        return result
    try:
        _, result = record_autograded(course, assignment, sub.student, sub.notebook, result, output.executed,
                                      sub.timestamp)
        store.save(assignment, result, payload["sha256"], report.run_id, report.seed)
    except Exception as exc:  # noqa: BLE001 - keep going; the rerun retries this one
        report.not_recorded.append(f"{sub.student}/{sub.notebook}: {type(exc).__name__}: {exc}")
    else:
        report.graded += 1
    return result


def grade_class(assignment: str, submissions: list[Submission], workers: int | None = None,
                scheduler: str | None = None, force: bool = False, seed=None, progress: bool = True,
                course: Course | None = None, options: dict | None = None, task=grade_task,
                record: bool = True, root: Path | None = None) -> ClassReport:
    """Grade ``submissions`` of ``assignment`` and record them in the gradebook.

    ``workers`` local processes (default: all cores), or the Dask cluster at ``scheduler``
    (``tcp://host:port``). Already graded submissions are skipped unless ``force``. ``seed``
    (default: a random one, reported) is passed to every submission's checks. ``task`` replaces
    the per-submission function on the local pool (it must return what ``grade_task`` does).
    ``record=False`` grades without touching the gradebook (notebooks outside the course; then
    ``root`` alone may name the course folder).
    """
    start = time.monotonic()
    store = None
    if record:
        course = course or Course(root)
        prepare_gradebook(course, assignment)
        store = ResultStore(course.db_url)
    report = ClassReport(run_id=uuid.uuid4().hex, seed=secrets.randbelow(2**31) if seed is None else seed)
    if record:
        submissions, extra = course.split_extra(assignment, list(submissions))
        report.extra = [f"{s.student}/{s.path.name}" for s in extra]
    course_root = course.root if course else Path(root or paths.course_root())
    by_key, payloads = _jobs(assignment, submissions, report, store, course, course_root, force, options)
    bar = tqdm(total=len(payloads), unit="nb", desc=f"grading {assignment}", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    try:
        outputs = run_dask(payloads, scheduler) if scheduler else run_local(payloads, workers or default_workers(),
                                                                            task=task)
        for payload, output in outputs:
            report.workers[output.worker] += 1
            sub = by_key[payload["key"]]
            if store is None:
                result = finite_result(output.result)
                report.graded += 1
            else:
                result = _record(course, store, assignment, sub, payload, output, report)
                if not output.grader_fault:
                    bar.set_postfix_str(f"{sub.student} {result.score:g}/{result.max_score:g}", refresh=False)
            report.results.append(result)
            bar.update(1)
    finally:
        bar.close()
        if store:
            store.dispose()
    report.results.sort(key=lambda r: (r.student, r.notebook))
    report.seconds = time.monotonic() - start
    return report
