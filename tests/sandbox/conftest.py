"""Tests of autograder/sandbox/: bubblewrap isolation, the zygote, seccomp and uids, cgroups.

No fixture is shared across this folder: each module's sandbox or zygote fixture has the limits
and mounts its own tests need. Shared ones come from tests/conftest.py; the tiny course and its
checks from tests/courses/tiny.py; the channels between students from channels.py here.
"""
