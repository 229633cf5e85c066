"""The zygote: runs INSIDE a bubblewrap sandbox, imports the heavy modules once, forks one
kernel per submission. Run as ``python -I -c <this file's text> <config JSON>``: it imports
nothing of the course (the repository is not visible in the sandbox).

The zygote is root inside the sandbox's namespaces (no network, own PID namespace, read-only
system). It only ever runs this file and the preloaded libraries; requests come from the
grader on stdin, one JSON object per line. For each request it forks a child that, before any
student code runs:

1. leaves the zygote's session and file descriptors; gets fresh mount, network, IPC, UTS, PID
   and cgroup namespaces (so concurrent students share no files, sockets, IPC objects or process
   view; it is born in the student's own cgroup, which the grader made and no one inside can leave);
2. mounts its own tmpfs working directory (owned by the student uid, mode 0700), ``/tmp``,
   ``/dev/shm`` and a fresh devpts instance, binds its own ``/etc/passwd`` and ``/etc/group``
   (naming its uid) and the assignment's files read-only into the working directory;
3. forks the namespace's init (PID 1, which only reaps) and the kernel (PID 2); both drop every
   capability and switch to the request's unprivileged uid (fresh for every sandbox), with
   rlimits, ``no_new_privs`` and a kill-on-parent-death signal, then load the request's seccomp
   filter; the kernel gets a fresh environment and starts ipykernel in-process - with
   numpy/torch/matplotlib already imported.
"""

import base64
import ctypes
import importlib
import json
import os
import resource
import signal
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP = 0x00020000, 0x04000000, 0x08000000, 0x02000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
LAST_CAP = 63

libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    _check(libc.mount(source.encode() if source else None, target.encode(),
                      fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                      data.encode() if data else None), f"mount {target}")


def _prctl(option, value):
    _check(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _mountpoint(path, is_dir):
    if is_dir:
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        open(path, "a").close()


def _private_filesystem(req):
    """In the child's new mount namespace: a private working dir, /tmp and /dev/shm."""
    uid = req["uid"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    home = req["home"]
    # the interpreter's folders that lie under a folder about to be replaced (a venv in /tmp) are
    # held open now and bound back, read-only, on top of the fresh tmpfs
    kept = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in req["keep"]]
    _mount("tmpfs", home, "tmpfs", MS_NOSUID | MS_NODEV, f"size={req['home_size']},mode=0700,uid={uid},gid={uid}")
    for target in ("/tmp", "/dev/shm"):
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={req['tmp_size']},mode=1777")
    _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    _own_etc(req["etc"])
    for path, fd in kept:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    for staged, dest in req["mounts"]:
        target = os.path.join(home, dest)
        _mountpoint(target, os.path.isdir(staged))
        _mount(staged, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _own_etc(files):
    """Bind this child's passwd and group (naming its uid) over the zygote's, read-only."""
    for name, text in files.items():
        staged = f"/tmp/.{name}"  # the fresh /tmp; unlinked once bound
        with open(staged, "w") as handle:
            handle.write(text)
        os.chmod(staged, 0o644)
        _mount(staged, f"/etc/{name}", None, MS_BIND)
        _mount(None, f"/etc/{name}", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.unlink(staged)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _load_filter(req):
    """Load the request's seccomp program (classic BPF) on this thread; ``no_new_privs`` is set."""
    program = base64.b64decode(req["seccomp"])
    if not program:
        return
    code = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
    _check(libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0), "seccomp")


def _drop_privileges(req):
    """Become the slot's uid with no capabilities, no way back, the request's rlimits."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for which, value in req["rlimits"]:
        resource.setrlimit(which, (value, value))
    for cap in range(LAST_CAP + 1):
        libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0)  # EINVAL above the kernel's last cap
    uid = req["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_DUMPABLE, 0)
    with open("/proc/self/status") as status:
        no_capabilities = status.read().count("CapEff:\t0000000000000000") == 1
    if os.getuid() != uid or os.geteuid() != uid or not no_capabilities:
        raise RuntimeError("privileges were not dropped")


def _kernel(req):
    """PID 2 of the student's namespace: the kernel."""
    _drop_privileges(req)
    _load_filter(req)
    os.umask(0o077)
    os.chdir(req["home"])
    os.environ.clear()
    os.environ.update(req["env"])
    os.closerange(3, 65536)
    # imported in the kernel process only: the zygote itself imports nothing but its preload list
    from ipykernel.kernelapp import IPKernelApp  # noqa: PLC0415

    sys.argv = ["ipykernel_launcher"]
    app = IPKernelApp.instance()
    app.initialize(["-f", req["connection_file"], "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True",
                    "--Session.packer=json", "--Session.unpacker=json"])
    app.start()


def _init(req):
    """PID 1 of the student's namespace: mount its /proc, start the kernel, reap until it ends."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    kernel = os.fork()
    if kernel == 0:
        try:
            _kernel(req)
        except BaseException as exc:  # noqa: BLE001 - report why, then die
            print(f"zygote: kernel start failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(1)
    _drop_privileges(req)
    _load_filter(req)
    os.closerange(3, 65536)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _child(req):
    """The forked child: new namespaces and filesystem, then the namespace's init."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, 65536)
    # born in the student's cgroup (the grader moved the zygote there for this fork): a new cgroup
    # namespace rooted at it, so the student's view of cgroups ends there
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWCGROUP),
           "unshare")
    _check(libc.sethostname(b"sandbox", 7), "sethostname")
    _private_filesystem(req)
    init = os.fork()
    if init == 0:
        _init(req)
    while True:
        try:
            pid, status = os.waitpid(init, 0)
        except ChildProcessError:
            os._exit(0)
        if pid == init:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _reap(*_):
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main():
    """Preload, say ready, then fork one child per request line."""
    config = json.loads(sys.argv[1])
    start = time.monotonic()
    loaded = []
    for name in config["preload"]:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - a module that is not installed is simply not preloaded
            continue
    _prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGCHLD, _reap)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "preloaded": loaded, "seconds": time.monotonic() - start}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            req = json.loads(line)
            pid = os.fork()
        except Exception as exc:  # noqa: BLE001 - tell the grader, keep serving
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
            out.flush()
            continue
        if pid == 0:
            try:
                _child(req)
            except BaseException as exc:  # noqa: BLE001
                print(f"zygote: sandbox setup failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            os._exit(1)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
