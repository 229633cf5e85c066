"""Grading one submission: sandboxed run, trusted hidden checks, results (``autograder grade``)."""
