"""Filing (备案, Art. 7–10): starting an application, the public notice and its objections,
the receipt and the public directory."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..domain.privacy import mask_contact, mask_name
from ..store.db import read_only
from ..store.models import (
    FILED_STATUSES,
    Attachment,
    Filing,
    HumanTask,
    Institution,
    Notice,
    Objection,
    ProcessInstance,
    ScopeItem,
    User,
)
from . import access, audit, instances
from .context import Context, unit_of_work
from .errors import Conflict, Forbidden, Invalid, NotFound

MAX_ATTACHMENT = 20 * 1024 * 1024
# Accepted types and the bytes their files start with: the browser's claim alone is not trusted.
ATTACHMENT_TYPES = {"application/pdf": b"%PDF", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": b"PK\x03\x04",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": b"PK\x03\x04"}


@dataclass
class Started:
    filing_id: int
    instance_id: int
    task_id: int


def start_filing(ctx: Context, user_id: int) -> Started:
    """An institution user opens an application; the first task is its own form (draft)."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "institution" or user.institution_id is None:
            raise Forbidden("只有评价机构用户可以申请备案")
        return open_filing(ctx, session, session.get(Institution, user.institution_id), user)


def open_filing(ctx: Context, session: Session, institution: Institution, actor: User | None,
                purpose: str = "initial", prefill: dict | None = None) -> Started:
    """A filing case for the institution: its own application (initial), or a renewal the
    scheduler opens before the three years end (Art. 7), prefilled from the filing in force."""
    open_filing = session.scalar(select(Filing).where(
        Filing.institution_id == institution.id, Filing.status.in_(("draft", "under_review", "correction", "notice"))))
    if open_filing is not None:
        raise Conflict(f"本机构已有一件办理中的备案申请（编号{open_filing.id}），请勿重复申请")
    filing = Filing(institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code, purpose=purpose)
    session.add(filing)
    session.flush()
    data = {**(prefill or {}), "filing_id": filing.id, "institution_id": institution.id, "purpose": purpose,
            "name": institution.name, "credit_code": institution.credit_code, "kind": institution.kind,
            "identity_fixed": institution.status != "draft",  # the form shows credit code and kind read-only
            "jurisdiction": institution.jurisdiction_code, "address": institution.address,
            "legal_representative": institution.legal_representative,
            "contact_name": institution.contact_name, "contact_phone": institution.contact_phone}
    what = "延续备案申请" if purpose == "renewal" else "备案申请"
    instance = instances.start(ctx, session, actor, "filing", data, business_key=f"filing:{filing.id}",
                               institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                               subject=f"{institution.name} {what}")
    audit.record(session, ctx.clock.now(), actor, "start", instance_id=instance.id,
                 institution_id=institution.id, data={"process": "filing", "filing_id": filing.id, "purpose": purpose})
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.state == "open"))
    return Started(filing.id, instance.id, task_id)


def upload_attachment(ctx: Context, user_id: int, filename: str, content_type: str, content: bytes) -> int:
    if not content:
        raise Invalid({"file": "文件为空"})
    if len(content) > MAX_ATTACHMENT:
        raise Invalid({"file": "文件超过20MB"})
    if content_type not in ATTACHMENT_TYPES:
        raise Invalid({"file": "只接受PDF、JPG、PNG、Word或Excel文件"})
    if not content.startswith(ATTACHMENT_TYPES[content_type]):
        raise Invalid({"file": "文件内容与文件类型不符，请上传原始文件"})
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        row = Attachment(owner_id=user.id, institution_id=user.institution_id, filename=filename[:200],
                         content_type=content_type, size=len(content),
                         sha256=hashlib.sha256(content).hexdigest(), content=content,
                         created_at=ctx.clock.now())
        session.add(row)
        session.flush()
        return row.id


def download_attachment(ctx: Context, user_id: int, attachment_id: int) -> tuple[Attachment, bytes]:
    """The uploader, its institution, and staff who may see that institution."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        row = session.get(Attachment, attachment_id)
        institution = session.get(Institution, row.institution_id) if row and row.institution_id else None
        if row is None or not (row.owner_id == user.id or (
                institution is not None and access.can_see_institution(user, institution))):
            raise NotFound("附件不存在")
        return row, row.content


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
        deliver_message(ctx, session, business_key, "objection", {"objection_id": objection.id})
        return objection.id


def deliver_message(ctx: Context, session: Session, business_key: str, message: str, payload: dict) -> bool:
    """Correlate by business key; an instance not waiting for it keeps the fact in its tables."""
    delivered = False
    for instance in session.scalars(select(ProcessInstance).where(
            ProcessInstance.business_key == business_key, ProcessInstance.status == "running")):
        loaded = instances.load(ctx, session, instance, None)
        if ctx.engine.deliver(loaded.workflow, message, payload):
            instances.save(ctx, session, instance, loaded)
            delivered = True
    return delivered


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
