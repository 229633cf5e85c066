"""The ``autograder`` console command.

Each subcommand lives in its own module of :mod:`autograder.commands`, which contributes it
through a ``register(subparsers)`` function; this module only assembles them and turns
:class:`~autograder.errors.UserError` into a one-line message and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from autograder.errors import UserError

# Modules that contribute a subcommand, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "autograder.commands.data",
    "autograder.commands.release",
    "autograder.commands.leaderboard",
    "autograder.commands.serve",
    "autograder.commands.fetch",
    "autograder.commands.submit",
    "autograder.commands.grade",
    "autograder.commands.feedback",
    "autograder.commands.export",
    "autograder.commands.similarity",
    "autograder.commands.demo",
    "autograder.commands.demo_course",
]

DESCRIPTION = """\
Tools for the multilayer-perceptron week: prepare the QuickDraw data, release
assignments to students, grade submissions in a sandbox and run the competition.

Run `autograder COMMAND --help` for the options of each command."""


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="autograder",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
