"""API errors with the real codes, messages and HTTP statuses."""


class ApiError(Exception):
    """Raised by handlers; the server turns it into the real JSON error body."""

    def __init__(self, code, message, status=400, headers=None, extra=None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}


def missing_parameter(name):
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid_parameter(name, detail=None, code="InvalidParameter", status=400):
    msg = f'The specified parameter "{name}" is not valid.'
    if detail:
        msg = f"{msg} {detail}"
    return ApiError(code, msg, status)


def entity_not_exists(entity, ident):
    return ApiError(f"EntityNotExists.{entity}", f"The {entity} ({ident}) does not exist.", 404)
