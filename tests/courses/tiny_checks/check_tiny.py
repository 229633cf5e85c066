"""Hidden checks of the test-only ``tiny`` assignment (numpy, no torch: fast sandboxes)."""

import numpy as np

from autograder.grading.expect import check, expect, expect_close, expect_equal


@check("test_add")
def test_add(student, reference, rng):
    for a, b in rng.integers(-1000, 1000, size=(10, 2)).tolist():
        expect_equal(student.add(a, b), reference.add(a, b), f"add({a}, {b})")


@check("test_scale")
def test_scale(student, reference, rng):
    x = rng.normal(size=(int(rng.integers(1, 6)), 3))
    k = float(rng.normal())
    expect_close(student.scale(x, k), reference.scale(x, k), "scale(x, k)", kind="ndarray", dtype=np.float64)


@check("test_counter")
def test_counter(student, reference, rng):
    start = int(rng.integers(100))
    mine, theirs = student.Counter(start), reference.Counter(start)
    for step in rng.integers(1, 5, size=4).tolist():
        expect_equal(mine.bump(step), theirs.bump(step), f"Counter({start}).bump({step})")
    value = mine.value
    expect(value == theirs.value, f"Counter.value: expected {theirs.value}, got {value!r}")
    expected = list(theirs.history())
    expect(list(mine.history()) == expected, f"Counter.history(): expected {expected}")
