"""Hostile students against a drop-in nbgrader course: each scores no more than it earned.

The course is plain nbgrader: a locked setup cell importing numpy and ``assert_allclose``,
solution cells, and test cells with visible and hidden ``assert``s. Every attack below is one
the student's kernel could win if it decided the test cells (as stock nbgrader's kernel does):
exception handlers, input and AST transformers, execution hooks, patched builtins and numpy,
objects that equal everything, messages on hidden lines, redefinitions, extra notebooks. All go
through ``grade_class`` with two workers, with zygote kernels and with plain sandboxes.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from tests.grading.dropin_courses import autograded_text, grade, make_course, notebook_scores, released, submit

MARK = "hidden-marker-91c2"
PRINTED = "printed-by-a-hidden-line-3e8d"


def _cell(kind: str, source: str, **info):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if info:
        cell.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False, "locked": False,
                                     "task": False, **info}
    return cell


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("code", "import numpy as np\nfrom numpy.testing import assert_allclose\n", grade_id="setup", locked=True),
        _cell("code", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n",
              grade_id="add", solution=True),
        _cell("code", "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\n"
                      f"assert add(-5, 5) == 0, 'negatives {MARK}'\nprint('{PRINTED}', add(2, 2))\n"
                      "### END HIDDEN TESTS\nprint('visible output')\n",
              grade_id="test_add", grade=True, locked=True, points=2),
        _cell("code", "def scale(x, k):\n    ### BEGIN SOLUTION\n    return np.asarray(x) * k\n    ### END SOLUTION\n",
              grade_id="scale", solution=True),
        _cell("code", "assert_allclose(scale([1.0, 2.0], 3), [3.0, 6.0])\n### BEGIN HIDDEN TESTS\n"
                      "np.testing.assert_allclose(scale(np.arange(3.0), -2), [0.0, -2.0, -4.0])\n"
                      "### END HIDDEN TESTS\n",
              grade_id="test_scale", grade=True, locked=True, points=2),
        _cell("code", "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n", grade_id="answer", solution=True),
        _cell("code", "assert abs(answer - 42) < 0.5", grade_id="test_answer", grade=True, locked=True, points=1),
        _cell("code", "def quality():\n    ### BEGIN SOLUTION\n    return 2.0\n    ### END SOLUTION\n",
              grade_id="quality", solution=True),
        # nbgrader's partial credit: the cell's value is the points earned
        _cell("code", "float(quality())", grade_id="test_quality", grade=True, locked=True, points=2),
        _cell("code", "def ready():\n    ### BEGIN SOLUTION\n    return True\n    ### END SOLUTION\n",
              grade_id="ready", solution=True),
        _cell("code", "while not ready():\n    pass", grade_id="test_ready", grade=True, locked=True, points=1),
    ]
    return nb


CORRECT = {"add": "def add(a, b):\n    return a + b\n", "scale": "def scale(x, k):\n    return np.asarray(x) * k\n",
           "answer": "answer = 42\n", "quality": "def quality():\n    return 2.0\n",
           "ready": "def ready():\n    return True\n"}
# The attacks. Each maps solution cells to their source; "after" cells are appended at the end.
# Wrong answers everywhere unless the attack needs a right one: full marks would be the cheat.
WRONG = {"add": "def add(a, b):\n    return 0\n", "scale": "def scale(x, k):\n    return np.zeros(len(x))\n",
         "answer": "answer = 41\n", "quality": "def quality():\n    return 0.0\n",
         "ready": "def ready():\n    raise NotImplementedError()\n"}
EQ_ANYTHING = ("class Anything(int):\n    def __eq__(self, other):\n        return True\n    __ne__ = lambda s, o: False\n"
               "    __hash__ = int.__hash__\n    def __array__(self, *a, **k):\n        raise TypeError('no')\n")
HOOK_LOG = "LOG = []\n"
ATTACKS = {
    "custom_exc": {**WRONG, "add": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                   + WRONG["add"]},
    "input_transformer": {**WRONG, "add": WRONG["add"] + "get_ipython().input_transformers_cleanup.append("
                                          "lambda lines: [l.replace('assert', 'pass #') for l in lines])\n"},
    "ast_transformer": {**WRONG, "add": WRONG["add"] + (
        "import ast\nclass NoAsserts(ast.NodeTransformer):\n"
        "    def visit_Assert(self, node):\n        return ast.Pass()\n"
        "get_ipython().ast_transformers.append(NoAsserts())\n")},
    "showtraceback": {**WRONG, "add": "import IPython.core.interactiveshell as s\n"
                                      "s.InteractiveShell.showtraceback = lambda *a, **k: None\n" + WRONG["add"]},
    "excepthook": {**WRONG, "add": "import sys\nsys.excepthook = lambda *a: None\n" + WRONG["add"]},
    "builtins": {**WRONG, "add": ("import builtins\nclass Never(Exception):\n    pass\n"
                                  "builtins.AssertionError = Never\nAssertionError = Never\n"
                                  "builtins.abs = lambda x: 0\nabs = lambda x: 0\n" + WRONG["add"])},
    "numpy_patch": {**WRONG, "scale": WRONG["scale"] + ("import numpy.testing\n"
                                                         "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                                                         "np.testing.assert_allclose = lambda *a, **k: None\n"
                                                         "assert_allclose = lambda *a, **k: None\n")},
    "eq_anything": {"add": EQ_ANYTHING + "def add(a, b):\n    return Anything(0)\n",
                    "scale": "def scale(x, k):\n    return Anything(0)\n", "answer": "answer = Anything(7)\n",
                    "quality": "def quality():\n    return Anything(2)\n"},
    # stock nbgrader gives full points for a NaN or negative value (and crashes above the maximum)
    "nan_score": {**WRONG, "quality": "def quality():\n    return float('nan')\n"},
    "negative_score": {**WRONG, "quality": "def quality():\n    return -1e9\n"},
    # the test cell's own loop waits for the student forever: its time budget ends it
    "never_ready": {**CORRECT, "ready": "def ready():\n    return False\n"},
    "redefines_after": {**CORRECT, "add": "def add(a, b):\n    return a - b\n",
                        "after": ["def add(a, b):\n    return a + b\n"]},
    "hidden_message": {**CORRECT, "add": "def add(a, b):\n    return a + b if a >= 0 else 1\n"},
    "hooks_copy_source": {**WRONG, "add": HOOK_LOG + (
        "ip = get_ipython()\n"
        "ip.events.register('pre_run_cell', lambda info: LOG.append(info.raw_cell))\n"
        "ip.events.register('post_run_cell', lambda result: LOG.append(result.info.raw_cell))\n"
        "ip.events.register('pre_execute', lambda: LOG.append(ip.user_ns.get('_i', '')))\n") + WRONG["add"],
        "after": ["import json\nprint(json.dumps(''.join(LOG)[::-1]))"]},
    "stderr_correct": {**CORRECT, "add": "import sys\ndef add(a, b):\n    print('careful', file=sys.stderr)\n"
                                         "    return a + b\n"},
}
EXPECTED = {"honest": 8, "never_ready": 7, "custom_exc": 0, "input_transformer": 0, "ast_transformer": 0, "showtraceback": 0,
            "excepthook": 0, "builtins": 0, "numpy_patch": 0, "eq_anything": 0, "nan_score": 0, "negative_score": 0,
            "redefines_after": 6,  # test_add saw the wrong add (nbgrader's order); the rest is right
            "hidden_message": 6,  # the visible test passes, the hidden one does not
            "hooks_copy_source": 0, "stderr_correct": 8, "extra_notebook": 0}


def answered(nb, answers: dict) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in answers.get("after", [])]
    return nb


@pytest.fixture(scope="module")
def graded(mode, tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("hostile"), {"hw": source_notebook()})
    release = released(root, "hw")
    submit(root, "honest", "hw", answered(release, CORRECT))
    for student, answers in ATTACKS.items():
        submit(root, student, "hw", answered(release, answers))
    submit(root, "extra_notebook", "hw", release)  # blank; its correct copy is an extra notebook
    submit(root, "extra_notebook", "hw", answered(release, CORRECT), filename="hw copy.ipynb")
    report = grade(root, {**mode, "limits": {"cell_timeout": 6}})
    return root, report, {r.student: r for r in report.results}


def test_every_attack_scores_what_it_earned(graded):
    root, report, _ = graded
    scores = {student: score for (student, _), score in notebook_scores(root).items()}
    assert scores == EXPECTED
    assert report.extra == ["extra_notebook/hw copy.ipynb"]


def test_objects_that_equal_everything_are_judged_by_the_grader(graded):
    _, _, by = graded
    checks = {c.name: c for c in by["eq_anything"].checks}
    assert all(c.points == 0 for c in checks.values())
    assert checks["test_add"].outcome == "failed"  # Anything(0) == 3 is False here
    assert "cannot evaluate outside your kernel" in checks["test_answer"].message  # abs(handle - 42)


def test_hidden_tests_never_enter_the_sandbox(graded):
    root, _, _ = graded
    text = autograded_text(root, "hooks_copy_source", "hw")
    logged = json.loads(next(line for line in json.loads(text)["cells"][-1]["outputs"][0]["text"].splitlines()
                             if line.startswith('"')))[::-1]
    assert "__autograder_agent__" in logged  # the hooks saw every request the grader sent...
    assert MARK not in logged and "add(-5, 5)" not in logged and "np.arange(3.0)" not in logged  # ...none holds a test


def test_a_hidden_line_message_is_not_quoted(graded):
    root, _, by = graded
    check = next(c for c in by["hidden_message"].checks if c.name == "test_add")
    assert check.points == 0 and check.message == "a hidden test failed (AssertionError)"
    for student in EXPECTED:
        assert MARK not in autograded_text(root, student, "hw")
        assert MARK not in json.dumps(by[student].to_json())


def test_stderr_from_a_correct_answer_costs_nothing(graded):
    _, _, by = graded
    assert by["stderr_correct"].score == 8


def test_a_test_cell_that_waits_forever_is_stopped(graded):
    _, _, by = graded
    check = next(c for c in by["never_ready"].checks if c.name == "test_ready")
    assert check.points == 0 and check.outcome == "timeout"


def test_what_hidden_lines_print_is_not_shown(graded):
    root, _, _ = graded
    cell = next(c for c in json.loads(autograded_text(root, "honest", "hw"))["cells"]
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_add")
    text = "".join(o.get("text", "") for o in cell["outputs"])
    assert "visible output" in text and "[output of hidden tests is not shown]" in text
    assert PRINTED not in json.dumps(cell)
