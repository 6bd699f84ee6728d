"""What a use case refuses, in the domain's words. The HTTP layer (`shared.web.errors`)
maps each kind to its status; a use case never knows about HTTP."""


class Refused(Exception):
    """A request the books refuse as a whole; the message says why, for a person."""


class NotFound(Refused):
    """What the request names does not exist (404)."""


class Conflict(Refused):
    """The request does not fit the present state (409)."""


class NotAllowed(Refused):
    """This person may not do this, e.g. approve what they prepared (403)."""


class Invalid(Refused):
    """The request's content is wrong (422); `fields` names each wrong field and why."""

    def __init__(self, message: str, fields: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.fields = list(fields or [])
