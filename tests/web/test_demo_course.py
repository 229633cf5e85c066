"""The ``make demo`` course stage end to end: ``autograder demo-course`` starts the course server,
simulated students download xor over HTTP and hand in, and the per-student table comes from the
instructor's JSON API once feedback is released; the server is stopped afterwards."""

from __future__ import annotations

import re
from pathlib import Path


def test_the_course_demo_serves_a_simulated_class_and_prints_its_table(run_cli, quickdraw_root, tmp_path):
    result = run_cli("demo-course", tmp_path / "course", "--data", quickdraw_root)
    assert result.returncode == 0, result.stderr
    rows = {m["student"]: m for m in re.finditer(
        r"^\s+(?P<student>\w+)\s+(?P<attempts>\d+)\s+(?P<state>\w+)\s+(?P<late>yes|no)\s+(?P<visible>\S+)\s+"
        r"(?P<score>[\d.]+)/(?P<max>[\d.]+)$", result.stdout, re.MULTILINE)}
    assert set(rows) == {"correct", "partly", "hostile", "late"}, result.stdout
    assert all(row["state"] == "done" and row["attempts"] == "1" for row in rows.values()), result.stdout
    assert [s for s, row in rows.items() if row["late"] == "yes"] == ["late"]
    assert rows["correct"]["score"] == rows["correct"]["max"] == rows["late"]["score"], result.stdout
    assert float(rows["hostile"]["score"]) <= float(rows["partly"]["score"]) < float(rows["correct"]["score"])
    assert rows["correct"]["visible"] == "5/5" and rows["partly"]["visible"] != "5/5"
    pid = int(re.search(r"the server \(pid (\d+)\) is stopped", result.stdout).group(1))
    assert not Path(f"/proc/{pid}").exists(), "the course server is still running"
