"""Filing (备案, Art. 7–10), with bpmn/filing.bpmn: an institution's application, the county's and
the city's review, the public notice and its objections, the code and the receipt; and what the
public sees of it: the notices open for objections and the directory of filed institutions.

The receipt publishes `validity_started` and, for a first filing, `filing_filed`: the three years'
watch and the pilot start on them (bpmn/renewal.bpmn, bpmn/pilot.bpmn) without this module
knowing either."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..domain.eligibility import scope_facts
from ..domain.privacy import mask_contact, mask_name
from ..store.db import read_only
from ..store.models import (
    FILED_STATUSES,
    Filing,
    Institution,
    Notice,
    Objection,
    ProcessInstance,
    ScopeItem,
    User,
)
from ..usecases import access, audit, messages, notifications, register
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Conflict, Forbidden, Invalid, NotFound
from ..usecases.topics import Topic

PROCESS = "filing"
ENDS_WITH_THE_FILING = (PROCESS,)  # Art. 22: a revoked institution's renewal under review ends


def start_filing(ctx: Context, user_id: int) -> register.Started:
    """An institution user opens an application; the first task is its own form (draft)."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "institution" or user.institution_id is None:
            raise Forbidden("只有评价机构用户可以申请备案")
        return register.open_filing(ctx, session, session.get(Institution, user.institution_id), user)


def _open_now(now):
    # and its filing still in notice: an objection upheld during the notice ends it early
    return (Notice.opens_at <= now) & (Notice.closes_at > now) & Notice.filing.has(Filing.status == "notice")


def open_notices(ctx: Context, page: int = 1, per_page: int = 20) -> list[Notice]:
    """Notices in their public period, closing soonest first, a page at a time."""
    with unit_of_work(ctx) as session:
        read_only(session)
        return list(session.scalars(select(Notice).options(selectinload(Notice.filing)
                                                           .selectinload(Filing.institution))
                                    .where(_open_now(ctx.clock.now())).order_by(Notice.closes_at, Notice.id)
                                    .offset((page - 1) * per_page).limit(per_page)))


def open_notice_count(ctx: Context) -> int:
    with unit_of_work(ctx) as session:
        return read_only(session).scalar(select(func.count()).select_from(Notice).where(_open_now(ctx.clock.now())))


def submit_objection(ctx: Context, notice_id: int, name: str, contact: str, content: str) -> int:
    """Anyone may object while the notice is open (Art. 7); the filing's process is told."""
    errors = {}
    if not (name or "").strip():
        errors["name"] = "请填写姓名或单位"
    if not (contact or "").strip():
        errors["contact"] = "请填写联系方式，以便调查核实"
    if len((content or "").strip()) < 10:
        errors["content"] = "异议内容不少于10个字，请写明事实和理由"
    if errors:
        raise Invalid(errors)
    with unit_of_work(ctx) as session:
        notice = session.get(Notice, notice_id)
        now = ctx.clock.now()
        if notice is None or notice.opens_at > now:
            raise NotFound("公示不存在")
        if notice.closes_at <= now:
            raise Conflict("公示期已结束，不再受理异议")
        if notice.filing.status != "notice":
            raise Conflict("该备案申请已办结，公示已终止，不再受理异议")
        objection = Objection(notice_id=notice.id, name=name.strip(), contact=contact.strip(),
                              content=content.strip(), created_at=now)
        session.add(objection)
        session.flush()
        business_key = f"filing:{notice.filing_id}"
        # logged first, so it stands in the filing's own timeline before what the objection sets off
        audit.record(session, now, None, "objection", institution_id=notice.filing.institution_id,
                     instance_id=session.scalar(select(ProcessInstance.id).where(
                         ProcessInstance.business_key == business_key)),
                     data={"notice_id": notice.id, "objection_id": objection.id})
        messages.deliver(ctx, session, business_key, "objection", {"objection_id": objection.id})
        return objection.id


@dataclass
class ObjectionView:
    """An objection as one user may see it: who objected, masked unless they handle it."""
    id: int
    notice_id: int
    name: str
    contact: str
    content: str
    created_at: datetime
    status: str

    @classmethod
    def of(cls, row: Objection, personal: bool) -> ObjectionView:
        return cls(row.id, row.notice_id, row.name if personal else mask_name(row.name),
                   row.contact if personal else mask_contact(row.contact), row.content, row.created_at, row.status)


@dataclass
class FilingDetail:
    filing: Filing
    institution: Institution
    instance_id: int | None
    notices: list[Notice]
    objections: list[ObjectionView]


def _visible_filing(session: Session, user: User, filing_id: int) -> Filing:
    filing = session.get(Filing, filing_id)
    if filing is None or not access.can_see_institution(user, filing.institution):
        raise NotFound("备案申请不存在")
    return filing


def list_filings(ctx: Context, user_id: int, status: str = "", page: int = 1, per_page: int = 20) -> list[Filing]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(Filing).options(selectinload(Filing.institution)).where(
            access.scope_filter(user, Filing.institution_id, Filing.jurisdiction_code))
        if status:
            statement = statement.where(Filing.status == status)
        statement = statement.order_by(Filing.id.desc()).offset((page - 1) * per_page).limit(per_page)
        return list(session.scalars(statement))


def filing_detail(ctx: Context, user_id: int, filing_id: int) -> FilingDetail:
    """What a reviewer needs beside the form: the notice and every objection with its status."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        filing = _visible_filing(session, user, filing_id)
        notices = list(session.scalars(select(Notice).where(Notice.filing_id == filing.id).order_by(Notice.id)))
        objections = [] if user.role == "institution" else [ObjectionView.of(row, access.sees_personal_data(user))
                                                            for row in session.scalars(select(Objection).where(
                                                                Objection.notice_id.in_([n.id for n in notices]))
                                                                .order_by(Objection.id))]
        instance_id = session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.business_key == f"filing:{filing.id}"))
        return FilingDetail(filing, filing.institution, instance_id, notices, objections)


@dataclass
class Receipt:
    filing: Filing
    institution: Institution
    scope: list[ScopeItem]


def receipt(ctx: Context, user_id: int, filing_id: int) -> Receipt:
    with unit_of_work(ctx) as session:
        read_only(session)
        filing = _visible_filing(session, session.get(User, user_id), filing_id)
        if filing.status != "filed":
            raise NotFound("尚未出具备案回执")
        institution = filing.institution
        return Receipt(filing, institution, [s for s in institution.scope if s.is_active])


def directory(ctx: Context, q: str = "", occupation: str = "", jurisdiction: str = "", kind: str = "",
              page: int = 1, per_page: int = 50) -> list[Institution]:
    """The public directory: filed institutions only (never drafts, rejected or revoked)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        statement = select(Institution).options(selectinload(Institution.scope)).where(
            Institution.status.in_(FILED_STATUSES))
        if q:
            statement = statement.where(or_(Institution.name.contains(q), Institution.filing_code == q))
        if jurisdiction:
            statement = statement.where(Institution.jurisdiction_code == jurisdiction)
        if kind:
            statement = statement.where(Institution.kind == kind)
        if occupation:
            statement = statement.where(Institution.scope.any(
                (ScopeItem.is_active) & or_(ScopeItem.occupation_code == occupation,
                                            ScopeItem.occupation.has(name=occupation))))
        statement = statement.order_by(Institution.filing_code).offset((page - 1) * per_page).limit(per_page)
        return list(session.scalars(statement))


def directory_size(ctx: Context) -> int:
    with unit_of_work(ctx) as session:
        read_only(session)
        return session.scalar(select(func.count()).select_from(Institution).where(
            Institution.status.in_(FILED_STATUSES)))


# --- service topics of bpmn/filing.bpmn -----------------------------------------------------------

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
    filing.rejection_reason = inputs.get("reason") or None
    if filing.institution.status == "under_review":
        filing.institution.status = "draft"
    notifications.to_institution(ctx, session, filing.institution_id, notifications.Message(
        "备案申请未通过", f"理由：{filing.rejection_reason or '见办理记录'}", f"/filings/{filing.id}"))
    return {}


def open_notice(ctx, session, instance, actor, data, inputs):
    """Art. 7: the county publishes the filing for at least 5 working days (the model says how long)."""
    filing = _filing(session, data)
    closes_at = datetime.fromisoformat(inputs["closes_at"])
    scope = inputs.get("scope") or filing.requested_scope
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
    status = "upheld" if inputs.get("finding") == "upheld" else "dismissed"
    for objection in session.scalars(select(Objection).where(
            Objection.notice_id == int(data["notice_id"]), Objection.status == "open")):
        objection.status = status
    return {}


def issue_receipt(ctx, session, instance, actor, data, inputs):
    """Art. 7: 赋码, 备案回执, reported to the provincial centre. The model says what is filed
    (input `scope`) and for how long (`valid_from`, `valid_until`; a first filing also `pilot_until`,
    the one-year pilot): the dates are computed there, once, and only written here."""
    filing = _filing(session, data)
    institution = filing.institution
    renewal = filing.purpose == "renewal"
    if institution.filing_code is None:
        institution.filing_code = register.next_filing_code(session, ctx.bureau, institution.kind)
    filing.filing_code = institution.filing_code
    filing.receipt_number = register.next_receipt_number(session, ctx.bureau, ctx.today().year)
    filing.status, filing.decided_at = "filed", ctx.clock.now()
    institution.valid_from = _date(inputs["valid_from"])
    institution.valid_until = _date(inputs["valid_until"])
    if renewal:
        if institution.status in ("filed_pilot", "expired"):
            institution.status = "filed"
    else:
        institution.status = "filed_pilot"
        institution.pilot_until = _date(inputs["pilot_until"])
    wanted = register.pairs(inputs["scope"] or filing.requested_scope)
    if renewal:  # a scope change approved while the renewal was under review stays
        added, removed = register.changed_since(session, institution.id, instance.started_at)
        wanted = (wanted | added) - removed
    register.set_scope(institution, wanted)
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "备案成功", f"备案编码{institution.filing_code}，有效期至{institution.valid_until:%Y-%m-%d}，可打印备案回执",
        f"/filings/{filing.id}/receipt"))
    audit.record(session, ctx.clock.now(), None, "reported_to_province", instance_id=instance.id,
                 institution_id=institution.id, data={"filing_code": institution.filing_code})
    # Art. 7: three years of validity start (bpmn/renewal.bpmn watches them), and with a first
    # filing the one-year pilot at the registered location (bpmn/pilot.bpmn)
    facts = {"institution_id": institution.id, "filing_id": filing.id, "name": institution.name,
             "credit_code": institution.credit_code, "kind": institution.kind,
             "jurisdiction": institution.jurisdiction_code, "filing_code": institution.filing_code,
             "filing_date": institution.valid_from.isoformat(), "valid_until": institution.valid_until.isoformat()}
    messages.publish(ctx, session, "validity_started", institution, facts, source=instance)
    if not renewal:
        messages.publish(ctx, session, "filing_filed", institution,
                         {**facts, "pilot_until": institution.pilot_until.isoformat()}, source=instance)
    return {"filing_code": institution.filing_code, "receipt_number": filing.receipt_number,
            "valid_until": institution.valid_until.isoformat()}


def _date(value) -> date:
    return value if isinstance(value, date) else datetime.fromisoformat(str(value)).date()


TOPICS = {
    "record_application": Topic.of(record_application),
    "return_for_correction": Topic.of(return_for_correction, ("unmet", "opinion")),
    "reject_filing": Topic.of(reject_filing, ("reason",)),
    "open_notice": Topic.of(open_notice, ("closes_at", "scope")),
    "count_objections": Topic.of(count_objections),
    "resolve_objections": Topic.of(resolve_objections, ("finding",)),
    "issue_receipt": Topic.of(issue_receipt, ("scope", "valid_from", "valid_until", "pilot_until")),
}
