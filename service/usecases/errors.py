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


class SheetRejected(Invalid):
    """An imported sheet with problems: nothing imported. `rows` names each problem by row and
    column; `annotated_id` is the user's file with them marked (an attachment), to fix and re-import."""

    def __init__(self, rows: list[dict], annotated_id: int | None, message: str):
        super().__init__({"file": message}, message)
        self.rows = rows
        self.annotated_id = annotated_id
