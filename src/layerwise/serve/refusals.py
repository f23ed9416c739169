"""The answers the app gives a request it cannot serve, each with its HTTP status and one
line saying why. Each is a LayerwiseError, so that the project's own one-line errors (a
setting out of range, inputs of the wrong shape, a broken model file) read the same; the
API answers a plain LayerwiseError with 400."""

from ..errors import LayerwiseError


class Refused(LayerwiseError):
    """A request the app refuses: ``status`` is the HTTP status of the answer (400: the
    request itself is wrong)."""

    status = 400


class NotFound(Refused):
    """No such page, run or file (also every path outside the served run folders)."""

    status = 404


class Busy(Refused):
    """A training is already running (one at a time per server), or none is to stop."""

    status = 409


class TooLarge(Refused):
    """A request body over the limit (``app.MAX_BODY``)."""

    status = 413


class WrongMediaType(Refused):
    """A request body that is not JSON (the API reads JSON only)."""

    status = 415


class Forbidden(Refused):
    """A request from a page of another site (its Origin header names another host)."""

    status = 403
