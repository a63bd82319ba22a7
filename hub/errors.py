"""One error tree for the hub; mapped once to HTTP responses and Socket.IO acks."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base of every error the hub reports to a caller."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class BadRequest(HubError):
    status = 400
    code = "bad_request"


class ValidationFailed(HubError):
    status = 422
    code = "validation_failed"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


class PayloadTooLarge(HubError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(HubError):
    status = 415
    code = "unsupported_media_type"


class RequestTimeout(HubError):
    status = 408
    code = "request_timeout"


class RateLimited(HubError):
    status = 429
    code = "rate_limited"


class ChannelError(HubError):
    """A platform call failed; worth retrying."""

    status = 502
    code = "channel_error"


class ChannelRateLimited(ChannelError):
    """The platform asked us to wait ``retry_after_s`` seconds before the next call."""

    code = "channel_rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ChannelRejected(ChannelError):
    """The platform refused the message for good (blocked bot, bad address): no retry.
    ``unreachable``: the client cannot be written to at all any more."""

    code = "channel_rejected"

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
