"""What each graded assignment needs: its hidden checks, the data it is given, its limits.

One name leads to everything: ``solutions/<name>/<name>.ipynb`` (the reference),
``assignments/<name>/`` (what students got: the notebook and files beside it) and
``autograder/checks/<name>/`` (the hidden checks, never released, never in a sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder import paths
from autograder.errors import UserError
from autograder.sandbox.launcher import Mount
from autograder.sandbox.limits import Limits

CHECKS_ROOT = Path(__file__).resolve().parent.parent / "checks"
# Environment variable -> prepared QuickDraw dataset the notebook reads through it.
DATA_ENV = {"homework": "QUICKDRAW_HOMEWORK", "competition": "QUICKDRAW_COMPETITION"}


@dataclass(frozen=True)
class AssignmentSpec:
    """How to grade one assignment."""

    name: str
    datasets: tuple[str, ...] = ()  # prepared QuickDraw datasets shown read-only in the sandbox
    uses_torch: bool = True  # the prelude seeds torch too
    limits: Limits = field(default_factory=Limits)
    checks: Path | None = None  # folder of the hidden checks (default: autograder/checks/<name>)

    @property
    def checks_dir(self) -> Path:
        """The folder of hidden pytest checks."""
        return self.checks or CHECKS_ROOT / self.name

    def solution_notebook(self, root: Path | None = None) -> Path:
        """The reference solution (nbgrader's source notebook)."""
        root = root or paths.course_root()
        return root / "solutions" / self.name / f"{self.name}.ipynb"

    def release_folder(self, root: Path | None = None) -> Path:
        """The released assignment folder (what students got)."""
        root = root or paths.course_root()
        return root / "assignments" / self.name

    def release_notebook(self, root: Path | None = None) -> Path:
        """The released (blank) notebook."""
        return self.release_folder(root) / f"{self.name}.ipynb"

    def mounts(self, root: Path | None, data_root: Path) -> list[Mount]:
        """Everything the sandbox gets: files released beside the notebook and the datasets."""
        mounts = []
        release = self.release_folder(root)
        if release.is_dir():
            for path in sorted(release.iterdir()):
                if path.suffix != ".ipynb" and not path.name.startswith(".") and not path.is_symlink():
                    mounts.append(Mount(path, path.name))
        for dataset in self.datasets:
            folder = Path(data_root) / dataset
            if not (folder / "classes.txt").is_file():
                raise UserError(f"{self.name} needs the prepared QuickDraw {dataset!r} data in {folder}; "
                                "run `autograder data quickdraw prepare all` (or pass --data DIR)")
            mounts.append(Mount(folder, f"data/{dataset}"))
        return mounts

    def env(self) -> dict[str, str]:
        """Environment variables telling the notebook where its data is ({home} = working dir)."""
        return {DATA_ENV[d]: "{home}/data/" + d for d in self.datasets}


_LONG = Limits(cell_timeout=300.0, notebook_timeout=900.0, cpu_seconds=1800, call_timeout=60.0)

ASSIGNMENTS: dict[str, AssignmentSpec] = {
    spec.name: spec
    for spec in (
        AssignmentSpec("xor"),
        AssignmentSpec("mlp_scratch", datasets=("homework",), uses_torch=False, limits=_LONG),
        AssignmentSpec("quickdraw_loader", datasets=("homework",), limits=_LONG),
        AssignmentSpec("activations"),
    )
}


def get_assignment(name: "str | AssignmentSpec") -> AssignmentSpec:
    """The spec of a graded assignment, or a clear error naming the known ones."""
    if isinstance(name, AssignmentSpec):
        return name
    try:
        spec = ASSIGNMENTS[name]
    except KeyError:
        known = ", ".join(sorted(ASSIGNMENTS))
        raise UserError(f"unknown assignment {name!r}; graded assignments: {known}") from None
    if not spec.checks_dir.is_dir():
        raise UserError(f"assignment {name!r} has no hidden checks in {spec.checks_dir}")
    return spec
