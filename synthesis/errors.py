"""Exceptions raised for user mistakes.

Every :class:`UserInputError` is shown by the CLI as a message without a traceback
and ends the command with exit code 1. Anything else is an internal error (exit 2).
"""

from __future__ import annotations


class UserInputError(ValueError):
    """A mistake in the user's input: names the file/argument, the value and what is allowed."""


class ValidationFailed(UserInputError):
    """Validation found errors; ``report`` holds every problem found."""

    def __init__(self, report: object, message: str | None = None) -> None:
        self.report = report
        super().__init__(message or "validation failed")
