"""Tests of autograder/proxy/: the trusted side's codec (data only, capped replies).

No fixture of its own: the codec is tested on plain values; shared fixtures are in tests/conftest.py.
"""
