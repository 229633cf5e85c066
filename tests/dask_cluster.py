"""A Dask cluster for the tests: ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class DaskCluster:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1."""

    def __init__(self, folder: Path, workers: int = 2):
        bin_dir = Path(sys.executable).parent
        self.file = folder / "scheduler.json"
        common = dict(cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      start_new_session=True)
        self.processes = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                            "--no-dashboard", "--scheduler-file", str(self.file)], **common)]
        deadline = time.monotonic() + 60
        while not self.file.exists():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
        self.address = json.loads(self.file.read_text())["address"]
        for _ in range(workers):
            self.processes.append(subprocess.Popen(
                [str(bin_dir / "dask"), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard", "--memory-limit", "0"], **common))

    def worker_processes(self) -> list[int]:
        """The PIDs of the processes running the workers' tasks (the nannies' children; a nanny starts
        a fresh one when it dies)."""
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent in {p.pid for p in self.processes[1:]} and b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
        return found

    def runs_started(self, key_part: str) -> int:
        """How many times the scheduler sent a task whose key contains ``key_part`` to a worker."""
        from distributed import Client  # noqa: PLC0415 - deferred: distributed is heavy, only some tests need it

        with Client(self.address, timeout=20, set_as_default=False) as client:
            log = client.run_on_scheduler(lambda dask_scheduler: [(str(t.key), t.finish)
                                                                 for t in dask_scheduler.transition_log])
        return sum(1 for key, finish in log if key_part in key and finish == "processing")

    def close(self):
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
