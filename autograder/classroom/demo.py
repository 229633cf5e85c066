"""The demo class: a throw-away course graded for every assignment with hidden checks.

:func:`build_course` makes ``build/demo-class`` (this repo's nbgrader config, reference and
released notebooks, the prepared QuickDraw data; its own gradebook); :func:`grade_demo_assignment`
submits four simulated students (reference-correct, partly answered, blank, hostile - see
:mod:`autograder.classroom.simulate`), grades them in parallel in sandboxes and writes the HTML
feedback. The command is ``autograder demo`` (:mod:`autograder.commands.demo`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.classroom.course import Course
from autograder.classroom.feedback import write_feedback
from autograder.classroom.grade_class import ClassReport, grade_class
from autograder.classroom.simulate import simulated_class, write_class
from autograder.grading.assignments import discover

STUDENTS = ("correct", "partly", "blank", "hostile")
SEED = 2019


def build_course(target: Path, repo: Path) -> Course:
    """A fresh demo course beside the repo's files (nothing of the repo's own state is touched)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy(repo / "nbgrader_config.py", target)
    for folder in ("solutions", "assignments"):
        shutil.copytree(repo / folder, target / folder)
    (target / "data").mkdir()
    (target / "data" / "quickdraw").symlink_to(repo / "data" / "quickdraw")
    return Course(target)


def demo_assignments(repo: Path) -> list[str]:
    """The assignments with hidden checks that the repo has released, in course order (the
    competition has none: its predictions are scored by the leaderboard)."""
    return [spec.name for spec in discover() if spec.release_folder(repo).is_dir()]


def grade_demo_assignment(course: Course, assignment: str) -> tuple[ClassReport, list[Path]]:
    """Submit the simulated class of ``assignment``, grade it, write its feedback; return the
    report and the feedback files."""
    write_class(course.root, assignment, simulated_class(
        course.root / "solutions" / assignment / f"{assignment}.ipynb",
        course.root / "assignments" / assignment / f"{assignment}.ipynb"))
    report = grade_class(assignment, course.find_submissions(assignment), course=course, seed=SEED)
    return report, write_feedback(course, assignment)
