"""What can go wrong when a trusted check calls into the student's sandbox."""

import builtins


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


def native_student_error(type_name: str, message: str) -> StudentError:
    """A StudentError that is also an instance of the builtin exception of the same name (when
    there is one), so that trusted test code's ``except ValueError`` catches the student's ValueError."""
    native = getattr(builtins, type_name, None)
    if isinstance(native, type) and issubclass(native, Exception) and native is not Exception:
        try:
            cls = type(type_name, (StudentError, native), {"__module__": "builtins"})
            return cls(type_name, message)
        except TypeError:  # a builtin exception whose layout cannot be combined (OSError family)
            pass
    return StudentError(type_name, message)
