"""The lists staff keep beside the inbox (issue 17), across every process: what I completed (已办),
the cases I started (我发起的), every case I may see (案件查询), and the open tasks past or near
their deadline in my city or county (超期督办). Each reads indexed columns and joins, never a
workflow; each row is plain data, the same for the page and for its Excel export."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..store.db import read_only
from ..store.models import AuditEvent, CaseCopy, HumanTask, Institution, Jurisdiction, ProcessInstance, User
from . import access
from .context import Context, unit_of_work
from .errors import Forbidden
from .tasks import DUE

STATUSES = ("running", "completed", "ended", "error")  # a case's; rows carry the code, the pages its name
WORKING = frozenset({"institution", "county", "city", "province", "inspector"})  # who has tasks and cases
EXPORT_LIMIT = 100_000  # an export is a list a bureau works with, not a copy of the database


@dataclass
class ListQuery:
    text: str = ""  # institution name, credit code, filing code, case number or business key
    process: str | None = None
    step: str | None = None  # a user task's BPMN id: done at it, waiting at it, or late at it
    status: str | None = None  # cases: running | completed | ended
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    due: str = "overdue"  # oversight: overdue | soon
    page: int = 1
    per_page: int = 20


@dataclass
class Page:
    rows: list[dict]
    total: int
    process_names: dict[str, str]
    steps: list[tuple[str, str]] = field(default_factory=list)  # (BPMN id, title) of the staff's steps


CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")  # GB 32100-2015's alphabet
FILING_CODE = re.compile(r"[A-Z]\d{12}")


def _text_filter(text: str):
    """What the user typed, recognised by its shape, so each lookup uses its own index: a credit
    code, a filing code, a case number, a business key (filing:12), else part of a name."""
    text = text.strip()
    if not text:
        return None
    upper = text.upper()
    if CREDIT_CODE.fullmatch(upper):
        return Institution.credit_code == upper
    if FILING_CODE.fullmatch(upper):
        return Institution.filing_code == upper
    if text.isdigit() and len(text) <= 9:
        return ProcessInstance.id == int(text)
    if ":" in text:
        return ProcessInstance.business_key == text
    return Institution.name.contains(text, autoescape=True)


def _filters(query: ListQuery, process, step=None) -> list:
    """What every list filters alike: the process, the step (where the list has one) and the text."""
    where = [process == query.process] if query.process else []
    if step is not None and query.step:
        where.append(step == query.step)
    if (text := _text_filter(query.text)) is not None:
        where.append(text)
    return where


def _dates(column, query: ListQuery) -> list:
    where = []
    if query.date_from:
        where.append(column >= datetime.combine(query.date_from, time()))
    if query.date_to:
        where.append(column < datetime.combine(query.date_to + timedelta(days=1), time()))
    return where


def _page(ctx: Context, session: Session, statement: Select, query: ListQuery, row, counted=None) -> Page:
    total = session.scalar(counted if counted is not None else
                           select(func.count()).select_from(statement.order_by(None).subquery()))
    found = session.execute(statement.offset((query.page - 1) * query.per_page).limit(query.per_page)).all()
    definitions = ctx.definitions(session, ctx.latest_version_id(session))
    steps = sorted({(info.name, info.title) for info in definitions.user_tasks.values() if info.role != "institution"},
                   key=lambda step: step[1])
    return Page([row(r, definitions.process_names) for r in found], total, definitions.process_names, steps)


def _all(ctx: Context, session: Session, statement: Select, row) -> Iterator[dict]:
    names = _process_names(ctx, session)
    for found in session.execute(statement.limit(EXPORT_LIMIT).execution_options(yield_per=1000)):
        yield row(found, names)


def _process_names(ctx: Context, session: Session) -> dict[str, str]:
    return ctx.definitions(session, ctx.latest_version_id(session)).process_names


def _user(session: Session, user_id: int, roles: frozenset[str]) -> User:
    user = session.get(User, user_id)
    if user is None or user.role not in roles:
        raise Forbidden("没有查看该列表的权限")
    return user


@dataclass(frozen=True)
class WorkList:
    """One list: who may read it, its statement for a user and query, and a row as plain data."""
    title: str
    columns: tuple[tuple[str, str], ...]  # (key, Chinese title), for the page and the export
    statement: object
    row: object
    roles: frozenset[str] = WORKING
    count: object = None  # (user, query) -> a cheaper count, or None to count the statement's rows

    def page(self, ctx: Context, user_id: int, query: ListQuery) -> Page:
        with unit_of_work(ctx) as session:
            read_only(session)
            user = _user(session, user_id, self.roles)
            counted = self.count(user, query) if self.count else None
            return _page(ctx, session, self.statement(user, query, ctx.clock.now()), query, self.row, counted)

    def export(self, ctx: Context, user_id: int, query: ListQuery) -> Iterator[dict]:
        """Every row of the query, in pages of a thousand from the database."""
        with unit_of_work(ctx) as session:
            read_only(session)
            user = _user(session, user_id, self.roles)
            yield from _all(ctx, session, self.statement(user, query, ctx.clock.now()), self.row)


# --- 已办: the tasks I completed, with what I decided ------------------------------------------------

def _done(user: User, query: ListQuery, now: datetime) -> Select:
    where = [AuditEvent.actor_id == user.id, AuditEvent.action == "complete", *_dates(AuditEvent.at, query),
             *_filters(query, ProcessInstance.process_id, AuditEvent.task_name)]
    return (select(AuditEvent.id, AuditEvent.at, AuditEvent.task_title, AuditEvent.opinion, AuditEvent.data,
                   ProcessInstance.id.label("case"), ProcessInstance.process_id, ProcessInstance.business_key,
                   ProcessInstance.status, Institution.name.label("institution"))
            .join(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
            .outerjoin(Institution, Institution.id == ProcessInstance.institution_id)
            .where(*where).order_by(AuditEvent.id.desc()))


def _done_count(user: User, query: ListQuery):
    """Without a process or text filter the count needs no join: the actor index alone answers it."""
    if query.process or query.step or query.text.strip():
        return None
    return select(func.count()).select_from(AuditEvent).where(
        AuditEvent.actor_id == user.id, AuditEvent.action == "complete", *_dates(AuditEvent.at, query))


def _done_row(r, names) -> dict:
    outcome = (r.data or {}).get("outcome") or {}
    return {"case": r.case, "at": r.at, "process": names.get(r.process_id, r.process_id), "step": r.task_title,
            "subject": r.institution or r.business_key, "decision": outcome.get("title", ""),
            "opinion": r.opinion or "", "status": r.status}


DONE = WorkList("已办事项", (("at", "办理时间"), ("process", "业务"), ("step", "环节"), ("subject", "事项"),
                            ("decision", "办理结果"), ("opinion", "审批意见"), ("status", "案件状态"),
                            ("case", "案件编号")), _done, _done_row, count=_done_count)


# --- 我发起的 and 案件查询: cases -------------------------------------------------------------------

CURRENT_STEPS = (select(func.count()).where(HumanTask.instance_id == ProcessInstance.id, HumanTask.state == "open")
                 .correlate(ProcessInstance).scalar_subquery())


def _cases(where: list, query: ListQuery) -> Select:
    where = [*where, *_dates(ProcessInstance.started_at, query)]
    if query.step:  # the cases waiting at that step now
        where.append(select(HumanTask.id).where(HumanTask.instance_id == ProcessInstance.id, HumanTask.state == "open",
                                                HumanTask.name == query.step).exists())
    if query.status:
        where.append(ProcessInstance.status == query.status)
    where += _filters(query, ProcessInstance.process_id)
    return (select(ProcessInstance.id, ProcessInstance.process_id, ProcessInstance.business_key,
                   ProcessInstance.status, ProcessInstance.started_at, ProcessInstance.ended_at,
                   Institution.name.label("institution"), Institution.credit_code, Institution.filing_code,
                   Jurisdiction.name.label("jurisdiction"), CURRENT_STEPS.label("open_tasks"))
            .outerjoin(Institution, Institution.id == ProcessInstance.institution_id)
            .outerjoin(Jurisdiction, Jurisdiction.code == ProcessInstance.jurisdiction_code)
            .where(*where).order_by(ProcessInstance.id.desc()))


def _case_row(r, names) -> dict:
    return {"case": r.id, "process": names.get(r.process_id, r.process_id), "subject": r.institution or r.business_key,
            "credit_code": r.credit_code or "", "filing_code": r.filing_code or "",
            "jurisdiction": r.jurisdiction or "",
            "status": r.status, "open_tasks": r.open_tasks, "started_at": r.started_at,
            "ended_at": r.ended_at}


CASE_COLUMNS = (("case", "案件编号"), ("process", "业务"), ("subject", "机构/事项"),
                ("credit_code", "统一社会信用代码"), ("filing_code", "备案编码"), ("jurisdiction", "属地"),
                ("status", "状态"), ("open_tasks", "待办环节数"),
                ("started_at", "发起时间"), ("ended_at", "办结时间"))
STARTED = WorkList("我发起的", CASE_COLUMNS,
                   lambda user, query, now: _cases([ProcessInstance.started_by == user.id], query), _case_row)
CASES = WorkList("案件查询", CASE_COLUMNS,
                 lambda user, query, now: _cases([access.instance_filter(user)], query), _case_row,
                 roles=frozenset({"county", "city", "province", "analyst"}))


# --- 超期督办: open tasks past or near their deadline ------------------------------------------------

def _oversight(user: User, query: ListQuery, now: datetime) -> Select:
    where = [access.oversight_filter(user), HumanTask.state == "open",
             DUE["soon" if query.due == "soon" else "overdue"](now),
             *_filters(query, HumanTask.process_id, HumanTask.name)]
    return (select(HumanTask.id, HumanTask.instance_id, HumanTask.process_id, HumanTask.title, HumanTask.subject,
                   HumanTask.role, HumanTask.due_at, HumanTask.created_at, Jurisdiction.name.label("jurisdiction"),
                   User.display_name.label("claimed_by"))
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .outerjoin(Institution, Institution.id == ProcessInstance.institution_id)
            .outerjoin(Jurisdiction, Jurisdiction.code == HumanTask.jurisdiction_code)
            .outerjoin(User, User.id == HumanTask.claimed_by)
            .where(*where).order_by(HumanTask.due_at, HumanTask.id))


def _oversight_row(r, names) -> dict:
    return {"task": r.id, "case": r.instance_id, "process": names.get(r.process_id, r.process_id), "step": r.title,
            "subject": r.subject, "role": r.role, "jurisdiction": r.jurisdiction or "",
            "claimed_by": r.claimed_by or "", "created_at": r.created_at, "due_at": r.due_at}


OVERSIGHT = WorkList("超期督办", (("due_at", "办理期限"), ("process", "业务"), ("step", "环节"), ("subject", "事项"),
                                 ("role", "办理方"), ("jurisdiction", "属地"), ("claimed_by", "签收人"),
                                 ("created_at", "到达时间"), ("case", "案件编号")),
                     _oversight, _oversight_row, roles=frozenset({"county", "city"}))

# --- 抄送我的: cases copied to me for my information --------------------------------------------------

def _copied(user: User, query: ListQuery, now: datetime) -> Select:
    by = User.__table__.alias("by_user")
    where = [CaseCopy.user_id == user.id, *_dates(CaseCopy.created_at, query),
             *_filters(query, ProcessInstance.process_id)]
    return (select(CaseCopy.created_at, CaseCopy.task_title, CaseCopy.note, by.c.display_name.label("by_name"),
                   ProcessInstance.id.label("case"), ProcessInstance.process_id, ProcessInstance.business_key,
                   ProcessInstance.status, Institution.name.label("institution"))
            .join(ProcessInstance, ProcessInstance.id == CaseCopy.instance_id)
            .join(by, by.c.id == CaseCopy.by_user_id)
            .outerjoin(Institution, Institution.id == ProcessInstance.institution_id)
            .where(*where).order_by(CaseCopy.id.desc()))


def _copied_row(r, names) -> dict:
    return {"case": r.case, "at": r.created_at, "by": r.by_name, "process": names.get(r.process_id, r.process_id),
            "step": r.task_title, "subject": r.institution or r.business_key, "note": r.note,
            "status": r.status}


COPIED = WorkList("抄送我的", (("at", "抄送时间"), ("by", "抄送人"), ("process", "业务"), ("step", "环节"),
                              ("subject", "事项"), ("note", "说明"), ("status", "案件状态"), ("case", "案件编号")),
                  _copied, _copied_row, roles=frozenset({"county", "city", "province"}))

LISTS = {"done": DONE, "started": STARTED, "copied": COPIED, "cases": CASES, "overdue": OVERSIGHT}


def tabs(role: str) -> list[tuple[str, str]]:
    """The lists a role may open, in the order the pages show them."""
    return [(key, worklist.title) for key, worklist in LISTS.items() if role in worklist.roles]
