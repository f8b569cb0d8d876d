"""The one exception type for mistakes a user can make.

Every error a person can cause (a bad photo, an unknown option, an impossible date, a
malformed file) is raised as :class:`PointillistError` with a message that says what is
wrong and what to do. The CLI prints it on one line and exits 2; the API answers 4xx
with the same message. Anything else escaping is a bug.
"""

from __future__ import annotations


class PointillistError(ValueError):
    """A problem in the user's input, with a message a person can act on."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
