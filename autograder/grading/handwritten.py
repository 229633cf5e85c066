"""Rules such as "written by hand" or "NumPy only", judged from the student's source code.

The sources are the code cells of the submitted notebook (the ``student_code`` fixture), parsed
here, in the trusted process: nothing the kernel reports is looked at. Each top-level definition
(function, class) and each other top-level statement is a unit; a unit breaks a rule when it
names a forbidden attribute or module (``torch.sigmoid``, ``from torch import sigmoid as s``,
``nn.Sigmoid()``, ``import torch``) or uses a construct that hides what it calls (``getattr``,
``eval``, ``exec``, ``__import__``, ``vars``, dunder attributes, ``importlib``, IPython magics;
``getattr(obj, "name")`` with a literal public name is judged as ``obj.name``).
Breaking units taint the names they bind, and a name is tainted as soon as any of its definitions
refers to a tainted name (so ``s = torch.sigmoid`` then ``def sigmoid(z): return s(z)`` taints
``sigmoid``). A top-level statement that hides what it does, or that rebinds an attribute
(``torch.exp = ...``), taints every name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

from autograder.grading.expect import CheckFailed

HIDING_NAMES = frozenset({
    "eval", "exec", "compile", "getattr", "setattr", "delattr", "vars", "globals", "locals",
    "get_ipython", "breakpoint",
})
HIDING_MODULES = frozenset({
    "importlib", "builtins", "operator", "inspect", "pickle", "marshal", "ctypes", "runpy",
    "imp", "code", "codeop", "dill", "cloudpickle", "subprocess", "pkgutil", "gc", "IPython", "copyreg",
    "shelve", "joblib",
})
ALLOWED_DUNDERS = frozenset({"__init__", "__len__", "__getitem__", "__getitems__", "__name__"})
# attributes that reach namespaces through frames (and from there anything, by a string)
HIDING_ATTRIBUTES = frozenset({"_getframe", "_current_frames", "f_globals", "f_locals", "f_builtins", "f_back",
                               "f_code", "gi_frame", "cr_frame", "ag_frame", "tb_frame", "tb_next"})
EVERYTHING = "*"
KNOWN_MODULES = frozenset({"torch", "nn", "F", "np", "numpy", "math"})  # as the read-only cells bind them


@dataclass(frozen=True)
class Rule:
    """What a notebook forbids: ``attributes`` (names after a dot or imported by name) and
    ``modules`` (top-level packages that may not be imported); ``what`` says it in words."""

    what: str
    attributes: frozenset = frozenset()
    modules: frozenset = frozenset()


def _python(source: str) -> ast.Module | None:
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None  # a cell that does not parse never ran


def _bound(node: ast.stmt) -> set[str]:
    """The top-level names a statement binds (EVERYTHING when it cannot be told)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names = {node.name}
        names |= {n for sub in ast.walk(node) if isinstance(sub, (ast.Global, ast.Nonlocal)) for n in sub.names}
        return names
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, ast.alias):
            names.add(EVERYTHING if sub.name == "*" else (sub.asname or sub.name).split(".")[0])
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(EVERYTHING)  # torch.exp = ..., namespace[...] = ...: effects anywhere
    return names


def _loaded(node: ast.stmt) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _plain_getattr(node) -> str | None:
    """The attribute of ``getattr(obj, "name")`` with a literal public name (then it is just
    ``obj.name``, judged like one); None for any other node."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) in (2, 3) and not node.keywords and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str) and node.args[1].value.isidentifier()
            and not node.args[1].value.startswith("_")):
        return node.args[1].value
    return None


def _reasons(node: ast.stmt, rule: Rule, modules: set[str]):
    """Yield (why ``node`` breaks ``rule``, whether that hides what the code does)."""
    plain = {id(sub.func): _plain_getattr(sub) for sub in ast.walk(node) if _plain_getattr(sub)}
    for sub in ast.walk(node):
        if id(sub) in plain:
            if plain[id(sub)] in rule.attributes:
                yield f"uses getattr(..., {plain[id(sub)]!r})", False
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del)) and _root(sub) in modules:
            yield f"changes {_dotted(sub)}", True
        elif isinstance(sub, ast.Name) and (sub.id in HIDING_NAMES or (
                sub.id.startswith("__") and sub.id not in ALLOWED_DUNDERS)):
            yield f"uses {sub.id}", True
        elif isinstance(sub, ast.Attribute) and (sub.attr in HIDING_ATTRIBUTES or (
                sub.attr.startswith("__") and sub.attr not in ALLOWED_DUNDERS)):
            yield f"uses .{sub.attr}", True
        elif isinstance(sub, ast.Attribute) and sub.attr in rule.attributes:
            yield f"uses {_dotted(sub)}", False
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            yield from _import_reasons(sub, rule)


def _breaks(node: ast.stmt, rule: Rule, modules: set[str]) -> tuple[str | None, bool]:
    """(why ``node`` breaks ``rule``, or None; whether it hides what it does)."""
    reasons = list(_reasons(node, rule, modules))
    hiding = [reason for reason, hides in reasons if hides]
    if hiding:
        return hiding[0], True
    return (reasons[0][0] if reasons else None), False


def _import_reasons(node: ast.Import | ast.ImportFrom, rule: Rule):
    modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    for module in modules:
        parts = module.split(".")
        if parts[0] in HIDING_MODULES:
            yield f"imports {module}", True
        elif parts[0] in rule.modules or any(part in rule.attributes for part in parts[1:]):
            yield f"imports {module}", False
    if isinstance(node, ast.ImportFrom):
        for alias in node.names:
            if alias.name == "*":
                yield f"imports * from {node.module}", True
            elif alias.name in rule.attributes:
                yield f"imports {alias.name} from {node.module}", False


def _dotted(node: ast.Attribute) -> str:
    try:
        return ast.unparse(node)[:80]
    except Exception:  # noqa: BLE001 - only for the message
        return f".{node.attr}"


def tainted(sources: list[str], rule: Rule) -> dict[str, str]:
    """Name -> why it breaks ``rule``, for every top-level name the student's code defines or
    rebinds through a forbidden construct; the key EVERYTHING means every name."""
    trees = [tree for tree in map(_python, sources) if tree is not None]
    modules = set(KNOWN_MODULES) | {(alias.asname or alias.name).split(".")[0] for tree in trees
                                     for sub in ast.walk(tree) if isinstance(sub, (ast.Import, ast.ImportFrom))
                                     for alias in sub.names}
    units = []  # (bound names, loaded names, reason or None, hides)
    for tree in trees:
        for node in tree.body:
            reason, hides = _breaks(node, rule, modules)
            units.append((_bound(node), _loaded(node), reason, hides))
    bad: dict[str, str] = {}
    for bound, _, reason, hides in units:
        if reason and (hides or EVERYTHING in bound):
            return {EVERYTHING: reason}
        if reason:
            for name in bound:
                bad.setdefault(name, reason)
    changed = True
    while changed:
        changed = False
        for bound, loaded, _, _ in units:
            via = sorted(loaded & set(bad))
            for name in bound - set(bad) if via else ():
                bad[name] = f"calls {via[0]}, which {bad[via[0]]}"
                changed = True
    return bad


def expect_written_by_hand(sources: list[str], rule: Rule, names) -> None:
    """Fail the check when any of ``names`` breaks ``rule`` (the message names the construct)."""
    bad = tainted(sources, rule)
    for name in names:
        reason = bad.get(EVERYTHING) or bad.get(name)
        if reason:
            raise CheckFailed(f"{name} must be {rule.what}: your code {reason}")
