from typing import Any


class ApplicationError(Exception):
    """The one error type services raise; the API turns it into a 4xx body that names the problem."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.extra = extra or {}
        if status is not None:
            self.status = status

    @property
    def text(self) -> str:
        """One line for a terminal: `field: message`."""
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(ApplicationError):
    status = 404

    def __init__(self, message: str = "Not found.", **kwargs: Any) -> None:
        super().__init__(message, code=kwargs.pop("code", "not_found"), **kwargs)


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message: str = "You do not have permission to do this.", **kwargs: Any) -> None:
        super().__init__(message, code=kwargs.pop("code", "permission_denied"), **kwargs)


class Conflict(ApplicationError):
    status = 409

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, code=kwargs.pop("code", "conflict"), **kwargs)
