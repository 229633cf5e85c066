"""Course tooling for the MLP week: data pipeline, release, sandboxed grading, leaderboard."""

__version__ = "0.1.0"
