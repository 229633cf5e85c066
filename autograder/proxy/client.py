"""The trusted side of the student proxy: ``student.sigmoid(z)``, ``model.forward(x)``, ``len(ds)``.

Each operation is one Jupyter execute request that calls the injected agent; the reply comes
back as a display_data message of our own MIME type and is decoded by the strict codec. Every
call has a time limit; a call over it interrupts the kernel, and when the kernel ignores the
interrupt the sandbox is killed (later calls then raise :class:`SandboxGone`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time

from autograder.proxy.agent import AGENT_SOURCE
from autograder.proxy.codec import Decoder, Encoder, Handle
from autograder.proxy.errors import BadReply, CallTimeout, ProxyError, SandboxGone, StudentError, native_student_error
from autograder.sandbox.kernel import IOPUB_GRACE, SandboxKernel

MIME = "application/vnd.autograder.reply+json"


class RemoteObject:
    """An object that lives in the sandbox. Attribute access, calls, len, indexing and
    iteration become proxy calls; names starting with ``_`` are not forwarded implicitly."""

    __slots__ = ("_autograder_handle", "_autograder_proxy")

    def __init__(self, proxy: StudentProxy, handle: Handle):
        object.__setattr__(self, "_autograder_handle", handle)
        object.__setattr__(self, "_autograder_proxy", proxy)

    @property
    def type_name(self) -> str:
        """The qualified type name the sandbox reported (untrusted, for messages)."""
        return self._autograder_handle.type_name

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self._autograder_proxy.request("getattr", target=self, name=name)

    def __call__(self, *args, **kwargs):
        return self._autograder_proxy.request("call", target=self, args=list(args), kwargs=kwargs)

    def call_method(self, name: str, *args, **kwargs):
        """Call ``self.name(*args, **kwargs)`` in one round trip (works for private names too)."""
        return self._autograder_proxy.request("callmethod", target=self, name=name,
                                              args=list(args), kwargs=kwargs)

    def __len__(self) -> int:
        try:
            value = self._autograder_proxy.request("len", target=self)
        except StudentError as exc:
            if exc.type_name == "TypeError":  # no len(): list() and friends then just iterate
                raise TypeError(exc.message) from None
            raise
        if type(value) is not int or value < 0:
            raise BadReply("len() did not give a non-negative int")
        return value

    def __getitem__(self, key):
        return self._autograder_proxy.request("getitem", target=self, args=[key])

    def __bool__(self) -> bool:
        if not self._autograder_proxy.truth_of_objects:
            raise TypeError(f"the grader does not take the truth value of {self!r} (it is not data)")
        return len(self) != 0

    def __iter__(self):
        iterator = self._autograder_proxy.request("iter", target=self)
        while True:
            try:
                yield self._autograder_proxy.request("next", target=iterator)
            except StudentError as exc:
                if exc.type_name == "StopIteration":
                    return
                raise

    def describe(self) -> dict:
        """Type, MRO names, whether it is a class / callable (as reported by the sandbox)."""
        info = self._autograder_proxy.request("describe", target=self)
        if not isinstance(info, dict):
            raise BadReply("describe did not give a dict")
        return info

    def __repr__(self) -> str:
        return f"<sandbox object {self.type_name}>"


class StudentProxy:
    """The student's notebook namespace, reachable through the agent. ``student.name`` gives
    data (numbers, strings, lists, dicts, arrays, tensors) or a :class:`RemoteObject`."""

    def __init__(self, kernel: SandboxKernel, native_errors: bool = False, truth_of_objects: bool = True):
        """``native_errors``: the student's exceptions are raised as StudentErrors that are also the
        builtin exception of that name; ``truth_of_objects=False``: ``bool()`` of a RemoteObject
        raises TypeError instead of asking the student's ``__len__``."""
        self._kernel = kernel
        self.native_errors = native_errors
        self.truth_of_objects = truth_of_objects
        self._client = None
        self._timeout = kernel.limits.call_timeout
        self.budget = None  # the current check's time budget (a sandbox Budget)
        self.calls = 0
        self.seconds = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Inject the agent into the kernel (after the notebook ran)."""
        if not self._kernel.alive():
            raise SandboxGone("the student's kernel is not running (it died or was stopped)")
        self._client = self._kernel.blocking_client()
        self._execute(AGENT_SOURCE, expect_reply=None, timeout=self._timeout)

    def close(self) -> None:
        """Stop talking to the kernel (the caller kills the sandbox)."""
        if self._client is not None:
            self._client.stop_channels()
            self._client = None

    @contextlib.contextmanager
    def check_budget(self):
        """Calls inside the ``with`` block share ``Limits.check_timeout`` (one hidden check) of the
        sandbox's CPU time (see :mod:`autograder.sandbox.budget`)."""
        self.budget = self._kernel.budget(self._kernel.limits.check_timeout)
        try:
            yield
        finally:
            self.budget = None

    @contextlib.contextmanager
    def time_limit(self, seconds: float):
        """Calls inside the ``with`` block may take up to ``seconds`` each."""
        old, self._timeout = self._timeout, seconds
        try:
            yield
        finally:
            self._timeout = old

    # -- operations ------------------------------------------------------------------------
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.request("get", name=name)

    def get(self, name: str):
        """The value of the notebook global ``name`` (data or a RemoteObject)."""
        return self.request("get", name=name)

    def lookup(self, name: str):
        """The notebook global ``name`` (no fallback to the sandbox's builtins); NameError if unset."""
        try:
            return self.request("global", name=name)
        except StudentError as exc:
            if exc.type_name == "NameError":
                raise NameError(name) from None
            raise

    def delete_global(self, name: str) -> None:
        """``del name`` in the notebook's namespace (NameError when it is not set)."""
        try:
            self.request("delglobal", name=name)
        except StudentError as exc:
            if exc.type_name == "NameError":
                raise NameError(f"name {name!r} is not defined") from None
            raise

    def set_global(self, name: str, value) -> None:
        """``name = value`` in the notebook's namespace (``value``: data or a RemoteObject)."""
        self.request("setglobal", name=name, args=[value])

    def module_name(self, obj: RemoteObject) -> str | None:
        """The name a sandbox module gives itself (untrusted), or None for any other object."""
        value = self.request("module_name", target=obj)
        if value is not None and type(value) is not str:
            raise BadReply("module_name did not give a string")
        return value

    def call(self, name: str, *args, **kwargs):
        """Call the notebook global ``name`` in one round trip."""
        return self.request("call", target={"$global": name}, args=list(args), kwargs=kwargs)

    def autograd(self, function, z, *args, **kwargs):
        """(f(z), d sum(f(z)) / dz) computed by autograd in the sandbox; ``function`` is a global's
        name or a RemoteObject, ``z`` a tensor."""
        target = {"$global": function} if isinstance(function, str) else function
        return self.request("autograd", target=target, args=[z, *args], kwargs=kwargs)

    def describe(self, name: str) -> dict:
        """Type information of the notebook global ``name``."""
        info = self.request("describe", target={"$global": name})
        if not isinstance(info, dict):
            raise BadReply("describe did not give a dict")
        return info

    def put_files(self, folder: str, files: dict[str, bytes]) -> str:
        """Write ``files`` (relative path -> bytes) below ``folder`` in the sandbox; return its path."""
        encoded = {rel: base64.b64encode(data).decode("ascii") for rel, data in files.items()}
        path = self.request("put_files", folder=folder, files=encoded)
        if type(path) is not str:
            raise BadReply("put_files did not give a path")
        return path

    def read_file(self, path: str, limit: int | None = None) -> bytes:
        """The bytes of a file in the sandbox (relative to its working dir), at most ``limit``."""
        limit = self._kernel.limits.collect_bytes if limit is None else limit
        data = self.request("read_file", path=path, limit=limit)
        if type(data) is not bytes or len(data) > limit:
            raise BadReply("read_file did not give bytes within the limit")
        return data

    def request(self, op: str, **fields):
        """Send one request to the agent and return the decoded reply value."""
        encoder = Encoder()
        request = {"op": op, "limit": self._kernel.limits.reply_bytes}
        for key, value in fields.items():
            if key in ("target",):
                request[key] = value if isinstance(value, dict) else encoder(value)
            elif key == "args":
                request[key] = [encoder(item) for item in value]
            elif key == "kwargs":
                request[key] = {str(k): encoder(v) for k, v in value.items()}
            else:
                request[key] = value
        # The agent reads buffers from the nodes themselves: inline them.
        request = _inline_buffers(request, encoder.buffers)
        nonce = secrets.token_hex(8)
        request["id"] = nonce
        code = f"__autograder_agent__({json.dumps(json.dumps(request))})"
        reply = self._execute(code, expect_reply=nonce, timeout=self._timeout)
        if reply.get("ok") is True:
            decoder = Decoder(reply.get("buffers", []), self._kernel.limits.reply_bytes,
                              lambda handle: RemoteObject(self, handle))
            return decoder(reply.get("value"))
        error = reply.get("error")
        if reply.get("ok") is False and isinstance(error, dict):
            type_name, message = error.get("type"), error.get("message")
            if type(type_name) is str and type(message) is str:
                make = native_student_error if self.native_errors else StudentError
                raise make(type_name[:100], message[:500])
        raise BadReply("malformed reply")

    def _execute(self, code: str, expect_reply: str | None, timeout: float) -> dict:
        """Run ``code``; return the agent's reply (``expect_reply`` is its id) once the request is done.

        Done means the shell's execute_reply arrived (plus a short grace for iopub) or iopub's
        idle status did; over ``timeout`` the call is interrupted (:meth:`_on_timeout`).
        """
        if self._client is None or not self._kernel.alive():
            raise SandboxGone("the student's kernel is not running (it died or was stopped)")
        start = time.monotonic()
        check = self.budget
        if check is not None and check.expired(start):
            raise CallTimeout(f"the check ran out of time ({check.describe()} for all its calls)")
        call = self._kernel.budget(timeout)
        msg_id = self._client.execute(code, silent=False, store_history=False, allow_stdin=False,
                                      stop_on_error=False)
        reply, shell = self._await_done(msg_id, expect_reply, call, check)
        self.calls += 1
        self.seconds += time.monotonic() - start
        return self._outcome(msg_id, expect_reply, reply, shell)

    def _await_done(self, msg_id: str, expect_reply: str | None, call, check) -> tuple[dict | None, dict | None]:
        """The agent's reply (from iopub) and the shell's execute_reply, collected until the request is
        done; past the call's or the check's time budget the call is interrupted."""
        client = self._client
        reply = shell = None
        shell_time = None
        while True:
            now = time.monotonic()
            if shell_time is not None and reply is not None:
                break
            if shell_time is not None and now > shell_time + IOPUB_GRACE:
                self._kernel.recover_iopub(self._client)
                break
            if call.expired(now) or (check is not None and check.expired(now)):
                self._on_timeout(msg_id)
                if call.expired(now):
                    raise CallTimeout(f"the call did not finish within {call.describe()}")
                raise CallTimeout(f"the check ran out of time ({check.describe()} for all its calls)")
            try:
                msg = client.get_iopub_msg(timeout=0.02)
            except Exception:  # queue.Empty or an undecodable message
                msg = None
            if msg is not None:
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg.get("msg_type"), msg.get("content", {})
                if kind == "display_data" and reply is None and expect_reply is not None:
                    data = content.get("data") if isinstance(content, dict) else None
                    candidate = data.get(MIME) if isinstance(data, dict) else None
                    if isinstance(candidate, dict) and candidate.get("id") == expect_reply:
                        reply = candidate
                elif kind == "status" and content.get("execution_state") == "idle":
                    break
                continue
            if shell is None:
                shell = self._kernel.shell_reply(self._client, msg_id)
                if shell is not None:
                    shell_time = time.monotonic()
                    continue
            if not self._kernel.alive():
                raise SandboxGone("the student's kernel died during the call")
        return reply, shell

    def _outcome(self, msg_id: str, expect_reply: str | None, reply: dict | None, shell: dict | None) -> dict:
        """The agent's reply to a finished call ({} for the agent's installation, which sends none)."""
        if expect_reply is None:
            shell = shell or self._kernel.late_shell_reply(self._client, msg_id) or {}
            status = shell.get("content", {}).get("status")
            if status != "ok":
                raise ProxyError("the grader's agent could not be installed in the student's kernel")
            return {}
        if shell is None:
            self._kernel.late_shell_reply(self._client, msg_id)
        if reply is None:
            raise BadReply("no reply came back (it may have exceeded the size limit)")
        return reply

    def _on_timeout(self, msg_id: str) -> None:
        """Interrupt the call; kill the sandbox if the kernel does not come back."""
        if self._kernel.interrupt(wait=1.0):
            end = time.monotonic() + 2.0
            while time.monotonic() < end and self._kernel.alive():
                if self._kernel.shell_reply(self._client, msg_id) is not None:
                    return
                time.sleep(0.01)
        self.close()
        self._kernel.kill()


def _inline_buffers(node, buffers):
    """Replace buffer indices in encoded arguments by the base64 data itself."""
    if isinstance(node, list):
        return [_inline_buffers(item, buffers) for item in node]
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("$nd", "$tensor", "$npscalar") and type(value) is int:
                out[key] = buffers[value]
            else:
                out[key] = _inline_buffers(value, buffers)
        return out
    return node
