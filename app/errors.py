"""The one exception family: services raise these, blueprints translate them.

Each error carries the public API code, the HTTP status it answers with, a message worded for
a merchant's developer, and the request field it is about (if any). The JSON blueprint turns
one into the error envelope, the portal into a form error or its 404 page; nothing reads the
message to decide what happened: the class says it."""

from __future__ import annotations


class ServiceError(Exception):
    """A request Lunas refuses."""

    code = "invalid_request"
    http_status = 400

    def __init__(self, message: str, field: str | None = None, **params: object) -> None:
        # `message` is English with %(name)s placeholders for `params`: the API answers the
        # filled-in English, the portal translates the template and then fills it in
        # (app/portal/context.py `reason`), so "%(minimum)s" reads the same in both languages.
        self.template = message
        self.params = params
        self.message = message % params if params else message
        super().__init__(self.message)
        self.field = field

    def details(self) -> dict[str, str]:
        """Members the error envelope carries beyond code, message and field."""
        return {}


class ValidationError(ServiceError):
    """The input breaks a rule; nothing changed."""


class NotFoundError(ServiceError):
    """No such object for this caller (another tenant's object is reported the same way)."""

    code = "not_found"
    http_status = 404


class FileTooLargeError(ServiceError):
    """An uploaded file (or an image sent as base64) over its limit."""

    code = "payload_too_large"
    http_status = 413


class InvalidImageError(ValidationError):
    """Not an image Lunas reads, or an image with no QR code in it."""

    code = "invalid_image"


class InvalidQrisError(ValidationError):
    """Not a QRIS code: `tag` names the data object at fault when one is (SPEC §14)."""

    code = "invalid_qris"

    def __init__(
        self, message: str, tag: str | None = None, field: str = "qris", **params: object
    ) -> None:
        super().__init__(message, field, **params)
        self.tag = tag

    def details(self) -> dict[str, str]:
        return {"tag": self.tag} if self.tag else {}


class InvalidClientError(ServiceError):
    code = "invalid_client"
    http_status = 401


class RateLimitedError(ServiceError):
    """Too many requests in the current window: wait Retry-After seconds (SPEC §12)."""

    code = "rate_limited"
    http_status = 429


class UnsupportedMediaTypeError(ServiceError):
    code = "unsupported_media_type"
    http_status = 415


class UnavailableError(ServiceError):
    """A part Lunas needs is not there (no Midtrans key, Midtrans not confirming)."""

    code = "unavailable"
    http_status = 503


class UpstreamError(ServiceError):
    """Midtrans refused or failed a call Lunas made for the request."""

    code = "upstream_error"
    http_status = 502


class InvalidStateError(ServiceError):
    """The object is not in a state that allows the action (the message names its state)."""

    code = "invalid_state"
    http_status = 409


class RefundNotSupportedError(ServiceError):
    """Midtrans cannot refund this payment type by API; the merchant refunds outside it."""

    code = "refund_not_supported"
    http_status = 422


class RefundExceedsPaymentError(ServiceError):
    """More than what remains (pending refunds count as taken)."""

    code = "refund_exceeds_payment"
    http_status = 422


class RefundRefusedError(ServiceError):
    """Midtrans refused the refund; its message is passed on."""

    code = "refund_refused"
    http_status = 422
