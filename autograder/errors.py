"""The one exception type the CLI turns into a clean one-line error."""


class UserError(Exception):
    """A problem with the user's input or environment, reported without a traceback.

    The CLI prints ``error: <message>`` on stderr and exits with ``exit_code``.
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
