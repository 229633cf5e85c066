"""The bubblewrap command line of a sandbox: what exists inside it and who runs there.

Layout inside the sandbox::

    /usr, /lib*, /bin          read-only system files
    <python prefix>, <venv>    read-only, at their host paths (the interpreter and site-packages)
    /etc/{passwd,group,hosts}  generated; /etc/fonts and /etc/ld.so.cache read-only
    /home/student              tmpfs of ``Limits.scratch_size``: the working directory (cwd, HOME)
    /home/student/<dest>       read-only binds of what the assignment gives (``Mount``)
    /tmp, /dev/shm             small tmpfs
    /run/kernel                host folder holding the kernel's unix sockets (locked after start)

Everything else (the course repo, solutions/, hidden checks, gradebook, instructor data, other
sandboxes) does not exist in there. When the grader is root, bwrap runs as root and ``setpriv``
(:func:`drop_args`) drops to the sandbox's own uid with no capabilities.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox.limits import Limits
from autograder.sandbox.uids import PROBE_UID, is_root

HOME = "/home/student"
RUN_DIR = "/run/kernel"
# System folders bound read-only (or recreated as the same symlink) when they exist.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The grader's interpreter (a venv's python, a symlink: its path must stay unresolved).
PYTHON = os.path.normpath(os.path.abspath(sys.executable))
SYSTEM_FILES = ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime", "/etc/mime.types")


@dataclass(frozen=True)
class Mount:
    """A host file or folder shown read-only at ``dest`` (relative to the working directory)."""

    host: Path
    dest: str

    def __post_init__(self):
        parts = Path(self.dest).parts
        if not parts or Path(self.dest).is_absolute() or ".." in parts:
            raise ValueError(f"mount destination must be a relative path inside the scratch dir: {self.dest!r}")


def _mkdirs_args(path: str, made: set[str]) -> list[str]:
    """bwrap arguments creating every missing parent of ``path`` with mode 0755."""
    args = []
    parents = list(reversed(Path(path).parents))[1:]  # skip "/"
    for parent in parents:
        key = str(parent)
        if key not in made:
            made.add(key)
            args += ["--perms", "0755", "--dir", key]
    return args


def _system_args() -> list[str]:
    args = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]  # bwrap would make it 0700: nothing in it readable
    for path in SYSTEM_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def interpreter_prefixes() -> list[str]:
    """The folders outside /usr holding the grader's interpreter and venv, bound read-only into sandboxes."""
    prefixes = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), os.path.normpath(sys.prefix)}
    return sorted(p for p in prefixes if not (p == "/usr" or p.startswith("/usr/")))


def _python_args(made: set[str]) -> list[str]:
    """Bind the interpreter's prefix and the venv read-only at their own paths; if the grader's own
    package (hidden checks included) was installed inside one of them, hide it under an empty tmpfs."""
    args = []
    prefixes = interpreter_prefixes()
    for prefix in prefixes:
        args += _mkdirs_args(prefix, made) + ["--ro-bind", prefix, prefix]
        made.add(prefix)
    package = str(Path(__file__).resolve().parent.parent)
    if any(package.startswith(p.rstrip("/") + "/") for p in [*prefixes, "/usr"]):
        args += ["--tmpfs", package]
    return args


def bwrap_args(
    limits: Limits,
    env: dict[str, str],
    mounts: list[Mount] = (),
    run_dir: Path | None = None,
    etc_dir: Path | None = None,
    seccomp_fd: int | None = None,
) -> list[str]:
    """The bwrap command line (up to, not including, the program) for one sandbox; ``seccomp_fd``
    (inherited by bwrap) holds the filter bwrap loads before it starts the program."""
    args = [
        "bwrap", "--die-with-parent", "--new-session",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "sandbox",
    ]
    if not is_root():
        args.append("--unshare-user")
    args += _system_args()
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--size", str(limits.tmp_size), "--perms", "1777", "--tmpfs", "/tmp"]
    args += ["--size", str(limits.tmp_size), "--perms", "1777", "--tmpfs", "/dev/shm"]
    args += ["--perms", "0755", "--dir", "/home"]
    args += ["--size", str(limits.scratch_size), "--perms", "1777", "--tmpfs", HOME]
    # the interpreter goes on top of the fresh /tmp and /home, so a venv under either stays visible
    made: set[str] = {"/usr", "/tmp", "/home", HOME}
    args += _python_args(made)
    for mount in mounts:
        dest = f"{HOME}/{mount.dest}"
        args += _mkdirs_args(dest, made) + ["--ro-bind", str(mount.host), dest]
    if etc_dir is not None:
        for name in ("passwd", "group", "hosts"):
            args += ["--ro-bind", str(etc_dir / name), f"/etc/{name}"]
    if run_dir is not None:
        args += ["--perms", "0755", "--dir", "/run", "--bind", str(run_dir), RUN_DIR]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += ["--chdir", HOME, "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args


def drop_args(uid: int) -> list[str]:
    """The setpriv prefix that turns root inside the sandbox into ``uid`` without capabilities."""
    if not is_root():
        return []
    return [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]


def probe_command() -> list[str]:
    """A one-line sandboxed program that prints ``isolated`` when uid and network are isolated."""
    check = (
        "import os,socket\n"
        "assert os.getuid()!=0 and os.geteuid()!=0, 'still root'\n"
        "assert os.getpid()<10, 'no pid namespace'\n"
        "assert not os.path.exists('/root/.ssh') and not os.path.exists('/etc/shadow'), 'host files visible'\n"
        "print('isolated')\n"
    )
    env = {"PATH": "/usr/bin:/bin"}
    return bwrap_args(Limits(), env) + drop_args(PROBE_UID) + [PYTHON, "-I", "-S", "-c", check]


def etc_files(uid: int | None) -> dict[str, str]:
    """The sandbox's passwd, group and hosts: ``uid`` is the user ``student`` (None: no student)."""
    user = f"student:x:{uid}:{uid}:student:{HOME}:/bin/sh\n" if uid is not None else ""
    group = f"student:x:{uid}:\n" if uid is not None else ""
    return {"passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\n{user}"
                      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "group": f"root:x:0:\n{group}nogroup:x:65534:\n",
            "hosts": "127.0.0.1 localhost sandbox\n::1 localhost\n"}


def write_etc(etc_dir: Path, uid: int | None) -> None:
    """Write :func:`etc_files` into the new folder ``etc_dir`` (world-readable, bound read-only)."""
    etc_dir.mkdir()
    for name, text in etc_files(uid).items():
        (etc_dir / name).write_text(text)
        (etc_dir / name).chmod(0o644)
