"""What the service refuses, in words a user can act on. Messages never carry key material."""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses; `str(exc)` is the user-facing message."""


class InvalidInput(ServiceError):
    """A value is malformed or out of range: the message names the field and what it accepts."""

    def __init__(self, field: str, problem: str, accepted: str | None = None) -> None:
        self.field = field
        message = f"{field}: {problem}"
        if accepted:
            message += f" (accepted: {accepted})"
        super().__init__(message)


class NotFound(ServiceError):
    """The account, follow or keystore named does not exist."""


class Conflict(ServiceError):
    """The request clashes with the current state (a token held by another source, a follow that
    already exists, a file that would be overwritten)."""

    def __init__(self, message: str, holders: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.holders = holders


class KeystoreError(ServiceError):
    """A keystore cannot be read, written or opened (wrong password, not a keystore)."""


class VenueError(ServiceError):
    """The venue could not be asked, or it answered that the setup is wrong (agent not approved)."""


class VenueUnreachable(VenueError):
    """The venue did not answer at all (connection refused, timeout)."""
