"""Channels between students: a "writer" notebook of the tiny assignment stores its solution
through every kernel object it can reach, a blank "reader" notebook fetches it and defines the
graded functions from it. Whatever the sandbox leaves open, the reader scores.

``writer_notebook()``/``reader_notebook()`` build the two notebooks; their last cell prints one
JSON line (what was stored, or found, per channel, and the wall-clock window it covered).
``tiny_task`` is a batch task that grades the tiny assignment (with its checks folder passed in the
options) and records each executed notebook, for tests that grade through ``grade_class``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyseccomp

from autograder.classroom.worker import grade_task
from tests.courses.tiny import ADD, COUNTER, SCALE, TINY_CHECKS, code, notebook_bytes, released_cells, tiny_cells

# the full solution (full-text channels) and the body of add() (bit channels: locks, notifications, ptys)
SOLUTION = "\n\n".join("\n".join(line for line in part.splitlines() if "### " not in line)
                       for part in (ADD, SCALE, COUNTER)) + "\n"
SHORT = "a + b"
CHANNELS = ("user keyring", "session keyring", "user-session keyring", "persistent keyring", "sysv shm",
            "sysv msg", "posix mqueue", "abstract socket", "files", "other processes", "flock", "ofd lock",
            "inotify", "ptys")

LIB = r'''
import base64, ctypes, errno, fcntl, json, os, socket, struct, sys, threading, time
import numpy
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
NR = {nr!r}
MARK = "ag-solution-7c1e"
_held = []  # fds and threads that keep a stored solution alive

def _sys(name, *args):
    result = libc.syscall(NR[name], *args)
    if result == -1:
        raise OSError(ctypes.get_errno(), name + ": " + os.strerror(ctypes.get_errno()))
    return result

def _persistent_ring():
    return _sys("keyctl", 22, -1, ctypes.c_int(-2))  # KEYCTL_GET_PERSISTENT of this uid, linked to the process ring

def _key_write(ring, data):
    # the solution goes into the key's description: anyone with "view" on a key can describe it
    description = (MARK + ":" + base64.b64encode(data).decode()).encode()
    _sys("add_key", b"user", description, b"x", 1, ctypes.c_int(ring))

def _key_read(ring):
    ring = _sys("keyctl", 0, ctypes.c_int(ring), 0)  # KEYCTL_GET_KEYRING_ID
    ids = (ctypes.c_int32 * 1024)()
    count = min(_sys("keyctl", 11, ring, ids, ctypes.sizeof(ids)) // 4, 1024)  # KEYCTL_READ: the ring's keys
    for key in ids[:count]:
        text = ctypes.create_string_buffer(8192)
        try:
            _sys("keyctl", 6, key, text, len(text))  # KEYCTL_DESCRIBE: type;uid;gid;perm;description
        except OSError:
            continue
        description = text.value.decode().split(";", 4)[-1]
        if description.startswith(MARK + ":"):
            return base64.b64decode(description.split(":", 1)[1])
    raise OSError("no key")

def _shm(create):
    ident = libc.shmget(0x7C1E, 65536, 0o1666 if create else 0)  # IPC_CREAT | 0666
    if ident < 0:
        raise OSError(ctypes.get_errno(), "shmget")
    addr = libc.shmat(ident, None, 0)
    if addr in (None, 2**64 - 1):
        raise OSError(ctypes.get_errno(), "shmat")
    return addr

def _shm_write(data):
    ctypes.memmove(_shm(True), struct.pack("I", len(data)) + data, len(data) + 4)

def _shm_read():
    addr = _shm(False)
    size = struct.unpack("I", ctypes.string_at(addr, 4))[0]
    return ctypes.string_at(addr + 4, min(size, 65000))

def _msg_write(data):
    ident = libc.msgget(0x7C1F, 0o1666)
    message = struct.pack("q", 1) + data
    if ident < 0 or libc.msgsnd(ident, message, len(data), 0o4000) < 0:  # IPC_NOWAIT
        raise OSError(ctypes.get_errno(), "msgsnd")

def _msg_read():
    ident = libc.msgget(0x7C1F, 0)
    buf = ctypes.create_string_buffer(65536)
    size = libc.msgrcv(ident, buf, 65000, 0, 0o4000)
    if ident < 0 or size < 0:
        raise OSError(ctypes.get_errno(), "msgrcv")
    return buf.raw[8:8 + size]

def _mq(flags):
    libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    mqd = libc.mq_open(b"/" + MARK.encode(), flags, 0o666, None)
    if mqd < 0:
        raise OSError(ctypes.get_errno(), "mq_open")
    return mqd

def _mq_write(data):
    if libc.mq_send(_mq(os.O_CREAT | os.O_RDWR), data, len(data), 0) < 0:
        raise OSError(ctypes.get_errno(), "mq_send")

def _mq_read():
    buf = ctypes.create_string_buffer(65536)
    size = libc.mq_receive(_mq(os.O_RDONLY | os.O_NONBLOCK), buf, len(buf), None)
    if size < 0:
        raise OSError(ctypes.get_errno(), "mq_receive")
    return buf.raw[:size]

def _serve(server, data, until):
    server.settimeout(0.2)
    while time.time() < until:
        try:
            conn, _ = server.accept()
        except OSError:
            continue
        conn.sendall(data)
        conn.close()

def _socket_write(data, until):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + MARK)
    server.listen(8)
    _held.append(threading.Thread(target=_serve, args=(server, data, until), daemon=True))
    _held[-1].start()

def _socket_read():
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(2)
    client.connect("\0" + MARK)
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)

def _writable_dirs():
    # every folder this process may write, except below its own working dir (bound files) and /proc
    tops = ("/tmp", "/var/tmp", "/dev", "/run", "/home", "/", "/etc", "/usr", "/opt", os.path.dirname(numpy.__file__))
    found = [top for top in tops if os.path.isdir(top) and os.access(top, os.W_OK)]
    for top in ("/tmp", "/dev", "/run", "/home"):
        for folder, subdirs, _ in os.walk(top):
            found += [os.path.join(folder, d) for d in subdirs if os.access(os.path.join(folder, d), os.W_OK)]
    return sorted(set(found))

def _files_write(data):
    written = 0
    for folder in _writable_dirs():
        try:
            with open(os.path.join(folder, MARK), "wb") as handle:
                handle.write(data)
            os.chmod(os.path.join(folder, MARK), 0o666)
            written += 1
        except OSError:
            pass
    if not written:
        raise OSError("no writable folder")

def _files_read():
    for folder in _writable_dirs() + ["/tmp", "/var/tmp", "/dev/shm", "/run", "/run/kernel", "/home"]:
        try:
            with open(os.path.join(folder, MARK), "rb") as handle:
                return handle.read()
        except OSError:
            pass
    raise OSError("no file")

def _process_write(data):
    import subprocess
    tag = MARK + ":" + base64.b64encode(data).decode()
    _held.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", tag], env={{"AG": tag}}))

def _process_read():
    mine = {{os.getpid()}}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in mine:
            for name in ("cmdline", "environ"):
                try:
                    text = open(f"/proc/{{entry}}/{{name}}", "rb").read().decode("utf-8", "replace")
                except OSError:
                    continue
                if MARK + ":" in text:
                    return base64.b64decode(text.split(MARK + ":")[1].split("\0")[0])
    raise OSError("no process shows it")

def _frame(data):
    return bytes([0xA5, len(data)]) + data

def _bits(frame):
    return [(byte >> i) & 1 for byte in frame for i in range(8)]

def _unframe(bits):
    frame = bytes(sum(bits[8 * k + i] << i for i in range(8)) for k in range(len(bits) // 8))
    if len(frame) < 2 or frame[0] != 0xA5 or frame[1] + 2 > len(frame):
        raise OSError("no framed message")
    return frame[2:2 + frame[1]]

def _shared_files(offset, count):
    # files every sandbox sees at the same path, never opened by anyone (type stubs): a bit each
    root = os.path.dirname(numpy.__file__)
    stubs = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".pyi"))
    return stubs[offset:offset + count]

WIDTH = 8 * 8  # bits of a framed short message

def _flock_write(data):
    for path, bit in zip(_shared_files(0, WIDTH), _bits(_frame(data))):
        if bit:
            fd = os.open(path, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            _held.append(fd)

def _flock_read():
    bits = []
    for path in _shared_files(0, WIDTH):
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            bits.append(0)
        except BlockingIOError:
            bits.append(1)
        finally:
            os.close(fd)
    return _unframe(bits)

def _ofd(fd, command, kind):
    return struct.unpack("hhxxxxqqixxxx", fcntl.fcntl(fd, command, struct.pack("hhxxxxqqixxxx", kind, 0, 0, 0, 0)))

def _ofd_write(data):
    for path, bit in zip(_shared_files(WIDTH, WIDTH), _bits(_frame(data))):
        if bit:
            fd = os.open(path, os.O_RDONLY)
            _ofd(fd, 37, 0)  # F_OFD_SETLK, F_RDLCK
            _held.append(fd)

def _ofd_read():
    bits = []
    for path in _shared_files(WIDTH, WIDTH):
        fd = os.open(path, os.O_RDONLY)
        try:
            bits.append(int(_ofd(fd, 36, 1)[0] != 2))  # F_OFD_GETLK of a write lock: F_UNLCK when free
        finally:
            os.close(fd)
    return _unframe(bits)

def _touch_loop(paths, until):
    while time.time() < until:
        for path in paths:
            os.close(os.open(path, os.O_RDONLY))
        time.sleep(0.02)

def _inotify_write(data, until):
    paths = [p for p, bit in zip(_shared_files(2 * WIDTH, WIDTH), _bits(_frame(data))) if bit]
    _held.append(threading.Thread(target=_touch_loop, args=(paths, until), daemon=True))
    _held[-1].start()

def _inotify_read():
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    try:
        watches = {{libc.inotify_add_watch(fd, path.encode(), 0x20): i  # IN_OPEN
                   for i, path in enumerate(_shared_files(2 * WIDTH, WIDTH))}}
        time.sleep(0.5)
        seen = set()
        try:
            while chunk := os.read(fd, 65536):
                offset = 0
                while offset < len(chunk):
                    wd, _mask, _cookie, size = struct.unpack_from("iIII", chunk, offset)
                    seen.add(watches.get(wd))
                    offset += 16 + size
        except BlockingIOError:
            pass
        return _unframe([int(i in seen) for i in range(WIDTH)])
    finally:
        os.close(fd)

def _pty_write(data):
    opened = []
    for bit in _bits(_frame(data)):
        master, slave = os.openpty()
        os.close(slave)
        opened.append((master, bit))
    for master, bit in opened:
        if bit:
            _held.append(master)
        else:
            os.close(master)

def _pty_read():
    numbers = {{int(n) for n in os.listdir("/dev/pts") if n.isdigit()}}
    return _unframe([int(i in numbers) for i in range(WIDTH)])

def write_all(full, short, hold, serve):
    """Store ``full`` (bytes) or ``short`` through every channel; keep serving for ``serve`` seconds."""
    start = time.time()
    until = start + serve
    writers = {{
        "user keyring": lambda: _key_write(-4, full), "session keyring": lambda: _key_write(-3, full),
        "user-session keyring": lambda: _key_write(-5, full),
        "persistent keyring": lambda: _key_write(_persistent_ring(), full),
        "sysv shm": lambda: _shm_write(full), "sysv msg": lambda: _msg_write(full), "posix mqueue": lambda: _mq_write(full),
        "abstract socket": lambda: _socket_write(full, until), "files": lambda: _files_write(full),
        "other processes": lambda: _process_write(full), "flock": lambda: _flock_write(short),
        "ofd lock": lambda: _ofd_write(short), "inotify": lambda: _inotify_write(short, until),
        "ptys": lambda: _pty_write(short),
    }}
    stored = {{}}
    for name, write in writers.items():
        try:
            write()
            stored[name] = "stored"
        except Exception as exc:
            stored[name] = f"{{type(exc).__name__}}: {{exc}}"
    time.sleep(hold)
    print(json.dumps({{"stored": stored, "window": [start, time.time()], "preloaded": "torch" in sys.modules}}))

def read_all(wait):
    """Poll every channel for up to ``wait`` seconds; define the solution from what was found."""
    start = time.time()
    readers = {{
        "user keyring": lambda: _key_read(-4), "session keyring": lambda: _key_read(-3),
        "user-session keyring": lambda: _key_read(-5), "persistent keyring": lambda: _key_read(_persistent_ring()),
        "sysv shm": _shm_read, "sysv msg": _msg_read, "posix mqueue": _mq_read, "abstract socket": _socket_read,
        "files": _files_read, "other processes": _process_read, "flock": _flock_read, "ofd lock": _ofd_read,
        "inotify": _inotify_read, "ptys": _pty_read,
    }}
    found, errors = {{}}, {{}}
    while True:
        for name, read in readers.items():
            if name in found:
                continue
            try:
                data = read().decode()
            except Exception as exc:
                errors[name] = f"{{type(exc).__name__}}: {{exc}}"
                continue
            if data.startswith("def ") or data == {short!r}:
                found[name] = data
        if len(found) == len(readers) or time.time() > start + wait:
            break
        time.sleep(0.3)
    for data in found.values():
        exec(data if data.startswith("def ") else "def add(a, b):\n    return " + data, globals())
    print(json.dumps({{"found": sorted(found), "errors": {{k: v for k, v in errors.items() if k not in found}},
                      "window": [start, time.time()], "preloaded": "torch" in sys.modules}}))
'''


def syscall_numbers() -> dict[str, int]:
    """This machine's numbers of the syscalls the channels call directly (resolved by libseccomp)."""

    arch = pyseccomp.system_arch()
    return {name: pyseccomp.resolve_syscall(arch, name) for name in ("add_key", "keyctl")}


def library() -> str:
    """The channel code both notebooks start with."""
    return LIB.format(nr=syscall_numbers(), short=SHORT)


def writer_cell(hold: float, serve: float) -> str:
    """A cell that stores the solution everywhere, then keeps its sandbox alive for ``hold`` s."""
    return library() + f"\nwrite_all({SOLUTION!r}.encode(), {SHORT!r}.encode(), {hold!r}, {serve!r})\n"


def reader_cell(wait: float) -> str:
    """A cell that looks for a solution in every channel for up to ``wait`` seconds."""
    return library() + f"\nread_all({wait!r})\n"


def writer_notebook(hold: float = 0.0, serve: float = 0.0) -> bytes:
    """A correct tiny notebook that also stores its solution through every channel."""
    return notebook_bytes(tiny_cells(after=[writer_cell(hold, serve)]))


def reader_notebook(wait: float = 1.0) -> bytes:
    """A blank tiny notebook whose last cell defines the solution from any channel it finds."""
    return notebook_bytes(released_cells() + [code(reader_cell(wait))])


def last_json(executed: dict | None) -> dict:
    """The JSON line printed by the executed notebook's last cell ({} when there is none)."""
    for cell in reversed((executed or {}).get("cells", [])):
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            for line in reversed(text.splitlines() if isinstance(text, str) else []):
                if line.startswith("{"):
                    return json.loads(line)
    return {}


def tiny_task(payload: dict):
    """The batch task for the tiny assignment: grade with its checks folder, and record the
    executed notebook with the worker and the wall-clock window in ``options["record_dir"]``."""

    start = time.time()
    output = grade_task({**payload, "options": {**payload["options"], "checks": str(TINY_CHECKS)}})
    record = {"worker": output.worker, "start": start, "end": time.time(),
              "executed": json.loads(output.executed) if output.executed else None}
    Path(payload["options"]["record_dir"], f"{payload['student']}.json").write_text(json.dumps(record))
    return output
