"""What the external service tasks of the models do: they write business facts to tables.

A BPMN service task names a topic (`camunda:topic`); the handler of that topic gets the
task data and the task's input parameters and returns what to merge into the data.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import calendar as cal
from ..domain.codes import format_filing_code
from ..domain.eligibility import scope_facts
from ..store.models import (
    COMPLAINT_FINDINGS,
    Complaint,
    Filing,
    Institution,
    Notice,
    Objection,
    ProcessInstance,
    ScopeItem,
    Setting,
    User,
)
from . import audit, notifications, pilot, renewal, scope_change
from .context import Context
from .errors import Invalid


def services(ctx: Context, session: Session, instance: ProcessInstance, actor: User | None):
    def call(topic, data, inputs):
        return TOPICS[topic](ctx, session, instance, actor, dict(data), dict(inputs))
    return call


def _filing(session: Session, data) -> Filing:
    return session.get(Filing, int(data["filing_id"]))


# Art. 7: a filing is of one subject. Its kind decides the rules and the quota, its credit code who
# it is: once filed (or under review) neither changes with an application.
IDENTITY_FIXED = "统一社会信用代码和机构类型在备案后不能更改；如需变更，请以新主体重新申请备案"
IDENTITY = ("name", "credit_code", "kind")


def record_application(ctx, session, instance, actor, data, inputs):
    """Art. 7, 10: the application reaches the county; its facts feed the eligibility tables."""
    filing = _filing(session, data)
    institution = filing.institution
    form = ctx.definitions(session, instance.definition_id).forms["filing_application"]
    _check_identity(session, institution, data)
    changes = {name: {"title": form["properties"].get(name, {}).get("title", name),
                      "before": _titled(form, name, getattr(institution, name)),
                      "after": _titled(form, name, data[name])}
               for name in IDENTITY if data.get(name) is not None and data[name] != getattr(institution, name)}
    for name in (*IDENTITY, "address", "legal_representative", "contact_name", "contact_phone"):
        if data.get(name) is not None:
            setattr(institution, name, data[name])
    if changes:  # a recorded change, with the values before and after, never a silent side effect
        audit.record(session, ctx.clock.now(), actor, "institution_changed", instance_id=instance.id,
                     institution_id=institution.id, data={"changes": changes})
    scope = data.get("scope") or []
    filing.requested_scope = [{"occupation_code": s["occupation_code"], "level": s["level"]} for s in scope]
    filing.application = {k: v for k, v in data.items() if k in form["properties"]}  # a renewal starts from it
    filing.status, filing.submitted_at = "under_review", ctx.clock.now()
    if institution.status == "draft":
        institution.status = "under_review"
    # the same derived facts as a scope change's (Art. 5, 8.4, 9.4, 12)
    return {**scope_facts(institution.kind, scope, data.get("highest_level_by_education")), "identity_fixed": True}


def _check_identity(session: Session, institution: Institution, data) -> None:
    """Refused at the field, the submit rolled back: a filed (or reviewed) institution's kind and
    credit code as they are; a draft's corrected credit code not one another institution holds."""
    errors = {}
    if institution.status != "draft":
        errors = {name: IDENTITY_FIXED for name in ("credit_code", "kind")
                  if data.get(name) is not None and data[name] != getattr(institution, name)}
    elif data.get("credit_code") not in (None, institution.credit_code) and session.scalar(
            select(Institution.id).where(Institution.credit_code == data["credit_code"],
                                         Institution.id != institution.id)) is not None:
        errors["credit_code"] = "该统一社会信用代码已由另一家机构登记，请核对本机构营业执照或登记证书上的代码"
    if errors:
        raise Invalid(errors)


def _titled(form: dict, name: str, value):
    """A value as the form names it (机构类型 社会培训评价组织, not social_org)."""
    prop = form["properties"].get(name, {})
    if value in prop.get("enum", []):
        titles = prop.get("x-enum-titles", prop["enum"])
        index = prop["enum"].index(value)
        return titles[index] if index < len(titles) else value
    return value


def return_for_correction(ctx, session, instance, actor, data, inputs):
    """Art. 7–9, 12: the application is back with the institution (待补正) with everything it
    typed; it is told why: each unmet condition with its article (input `unmet`, from the
    eligibility tables) or the county's reasons (input `opinion`)."""
    filing = _filing(session, data)
    filing.status = "correction"
    institution = filing.institution
    if institution.status == "under_review":  # a first application: back with the institution, not under review
        institution.status = "draft"
    unmet = [str(condition) for condition in inputs.get("unmet") or []]
    what = "延续备案申请" if filing.purpose == "renewal" else "备案申请"
    if unmet:
        message = notifications.Message(
            f"{what}待补正：未满足备案条件",
            "未满足的备案条件：" + "；".join(f"{n}. {u}" for n, u in enumerate(unmet, start=1))
            + "。请对照修改后重新提交，已填写的内容均已保留。", f"/cases/{instance.id}")
    else:
        reasons = (inputs.get("opinion") or "").strip() or "见办理记录"
        message = notifications.Message(f"{what}待补正：县区初审退回",
                                        f"退回理由：{reasons}。请补正后重新提交，已填写的内容均已保留。",
                                        f"/cases/{instance.id}")
    notifications.to_institution(ctx, session, institution.id, message)
    notifications.told(session, instance.id, "institution")  # this says more than "待您办理"
    return {"identity_fixed": institution.status != "draft"}


def reject_filing(ctx, session, instance, actor, data, inputs):
    filing = _filing(session, data)
    filing.status, filing.decided_at = "rejected", ctx.clock.now()
    filing.rejection_reason = data.get("opinion")
    if filing.institution.status == "under_review":
        filing.institution.status = "draft"
    notifications.to_institution(ctx, session, filing.institution_id, notifications.Message(
        "备案申请未通过", f"理由：{filing.rejection_reason or '见办理记录'}", f"/filings/{filing.id}"))
    return {}


def open_notice(ctx, session, instance, actor, data, inputs):
    """Art. 7: the county publishes the filing for at least 5 working days (the model says how long)."""
    filing = _filing(session, data)
    closes_at = datetime.fromisoformat(inputs["closes_at"])
    scope = data.get("approved_scope") or filing.requested_scope
    filing.approved_scope = [{"occupation_code": s["occupation_code"], "level": s["level"]} for s in scope]
    filing.status, filing.notice_closes_at = "notice", closes_at
    notice = Notice(filing_id=filing.id, jurisdiction_code=filing.jurisdiction_code,
                    title=f"{filing.institution.name} 职业技能等级认定备案公示",
                    text=data.get("notice_text") or "", opens_at=ctx.clock.now(), closes_at=closes_at)
    session.add(notice)
    session.flush()
    return {"notice_id": notice.id, "notice_closes_at": closes_at.isoformat()}


# Read once per transaction, not once per notice: a scheduler pass closes a thousand notices in
# batches of a hundred, and a round trip each cost more than the rest of the step. Few
# objections are ever open, and none can arrive for a closing notice (Art. 7: only while open).
OPEN_BY_NOTICE = (select(Objection.notice_id, func.count()).where(Objection.status == "open")
                  .group_by(Objection.notice_id))
COUNTED = "open_objections_by_notice"


def count_objections(ctx, session, instance, actor, data, inputs):
    counted = session.info.get(COUNTED)
    if counted is None:
        counted = session.info[COUNTED] = dict(session.execute(OPEN_BY_NOTICE).all())
    return {"open_objections": counted.get(int(data["notice_id"]), 0)}


def resolve_objections(ctx, session, instance, actor, data, inputs):
    """The county's finding applies to every objection open when it investigated."""
    session.info.pop(COUNTED, None)  # the counts read above no longer hold
    status = "upheld" if data.get("finding") == "upheld" else "dismissed"
    for objection in session.scalars(select(Objection).where(
            Objection.notice_id == int(data["notice_id"]), Objection.status == "open")):
        objection.status = status
    return {}


def issue_receipt(ctx, session, instance, actor, data, inputs):
    """Art. 7: 赋码, 备案回执, reported to the provincial centre; valid three years, one-year pilot."""
    filing = _filing(session, data)
    institution = filing.institution
    today = ctx.today()
    if institution.filing_code is None:
        institution.filing_code = format_filing_code(institution.kind, next_filing_serial(session, institution.kind))
    filing.filing_code = institution.filing_code
    filing.receipt_number = next_receipt_number(session, today.year)
    filing.status, filing.decided_at = "filed", ctx.clock.now()
    if filing.purpose == "renewal":
        renewal.renew(ctx, session, institution)
    else:
        institution.status = "filed_pilot"
        institution.valid_from = today
        institution.valid_until = cal.add_days(cal.add_years(today, 3), -1)
        institution.pilot_until = cal.add_days(cal.add_years(today, 1), -1)
    wanted = {(s["occupation_code"], s["level"]) for s in filing.approved_scope or filing.requested_scope}
    if filing.purpose == "renewal":
        added, removed = scope_change.changed_since(session, institution.id, instance.started_at)
        wanted = (wanted | added) - removed
    existing = {(s.occupation_code, s.level): s for s in institution.scope}
    for key, item in existing.items():
        item.is_active = key in wanted
    for code, level in wanted - set(existing):
        institution.scope.append(ScopeItem(occupation_code=code, level=level, is_active=True))
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "备案成功", f"备案编码{institution.filing_code}，有效期至{institution.valid_until:%Y-%m-%d}，可打印备案回执",
        f"/filings/{filing.id}/receipt"))
    audit.record(session, ctx.clock.now(), None, "reported_to_province", instance_id=instance.id,
                 institution_id=institution.id, data={"filing_code": institution.filing_code})
    if filing.purpose != "renewal":
        pilot.start_pilot(ctx, session, institution, filing)  # Art. 7: the one-year pilot starts with the filing
        renewal.watch(ctx, session, institution)  # and the three years run
    return {"filing_code": institution.filing_code, "receipt_number": filing.receipt_number,
            "valid_until": institution.valid_until.isoformat()}


def next_filing_serial(session: Session, kind: str) -> int:
    """Serials per code letter, so two approvals never share a code."""
    from ..domain.codes import FILING_CODE_LETTER
    return _next_in_sequence(session, f"filing_code_serial_{FILING_CODE_LETTER[kind]}")


def next_receipt_number(session: Session, year: int) -> str:
    """备案回执编号 CZBA<year><serial>: one sequence per year for every receipt, the system's own
    and those of filings recorded from before it (seed), so no two receipts can share a number."""
    return f"CZBA{year}{_next_in_sequence(session, f'receipt_serial_{year}'):06d}"


def _next_in_sequence(session: Session, key: str) -> int:
    """The counter row is locked until the transaction ends: concurrent approvals queue for it."""
    setting = session.execute(select(Setting).where(Setting.key == key).with_for_update()).scalar()
    if setting is None:
        setting = Setting(key=key, value="0")
        session.add(setting)
    setting.value = str(int(setting.value) + 1)
    session.flush()
    return int(setting.value)


def close_complaint(ctx, session, instance, actor, data, inputs):
    """Art. 19: the county's finding closes the complaint. Measures are only recorded here; proposing
    and deciding them (Art. 20) belongs to the supervision process."""
    finding = inputs.get("finding")
    if finding not in COMPLAINT_FINDINGS:  # a changed form must not silently close it either way
        raise ValueError(f"close_complaint: finding must be one of {COMPLAINT_FINDINGS}, got {finding!r}")
    complaint = session.get(Complaint, int(data["complaint_id"]))
    complaint.status, complaint.closed_at = finding, ctx.clock.now()
    complaint.finding = inputs.get("opinion")
    complaint.measures = data.get("measures") or None
    return {"complaint_status": finding}


TOPICS = {
    "record_application": record_application,
    "return_for_correction": return_for_correction,
    "reject_filing": reject_filing,
    "open_notice": open_notice,
    "count_objections": count_objections,
    "resolve_objections": resolve_objections,
    "issue_receipt": issue_receipt,
    "close_complaint": close_complaint,
    "open_renewal": renewal.open_renewal,
    "expire_filing": renewal.expire_filing,
    **pilot.TOPICS,  # pilot_facts, pilot_passed, end_filing, record_province_review (bpmn/pilot.bpmn)
    **scope_change.TOPICS,  # record_scope_change, apply_scope_change, reject_scope_change (bpmn/scope_change.bpmn)
}


