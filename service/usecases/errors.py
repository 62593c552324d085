"""What a use case can refuse; the doors map these to HTTP statuses and Chinese messages."""


class UseCaseError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(UseCaseError):
    """Also used when the user may not see the thing: no hint that it exists."""


class Forbidden(UseCaseError):
    pass


class Conflict(UseCaseError):
    """Someone else acted first (task completed or claimed, instance changed)."""


class Invalid(UseCaseError):
    def __init__(self, errors: dict[str, str], message: str = "提交的内容有误，请按提示修改"):
        super().__init__(message)
        self.errors = errors


class StepFailed(UseCaseError):
    """A step failed on a user's submit for a reason not theirs (a service task raising, an
    expression failing): nothing was submitted, what was typed is kept as the task's draft, and
    the failure is an incident (`incident_id`, None if even recording it failed)."""

    def __init__(self, message: str, incident_id: int | None):
        super().__init__(message)
        self.incident_id = incident_id
