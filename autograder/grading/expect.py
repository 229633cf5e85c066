"""What hidden checks use: the ``check`` marker and comparisons whose failure messages say what
was expected and what came back (type, shape, dtype, max error, tolerance), never check source.

Values from the student arrive through the proxy as data (Python numbers, strings, lists,
dicts, numpy arrays, torch tensors) or as :class:`~autograder.proxy.client.RemoteObject`; every
helper here checks the type before looking inside.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from autograder.proxy.errors import CallTimeout, SandboxGone, StudentError


class CheckFailed(AssertionError):
    """A check's verdict: the student's answer is wrong (the message is shown to the student)."""


def check(cell: str, weight: float = 1):
    """Mark a test as a hidden check of the autograder test cell ``cell`` (its nbgrader grade_id).

    The cell's points (the solution notebook's) are shared between its checks in proportion to
    their ``weight``: one check gets them all, two checks of weight 2 and 1 get 2/3 and 1/3.
    """
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight < float("inf"):
        raise ValueError(f"@check({cell!r}): the weight must be a positive number, not {weight!r}")
    return pytest.mark.grade(cell=cell, weight=float(weight))


def expect(condition, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def _describe(value) -> str:
    if is_tensor(value):
        return f"a tensor of shape {tuple(value.shape)} and dtype {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    type_name = getattr(value, "type_name", None)
    if isinstance(type_name, str):
        return f"an object of type {type_name}"
    return f"a {type(value).__name__}"


def is_tensor(value) -> bool:
    """True for a torch tensor (as decoded by the proxy). torch takes seconds to import: until something
    imported it, nothing can be a tensor, so it is looked up instead of imported."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def as_array(value, what: str, kind: str = "any") -> np.ndarray:
    """``value`` as a numpy array; ``kind`` 'tensor' or 'ndarray' demands that type."""
    if kind == "tensor":
        expect(is_tensor(value), f"{what}: expected a torch tensor, got {_describe(value)}")
    elif kind == "ndarray":
        expect(isinstance(value, np.ndarray), f"{what}: expected a numpy array, got {_describe(value)}")
    if is_tensor(value):
        return value.detach().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        return np.asarray(value)
    raise CheckFailed(f"{what}: expected an array, got {_describe(value)}")


def expect_close(got, expected, what: str, *, rtol: float = 1e-6, atol: float = 1e-8,
                 kind: str = "any", dtype=None) -> np.ndarray:
    """Compare an array-like answer with the expected values; return the answer as an array."""
    array = as_array(got, what, kind)
    expected = np.asarray(expected)
    expect(array.shape == expected.shape,
           f"{what}: expected shape {expected.shape}, got {array.shape}")
    if dtype is not None:
        expect(array.dtype == np.dtype(dtype), f"{what}: expected dtype {np.dtype(dtype)}, got {array.dtype}")
    expect(array.dtype.kind in "biuf", f"{what}: expected real numbers, got dtype {array.dtype}")
    got64, exp64 = array.astype(np.float64), expected.astype(np.float64)
    finite = np.isfinite(exp64)
    expect(np.array_equal(np.isfinite(got64), finite),
           f"{what}: {int((~np.isfinite(got64) & finite).sum())} value(s) are inf or nan where a finite "
           "number was expected")
    if not finite.all():
        expect(np.array_equal(got64[~finite], exp64[~finite]), f"{what}: wrong non-finite values")
    diff = np.abs(got64[finite] - exp64[finite])
    bound = atol + rtol * np.abs(exp64[finite])
    bad = diff > bound
    if bad.any():
        worst = int(np.argmax(diff - bound))
        raise CheckFailed(
            f"{what}: {int(bad.sum())} of {diff.size} values differ from the expected ones; "
            f"max abs error {diff.max():.3g} (expected {exp64[finite][worst]:.6g}, got {got64[finite][worst]:.6g}), "
            f"tolerance atol={atol:g}, rtol={rtol:g}")
    return array


def expect_equal(got, expected, what: str) -> None:
    """Exact equality of plain data (numbers, strings, lists); the message shows both."""
    expect(type(got) is type(expected) or (isinstance(got, (int, float)) and isinstance(expected, (int, float))
                                           and not isinstance(got, bool)),
           f"{what}: expected a {type(expected).__name__}, got {_describe(got)}")
    expect(got == expected, f"{what}: expected {_short(expected)}, got {_short(got)}")


def _short(value, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def relative_error(a, b) -> float:
    """||a - b|| / max(||a||, ||b||), 0 when both are zero (the gradient-checking lecture's definition)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def expect_relative_error(got, expected, what: str, tolerance: float, kind: str = "any") -> float:
    """Gradient-check style comparison: relative error of the whole array within ``tolerance``."""
    array = as_array(got, what, kind)
    expected = np.asarray(expected)
    expect(array.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {array.shape}")
    expect(array.dtype.kind in "biuf", f"{what}: expected real numbers, got dtype {array.dtype}")
    error = relative_error(array, expected)
    expect(np.isfinite(error) and error <= tolerance,
           f"{what}: relative error {error:.3g} exceeds the tolerance {tolerance:g}")
    return error


def expect_float(value, what: str) -> float:
    """A Python float (or int) answer, returned as float."""
    expect(isinstance(value, (float, int)) and not isinstance(value, bool),
           f"{what}: expected a Python float, got {_describe(value)}")
    return float(value)


def module_state(student, module, what: str, shapes: dict) -> dict:
    """The parameters of the sandbox's ``module`` (``state_dict()``) copied out as float arrays,
    checked against ``shapes`` (name -> shape); the checks compute everything else from them."""
    state = student.call("dict", module.call_method("state_dict"))
    expect(isinstance(state, dict), f"{what}.state_dict(): expected a dict of tensors, got {_describe(state)}")
    expect(sorted(map(str, state)) == sorted(shapes),
           f"{what}.state_dict(): expected the entries {sorted(shapes)}, got {sorted(map(str, state))[:8]}")
    arrays = {}
    for name, shape in shapes.items():
        value = as_array(state[name], f"{what}.{name}", kind="tensor")
        expect(value.shape == tuple(shape) and value.dtype.kind == "f",
               f"{what}.{name}: expected a float tensor of shape {tuple(shape)}, got {_describe(value)}")
        expect(bool(np.isfinite(value).all()), f"{what}.{name}: holds inf or nan")
        arrays[name] = value.copy()
    return arrays


def expect_same_update(start: dict, got: dict, expected: dict, what: str, tolerance: float) -> None:
    """Training from ``start`` must move every parameter as the reference training did: the
    relative error of the change (not of the weights, which hide small steps) within ``tolerance``."""
    for name in expected:
        moved = np.asarray(expected[name], np.float64) - np.asarray(start[name], np.float64)
        change = np.asarray(got[name], np.float64) - np.asarray(start[name], np.float64)
        error = relative_error(change, moved)
        expect(error <= tolerance,
               f"{what}: {name} did not change the way the specified training changes it (relative error "
               f"{error:.3g} of the change, tolerance {tolerance:g}; largest change {np.abs(change).max():.3g}, "
               f"expected {np.abs(moved).max():.3g})")


class Credit:
    """Partial credit of one check, kept also when the check fails later.

    Either a measured fraction, ``credit.set(fraction, message)``, or named cases: declare every
    case first with ``credit.cases(names)``, then judge each in ``with credit.case(name): ...``.
    The fraction is the share of declared cases that passed: a case that was never judged, or
    whose block failed (a wrong answer, an exception in the student's code, a garbage reply),
    counts as failed.
    """

    def __init__(self):
        self._set: float | None = None
        self._set_message = ""
        self._cases: list[str] | None = None
        self._passed: set[str] = set()
        self._failures: dict[str, str] = {}

    def set(self, fraction: float, message: str = "") -> None:
        """Award ``fraction`` (0..1) of the check's points, with a reason shown when below 1."""
        fraction = float(fraction)
        self._set = float(min(1.0, max(0.0, fraction))) if np.isfinite(fraction) else 0.0
        self._set_message = message

    def cases(self, names) -> None:
        """Declare the cases this check's points are shared between (equal shares)."""
        names = list(names)
        if not names or len(set(names)) != len(names) or self._cases is not None:
            raise RuntimeError("credit.cases() needs distinct names, once per check")
        self._cases = names

    @contextlib.contextmanager
    def case(self, name: str):
        """Judge one declared case: it passes when the block ends without an exception."""
        if self._cases is None or name not in self._cases or name in self._passed or name in self._failures:
            raise RuntimeError(f"case {name!r} was not declared with credit.cases(), or judged twice")
        try:
            yield
        except CheckFailed as exc:
            self._failures[name] = str(exc) or f"{name}: not correct"
        except (CallTimeout, SandboxGone):
            raise  # nothing more can be judged: the remaining cases count as failed
        except StudentError as exc:
            self._failures[name] = f"{name}: your code raised {exc}"
        except Exception as exc:  # noqa: BLE001 - a garbage answer (or reply) fails this case only
            self._failures[name] = f"{name}: unexpected result ({type(exc).__name__}: {exc})"
        else:
            self._passed.add(name)

    @property
    def fraction(self) -> float | None:
        """The share of the points earned, or None when nothing was awarded yet."""
        if self._cases is not None:
            return len(self._passed) / len(self._cases)
        return self._set

    @property
    def failures(self) -> list[str]:
        """Why cases failed (never-judged cases included), in declaration order."""
        if self._cases is None:
            return []
        return [self._failures.get(name, f"{name}: not evaluated") for name in self._cases
                if name not in self._passed]

    @property
    def message(self) -> str:
        """The reason shown when the fraction is below 1."""
        if self._cases is not None:
            failures = self.failures
            shown = "; ".join(failures[:3])
            return f"{len(failures)} of {len(self._cases)} cases failed: {shown}" if failures else ""
        return self._set_message
