"""The report: escaped student names and code, the evidence of the top pairs highlighted side by
side, the clusters, a CSV of every pair."""

from __future__ import annotations

import copy
import csv
import io

from autograder.paths import course_root
from autograder.similarity.compare import compare_works
from autograder.similarity.extract import Template
from autograder.similarity.report import render_csv, render_html, write_report
from tests.similarity import corpus

HOSTILE = "<script>alert('name')</script>"


def test_names_and_code_are_escaped(class_notebooks):
    template = Template(course_root() / "assignments" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb")
    notebook = copy.deepcopy(class_notebooks[corpus.SOURCE])
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "act_relu":
            cell.source = "# </pre><script>alert('code')</script>\n" + cell.source
    works = [template.work(HOSTILE, notebook), template.work("copy", class_notebooks["copy_verbatim"]),
             template.work("dora", class_notebooks["dora"])]
    comparison = compare_works(works, template.template_work(), top=5, min_fragment=15)
    html = render_html(comparison, "activations", top=5)
    assert "<script>" not in html and "</pre><script>" not in html
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(&#39;code&#39;)" in html
    rows = list(csv.reader(io.StringIO(render_csv(comparison))))
    assert rows[1][1:3] == sorted([HOSTILE, "copy"]) or set(rows[1][1:3]) == {HOSTILE, "copy"}


def test_the_report_shows_the_evidence_of_the_top_pairs(comparison, tmp_path):
    html_path, csv_path = write_report(comparison, "activations", tmp_path / "out", top=3)
    html = html_path.read_text()
    assert html.count('<section class="pair"') == 3
    first = comparison.pairs[0]
    section = html.split('id="pair-1"')[1].split('id="pair-2"')[0]
    assert f"<strong>{first.left}</strong>" in section and f"<strong>{first.right}</strong>" in section
    assert 'class="line shared"' in section and "Written answers" in section
    assert "Clusters of three or more" in html and "copy_deadcode" in html.split("Clusters of three")[1]
    assert "template_only" in html.split("Nothing to compare")[1]
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == len(comparison.pairs) == 55
    assert [int(r["rank"]) for r in rows] == list(range(1, 56))
    assert all(0.0 <= float(r["similarity"]) <= 1.0 for r in rows)
