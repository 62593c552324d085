"""Telling people: what became theirs to do, what was decided about them.

Every message goes through the context's channels; in-app (a list beside the inbox) is the one
we have. SMS or e-mail is another class with the same `send`, added in bootstrap.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..store import held
from ..store.db import read_only
from ..store.models import Notification, User
from . import access
from .context import Context, unit_of_work
from .errors import NotFound


@dataclass(frozen=True)
class Message:
    title: str
    body: str = ""
    link: str = ""


class Channel(Protocol):
    def send(self, session: Session, users: list[User], message: Message, now: datetime) -> None: ...


SEND = Notification.__table__.insert().inline()  # inline: no id read back (store.held)


class InApp:
    def send(self, session: Session, users: list[User], message: Message, now: datetime) -> None:
        # Core, not the ORM: nothing in the session needs flushing for a message (a scheduler
        # batch holds a hundred loaded cases the ORM would check first, message by message)
        held.write(session, SEND, [dict(user_id=user.id, title=message.title, body=message.body,
                                        link=message.link, created_at=now) for user in users])


def to_assignees(ctx: Context, session: Session, role: str, jurisdiction_code: str | None,
                 institution_id: int | None, message: Message) -> None:
    """To the users whose inbox a task of this role and scope lands in."""
    _send(ctx, session, message, access.task_assignees(role, jurisdiction_code, institution_id),
          access.inbox_scope(role, jurisdiction_code, institution_id))


def to_institution(ctx: Context, session: Session, institution_id: int, message: Message) -> None:
    """To every active user of one institution."""
    to_assignees(ctx, session, "institution", None, institution_id, message)


def to_user(ctx: Context, session: Session, user_id: int, message: Message) -> None:
    """To one user (e.g. whose submit failed, when the incident is resolved)."""
    _send(ctx, session, message, User.id == user_id, ("user", user_id))


def to_role(ctx: Context, session: Session, role: str, message: Message) -> None:
    """To every active user of one role (e.g. the analysts, when a timer becomes an incident)."""
    _send(ctx, session, message, User.role == role, ("role", role))


def to_staff(ctx: Context, session: Session, jurisdiction_code: str, message: Message) -> None:
    """To the staff who answer for an institution: its county's and the city's."""
    _send(ctx, session, message, ((User.role == "county") & (User.jurisdiction_code == jurisdiction_code))
          | (User.role == "city"), ("staff", jurisdiction_code))


def told(session: Session, instance_id: int, role: str) -> None:
    """A step has told this role about its case in words of its own (e.g. why an application is
    back for correction); the plain "待您办理" for the task it hands them is then left out."""
    session.info.setdefault("told", set()).add((instance_id, role))


def was_told(session: Session, instance_id: int, role: str) -> bool:
    return (instance_id, role) in session.info.get("told", ())


def _send(ctx: Context, session: Session, message: Message, who, group: tuple) -> None:
    # One look-up per group of recipients and transaction: a scheduler batch may tell the same
    # people of a thousand closed notices.
    known = session.info.setdefault("recipients", {})
    if group not in known:
        known[group] = list(session.scalars(select(User).where(who, User.is_active)))
    if known[group]:
        for channel in ctx.channels:
            channel.send(session, known[group], message, ctx.clock.now())


def recent(ctx: Context, user_id: int, limit: int = 50) -> list[Notification]:
    with unit_of_work(ctx) as session:
        return list(read_only(session).scalars(select(Notification).where(Notification.user_id == user_id)
                                               .order_by(Notification.created_at.desc(), Notification.id.desc())
                                               .limit(limit)))


def unread_count(ctx: Context, user_id: int) -> int:
    with unit_of_work(ctx) as session:
        return read_only(session).scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)))


def open_message(ctx: Context, user_id: int, message_id: int) -> str:
    """The user opens one of their messages: it is read from now on; where it leads."""
    with unit_of_work(ctx) as session:
        message = session.get(Notification, message_id)
        if message is None or message.user_id != user_id:
            raise NotFound("消息不存在")
        if message.read_at is None:
            message.read_at = ctx.clock.now()
        return message.link


def mark_all_read(ctx: Context, user_id: int) -> None:
    with unit_of_work(ctx) as session:
        session.execute(update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
                        .values(read_at=ctx.clock.now()))
