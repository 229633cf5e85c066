"""What can go wrong when a trusted check calls into the student's sandbox."""


class ProxyError(Exception):
    """The sandbox did not give a usable answer."""


class StudentError(ProxyError):
    """The student's code raised an exception (its type name and message, nothing else)."""

    def __init__(self, type_name: str, message: str):
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message


class CallTimeout(ProxyError):
    """A call did not finish within its time limit."""


class SandboxGone(ProxyError):
    """The student's kernel is dead (it crashed, exited or was killed for a limit)."""


class BadReply(ProxyError):
    """The reply broke the protocol: malformed, too large, or of a type that is not data."""
