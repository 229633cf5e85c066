"""The pip install (pyproject.toml) and the conda environment (environment.yml) agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from autograder.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<spec>.*)$")


def pyproject_requirements(extra: str | None = None) -> dict[str, SpecifierSet]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    entries = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {Requirement(e).name.lower(): Requirement(e).specifier for e in entries}


def conda_requirements() -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet], str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda: dict[str, SpecifierSet] = {}
    pip: dict[str, SpecifierSet] = {}
    python = ""
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                if not line.startswith("-"):
                    req = Requirement(line)
                    pip[req.name.lower()] = req.specifier
            continue
        match = CONDA_SPEC.match(entry)
        name, spec = match["name"].lower(), match["spec"].replace(" ", "")
        if name == "python":
            python = spec
        elif name != "pip":
            conda[name] = SpecifierSet(spec)
    return conda, pip, python


def test_every_runtime_dependency_has_the_same_pin_in_environment_yml() -> None:
    conda, pip, _ = conda_requirements()
    both = {**conda, **pip}
    for name, spec in pyproject_requirements().items():
        assert name in both, f"{name} is in pyproject.toml but not in environment.yml"
        assert both[name] == spec, f"{name}: pyproject {spec} vs environment.yml {both[name]}"
    extra = set(both) - set(pyproject_requirements()) - set(pyproject_requirements("test"))
    assert not extra, f"environment.yml has packages pyproject.toml lacks: {sorted(extra)}"


def test_torch_is_the_pinned_cpu_wheel_and_torchvision_is_absent() -> None:
    conda, pip, _ = conda_requirements()
    assert str(pip["torch"]) == "==2.13.0"
    assert "torch" not in conda and "pytorch" not in conda
    assert str(pyproject_requirements()["torch"]) == "==2.13.0"
    declared = {*conda, *pip, *pyproject_requirements(), *pyproject_requirements("test")}
    assert "torchvision" not in declared


def test_python_versions_agree() -> None:
    _, _, python = conda_requirements()
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(python.lstrip("=") + ".0")


def test_cli_help_lists_every_subcommand(capsys) -> None:
    parser = build_parser()
    help_text = parser.format_help()
    commands = parser._subparsers._group_actions[0].choices
    assert commands, "no subcommands registered"
    for name, sub in commands.items():
        assert name in help_text
        assert sub.format_help().strip(), f"{name} has no --help text"
