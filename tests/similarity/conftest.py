"""Fixtures of the similarity tests: the test class (corpus.py) as notebooks, in a course folder of
its own (nbgrader_config.py, the released activations notebook, submitted/), and its comparison."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.grading.submissions import find_submissions
from autograder.similarity.run import compare_class
from tests.similarity import corpus

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def class_notebooks() -> dict:
    """Student -> notebook of the test class."""
    return corpus.corpus()


@pytest.fixture(scope="session")
def similarity_course(tmp_path_factory, class_notebooks) -> Path:
    """A course folder whose submitted/ holds the test class."""
    folder = tmp_path_factory.mktemp("similarity-course")
    shutil.copy(REPO / "nbgrader_config.py", folder)
    shutil.copytree(REPO / "assignments" / corpus.ASSIGNMENT, folder / "assignments" / corpus.ASSIGNMENT)
    corpus.write_submitted(folder, class_notebooks)
    return folder


@pytest.fixture(scope="session")
def comparison(similarity_course):
    """The test class compared."""
    released = similarity_course / "assignments" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb"
    return compare_class(released, find_submissions(corpus.ASSIGNMENT, [], similarity_course), top=30)
