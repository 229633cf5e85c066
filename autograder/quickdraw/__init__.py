"""The QuickDraw data pipeline: sources, the downloader and the course's dataset layout.

Modules: ``sources`` (where drawings come from), ``download`` (Google's public
numpy bitmaps), ``spec`` (data/quickdraw/datasets.json), ``prepare`` (the on-disk
datasets); the command is :mod:`autograder.commands.data` (``autograder data quickdraw ...``).
"""
