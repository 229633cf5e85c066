"""What hidden checks use: the ``check`` marker and comparisons whose failure messages say what
was expected and what came back (type, shape, dtype, max error, tolerance), never check source.

Values from the student arrive through the proxy as data (Python numbers, strings, lists,
dicts, numpy arrays, torch tensors) or as :class:`~autograder.proxy.client.RemoteObject`; every
helper here checks the type before looking inside.
"""

from __future__ import annotations

import numpy as np
import pytest


class CheckFailed(AssertionError):
    """A check's verdict: the student's answer is wrong (the message is shown to the student)."""


def check(cell: str, points: float):
    """Mark a test as a hidden check scoring ``points`` of the autograder test cell ``cell``."""
    return pytest.mark.grade(cell=cell, points=points)


def expect(condition, message: str) -> None:
    """Fail the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def _describe(value) -> str:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return f"a tensor of shape {tuple(value.shape)} and dtype {str(value.dtype).replace('torch.', '')}"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    type_name = getattr(value, "type_name", None)
    if isinstance(type_name, str):
        return f"an object of type {type_name}"
    return f"a {type(value).__name__}"


def is_tensor(value) -> bool:
    """True for a torch tensor (as decoded by the proxy)."""
    import torch

    return isinstance(value, torch.Tensor)


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
    """||a - b|| / (||a|| + ||b||), 0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
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


class Credit:
    """Partial credit of one check: ``credit.set(fraction, message)``; kept also when it fails later."""

    def __init__(self):
        self.fraction: float | None = None
        self.message = ""

    def set(self, fraction: float, message: str = "") -> None:
        """Award ``fraction`` (0..1) of the check's points, with a reason shown when below 1."""
        self.fraction = float(min(1.0, max(0.0, fraction)))
        self.message = message
