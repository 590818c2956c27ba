"""Exceptions shared across the operator commands."""


class CommandError(Exception):
    """An operator-facing failure: printed without a traceback, exit code 1 (or `code`)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
