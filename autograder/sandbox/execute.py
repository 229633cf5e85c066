"""Run a notebook's code cells once in a sandboxed kernel, with per-cell and per-notebook deadlines.

Outputs are recorded into the cells with nbclient's own message handling (so the executed
notebook looks exactly like an nbclient run), but the loop is ours: every kernel message is
untrusted, the total output kept is capped, a cell over its deadline is interrupted (and the
sandbox killed if the kernel ignores the interrupt), and a dead kernel ends the run. The kernel
stays alive afterwards so that the checks can call into it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete

from autograder.sandbox.budget import Budget, wall
from autograder.sandbox.kernel import IOPUB_GRACE, SandboxKernel

DROPPED = "\n[the grader dropped output of this cell: a message exceeded the size limit]\n"
TRUNCATED = "\n[the grader dropped further output of this notebook: output limit reached]\n"


@dataclass
class ExecutionReport:
    """What happened when the notebook ran."""

    status: str = "ok"  # ok | timeout | died
    error: str | None = None
    cells_run: int = 0
    cell_errors: int = 0
    seconds: float = 0.0
    timed_out_cells: list[int] = field(default_factory=list)


class _Recorder(NotebookClient):
    """nbclient's output bookkeeping with a cap on the bytes of output kept."""

    def __init__(self, nb, output_limit: int):
        super().__init__(nb, store_widget_state=False, record_timing=False)
        self.reset_execution_trackers()
        self.clear_before_next_output = False
        self.comm_open_handlers = {}
        self.output_limit = output_limit
        self.output_bytes = 0
        self.truncated = False

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.output_bytes + size > self.output_limit:
            if not self.truncated:
                self.truncated = True
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATED))
            return None
        self.output_bytes += size
        return super().output(outs, msg, display_id, cell_index)


def _error_output(ename: str, evalue: str):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class _Run:
    """Executes code in the kernel and records outputs, trusting no message's content.

    Completion is the shell channel's execute_reply (reliable) or iopub's idle status; after the
    reply, iopub gets ``IOPUB_GRACE`` seconds to deliver the last outputs. (An iopub message over
    the size cap is dropped by ZMQ, possibly with the idle status after it.)
    """

    def __init__(self, kernel: SandboxKernel, nb, client):
        self.kernel, self.nb, self.client = kernel, nb, client
        self.recorder = _Recorder(nb, kernel.limits.output_bytes)

    def wait(self, msg_id: str, cell, index: int, budgets: tuple[Budget, ...]) -> tuple[str, dict | None]:
        """Record outputs until ``msg_id`` completes: ('ok'|'timeout'|'died', execute_reply or None);
        'timeout' as soon as one of ``budgets`` is used up."""
        reply, reply_time = None, None
        while True:
            now = time.monotonic()
            if reply_time is not None and now > reply_time + IOPUB_GRACE:
                self.kernel.recover_iopub(self.client)
                if cell is not None:
                    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=DROPPED))
                return "ok", reply
            if any(budget.expired(now) for budget in budgets):
                return "timeout", reply
            try:
                msg = self.client.get_iopub_msg(timeout=0.05)
            except Exception:  # queue.Empty, or a message that does not decode
                msg = None
            if msg is not None:
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg.get("msg_type") == "status" and msg.get("content", {}).get("execution_state") == "idle":
                    return "ok", reply or self.kernel.late_shell_reply(self.client, msg_id)
                if cell is not None:
                    try:
                        self.recorder.process_message(msg, cell, index)
                    except CellExecutionComplete:
                        return "ok", reply or self.kernel.late_shell_reply(self.client, msg_id)
                    except Exception:  # malformed content from the kernel: ignore the message
                        pass
                continue
            if reply is None:
                reply = self.kernel.shell_reply(self.client, msg_id)
                if reply is not None:
                    reply_time = time.monotonic()
                    continue
            if not self.kernel.alive():
                return "died", reply

    def run_code(self, code: str, cell, index: int, budgets: tuple[Budget, ...]) -> str:
        """Execute ``code`` within ``budgets`` (the cell's first); return 'ok', 'error', 'timeout'
        (kernel recovered), 'killed' or 'died'."""
        msg_id = self.client.execute(code, store_history=cell is not None, allow_stdin=False,
                                     stop_on_error=False)
        outcome, reply = self.wait(msg_id, cell, index, budgets)
        if outcome == "died":
            return "died"
        if outcome == "timeout":
            if cell is not None:
                spent = next((b for b in budgets if b.expired()), budgets[0])
                cell.outputs.append(_error_output("TimeoutError", f"cell timed out after {spent.describe()}"))
            if self.kernel.interrupt(wait=1.0):
                after, _ = self.wait(msg_id, None, index, (wall(2.0),))
                if after == "ok":
                    return "timeout"
            self.kernel.kill()
            return "killed"
        if reply is not None and reply.get("content", {}).get("status") == "error":
            return "error"
        return "ok"


def execute_notebook(kernel: SandboxKernel, nb, prelude: str | None = None, run_outside=None) -> ExecutionReport:
    """Execute every code cell of ``nb`` (in place) once in ``kernel``; never raises for student faults.

    ``run_outside(index, cell)``, when given, is asked before each code cell; when it returns True
    the caller has handled that cell itself (e.g. in the trusted process) and it is not sent to the kernel.
    """
    limits = kernel.limits
    report = ExecutionReport()
    start = time.monotonic()
    notebook = kernel.budget(limits.notebook_timeout)
    client = kernel.blocking_client()
    run = _Run(kernel, nb, client)
    try:
        if prelude:
            run.run_code(prelude, None, -1, (kernel.budget(min(limits.cell_timeout, 60.0)),))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None
            if run_outside is not None and run_outside(index, cell):
                continue
            if not cell.source.strip():
                continue
            if notebook.expired():
                report.status, report.error = "timeout", (
                    f"notebook time limit ({notebook.describe()}) reached before cell {index}")
                break
            run.recorder.clear_before_next_output = False
            outcome = run.run_code(cell.source, cell, index, (kernel.budget(limits.cell_timeout), notebook))
            report.cells_run += 1
            if outcome == "error":
                report.cell_errors += 1
            elif outcome in ("timeout", "killed"):
                report.timed_out_cells.append(index)
                if outcome == "killed":
                    report.status = "timeout"
                    report.error = (f"cell {index} exceeded its time limit and ignored the interrupt; "
                                    "the sandbox was stopped")
                    break
            elif outcome == "died":
                report.status = "died"
                report.error = f"the kernel died while running cell {index}"
                cell.outputs.append(_error_output("DeadKernelError", report.error))
                break
    finally:
        client.stop_channels()
        report.seconds = time.monotonic() - start
    return report
