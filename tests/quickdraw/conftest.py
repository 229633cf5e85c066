"""Tests of autograder/quickdraw/: preparing, downloading and keeping secret the course datasets.

No fixture is shared across this folder; ``quickdraw_root``, ``tiny_quickdraw`` and
``instructor_secret`` come from tests/conftest.py.
"""
