"""Grading a whole class: gradebook (nbgrader as system of record), feedback, LMS export,
parallel and distributed batch grading, and nbgrader-style (legacy) assignments."""
