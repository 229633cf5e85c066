"""One similarity comparison of a class: read every submission of one released notebook, compare."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from autograder.errors import UserError
from autograder.grading.submissions import Submission
from autograder.similarity import engine
from autograder.similarity.compare import Comparison, compare_works
from autograder.similarity.extract import Template, Work, read_work

DEFAULT_TOP = 20
DEFAULT_MIN_FRAGMENT = 15  # k-grams: about 40 tokens, five or six lines of code in one run


def _unique_names(submissions: Sequence[Submission]) -> list[str]:
    """Student ids, with ``#2``, ``#3`` appended when one student has several notebooks here."""
    seen: dict[str, int] = {}
    names = []
    for submission in submissions:
        seen[submission.student] = seen.get(submission.student, 0) + 1
        count = seen[submission.student]
        names.append(submission.student if count == 1 else f"{submission.student}#{count}")
    return names


def compare_class(released: Path, submissions: Sequence[Submission], top: int = DEFAULT_TOP,
                  min_fragment: int = DEFAULT_MIN_FRAGMENT, progress: bool = False) -> Comparison:
    """Compare the ``submissions`` of the notebook released at ``released``; a progress bar if asked."""
    if len(submissions) < 2:
        raise UserError(f"similarity needs at least two submissions of {released.stem}, found {len(submissions)}")
    engine.dolos_command()  # a missing engine is said before any work
    template = Template(released)
    names = _unique_names(submissions)
    works: list[Work] = [read_work(template, name, s.path)
                         for name, s in tqdm(list(zip(names, submissions, strict=True)), desc="reading notebooks",
                                             unit="nb", disable=not progress)]
    with tqdm(total=2, desc="comparing (Dolos)", unit="pass", disable=not progress) as bar:
        def step(what: str) -> None:
            bar.set_postfix_str(what)
            bar.update(0 if what == "code" else 1)

        comparison = compare_works(works, template.template_work(), top, min_fragment, step)
        bar.update(1)
    return comparison
