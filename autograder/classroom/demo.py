"""``make demo`` stage: grade a simulated class for every graded assignment.

Builds a throw-away course in ``build/demo-class`` (this repo's nbgrader config, reference and
released notebooks, the prepared QuickDraw data; its own gradebook), submits four simulated
students per assignment (reference-correct, partly answered, blank, hostile - see
:mod:`autograder.classroom.simulate`), grades them in parallel in sandboxes, writes the HTML
feedback and prints a summary table. ``make demo`` then exports the grades with
``autograder export``.

Run: ``python -m autograder.classroom.demo [FOLDER]``
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from autograder.classroom.batch import default_workers, grade_batch
from autograder.classroom.course import Course
from autograder.classroom.engine import has_checks
from autograder.classroom.feedback import write_feedback
from autograder.classroom.simulate import simulated_class, write_class
from autograder.paths import ASSIGNMENT_NAMES, course_root

STUDENTS = ("correct", "partly", "blank", "hostile")


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


def main(argv: list[str]) -> int:
    """Run the stage; return the exit code."""
    repo = course_root()
    target = Path(argv[0]).resolve() if argv else repo / "build" / "demo-class"
    course = build_course(target, repo)
    graded = [a for a in ASSIGNMENT_NAMES if has_checks(a) and (repo / "assignments" / a).is_dir()]
    print(f"demo course: {target}; assignments with hidden checks: {', '.join(graded)}; "
          f"{default_workers()} parallel sandboxes")
    start = time.monotonic()
    table: dict[str, dict[str, str]] = {student: {} for student in STUDENTS}
    for assignment in graded:
        write_class(course.root, assignment, simulated_class(
            course.root / "solutions" / assignment / f"{assignment}.ipynb",
            course.root / "assignments" / assignment / f"{assignment}.ipynb"))
        report = grade_batch(assignment, course.find_submissions(assignment), course=course, seed=2019)
        print(report.summary())
        for result in report.results:
            table[result["student"]][assignment] = (f"{result['score']:g}/{result['max_score']:g}"
                                                    if result["status"] == "graded" else "error")
        reports = write_feedback(course, assignment)
        print(f"feedback: {len(reports)} HTML reports under {course.root / 'feedback'}/<student>/{assignment}/")
    print()
    width = max(len(a) for a in graded) + 2
    print("student   " + "".join(a.rjust(width) for a in graded))
    for student, row in table.items():
        print(f"{student:10}" + "".join(row.get(a, "-").rjust(width) for a in graded))
    print(f"graded {len(STUDENTS) * len(graded)} notebooks in {time.monotonic() - start:.0f} s; "
          f"the hostile student tampered with a test cell and its points and snooped around: "
          f"its scores come from the trusted checks only")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
