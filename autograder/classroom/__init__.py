"""Grading a whole class: gradebook (nbgrader as system of record), feedback, LMS export,
parallel and distributed batch grading, and drop-in nbgrader assignments (test cells run by the grader)."""
