"""Marshmallow schemas: the shape of the JSON API, and the source of its OpenAPI document.

Input lengths are the columns' (service/store/models.py), so nothing typed reaches the database
only to be refused there; the pages reuse these schemas for their forms."""
from __future__ import annotations

from datetime import timedelta, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..edge import MAX_ID, MAX_PAGE

CST = timezone(timedelta(hours=8))  # times with a zone are taken in China Standard Time, the service's only zone


def at_most(n: int) -> validate.Length:
    return validate.Length(max=n, error=f"不超过{n}个字")


def between(low: int, high: int) -> validate.Range:
    return validate.Range(min=low, max=high, error=f"应为{low}至{high}之间的整数")


def one_of(*choices: str) -> validate.OneOf:
    return validate.OneOf(choices, error=f"应为以下之一：{'、'.join(choices)}")


def an_id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=between(1, MAX_ID), **kwargs)


def _an_id_or_blank(value) -> bool:
    if value in (None, "") or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID) or (
            isinstance(value, str) and value.isdecimal() and 1 <= int(value) <= MAX_ID):
        return True
    raise ValidationError("应为附件编号（正整数）或留空")


class CstDateTime(fields.NaiveDateTime):
    """A date and time in China Standard Time; one given with another zone is converted, one the
    calendar cannot hold (year 10000 after conversion) is refused like any malformed value."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except OverflowError:
            raise self.make_error("invalid", input=value, obj_type="datetime") from None


def a_page() -> fields.Integer:
    return fields.Integer(load_default=1, validate=between(1, MAX_PAGE), metadata={"description": "页码，从1起"})


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=50, error="用户名应为1至50个字"))
    password = fields.String(required=True, load_only=True, validate=at_most(1024))


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    jurisdiction_code = fields.String(allow_none=True)
    institution_id = fields.Integer(allow_none=True)


class InboxQueryIn(Schema):
    process = fields.String(load_default=None, validate=at_most(50))
    step = fields.String(load_default=None, validate=at_most(50))
    jurisdiction = fields.String(load_default=None, validate=at_most(12))
    due = fields.String(load_default=None, validate=one_of("soon", "overdue"))
    sort = fields.String(load_default="created", validate=one_of("created", "due"))
    state = fields.String(load_default="open", validate=one_of("open", "completed", "cancelled"))
    due_before = CstDateTime(load_default=None, timezone=CST)
    mine = fields.Boolean(load_default=False)
    page = a_page()
    per_page = fields.Integer(load_default=20, validate=between(1, 100))


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


class TransferIn(Schema):
    to_user = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UrgeIn(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=200))


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
    stars = fields.Integer(allow_none=True, metadata={"description": "年度评估星级（第二十一条），1–5"})
    stars_year = fields.Integer(allow_none=True)
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
    name = fields.String(load_default="", validate=at_most(50))
    contact = fields.String(load_default="", validate=at_most(100))
    content = fields.String(load_default="", validate=at_most(5000))


class ComplaintIn(Schema):
    """投诉举报 (Art. 19), from anyone: a filed institution by id, or only its name as typed."""
    jurisdiction_code = fields.String(load_default="", validate=at_most(12))
    institution_id = an_id(load_default=None, allow_none=True)
    institution_name = fields.String(load_default="", validate=at_most(100))
    name = fields.String(load_default="", validate=at_most(50))
    contact = fields.String(load_default="", validate=at_most(100))
    content = fields.String(load_default="", validate=at_most(5000))


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
    set = CstDateTime(load_default=None, timezone=CST)
    # bounded by the use case, after it has checked who asks
    advance_days = fields.Integer(load_default=None, allow_none=True)


class CalendarYearIn(Schema):
    text = fields.String(required=True, validate=at_most(20000))


class DeployIn(Schema):
    files = fields.Dict(keys=fields.String(validate=at_most(200)), values=fields.String(), required=True)


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
    city = fields.String(load_default="", validate=at_most(50))
    filing_code = fields.String(load_default="", validate=at_most(50))
    valid_until = fields.String(load_default="", validate=at_most(10))  # YYYY-MM-DD
    attachment_id = fields.Raw(load_default=None, allow_none=True, validate=_an_id_or_blank,
                               metadata={"oneOf": [{"type": "integer"}, {"type": "string"}],
                                         "nullable": True})


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



# Query strings of the list endpoints. Other parameters (a client's cache buster) are ignored.
class PageQueryIn(Schema):
    class Meta:
        unknown = EXCLUDE

    page = a_page()


class StatusQueryIn(PageQueryIn):
    status = fields.String(load_default="", validate=at_most(20), metadata={"description": "按状态筛选"})


class DirectoryQueryIn(PageQueryIn):
    q = fields.String(load_default="", validate=at_most(200), metadata={"description": "机构名称或备案编号"})
    occupation = fields.String(load_default="", validate=at_most(100), metadata={"description": "职业编码或名称"})
    jurisdiction = fields.String(load_default="", validate=at_most(12))
    kind = fields.String(load_default="", validate=at_most(20))


class ListQueryIn(PageQueryIn):
    q = fields.String(load_default="", validate=at_most(100),
                      metadata={"description": "机构名称、统一社会信用代码、备案编码或案件编号"})
    process = fields.String(load_default="", validate=at_most(50))
    step = fields.String(load_default="", validate=at_most(50))
    status = fields.String(load_default="", validate=validate.OneOf(["", "running", "completed", "ended", "error"]))
    date_from = fields.Date(load_default=None, data_key="from")
    date_to = fields.Date(load_default=None, data_key="to")
    due = fields.String(load_default="overdue", validate=validate.OneOf(["overdue", "soon"]))


class ListOut(Schema):
    items = fields.List(fields.Dict())
    total = fields.Integer()
    page = fields.Integer()


class CopyIn(Schema):
    to_users = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)), required=True,
                           validate=validate.Length(min=1, max=50))
    note = fields.String(load_default="", validate=validate.Length(max=200))


class DelegationIn(Schema):
    to_user = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DefinitionsQueryIn(Schema):
    class Meta:
        unknown = EXCLUDE

    files = fields.String(load_default="", validate=at_most(10),
                          metadata={"description": "latest: 最新版本附带全部文件"})


# Answers that are not a row of their own.
class CompletedOut(Schema):
    task = fields.Nested(TaskOut)


class LoginOut(Schema):
    user = fields.Nested(UserOut)
    csrf_token = fields.String()


class OkOut(Schema):
    ok = fields.Boolean()


class IdOut(Schema):
    id = fields.Integer()


class ClockOut(Schema):
    now = fields.DateTime()


class DeployedOut(Schema):
    version_id = fields.Integer()
    is_new = fields.Boolean()


class DefinitionVersionOut(Schema):
    id = fields.Integer()
    hash = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()
    files = fields.Dict(keys=fields.String(), values=fields.String())


class ScheduledStartOut(Schema):
    occurrence = fields.DateTime()
    instance_id = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class ScheduleOut(Schema):
    process_id = fields.String()
    process_name = fields.String()
    expression = fields.String(metadata={"description": "timeCycle: ISO 8601 R/start/period or a 5-field cron"})
    next_at = fields.DateTime(allow_none=True)
    recent = fields.List(fields.Nested(ScheduledStartOut))


class ErrorOut(Schema):
    """Every refusal: a Chinese message; per field when the input was wrong; a reference to quote when it failed."""
    message = fields.String()
    errors = fields.Dict()
    reference = fields.String()


# --- batches (Art. 15) ------------------------------------------------------------------------------

class BatchStartedOut(Schema):
    batch_id = fields.Integer()
    instance_id = fields.Integer()
    task_id = fields.Integer()


class BatchOut(Schema):
    """评价批次: its plan as filed and where it stands."""
    id = fields.Integer()
    institution_id = fields.Integer()
    institution = fields.Function(lambda b: b.institution.name)
    jurisdiction_code = fields.String()
    status = fields.String()
    title = fields.String()
    place = fields.String()
    first_exam_day = fields.Date(allow_none=True)
    last_exam_day = fields.Date(allow_none=True)
    plan = fields.Dict()
    route = fields.String(allow_none=True)
    candidate_count = fields.Integer()
    opinion = fields.String(allow_none=True)
    notice_closes_at = fields.DateTime(allow_none=True)
    results_due_on = fields.Date(allow_none=True)
    results_filed_at = fields.DateTime(allow_none=True)
    results_late = fields.Boolean()
    certified_on = fields.Date(allow_none=True)


class CandidateOut(Schema):
    row = fields.Integer(metadata={"description": "导入表中的行号"})
    name = fields.String()
    id_number = fields.String()
    phone = fields.String()
    occupation_code = fields.String()
    level = fields.String()
    basis = fields.String()
    category = fields.String(allow_none=True)
    commissioned_by = fields.String(allow_none=True)
    scores = fields.Dict(allow_none=True)
    passed = fields.Boolean(allow_none=True)


class BatchDetailOut(Schema):
    batch = fields.Nested(BatchOut)
    instance_id = fields.Integer(allow_none=True)
    candidates = fields.List(fields.Nested(CandidateOut))
    matching = fields.Integer(metadata={"description": "符合搜索条件的人数"})
    page = fields.Integer()
    pairs = fields.List(fields.String())
    passed = fields.Integer()
    certificates = fields.Integer()


class SearchQueryIn(PageQueryIn):
    q = fields.String(load_default="", validate=at_most(50), metadata={"description": "姓名或身份证号码"})


class ImportedOut(Schema):
    imported = fields.Integer()


class AssessorsImportedOut(Schema):
    added = fields.Integer()
    updated = fields.Integer()


class AssessorOut(Schema):
    name = fields.String()
    id_number = fields.String()
    certificate_number = fields.String()
    occupation_code = fields.String()
    level = fields.String()
    valid_until = fields.Date()
    dishonest = fields.Boolean()


class CertificateQueryIn(Schema):
    class Meta:
        unknown = EXCLUDE

    number = fields.String(required=True, validate=at_most(22), metadata={"description": "22位证书编号"})
    name = fields.String(required=True, validate=at_most(50), metadata={"description": "持证人姓名"})


class CertificateOut(Schema):
    number = fields.String()
    name = fields.String()
    occupation = fields.String()
    level = fields.String()
    issued_on = fields.Date()
    institution = fields.String()


class ArchiveItemOut(Schema):
    id = fields.Integer()
    medium = fields.String(metadata={"description": "paper 纸质原件 | electronic 电子文档 | video 影像资料"})
    filename = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "纸质原件的存放位置"})
    uploaded_at = fields.DateTime()
    retain_until = fields.Date()


class ChecklistLineOut(Schema):
    """One line of the Art. 16 archive checklist."""
    item = fields.String()
    name = fields.String()
    kept_as = fields.String()
    complete = fields.Boolean()
    documents = fields.List(fields.Nested(ArchiveItemOut))


class InspectorIn(Schema):
    inspector_id = fields.Integer(required=True, validate=between(1, 2**31 - 1))


class InspectionOut(Schema):
    """督查 (Art. 15.2, 17): who inspected a batch and what they found."""
    id = fields.Integer()
    inspector = fields.Function(lambda i: i.inspector.display_name)
    assigned_at = fields.DateTime()
    status = fields.String(metadata={"description": "assigned 督查中 | recorded 已记录"})
    results = fields.Dict(metadata={"description": "检查项 -> ok 符合 | problem 发现问题 | na 未检查"})
    findings = fields.String(allow_none=True)
    problems = fields.Integer()
    handed_over = fields.Boolean()


class ScoreEntriesIn(Schema):
    scores = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^\d{1,6}$", error="应为行号")),
                         values=fields.Dict(keys=fields.String(validate=at_most(20)),
                                            values=fields.Raw()),
                         required=True, validate=validate.Length(min=1, max=1000, error="一次录入1至1000人"))


class SupervisionCaseIn(Schema):
    """监督检查立案 (Art. 19): staff open a case on a filed institution of their jurisdiction."""
    institution_id = an_id(load_default=None, allow_none=True)
    source = fields.String(load_default="", validate=at_most(20),
                           metadata={"description": "media 媒体曝光 | data_check 数据比对 | staff 日常督导"})
    facts = fields.String(load_default="", validate=at_most(5000))
    evidence = fields.List(fields.String(validate=at_most(12)), load_default=list, validate=validate.Length(max=10))


class SupervisionCaseOut(Schema):
    id = fields.Integer()
    institution_id = fields.Integer()
    institution = fields.Function(lambda c: c.institution.name)
    source = fields.String(metadata={"description": "complaint | media | inspection | spot_check | data_check | staff"})
    status = fields.String(metadata={"description": "investigating | no_violation | proposed | decided | closed"})
    violation = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    instance_id = fields.Integer(allow_none=True)


class MeasureOut(Schema):
    """A measure the city decided (Art. 20), on the institution's record."""
    id = fields.Integer()
    case_id = fields.Integer()
    institution = fields.Function(lambda m: m.institution.name)
    kind = fields.String(metadata={"description": "interview | criticism | rectification | suspension | removal"})
    matter = fields.String()
    opinion = fields.String()
    status = fields.String(metadata={"description": "in_effect | done | escalated | lifted | handed_over"})
    decided_at = fields.DateTime()
    effective_from = fields.Date()
    ended_on = fields.Date(allow_none=True)
    deadline = fields.Date(allow_none=True)


class PublicMeasureOut(Schema):
    """一公开 (Art. 21): what the public sees of a criticism or a suspension."""
    institution = fields.Function(lambda m: m.institution.name)
    kind = fields.String()
    matter = fields.String()
    decided_at = fields.Function(lambda m: m.decided_at.date().isoformat())
    effective_from = fields.Date()
    ended_on = fields.Date(allow_none=True)


class SpotCheckDrawIn(Schema):
    """双随机 (Art. 21): a number or a rate, optionally a kind or an occupation; the seed if given."""
    title = fields.String(load_default="", validate=at_most(200))
    count = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100_000))
    rate = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100))
    kind = fields.String(load_default=None, allow_none=True, validate=at_most(20))
    occupation_code = fields.String(load_default=None, allow_none=True, validate=at_most(20))
    exclude_own = fields.Boolean(load_default=True)
    seed = fields.String(load_default=None, allow_none=True, validate=at_most(64))


class SpotCheckOut(Schema):
    institution = fields.Function(lambda c: c.institution.name)
    status = fields.String(metadata={"description": "assigned 检查中 | recorded 已检查"})
    problems = fields.Integer()
    handed_over = fields.Boolean()


class SpotCheckPlanOut(Schema):
    """一公开: the plan, what it was drawn from, and whether drawing again gives the same."""
    id = fields.Function(lambda v: v.plan.id)
    title = fields.Function(lambda v: v.plan.title)
    seed = fields.Function(lambda v: v.plan.seed)
    population = fields.Function(lambda v: v.plan.population)
    pool = fields.Function(lambda v: v.plan.pool)
    pairs = fields.Function(lambda v: v.plan.pairs)
    exclude_own = fields.Function(lambda v: v.plan.exclude_own)
    drawn_at = fields.Function(lambda v: v.plan.drawn_at.isoformat())
    reproduced = fields.Boolean()
    checks = fields.Function(lambda v: SpotCheckOut(many=True).dump(v.checks))


class RevocationCaseIn(Schema):
    """取消备案 (Art. 22.3, .4, .5, .8): staff propose on a ground with the facts and evidence."""
    institution_id = an_id(load_default=None, allow_none=True)
    ground = fields.String(load_default="", validate=at_most(30), metadata={
        "description": "legal_person_terminated | false_materials | facilities_unfit | other"})
    facts = fields.String(load_default="", validate=at_most(5000))
    evidence = fields.List(fields.String(validate=at_most(12)), load_default=list, validate=validate.Length(max=10))


class WithdrawalIn(Schema):
    """自愿退出 (Art. 22.1): the institution's reason."""
    reason = fields.String(load_default="", validate=at_most(5000))


class RevocationCaseOut(Schema):
    id = fields.Integer()
    institution_id = fields.Integer()
    institution = fields.Function(lambda c: c.institution.name)
    ground = fields.String()
    source = fields.String()
    status = fields.String(metadata={"description": "open | dismissed | not_revoked | revoked"})
    opened_at = fields.DateTime()
    instance_id = fields.Integer(allow_none=True)


class RatingOut(Schema):
    """年度评估 (Art. 21): one institution's rating for a year and round."""
    institution_id = fields.Integer()
    institution = fields.Function(lambda r: r.institution.name)
    year = fields.Integer()
    round = fields.Integer(metadata={"description": "1 年度评估 | 2 整改后复评"})
    total = fields.String(allow_none=True)
    stars = fields.Integer(allow_none=True)
    suggested_stars = fields.Integer(allow_none=True)
    indicators = fields.Dict()
    confirmed_at = fields.DateTime(allow_none=True)
