"""The only code that changes state. Each public function owns its transaction."""


class ServiceError(Exception):
    """A request a service refuses; carries the API error code, message and field."""

    code = "invalid_request"
    http_status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(ServiceError):
    pass


class NotFoundError(ServiceError):
    code = "not_found"
    http_status = 404
