"""An ipykernel running inside a :class:`~autograder.sandbox.launcher.Sandbox`, reached over ipc.

The kernel binds unix sockets in the sandbox's run folder (Jupyter's ``ipc`` transport: the
sandbox has no network). The trusted side connects with clients whose sockets refuse any
message larger than ``Limits.message_bytes`` (ZMQ_MAXMSGSIZE), so a flood of output cannot
exhaust the grader's memory. Liveness is the sandbox process itself, not a heartbeat.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable

import zmq
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import channel_socket_types

from autograder.sandbox.budget import Budget
from autograder.sandbox.bwrap import PYTHON, Mount
from autograder.sandbox.launcher import Sandbox
from autograder.sandbox.limits import Limits

RECEIVE_QUEUE = 32  # messages a client socket queues before the kernel's side drops more
IOPUB_GRACE = 0.5  # seconds iopub may lag behind the shell's execute_reply
CHANNEL_PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}


class KernelDied(RuntimeError):
    """The sandboxed kernel is gone (crash, os._exit, killed for a limit)."""


class SandboxBlockingClient(BlockingKernelClient):
    """The client of the notebook runner and the student proxy: every socket drops messages
    above a size cap, and liveness is the sandbox process (not a heartbeat)."""

    max_message_bytes = 16 * 1024 * 1024
    sandbox: Sandbox | None = None

    def _create_connected_socket(self, channel, identity=None):
        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 0
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        sock.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)  # bounds queued bytes: RECEIVE_QUEUE * max size
        if identity:
            sock.identity = identity
        sock.connect(self._make_url(channel))
        return sock

    def is_alive(self) -> bool:
        return self.sandbox is not None and self.sandbox.alive()


def connection_info(ip: str, key: str) -> dict:
    """A kernel connection over unix sockets named ``<ip>-<port>`` (Jupyter's ``ipc`` transport)."""
    return {"transport": "ipc", "ip": ip, "key": key, "signature_scheme": "hmac-sha256",
            "kernel_name": "", **CHANNEL_PORTS}


class SandboxKernel:
    """Start an ipykernel in a new sandbox; make clients to it; close it (kills everything).

    Must be created and closed in the same thread (see :class:`Sandbox`).
    """

    def __init__(self, limits: Limits, mounts: list[Mount] = (), env: dict[str, str] | None = None,
                 secure: bool = True):
        sandbox = Sandbox(limits, mounts, secure=secure)
        argv = [PYTHON, "-m", "ipykernel_launcher", "-f", f"{sandbox.run_inside}/kernel.json",
                "--HistoryManager.enabled=False", "--IPKernelApp.quiet=True",
                "--Session.packer=json", "--Session.unpacker=json"]
        self._boot(limits, sandbox, env, lambda extra: sandbox.start(argv, extra))

    def _boot(self, limits: Limits, sandbox: Sandbox, env: dict[str, str] | None,
              start: Callable[[dict[str, str]], None]) -> None:
        """Write the kernel's connection file into ``sandbox``'s run folder, launch the kernel with
        ``start(env)`` (``{home}`` in a value becomes the sandbox's working directory) and wait until
        it answers; on any failure close everything."""
        self.limits, self.sandbox = limits, sandbox
        self.timings: dict[str, float] = {}
        key = secrets.token_hex(32)
        self._inside = connection_info(f"{sandbox.run_inside}/k", key)
        self._host = connection_info(f"{sandbox.run_dir}/k", key)
        conn_file = sandbox.run_dir / "kernel.json"
        conn_file.write_text(json.dumps(self._inside))
        conn_file.chmod(0o644)
        extra = {name: value.replace("{home}", sandbox.home) for name, value in (env or {}).items()}
        begin = time.monotonic()
        try:
            start(extra)
            self._wait_ready(begin)
        except BaseException:
            self.close()
            raise
        self.timings["start"] = time.monotonic() - begin

    @property
    def home(self) -> str:
        """The working directory inside the sandbox."""
        return self.sandbox.home

    def _client(self, cls):
        client = cls()
        client.load_connection_info(self._host)
        client.max_message_bytes = self.limits.message_bytes
        client.sandbox = self.sandbox
        client.session.packer = "json"
        client.session.unpacker = "json"
        return client

    def blocking_client(self, timeout: float = 10.0) -> SandboxBlockingClient:
        """A new blocking client, subscribed: it has seen an iopub reply to its kernel_info."""
        client = self._client(SandboxBlockingClient)
        client.start_channels(hb=False)
        try:
            self._handshake(client, time.monotonic() + timeout)
        except BaseException:
            client.stop_channels()
            raise
        return client

    def reconnect_iopub(self, client, timeout: float = 5.0) -> None:
        """Give ``client`` a fresh iopub socket (after the kernel sent a message over the size cap,
        ZMQ drops the connection and nothing more arrives on the old one)."""
        client.iopub_channel.stop()
        client._iopub_channel = None
        client.iopub_channel.start()
        self._handshake(client, time.monotonic() + timeout)

    def recover_iopub(self, client) -> None:
        """No idle status came after the reply: iopub is likely cut off (an oversized message);
        reconnect it, leaving a dead kernel to the caller's next liveness check."""
        with contextlib.suppress(KernelDied):
            self.reconnect_iopub(client)

    @staticmethod
    def shell_reply(client, msg_id: str):
        """The shell reply to ``msg_id`` if one is waiting now, else None (other replies are dropped)."""
        try:
            reply = client.get_shell_msg(timeout=0)
        except Exception:  # queue.Empty or an undecodable message
            return None
        return reply if reply.get("parent_header", {}).get("msg_id") == msg_id else None

    def late_shell_reply(self, client, msg_id: str):
        """The shell reply to ``msg_id``, which follows iopub's idle status closely (up to 1 s)."""
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            reply = self.shell_reply(client, msg_id)
            if reply is not None:
                return reply
            if not self.alive():
                return None
            time.sleep(0.002)
        return None

    def _handshake(self, client, deadline: float) -> None:
        """Ask kernel_info until its iopub status arrives (ZMQ drops messages published before
        a subscription is in place, so the first execute could otherwise lose its outputs)."""
        while True:
            if not self.sandbox.alive():
                raise KernelDied("the sandboxed kernel is not running: "
                                 + self.sandbox.log_tail(600).strip()[-600:])
            if time.monotonic() > deadline:
                raise KernelDied("the sandboxed kernel does not answer")
            msg_id = client.kernel_info()
            wait_until = min(deadline, time.monotonic() + 0.5)
            while time.monotonic() < wait_until:
                try:
                    msg = client.get_iopub_msg(timeout=max(0.01, wait_until - time.monotonic()))
                except Exception:
                    continue
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    self._drain(client, msg_id)
                    return

    @staticmethod
    def _drain(client, msg_id: str) -> None:
        """Consume the rest of a kernel_info exchange (its idle status and shell reply)."""
        end = time.monotonic() + 2.0
        got_reply = False
        while time.monotonic() < end and not got_reply:
            try:
                reply = client.get_shell_msg(timeout=0.05)
            except Exception:
                continue
            got_reply = reply.get("parent_header", {}).get("msg_id") == msg_id
        while True:
            try:
                client.get_iopub_msg(timeout=0.02)
            except Exception:
                break

    def _wait_ready(self, start: float) -> None:
        deadline = start + self.limits.startup_timeout
        sockets = [self.sandbox.run_dir / f"k-{port}" for port in CHANNEL_PORTS.values()]
        while not all(path.exists() for path in sockets):
            if not self.sandbox.alive():
                raise KernelDied("the sandboxed kernel exited during start-up: "
                                 + self.sandbox.log_tail(600).strip()[-600:])
            if time.monotonic() > deadline:
                raise KernelDied(f"the sandboxed kernel did not start within {self.limits.startup_timeout:.0f} s")
            time.sleep(0.005)
        client = self.blocking_client(timeout=max(1.0, deadline - time.monotonic()))
        client.stop_channels()
        self.sandbox.lock_run_dir()

    def interrupt(self, wait: float = 3.0) -> bool:
        """Send SIGINT through the control channel; True when the kernel answered in time."""
        if not self.sandbox.alive():
            return False
        client = self._client(SandboxBlockingClient)
        client.start_channels(shell=False, iopub=False, stdin=False, hb=False, control=True)
        try:
            msg = client.session.msg("interrupt_request", {})
            client.control_channel.send(msg)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    reply = client.control_channel.get_msg(timeout=max(0.01, deadline - time.monotonic()))
                except Exception:
                    break
                if reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]:
                    return True
            return False
        finally:
            client.stop_channels()

    def alive(self) -> bool:
        """True while the kernel's sandbox runs."""
        return self.sandbox.alive()

    def budget(self, seconds: float) -> Budget:
        """A time limit of ``seconds`` on this sandbox's CPU time (wall time without a cgroup)."""
        clock = self.sandbox.cpu_seconds if self.sandbox.cgroup is not None else None
        return Budget(seconds, clock, self.limits.wall_grace, self.limits.cpus)

    def kill(self) -> None:
        """Kill the sandbox (all its processes) but keep the object for reporting."""
        self.sandbox.close()

    def close(self) -> None:
        """Kill everything and delete the sandbox's files (idempotent)."""
        self.sandbox.close()

    def __enter__(self) -> SandboxKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

