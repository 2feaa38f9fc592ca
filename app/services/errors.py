"""Domain exceptions raised by services; the web layer maps them to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses, with a message a user can act on."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(DomainError):
    """Input that breaks a rule (field errors in `fields`)."""


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The object changed or is in a state that does not allow this."""

    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"
