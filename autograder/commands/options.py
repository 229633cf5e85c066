"""Command-line options that several ``autograder`` subcommands share."""

from __future__ import annotations

import argparse


def add_gradebook_option(parser: argparse.ArgumentParser, example: str = "") -> None:
    """``--db URL``: the nbgrader gradebook to use; ``example`` is appended to the help's default."""
    parser.add_argument("--db", metavar="URL", default=None,
                        help=f"gradebook URL (default: the course's gradebook.db{example})")
