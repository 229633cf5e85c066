"""What the trusted process needs from an nbgrader source notebook to run its test cells.

* the full source of every test cell: hidden tests included and nbgrader's autotest lines
  expanded by nbgrader's own :class:`~nbgrader.preprocessors.InstantiateTests` (which runs the
  instructor's solution in a local kernel, as ``nbgrader generate_assignment`` does; done once
  per source notebook and process), with the line numbers students never saw;
* the names the instructor's non-test cells bind (a test cell's ``sum`` is the student's only
  when the solution defines ``sum``; otherwise it is the grader's builtin);
* the import statements of the instructor's other cells (the grader runs its own copy).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from autograder.grading.redact import BLOCKS
from autograder.grading.trusted_cells import TestCell


@dataclass
class TestSources:
    """The instructor's side of one notebook."""

    cells: dict[str, TestCell]  # grade_id -> test cell
    student_names: set[str]
    instructor_imports: list[str]  # of the non-test cells, solutions included


def _info(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    """An nbgrader autograder-tests cell: a graded code cell that is not a solution."""
    info = _info(cell)
    return cell.get("cell_type") == "code" and bool(info.get("grade")) and not info.get("solution")


def hidden_line_numbers(source: str, released: str) -> set[int]:
    """1-based lines of ``source`` that students never saw: inside hidden-test or mark-scheme
    blocks (markers included), or not in the released cell at all."""
    public = {line.strip() for line in released.splitlines()}
    hidden, inside = set(), None
    for number, line in enumerate(source.splitlines(), 1):
        if inside is None:
            inside = next((end for begin, end in BLOCKS if begin in line), None)
            if inside is not None or (line.strip() and line.strip() not in public):
                hidden.add(number)
        else:
            hidden.add(number)
            if inside in line:
                inside = None
    return hidden


def _python(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics turned into calls), or None."""
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def bound_names(tree: ast.Module) -> set[str]:
    """The module-level names a cell binds (not the locals of its functions or classes)."""
    names: set[str] = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        if isinstance(node, ast.Lambda):
            continue
        pending.extend(ast.iter_child_nodes(node))
    return names


def _imports(tree: ast.Module) -> list[str]:
    return [ast.unparse(node) for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "level", 0) == 0]


def expand_autotests(nb, source_path: Path, course_root: Path, config=None):
    """``nb`` with nbgrader's AUTOTEST lines expanded (nbgrader's InstantiateTests, its
    ``autotests.yml`` from the assignment folder or else the course root)."""
    from nbgrader.preprocessors import InstantiateTests  # noqa: PLC0415 - deferred: nbgrader adds ~1 s to start-up, most commands never need it

    pre = InstantiateTests(config=copy.deepcopy(config)) if config is not None else InstantiateTests()
    if not any(c.cell_type == "code" and pre.autotest_delimiter in c.source for c in nb.cells):
        return nb
    if not (source_path.parent / pre.autotest_filename).is_file():
        pre.autotest_filename = str(Path(course_root) / pre.autotest_filename)
    nb, _ = pre.preprocess(copy.deepcopy(nb), {"metadata": {"path": str(source_path.parent)}})
    return nb


_CACHE: dict[tuple, TestSources] = {}


def load_test_sources(source_path: Path, released_nb, course_root: Path, config=None) -> TestSources:
    """The :class:`TestSources` of a source notebook (cached per file version in this process)."""
    stat = Path(source_path).stat()
    key = (str(source_path), stat.st_mtime_ns, stat.st_size, str(course_root))
    if key not in _CACHE:
        nb = expand_autotests(nbformat.read(source_path, as_version=4), Path(source_path), course_root, config)
        released = {_info(c).get("grade_id"): c.source for c in released_nb.cells if _info(c).get("grade_id")}
        cells, names, imports = {}, set(), []
        for cell in nb.cells:
            grade_id = _info(cell).get("grade_id")
            if is_test_cell(cell) and grade_id:
                cells[grade_id] = TestCell(grade_id, cell.source,
                                           hidden_line_numbers(cell.source, released.get(grade_id, "")))
            elif cell.cell_type == "code":
                tree = _python(cell.source)
                if tree is not None:
                    names |= bound_names(tree)
                    imports += _imports(tree)
        _CACHE[key] = TestSources(cells, names, imports)
    return _CACHE[key]
