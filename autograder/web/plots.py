"""Histograms of the dashboard as SVG, drawn on the server with matplotlib and cached by what they
show, so a reload draws nothing again. Titles are plain text (no mathtext), kept as SVG text that
matplotlib escapes; each bar carries its count in its id (``bar-<bin>-<count>``)."""

from __future__ import annotations

import io
from functools import lru_cache

from matplotlib import rc_context
from matplotlib.figure import Figure  # a bare Figure: no pyplot, no GUI backend, no global state

BINS = 10


def bin_counts(points: tuple[float, ...], top: float) -> list[int]:
    """How many of ``points`` fall in each of :data:`BINS` equal bins of ``[0, top]`` (the last one closed)."""
    counts = [0] * BINS
    for value in points:
        counts[min(BINS - 1, max(0, int(value / top * BINS)))] += 1
    return counts


@lru_cache(maxsize=256)
def histogram_svg(title: str, points: tuple[float, ...], max_points: float) -> bytes:
    """An SVG histogram of ``points`` on ``[0, max_points]`` titled ``title``."""
    top = max_points if max_points > 0 else (max(points, default=0.0) or 1.0)
    width = top / BINS
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "dashboard"}):
        figure = Figure(figsize=(4, 2.6))
        axes = figure.subplots()
        for index, count in enumerate(bin_counts(points, top)):
            axes.bar(index * width, count, width=width, align="edge", color="#4477aa", edgecolor="white",
                     gid=f"bar-{index}-{count}")
        axes.set_xlim(0, top)
        axes.set_title(title, fontsize=9, parse_math=False)
        axes.set_xlabel(f"points (of {top:g})", fontsize=8)
        axes.set_ylabel("students", fontsize=8)
        axes.yaxis.get_major_locator().set_params(integer=True)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
