"""委托 (issue 17): a user going on leave names a colleague of the same post (same role, and for a
county the same jurisdiction) to act on the tasks they hold, for a period of days. The delegate
sees those tasks and completes them in their own name; the record says on whose behalf. The
period ends by itself, or earlier when the user ends it."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.db import read_only
from ..store.models import Delegation, User
from . import audit, notifications
from .context import Context, unit_of_work
from .errors import Conflict, Invalid, NotFound

ROLES = frozenset({"county", "city", "province", "inspector"})
LONGEST = timedelta(days=92)  # a leave, not a standing transfer of a post
REASON_MAX = 200


def _active(today: date):
    return (Delegation.starts_on <= today, Delegation.ends_on >= today, Delegation.ended_at.is_(None))


def acting_for(session: Session, user_id: int, today: date) -> tuple[int, ...]:
    """Whose tasks the user may act on today, besides their own."""
    return tuple(session.scalars(select(Delegation.from_user_id).where(Delegation.to_user_id == user_id,
                                                                        *_active(today))))


def acts_for(session: Session, user_id: int, holder_id: int | None, today: date) -> bool:
    return holder_id is not None and holder_id in acting_for(session, user_id, today)


def colleagues(ctx: Context, user_id: int) -> list[User]:
    """Who the user may delegate to: active users of the same post."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user.role not in ROLES:
            return []
        return list(session.scalars(select(User).where(*_same_post(user), User.id != user.id, User.is_active)
                                    .order_by(User.display_name)))


def _same_post(user: User) -> list:
    where = [User.role == user.role]
    if user.role == "county":
        where.append(User.jurisdiction_code == user.jurisdiction_code)
    return where


def create(ctx: Context, user_id: int, to_user_id: int, starts_on: date, ends_on: date, reason: str) -> Delegation:
    reason = (reason or "").strip()
    errors = {}
    today = ctx.today()
    if not reason or len(reason) > REASON_MAX:
        errors["reason"] = f"请填写委托事由（不超过{REASON_MAX}字）"
    if ends_on < starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期"
    elif ends_on < today:
        errors["ends_on"] = "结束日期已过"
    elif ends_on - starts_on > LONGEST:
        errors["ends_on"] = "一次委托不超过三个月；岗位长期调整请由管理员变更账号"
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role not in ROLES:
            raise NotFound("页面不存在")
        colleague = session.get(User, to_user_id)
        if colleague is None or colleague.id == user.id or not colleague.is_active or not all(
                _matches(colleague, user)):
            errors["to_user"] = "只能委托给同一岗位（同一部门）的其他在岗人员"
        if errors:
            raise Invalid(errors)
        overlapping = session.scalar(select(Delegation.id).where(
            Delegation.from_user_id == user.id, Delegation.ended_at.is_(None),
            Delegation.starts_on <= ends_on, Delegation.ends_on >= starts_on))
        if overlapping:
            raise Conflict("这段时间已有一项委托，请先结束它")
        row = Delegation(from_user_id=user.id, to_user_id=colleague.id, starts_on=starts_on, ends_on=ends_on,
                         reason=reason, created_at=ctx.clock.now())
        session.add(row)
        audit.record(session, ctx.clock.now(), user, "delegate", opinion=reason,
                     data={"to": colleague.id, "to_name": colleague.display_name,
                           "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
        notifications.to_user(ctx, session, colleague.id, notifications.Message(
            f"{user.display_name}委托您代为办理其待办任务", f"{starts_on}至{ends_on}。事由：{reason}", "/inbox"))
        session.flush()
        return row


def _matches(colleague: User, user: User):
    yield colleague.role == user.role
    if user.role == "county":
        yield colleague.jurisdiction_code == user.jurisdiction_code


def end(ctx: Context, user_id: int, delegation_id: int) -> None:
    with unit_of_work(ctx) as session:
        row = session.get(Delegation, delegation_id)
        if row is None or row.from_user_id != user_id:
            raise NotFound("委托不存在")
        if row.ended_at is not None or row.ends_on < ctx.today():
            raise Conflict("该委托已结束")
        row.ended_at = ctx.clock.now()
        audit.record(session, ctx.clock.now(), session.get(User, user_id), "delegation_ended",
                     data={"delegation": row.id})


def listed(ctx: Context, user_id: int) -> tuple[list, list]:
    """(what the user delegated, what was delegated to them), newest first, with the other's name."""
    with unit_of_work(ctx) as session:
        read_only(session)
        other = {u.id: u.display_name for u in session.scalars(select(User))}
        given = session.scalars(select(Delegation).where(Delegation.from_user_id == user_id)
                                .order_by(Delegation.id.desc()).limit(50)).all()
        received = session.scalars(select(Delegation).where(Delegation.to_user_id == user_id)
                                   .order_by(Delegation.id.desc()).limit(50)).all()
        session.expunge_all()
        return ([(row, other.get(row.to_user_id, "")) for row in given],
                [(row, other.get(row.from_user_id, "")) for row in received])
