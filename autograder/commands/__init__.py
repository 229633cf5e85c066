"""The ``autograder`` subcommands, one module per area; each has ``register(subparsers)``."""
