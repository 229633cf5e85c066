"""The report's ranking on the test class: every planted pair above every independent one, the
untouched template paired with nobody, ada's copies one cluster; and only what students wrote counts."""

from __future__ import annotations

import copy

import nbformat

from autograder.paths import course_root
from autograder.similarity.extract import Template
from tests.similarity import corpus


def test_every_planted_pair_ranks_above_every_independent_pair(comparison):
    planted = corpus.planted_pairs()
    ranks = {frozenset((p.left, p.right)): rank for rank, p in enumerate(comparison.pairs)}
    assert planted <= set(ranks)
    worst_planted = max(ranks[p] for p in planted)
    best_independent = min(rank for pair, rank in ranks.items() if pair not in planted)
    assert worst_planted < best_independent, (worst_planted, best_independent)
    assert len(comparison.pairs) == 11 * 10 // 2  # 12 notebooks, the template's left out


def test_the_untouched_template_pairs_with_nobody(comparison):
    assert comparison.blank == ["template_only"]
    assert all("template_only" not in (p.left, p.right) for p in comparison.pairs)


def test_ada_and_her_copies_are_one_cluster(comparison):
    family = {corpus.SOURCE, "copy_verbatim", "copy_renamed", "copy_reordered", "copy_comments", "copy_deadcode"}
    assert [set(c) for c in comparison.clusters] == [family | {"ben_took"}]


def _template() -> Template:
    return Template(course_root() / "assignments" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb")


def test_only_solution_code_and_written_answers_count(class_notebooks):
    template = _template()
    notebook = copy.deepcopy(class_notebooks["eli"])
    before = template.work("eli", notebook)
    for cell in notebook.cells:
        info = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x = secret_copy()\n" * 50)]
        if info.get("locked") or not info:
            cell.source += "\n# something pasted into a locked or plain cell\nprint(1)"
        cell.metadata["tags"] = ["from-a-friend"]
    notebook.cells.append(nbformat.v4.new_code_cell("def extra():\n    return 42"))
    assert template.work("eli", notebook) == before
    assert "_half_tanh" in before.code and "Vanishing gradients" in before.text
    assert "YOUR CODE HERE" not in before.code and "visible tests passed" not in before.code


def test_a_cell_left_as_released_is_not_the_student_s(class_notebooks):
    template = _template()
    notebook = copy.deepcopy(class_notebooks["eli"])
    released = {c.metadata["nbgrader"]["grade_id"]: c.source for c in corpus.released_notebook().cells
                if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("act_relu", "answer_vanishing"):
            cell.source = released[cell.metadata["nbgrader"]["grade_id"]] + "\n"
    work = template.work("eli", notebook)
    assert "act_relu" not in work.code and "act_elu" in work.code
    assert "answer_vanishing" not in work.text and "answer_dead_relu" in work.text
    assert template.work("nobody", corpus.released_notebook()).empty


def test_a_verbatim_copy_is_nearly_identical_and_independent_work_is_not(comparison):
    by_pair = {frozenset((p.left, p.right)): p for p in comparison.pairs}
    verbatim = by_pair[frozenset((corpus.SOURCE, "copy_verbatim"))]
    assert verbatim.similarity >= 0.95 and verbatim.similarity == max(p.similarity for p in comparison.pairs)
    independent = [p for key, p in by_pair.items() if key not in corpus.planted_pairs()]
    assert max(p.similarity for p in independent) < 0.5
