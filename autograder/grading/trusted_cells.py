"""Run an nbgrader test cell in the trusted process, against the student's objects in the sandbox.

The cell's full source (hidden tests and autotest expansions included, see
:mod:`autograder.grading.instructor_source`) is executed here, never in the student's kernel. Its
free names resolve through :class:`TestNamespace`: names the test cell (or an earlier one) bound
itself stay here, Python's builtins are the grader's own (unless the instructor's solution
defines that name), the instructor's own imports are the grader's, and every other name is the
student's notebook global, fetched through the proxy: data comes back as data, any other object
as a handle whose attribute access and calls go into the sandbox. A student's module that is an
installed package (``np``) is replaced by the grader's own import of it, so patching numpy in
the kernel changes nothing. The verdict is nbgrader's rule, decided here: an exception
gives 0, a numeric last value partial credit, anything else full points.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import math
import numbers
import os
import re
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field

import nbformat

from autograder.proxy.client import RemoteObject, StudentProxy
from autograder.proxy.errors import BadReply, CallTimeout, ProxyError, SandboxGone, StudentError

FILENAME = "<nbgrader test cell {}>"
OUTPUT_LIMIT = 64 * 1024
MESSAGE_LIMIT = 500
HIDDEN_MESSAGE = "a hidden test failed"
EXECUTION_VARIABLE = "NBGRADER_EXECUTION"  # nbgrader sets it in the kernel while autograding
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TRUSTED_PATHS = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})
# sys.stdout is process-wide: test cells of concurrent threads (a Dask worker) take turns.
_OUTPUT_LOCK = threading.Lock()


class TestCellTimeout(Exception):
    """The test cell's own code ran past its time budget."""


@dataclass
class TestCell:
    """One test cell as the grader runs it."""

    grade_id: str
    source: str  # full instructor source
    hidden: set[int] = field(default_factory=set)  # 1-based line numbers students never saw

    @property
    def filename(self) -> str:
        return FILENAME.format(self.grade_id)


@dataclass
class Verdict:
    """The trusted outcome of one test cell."""

    points: float
    outcome: str  # passed | failed | error | timeout
    message: str
    outputs: list


def trusted_import(name: str):
    """The grader's own import of module ``name`` when it is installed (stdlib or site-packages),
    else None; never imports from the working directory or the course."""
    if not isinstance(name, str) or not _MODULE_NAME.match(name) or name == "__main__":
        return None
    try:
        if name not in sys.modules:
            spec = importlib.util.find_spec(name.split(".")[0])
            origin = getattr(spec, "origin", None) or ""
            locations = list(getattr(spec, "submodule_search_locations", None) or [])
            if spec is None or not any(p.startswith(_TRUSTED_PATHS) for p in [origin, *locations] if p):
                return None
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - anything unimportable simply stays the student's
        return None


class TestNamespace(dict):
    """The globals of the test cells: own names first, then trusted builtins, then the student's."""

    def __init__(self, proxy: StudentProxy, student_names: set[str]):
        super().__init__(__builtins__=__builtins__, __name__="__main__")
        self._proxy, self._student_names = proxy, frozenset(student_names)
        self._builtins = frozenset(dir(sys.modules["builtins"]))
        self._deleted: set[str] = set()

    def __delitem__(self, name: str) -> None:
        """``del name`` of a name the test cell did not bind deletes the student's global (nbgrader
        tests do this to check that one function uses another); binding it again restores it."""
        if dict.__contains__(self, name):
            dict.__delitem__(self, name)
            return
        self._proxy.delete_global(name)
        self._deleted.add(name)

    def __setitem__(self, name: str, value) -> None:
        if name in self._deleted:
            self._deleted.discard(name)
            self._proxy.set_global(name, value)
        else:
            dict.__setitem__(self, name, value)

    def __missing__(self, name: str):
        if name.startswith("__") or (name in self._builtins and name not in self._student_names):
            raise KeyError(name)  # Python then looks in the (grader's) builtins
        try:
            value = self._proxy.lookup(name)
        except NameError:
            raise KeyError(name) from None
        return self._trusted_twin(value) if isinstance(value, RemoteObject) else value

    def _trusted_twin(self, remote: RemoteObject):
        """The grader's own import of an installed module the student's global names, else ``remote``.
        (Functions and classes are not swapped: a student could name any installed function as the
        origin of theirs and have the grader call it.)"""
        name = self._proxy.module_name(remote)
        module = trusted_import(name) if name is not None else None
        return remote if module is None else module


class _CellOutput(io.TextIOBase):
    """stdout/stderr of a test cell; text written while a hidden line runs is dropped."""

    def __init__(self, cell: TestCell):
        self.cell, self.parts, self.size, self.dropped = cell, [], 0, False

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        if _on_hidden_line(sys._getframe(1), self.cell):
            self.dropped = True
        elif self.size < OUTPUT_LIMIT:
            self.parts.append(text[:OUTPUT_LIMIT - self.size])
            self.size += len(self.parts[-1])
        return len(text)

    def text(self) -> str:
        note = "[output of hidden tests is not shown]\n" if self.dropped else ""
        return "".join(self.parts) + note


def _on_hidden_line(frame, cell: TestCell) -> bool:
    while frame is not None:
        if frame.f_code.co_filename == cell.filename and frame.f_lineno in cell.hidden:
            return True
        frame = frame.f_back
    return False


def _cell_lines(tb, cell: TestCell) -> list[int]:
    lines = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == cell.filename:
            lines.append(tb.tb_lineno)
        tb = tb.tb_next
    return lines


def _split_last_expression(tree: ast.Module):
    """(statements, last expression or None), like IPython's ``last_expr`` display rule."""
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return tree, last
    return tree, None


@contextlib.contextmanager
def _deadline(cell: TestCell, deadline: float):
    """Stop the test cell's own lines once ``deadline`` passed (its proxy calls have their own)."""

    def local(frame, event, arg):
        if event == "line" and time.monotonic() > deadline:
            raise TestCellTimeout("the test cell ran out of time")
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == cell.filename else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


@contextlib.contextmanager
def _nbgrader_env():
    """``NBGRADER_EXECUTION=autograde`` while a test cell runs, as under ``nbgrader autograde``."""
    old = os.environ.get(EXECUTION_VARIABLE)
    os.environ[EXECUTION_VARIABLE] = "autograde"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(EXECUTION_VARIABLE, None)
        else:
            os.environ[EXECUTION_VARIABLE] = old


def partial_credit(value, points: float) -> float:
    """nbgrader's rule for a test cell's last value: a number is the points earned (clipped to
    [0, points]; NaN or an infinity earns 0); anything else, or nothing, earns full points."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return points
    value = float(value)
    return min(max(value, 0.0), points) if math.isfinite(value) else 0.0


class TrustedCellRunner:
    """Runs a notebook's test cells, in order, in one trusted namespace."""

    def __init__(self, proxy: StudentProxy, student_names: set[str], instructor_imports: list[str],
                 budget: float, redact=lambda text: text):
        self.proxy, self.budget, self.redact = proxy, budget, redact
        self.namespace = TestNamespace(proxy, student_names)
        for statement in instructor_imports:  # the instructor's imports: the grader's own modules
            with contextlib.suppress(Exception):  # not installed here: the name stays the student's
                exec(compile(statement, "<instructor import>", "exec"), self.namespace)

    def run(self, cell: TestCell, points: float) -> Verdict:
        """Execute ``cell`` and judge it; never raises for anything the student did."""
        try:
            tree = ast.parse(cell.source, cell.filename)
        except SyntaxError as exc:
            return Verdict(0.0, "error", f"the grader cannot run this test cell: it is not plain Python "
                           f"(line {exc.lineno}; IPython magics are not supported)", [])
        body, last = _split_last_expression(tree)
        output = _CellOutput(cell)
        value, error = None, None
        with (_OUTPUT_LOCK, contextlib.redirect_stdout(output), contextlib.redirect_stderr(output), _nbgrader_env(),
              self._budget() as deadline, _deadline(cell, deadline)):
            try:
                exec(compile(body, cell.filename, "exec"), self.namespace)
                if last is not None:
                    value = eval(compile(last, cell.filename, "eval"), self.namespace)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - every failure of a test cell scores 0
                error = exc
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=self.redact(output.text()))] \
            if output.text() else []
        if error is not None:
            outcome, message = self._explain(error, cell)
            outputs.append(nbformat.v4.new_output("error", ename=type(error).__name__, evalue=message,
                                                  traceback=[message]))
            return Verdict(0.0, outcome, message, outputs)
        earned = partial_credit(value, points)
        if value is not None and not isinstance(value, RemoteObject) and last.body.lineno not in cell.hidden:
            outputs.append(nbformat.v4.new_output("execute_result", data={"text/plain": self.redact(
                repr(value)[:MESSAGE_LIMIT])}, execution_count=None))
        message = "" if earned == points else f"partial credit: {earned:g} of {points:g}"
        return Verdict(earned, "passed" if earned == points else "failed", message, outputs)

    @contextlib.contextmanager
    def _budget(self):
        """One time budget for the cell: its own lines and all its calls into the sandbox."""
        deadline = time.monotonic() + self.budget
        self.proxy.deadline = deadline
        try:
            with self.proxy.time_limit(self.budget):
                yield deadline
        finally:
            self.proxy.deadline = None

    def _explain(self, error: BaseException, cell: TestCell) -> tuple[str, str]:
        """(outcome, message) for a failed test cell, quoting no hidden line."""
        lines = _cell_lines(error.__traceback__, cell)
        hidden = any(line in cell.hidden for line in lines)
        if isinstance(error, (CallTimeout, TestCellTimeout)):
            return "timeout", f"the test ran out of time: {error}"
        if isinstance(error, SandboxGone):
            return "error", f"your notebook's kernel is gone: {error}"
        if isinstance(error, BadReply):
            return "error", f"your notebook gave back something that is not data: {error}"
        if isinstance(error, StudentError):  # the student's own message (it quotes no test)
            where = " in a hidden test" if hidden else ""
            text = f"{error.type_name}: {error.message}" if error.message else error.type_name
            return "error", self._clip(f"{text} (raised by your code{where})")
        if isinstance(error, ProxyError):
            return "error", self._clip(f"the grader could not reach your notebook: {error}")
        if hidden:
            return ("failed" if isinstance(error, AssertionError) else "error"), \
                f"{HIDDEN_MESSAGE} ({type(error).__name__})"
        if isinstance(error, AssertionError):
            text = str(error) or _source_line(cell, lines[-1] if lines else 0)
            return "failed", self._clip(f"AssertionError: {text}" if text else "AssertionError")
        text = f"{type(error).__name__}: {error}"
        if "RemoteObject" in text or "sandbox object" in text:
            text = ("this test uses an object of your notebook in a way the grader cannot evaluate "
                    f"outside your kernel ({text})")
        return "error", self._clip(text)

    def _clip(self, text: str) -> str:
        return self.redact(text)[:MESSAGE_LIMIT]


def _source_line(cell: TestCell, lineno: int) -> str:
    lines = cell.source.splitlines()
    return lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
