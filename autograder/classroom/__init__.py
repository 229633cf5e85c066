"""Grading a whole class: the course's folders, release, the coordinator and its workers (local
pool or Dask), nbgrader's gradebook as the system of record, feedback, LMS export, the demo class."""
