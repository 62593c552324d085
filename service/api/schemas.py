"""Marshmallow schemas: the shape of the JSON API, and the source of its OpenAPI document."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=50))
    password = fields.String(required=True, load_only=True)


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    jurisdiction_code = fields.String(allow_none=True)
    institution_id = fields.Integer(allow_none=True)


class InboxQueryIn(Schema):
    process = fields.String(load_default=None)
    step = fields.String(load_default=None)
    jurisdiction = fields.String(load_default=None)
    due = fields.String(load_default=None, validate=validate.OneOf(["soon", "overdue"]))
    sort = fields.String(load_default="created", validate=validate.OneOf(["created", "due"]))
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "completed", "cancelled"]))
    due_before = fields.DateTime(load_default=None)
    mine = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class TaskOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_id = fields.String()
    name = fields.String()
    title = fields.String()
    subject = fields.String()
    role = fields.String()
    form_key = fields.String()
    jurisdiction_code = fields.String(allow_none=True)
    state = fields.String()
    claimed_by = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class InboxOut(Schema):
    items = fields.List(fields.Nested(TaskOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class TaskDetailOut(Schema):
    task = fields.Nested(TaskOut)
    form = fields.Dict()
    data = fields.Dict()


class CompleteIn(Schema):
    data = fields.Dict(required=True)


class StartedOut(Schema):
    filing_id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer()


class EventOut(Schema):
    at = fields.DateTime()
    actor_name = fields.String()
    action = fields.String()
    task_name = fields.String(allow_none=True)
    task_title = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    data = fields.Dict()
    # what a completed step decided, as the form said it then: {"field", "value", "title"}
    outcome = fields.Function(lambda e: (e.data or {}).get("outcome") if e.action == "complete" else None,
                              allow_none=True)


class CaseInstitutionOut(Schema):
    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    kind = fields.String()
    filing_code = fields.String(allow_none=True)


class TimelineOut(Schema):
    instance_id = fields.Integer()
    process_id = fields.String()
    status = fields.String()
    institution = fields.Nested(CaseInstitutionOut, allow_none=True)
    events = fields.List(fields.Nested(EventOut))
    next = fields.List(fields.Nested(TaskOut))
    completed_steps = fields.List(fields.String())
    current_steps = fields.List(fields.String())


class ScopeOut(Schema):
    occupation_code = fields.String()
    occupation_name = fields.Function(lambda s: s.occupation.name)
    level = fields.String()


class DirectoryEntryOut(Schema):
    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    kind = fields.String()
    jurisdiction_code = fields.String()
    filing_code = fields.String()
    status = fields.String()
    valid_from = fields.Date()
    valid_until = fields.Date()
    is_province_wide = fields.Boolean()
    scope = fields.Function(lambda i: ScopeOut(many=True).dump([s for s in i.scope if s.is_active]))


class NoticeOut(Schema):
    id = fields.Integer()
    title = fields.String()
    text = fields.String()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    institution = fields.Function(lambda n: n.filing.institution.name)
    scope = fields.Function(lambda n: n.filing.approved_scope)


class ObjectionIn(Schema):
    name = fields.String(load_default="")
    contact = fields.String(load_default="")
    content = fields.String(load_default="")


class ComplaintIn(Schema):
    """投诉举报 (Art. 19), from anyone: a filed institution by id, or only its name as typed."""
    jurisdiction_code = fields.String(load_default="")
    institution_id = fields.Integer(load_default=None, allow_none=True)
    institution_name = fields.String(load_default="")
    name = fields.String(load_default="")
    contact = fields.String(load_default="")
    content = fields.String(load_default="")


class ReceiptOut(Schema):
    receipt_number = fields.Function(lambda r: r.filing.receipt_number)
    filing_code = fields.Function(lambda r: r.institution.filing_code)
    institution = fields.Function(lambda r: r.institution.name)
    credit_code = fields.Function(lambda r: r.institution.credit_code)
    valid_from = fields.Function(lambda r: r.institution.valid_from.isoformat())
    valid_until = fields.Function(lambda r: r.institution.valid_until.isoformat())
    pilot_until = fields.Function(lambda r: r.institution.pilot_until.isoformat())
    scope = fields.Function(lambda r: ScopeOut(many=True).dump(r.scope))


class ClockIn(Schema):
    set = fields.DateTime(load_default=None)
    advance_days = fields.Integer(load_default=None)


class CalendarYearIn(Schema):
    text = fields.String(required=True)


class DeployIn(Schema):
    files = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class FilingOut(Schema):
    id = fields.Integer()
    status = fields.String()
    institution = fields.Function(lambda f: f.institution.name)
    credit_code = fields.Function(lambda f: f.institution.credit_code)
    jurisdiction_code = fields.String()
    requested_scope = fields.List(fields.Dict())
    approved_scope = fields.List(fields.Dict(), allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    filing_code = fields.String(allow_none=True)
    receipt_number = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)


class ObjectionOut(Schema):
    id = fields.Integer()
    notice_id = fields.Integer()
    name = fields.String()
    contact = fields.String()
    content = fields.String()
    created_at = fields.DateTime()
    status = fields.String()


class FilingDetailOut(Schema):
    filing = fields.Nested(FilingOut)
    instance_id = fields.Integer(allow_none=True)
    notices = fields.List(fields.Nested(lambda: NoticeBriefOut()))
    objections = fields.List(fields.Nested(ObjectionOut))


class NoticeBriefOut(Schema):
    id = fields.Integer()
    title = fields.String()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()


class OtherCityFilingIn(Schema):
    """A filing obtained in another city (Art. 7); checked by the use case, with Chinese messages."""
    city = fields.String(load_default="")
    filing_code = fields.String(load_default="")
    valid_until = fields.String(load_default="")  # YYYY-MM-DD
    attachment_id = fields.Raw(load_default=None, allow_none=True)


class OtherCityFilingOut(Schema):
    id = fields.Integer()
    institution_id = fields.Integer()
    city = fields.String()
    filing_code = fields.String()
    valid_until = fields.Date()
    attachment_id = fields.Integer(allow_none=True)
    recorded_at = fields.DateTime()


class IncidentOut(Schema):
    """An incident, for the city and the analysts: a timer that failed after its retries (kind
    "timer", id = the timer's, retried) or a step that failed on a submit (kind "step", resolved)."""
    id = fields.Integer()
    kind = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    process_name = fields.String()
    subject = fields.String()
    name = fields.String()
    title = fields.String()
    attempts = fields.Integer()
    last_error = fields.String()
    due_at = fields.DateTime(allow_none=True)
    occurred_at = fields.DateTime(allow_none=True)
    task_title = fields.String()
    actor_name = fields.String()
    state = fields.String()


class ScopeChangeStartedOut(Schema):
    scope_change_id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer()


class ScopeChangeOut(Schema):
    """变更 (Art. 7): a request to add or remove (occupation, level) pairs, as its row keeps it."""
    id = fields.Integer()
    institution_id = fields.Integer()
    institution = fields.Function(lambda c: c.institution.name)
    jurisdiction_code = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    scope_before = fields.List(fields.Dict())
    requested_scope = fields.List(fields.Dict())
    approved_scope = fields.List(fields.Dict(), allow_none=True)
    opinion = fields.String(allow_none=True)
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ScopeChangeDetailOut(Schema):
    scope_change = fields.Nested(ScopeChangeOut, attribute="change")
    instance_id = fields.Integer(allow_none=True)
    added = fields.List(fields.String())
    removed = fields.List(fields.String())
