"""What people see of batches: lists, the batch page, the exchanged Excel tables, and for the
public the results in notice and the certificate lookup."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from ... import sheets
from ...domain import batches as rules
from ...domain.levels import LEVELS
from ...domain.privacy import mask_contact, mask_name
from ...store.db import read_only
from ...store.models import Batch, Candidate, Certificate, HumanTask, Institution, Occupation, ProcessInstance, User
from ...usecases import access, register
from ...usecases.context import Context, unit_of_work
from ...usecases.errors import NotFound
from .candidates import ABSENT, CANDIDATE_COLUMNS
from .common import business_key, pairs_of, visible

# --- seeing batches -----------------------------------------------------------------------------


def list_batches(ctx: Context, user_id: int, status: str = "", page: int = 1, per_page: int = 20) -> list[Batch]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(Batch).where(access.scope_filter(user, Batch.institution_id, Batch.jurisdiction_code))
        if status:
            statement = statement.where(Batch.status == status)
        batches = list(session.scalars(statement.order_by(Batch.id.desc()).offset((page - 1) * per_page)
                                       .limit(per_page)))
        for batch in batches:
            batch.institution  # noqa: B018 — loaded for the list, which is read after the session closes
        return batches


@dataclass
class CandidateView:
    """A candidate as one user may see them: ID number and phone masked unless they handle the batch."""
    row: int
    name: str
    id_number: str
    phone: str
    occupation_code: str
    level: str
    basis: str
    category: str | None
    commissioned_by: str | None
    scores: dict | None
    passed: bool | None

    @classmethod
    def of(cls, c: Candidate, personal: bool) -> CandidateView:
        return cls(c.row, c.name, c.id_number if personal else mask_contact(c.id_number),
                   c.phone if personal else mask_contact(c.phone), c.occupation_code, c.level, c.basis, c.category,
                   c.commissioned_by, c.scores, c.passed)


@dataclass
class BatchDetail:
    batch: Batch
    institution: Institution
    instance_id: int | None
    tasks: list[HumanTask]  # the batch's open tasks this user may act on
    candidates: list[CandidateView]
    matching: int  # candidates matching the search
    page: int
    per_page: int
    pairs: list[str]  # the batch's occupations and levels, described
    passed: int
    certificates: int


def batch_detail(ctx: Context, user_id: int, batch_id: int, query: str = "", page: int = 1,
                 per_page: int = 50) -> BatchDetail:
    """A batch with a page of its candidates, searchable by name or ID number."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        batch = visible(session, user, batch_id)
        statement = select(Candidate).where(Candidate.batch_id == batch.id)
        if query.strip():
            like = f"%{query.strip()}%"
            statement = statement.where(or_(Candidate.name.like(like), Candidate.id_number.like(like)))
        matching = session.scalar(select(func.count()).select_from(statement.subquery()))
        personal = access.sees_personal_data(user) or user.institution_id == batch.institution_id
        rows = [CandidateView.of(c, personal) for c in session.scalars(
            statement.order_by(Candidate.row, Candidate.id).offset((max(page, 1) - 1) * per_page).limit(per_page))]
        pairs = pairs_of(session, batch.id)
        passed = session.scalar(select(func.count()).where(Candidate.batch_id == batch.id, Candidate.passed))
        issued = session.scalar(select(func.count()).where(Certificate.batch_id == batch.id))
        instance_id = session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.business_key == business_key(batch.id)))
        tasks = [t for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                     HumanTask.state == "open"))
                 if access.can_see_task(user, t)]
        return BatchDetail(batch, batch.institution, instance_id, tasks, rows, matching, max(page, 1), per_page,
                           register.describe(session, sorted(pairs)), passed, issued)


# --- exports in the layouts staff exchange (Art. 15.3) --------------------------------------------

# 职业技能等级认定合格人员证书信息表: the columns of the national certificate information table
CERTIFICATE_TABLE = tuple(sheets.Column(k, t, width=w) for k, t, w in (
    ("name", "姓名", 10), ("id_number", "身份证号码", 22), ("occupation_code", "职业（工种）编码", 14),
    ("occupation", "职业（工种）名称", 20), ("level", "等级", 14), ("number", "证书编号", 26),
    ("issued_on", "发证日期", 12), ("institution", "评价机构代码", 16)))


def _certificate_rows(session, batch: Batch, names: dict) -> Iterator[tuple]:
    code = batch.institution.filing_code or ""
    for c in session.scalars(select(Certificate).where(Certificate.batch_id == batch.id).order_by(Certificate.number)):
        yield (c.name, c.id_number, c.occupation_code, names.get(c.occupation_code, ""), LEVELS[c.level].name,
               c.number, c.issued_on.isoformat(), code)


def certificate_list(ctx: Context, user_id: int, batch_id: int) -> tuple[Batch, list[tuple]]:
    """The batch's certificates, to print (the certificate information table's columns)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        batch = visible(session, session.get(User, user_id), batch_id)
        names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
        rows = list(_certificate_rows(session, batch, names))
        batch.institution  # noqa: B018 — read after the session closes
        return batch, rows


def export(ctx: Context, user_id: int, batch_id: int, table: str) -> tuple[str, bytes]:
    """报名汇总表 (sign-up), 职业技能等级认定结果汇总表 (results) or 合格人员证书信息表 (certificates)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        batch = visible(session, user, batch_id)
        names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
        if table == "certificates":
            rows = _certificate_rows(session, batch, names)
            return f"合格人员证书信息表-批次{batch.id}.xlsx", sheets.write(CERTIFICATE_TABLE, rows, "证书信息表")
        candidates = session.scalars(select(Candidate).where(Candidate.batch_id == batch.id).order_by(Candidate.row))
        if table == "results":
            kinds = [m for m in rules.MODULES if m in {x["kind"] for x in batch.plan.get("modules", [])}]
            columns = [sheets.Column(k, t) for k, t in (("name", "姓名"), ("id_number", "身份证号码"),
                                                         ("occupation", "职业（工种）"), ("level", "等级"))]
            columns += [sheets.Column(k, rules.MODULES[k]) for k in kinds] + [sheets.Column("passed", "认定结果")]
            rows = ((c.name, c.id_number, f"{c.occupation_code} {names.get(c.occupation_code, '')}",
                     LEVELS[c.level].name,
                     *(ABSENT if (c.scores or {}).get(k) is None else (c.scores or {})[k] for k in kinds),
                     {True: "合格", False: "不合格"}.get(c.passed, "")) for c in candidates)
            return f"职业技能等级认定结果汇总表-批次{batch.id}.xlsx", sheets.write(columns, rows, "结果汇总表")
        if table == "signup":
            columns = [sheets.Column(c.key, c.title, width=c.width) for c in CANDIDATE_COLUMNS]
            rows = ((c.name, c.id_number, c.phone, c.occupation_code, LEVELS[c.level].name, c.basis,
                     rules.CATEGORY_NAMES.get(c.category, ""), c.commissioned_by or "") for c in candidates)
            return f"报名汇总表-批次{batch.id}.xlsx", sheets.write(columns, rows, "报名汇总表")
        raise NotFound("没有这张表")


# --- public certificate lookup ----------------------------------------------------------------------

@dataclass
class CertificateView:
    number: str
    name: str
    occupation: str
    level: str
    issued_on: date
    institution: str


def look_up_certificate(ctx: Context, number: str, name: str) -> CertificateView:
    """The public checks a certificate by its number and the holder's name; no ID number shown."""
    number, name = (number or "").strip().upper(), (name or "").strip()
    with unit_of_work(ctx) as session:
        read_only(session)
        row = session.scalar(select(Certificate).where(Certificate.number == number))
        if row is None or row.name != name:
            raise NotFound("未查到该证书：请核对证书编号和姓名")
        occupation = session.get(Occupation, row.occupation_code)
        institution = session.get(Institution, row.institution_id)
        return CertificateView(row.number, row.name, f"{row.occupation_code} {occupation.name}",
                               LEVELS[row.level].name, row.issued_on, institution.name)


def results_in_notice(ctx: Context, batch_id: int) -> tuple[Batch, list[tuple[str, str, str]]]:
    """Art. 15.3 公示: a batch's results while in notice, names masked, no ID numbers."""
    with unit_of_work(ctx) as session:
        read_only(session)
        batch = session.get(Batch, batch_id)
        if batch is None or batch.status != "notice" or batch.notice_closes_at <= ctx.clock.now():
            raise NotFound("公示不存在或已结束")
        names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
        rows = [(mask_name(c.name), f"{names.get(c.occupation_code, '')}·{LEVELS[c.level].name}",
                 "合格" if c.passed else "不合格")
                for c in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)
                                         .order_by(Candidate.row))]
        batch.institution  # noqa: B018 — read after the session closes
        return batch, rows


def batches_in_notice(ctx: Context) -> list[Batch]:
    with unit_of_work(ctx) as session:
        read_only(session)
        found = list(session.scalars(select(Batch).where(Batch.status == "notice",
                                                         Batch.notice_closes_at > ctx.clock.now())
                                     .order_by(Batch.notice_closes_at)))
        for batch in found:
            batch.institution  # noqa: B018
        return found
