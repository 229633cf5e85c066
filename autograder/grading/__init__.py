"""Grading one submission (:func:`autograder.grading.grade.grade`): hidden checks run in this
trusted process against the sandboxed notebook, or an nbgrader drop-in assignment's test cells
run here against it; one result type (:mod:`autograder.grading.results`)."""
