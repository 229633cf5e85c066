"""Finding the cgroups a sandbox needs: v1 with co-mounted controllers or v2 (on fake cgroup
folders), the fallback to wall time when they are missing or refused, and the sweeping of
stale cgroups left by dead graders (and of nothing else).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.sandbox import cgroup as cgroup_module
from autograder.sandbox.cgroup import CgroupUnavailable, Hierarchy, detect, sandbox_cgroup, sweep_stale
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import SandboxUnavailable, missing_protections, require_sandbox
from tests.sandbox.markers import needs_cgroups


def _fake_v1(root: Path, controllers=("memory", "pids", "cpu,cpuacct", "freezer")) -> Path:
    for name in controllers:
        (root / name).mkdir(parents=True)
        (root / name / "cgroup.procs").write_text("")
    if "cpu,cpuacct" in controllers:
        (root / "cpu").symlink_to("cpu,cpuacct")
        (root / "cpuacct").symlink_to("cpu,cpuacct")
    return root


def test_detects_cgroup_v1_with_co_mounted_controllers(tmp_path):
    found = detect(_fake_v1(tmp_path))
    assert found.version == 1
    assert found.folders["cpu"] == found.folders["cpuacct"] == tmp_path / "cpu,cpuacct"
    assert found.bases() == [tmp_path / "memory" / "autograder", tmp_path / "cpu,cpuacct" / "autograder",
                             tmp_path / "freezer" / "autograder", tmp_path / "pids" / "autograder"]


def test_detects_cgroup_v2_and_names_what_is_missing(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    found = detect(tmp_path)
    assert found.version == 2 and set(found.folders.values()) == {tmp_path}
    assert found.bases() == [tmp_path / "autograder"]
    (tmp_path / "cgroup.controllers").write_text("cpuset io memory\n")
    with pytest.raises(CgroupUnavailable, match="lacks the pids, cpu controller"):
        detect(tmp_path)


def test_v1_without_a_required_controller_is_unavailable(tmp_path):
    with pytest.raises(CgroupUnavailable, match="pids"):
        detect(_fake_v1(tmp_path, ("memory", "cpu,cpuacct")))
    with pytest.raises(CgroupUnavailable, match="no cgroup v2"):
        detect(tmp_path / "nothing")


@pytest.fixture
def no_cgroups(tmp_path, monkeypatch):
    """This process sees an empty folder where the cgroup hierarchy should be."""
    monkeypatch.setattr(cgroup_module, "ROOT", tmp_path / "no_cgroups")
    cgroup_module._hierarchy.cache_clear()
    cgroup_module._warn_once.cache_clear()
    yield
    cgroup_module._hierarchy.cache_clear()


def test_without_cgroups_sandboxes_fall_back_to_wall_time_with_one_warning(no_cgroups, capsys):
    assert sandbox_cgroup(Limits(), mode="auto") is None
    assert sandbox_cgroup(Limits(), mode="auto") is None
    err = capsys.readouterr().err
    assert err.count("warning: no cgroups for sandboxes") == 1 and len(err.strip().splitlines()) == 1
    assert "AUTOGRADER_CGROUPS=require" in err
    with pytest.raises(CgroupUnavailable):
        sandbox_cgroup(Limits(), mode="require")
    assert sandbox_cgroup(Limits(), mode="off") is None


def test_required_cgroups_that_are_missing_refuse_grading_in_one_line(no_cgroups, monkeypatch):

    monkeypatch.setattr(cgroup_module, "MODE", "require")
    missing_protections.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match=r"cgroups \(AUTOGRADER_CGROUPS=require\): no cgroup v2"):
            require_sandbox()
    finally:
        missing_protections.cache_clear()


@pytest.mark.skipif(bool(missing_protections()), reason="needs the sandbox (bubblewrap)")
def test_a_sandbox_without_cgroups_still_runs_on_wall_time(no_cgroups):

    with SandboxKernel(Limits(cell_timeout=2.0)) as kernel:
        assert kernel.sandbox.cgroup is None and kernel.budget(1.0).describe() == "1 s"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1"),
                                             nbformat.v4.new_code_cell("while True:\n    pass")])
        report = execute_notebook(kernel, nb)
    assert report.timed_out_cells == [1]
    assert nb.cells[0].outputs[0]["data"]["text/plain"] == "2"
    assert "timed out after 2 s" in nb.cells[1].outputs[-1]["evalue"]


@needs_cgroups
def test_stale_cgroups_of_dead_graders_are_swept_and_nothing_else(tmp_path):

    hierarchy = cgroup_module._hierarchy()
    live = sandbox_cgroup(Limits())
    stale_name = f"{os.getpid()}-1-0badc0de"  # this pid, another start time: its owner is gone
    stale = [base / stale_name for base in hierarchy.bases()]
    foreign = [base / "not-ours-test" for base in hierarchy.bases()]
    sleeper = None
    try:
        for folder in stale + foreign:
            folder.mkdir()
        sleeper = subprocess.Popen(["sleep", "300"])
        for folder in stale:
            (folder / "cgroup.procs").write_text(str(sleeper.pid))
        swept = sweep_stale(hierarchy)
        assert stale_name in swept and live.name not in swept and "not-ours-test" not in swept
        assert not any(f.exists() for f in stale) and all(f.exists() for f in foreign)
        assert all(f.exists() for f in live.folders)
        assert sleeper.wait(timeout=10) == -9  # the process left in the stale cgroup was killed
    finally:
        if sleeper is not None and sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
        for folder in stale + foreign:
            if folder.exists():
                folder.rmdir()
        folders = list(live.folders)
        live.close()
    assert folders and not any(f.exists() for f in folders)


def test_hierarchy_bases_put_memory_first():
    folders = {"pids": Path("/x/pids"), "memory": Path("/x/memory"), "cpu": Path("/x/cpu")}
    assert Hierarchy(1, folders).bases()[0] == Path("/x/memory/autograder")
