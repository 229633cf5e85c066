"""The instructor's similarity report: an HTML page (the top pairs with their shared fragments
side by side, the clusters, the students with nothing to compare) and a CSV of every pair."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from autograder.similarity.compare import Comparison, PairResult

TEMPLATE = jinja2.Environment(loader=jinja2.PackageLoader("autograder.similarity", "templates"),
                              autoescape=True).get_template("report.html.j2")
CSS = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
CSV_COLUMNS = ["rank", "student_a", "student_b", "similarity", "longest_fragment_kgrams"]


@dataclass(frozen=True)
class Line:
    """One line of a student's document, with the numbers of the shared fragments it is part of."""

    number: int
    text: str
    fragments: tuple[int, ...]


def _marked(document: str, regions: list[tuple[int, ...]]) -> list[Line]:
    lines = document.splitlines()
    marks: list[list[int]] = [[] for _ in lines]
    for number, region in enumerate(regions, 1):
        for row in range(max(region[0], 0), min(region[2], len(lines) - 1) + 1):
            marks[row].append(number)
    return [Line(i + 1, text, tuple(m)) for i, (text, m) in enumerate(zip(lines, marks, strict=True))]


def _sides(comparison: Comparison, pair: PairResult, kind: str) -> dict | None:
    fragments = pair.code_fragments if kind == "code" else pair.text_fragments
    left = getattr(comparison.works[pair.left], kind)
    right = getattr(comparison.works[pair.right], kind)
    if not (left.strip() and right.strip()):
        return None
    return {"kind": kind, "fragments": len(fragments),
            "left": _marked(left, [a for a, _ in fragments]), "right": _marked(right, [b for _, b in fragments])}


def render_html(comparison: Comparison, assignment: str, top: int, stylesheet: str | None = None) -> str:
    """The report page: the ``top`` pairs with their evidence, then the clusters; its CSS inline, or
    linked from ``stylesheet`` (a page served under a Content-Security-Policy without inline styles)."""
    shown = [{"rank": rank, "pair": pair, "sides": [s for s in (_sides(comparison, pair, "code"),
                                                                 _sides(comparison, pair, "text")) if s]}
             for rank, pair in enumerate(comparison.pairs[:top], 1)]
    return TEMPLATE.render(assignment=assignment, shown=shown, comparison=comparison, stylesheet=stylesheet, css=CSS,
                           students=len(comparison.works), created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def render_csv(comparison: Comparison) -> str:
    """Every compared pair, best first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for rank, pair in enumerate(comparison.pairs, 1):
        writer.writerow([rank, pair.left, pair.right, f"{pair.similarity:.4f}", pair.longest])
    return out.getvalue()


def write_report(comparison: Comparison, assignment: str, out_dir: Path, top: int) -> tuple[Path, Path]:
    """Write ``similarity-ASSIGNMENT.html`` and ``.csv`` into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"similarity-{assignment}.html"
    table = out_dir / f"similarity-{assignment}.csv"
    html.write_text(render_html(comparison, assignment, top), encoding="utf-8")
    table.write_text(render_csv(comparison), encoding="utf-8")
    return html, table
