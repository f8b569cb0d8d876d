"""User errors the store raises; the API maps each class name to an HTTP status.

All are :class:`~pointillist.errors.PointillistError`, so the CLI prints them in one line
and the API answers with the same message.
"""

from __future__ import annotations

from pointillist.errors import PointillistError


class NotFound(PointillistError):
    """No such record in the caller's clinic (another clinic's record is "not found" too)."""


class PermissionDenied(PointillistError):
    """The caller's role does not allow this."""


class GateClosed(PointillistError):
    """A rule of practice forbids it: expired licence or bottle, no consent, no lot."""


class ImmutableRecord(PointillistError):
    """The record is evidence and cannot be changed (a signed consent)."""


class Conflict(PointillistError):
    """The record clashes with another one (a user e-mail already taken)."""


class Busy(PointillistError):
    """The server cannot take this now (its database writer or photo decoders are all
    taken): try again in a moment. The API answers 503 with ``Retry-After``."""
