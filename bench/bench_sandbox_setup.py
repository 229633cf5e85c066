"""Benchmark: what the seccomp filter costs per sandbox start, for both kinds of sandbox.

Starts sandboxed kernels alternately with and without the filter (so that load on the machine
hits both alike) and prints the median start time of each and their ratio: a plain bubblewrap
sandbox from launch to the kernel's kernel_info reply, and a zygote fork to a ready kernel.
Also prints what compiling the filter (once per process) and allocating a fresh uid cost, and
what the filter adds to every system call the student's code makes (``os.getppid`` in a loop).
Needs root and bubblewrap, as grading does.

    python bench/bench_sandbox_setup.py [--starts 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import nbformat

from autograder.sandbox import seccomp
from autograder.sandbox.execute import execute_notebook
from autograder.sandbox.kernel import SandboxKernel
from autograder.sandbox.launcher import Sandbox, is_root, processes_of
from autograder.sandbox.limits import Limits
from autograder.sandbox.probe import missing_protections
from autograder.sandbox.uids import allocate_uid
from autograder.sandbox.zygote import Zygote, ZygoteKernel

LIMITS = Limits()
SYSCALL_LOOP = ("import os, time\nstart = time.perf_counter()\nfor _ in range(200_000):\n    os.getppid()\n"
                "print((time.perf_counter() - start) / 200_000 * 1e9)")


def start_seconds(make_kernel, filtered: bool) -> float:
    """Start one kernel (filter on or off), close it, return its start time."""
    Sandbox.filter_syscalls = filtered
    try:
        kernel = make_kernel()
    finally:
        Sandbox.filter_syscalls = True
    try:
        return kernel.timings["start"]
    finally:
        kernel.close()


def compare(make_kernel, starts: int) -> tuple[float, float]:
    """Median start seconds (with filter, without) over ``starts`` alternating pairs."""
    make_kernel().close()  # warm caches, compile the filter
    with_filter, without = [], []
    for index in range(starts):
        order = (True, False) if index % 2 == 0 else (False, True)
        for filtered in order:
            (with_filter if filtered else without).append(start_seconds(make_kernel, filtered))
    return statistics.median(with_filter), statistics.median(without)


def syscall_ns(filtered: bool) -> float:
    """Nanoseconds per ``getppid`` (a system call and Python's loop around it) in a plain sandbox."""
    Sandbox.filter_syscalls = filtered
    try:
        kernel = SandboxKernel(LIMITS)
    finally:
        Sandbox.filter_syscalls = True
    with kernel:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SYSCALL_LOOP)])
        execute_notebook(kernel, nb)
    return float(nb.cells[0].outputs[0]["text"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=10, help="kernel starts per kind and setting (default 10)")
    args = parser.parse_args()
    if not is_root() or missing_protections():
        print("needs root and a working sandbox: " + "; ".join(missing_protections() or ("not root",)), file=sys.stderr)
        return 2
    seccomp.bpf_program.cache_clear()
    begin = time.perf_counter()
    size = len(seccomp.bpf_program())
    compile_ms = (time.perf_counter() - begin) * 1000
    begin = time.perf_counter()
    for _ in range(20):
        allocate_uid(lambda uid: bool(processes_of(uid)))
    uid_ms = (time.perf_counter() - begin) / 20 * 1000

    print(f"filter: {size // 8} BPF instructions, compiled once per process in {compile_ms:.1f} ms; "
          f"fresh uid: {uid_ms:.2f} ms per sandbox")
    print(f"{'sandbox start':<34} {'with filter':>12} {'without':>10} {'ratio':>7}")
    rows = [("plain bwrap, launch to kernel_info", lambda: SandboxKernel(LIMITS))]
    zygote = Zygote(LIMITS)
    try:
        rows.append(("zygote fork to kernel ready", lambda: ZygoteKernel(zygote, LIMITS)))
        for label, make_kernel in rows:
            filtered, bare = compare(make_kernel, args.starts)
            print(f"{label:<34} {filtered * 1000:10.0f}ms {bare * 1000:8.0f}ms {filtered / bare:7.2f}")
    finally:
        zygote.close()
    runs = [(syscall_ns(True), syscall_ns(False)) for _ in range(3)]
    filtered, bare = (statistics.median(column) for column in zip(*runs, strict=True))
    print(f"{'getppid() in the sandbox, per call':<34} {filtered:10.0f}ns {bare:8.0f}ns {filtered / bare:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
