"""The ``reference`` fixture: the reference solution's definitions, importable by the checks.

The code cells of ``solutions/<name>/<name>.ipynb`` are our own trusted code. Only their
definitions are executed in the grader (imports, functions, classes and UPPER_CASE constants;
constants that fail, e.g. because they read data files, are skipped): no training, no data
loading, no plotting. The result is cached per process and notebook version.
"""

from __future__ import annotations

import ast
import functools
import types
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

_KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_constant(node) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return all(isinstance(t, ast.Name) and t.id.isupper() for t in targets)


def _definitions(source: str) -> list[ast.stmt]:
    python = TransformerManager().transform_cell(source)  # %magics -> Python
    return [node for node in ast.parse(python).body
            if isinstance(node, _KEPT) or (isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_constant(node))]


@functools.lru_cache(maxsize=16)
def _load(path: str, mtime: float) -> types.ModuleType:
    nb = nbformat.read(path, as_version=4)
    module = types.ModuleType(f"reference_{Path(path).stem}")
    module.__file__ = path
    namespace = module.__dict__
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in _definitions(cell.source):
            code = compile(ast.Module(body=[node], type_ignores=[]), path, "exec")
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                try:
                    exec(code, namespace)
                except Exception:  # a constant that needs data files: not needed by the checks
                    continue
            else:
                exec(code, namespace)
    return module


def load_reference(notebook: Path) -> types.ModuleType:
    """The definitions of a reference solution notebook, as a module."""
    notebook = Path(notebook).resolve()
    return _load(str(notebook), notebook.stat().st_mtime)
