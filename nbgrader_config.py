"""nbgrader configuration for this course.

nbgrader's course directory is mapped onto the repository layout: the reference
solutions in ``solutions/`` are nbgrader's *source* step and the student versions in
``assignments/`` its *release* step (``autograder release`` runs nbgrader's
generate-assignment step). Grading state (gradebook, submitted/, autograded/,
feedback/) lives beside them and is not committed.
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "mlp-week"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# Files beside a notebook that are never released (build caches, outputs of a local run).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "predictions.csv",
]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# `autograder grade` shows graders each manually graded cell's rubric in the autograded notebook
# (formgrader), in cells of their own; nbgrader's generate_feedback removes them before rendering
# (its own preprocessors follow; traitlets' `.prepend` would drop them).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402 - nbgrader provides `c` first
from nbgrader.preprocessors import GetGrades  # noqa: E402

from autograder.classroom.rubrics import RemoveRubricCells  # noqa: E402

c.GenerateFeedback.preprocessors = [RemoveRubricCells, GetGrades, CSSHTMLHeaderPreprocessor]
