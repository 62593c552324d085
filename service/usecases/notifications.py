"""Telling people: what became theirs to do, what was decided about them.

Every message goes through the context's channels; in-app (a list beside the inbox) is the one
we have. SMS or e-mail is another class with the same `send`, added in bootstrap.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..store.db import read_only
from ..store.models import Notification, User
from .context import Context, unit_of_work


@dataclass(frozen=True)
class Message:
    title: str
    body: str = ""
    link: str = ""


class Channel(Protocol):
    def send(self, session: Session, users: list[User], message: Message, now: datetime) -> None: ...


class InApp:
    def send(self, session: Session, users: list[User], message: Message, now: datetime) -> None:
        session.execute(insert(Notification), [dict(user_id=user.id, title=message.title, body=message.body,
                                                    link=message.link, created_at=now) for user in users])


def to_institution(ctx: Context, session: Session, institution_id: int, message: Message) -> None:
    """To every active user of one institution."""
    _send(ctx, session, message, (User.role == "institution") & (User.institution_id == institution_id))


def to_role(ctx: Context, session: Session, role: str, message: Message) -> None:
    """To every active user of one role (e.g. the analysts, when a timer becomes an incident)."""
    _send(ctx, session, message, User.role == role)


def to_staff(ctx: Context, session: Session, jurisdiction_code: str, message: Message) -> None:
    """To the staff who answer for an institution: its county's and the city's."""
    _send(ctx, session, message, ((User.role == "county") & (User.jurisdiction_code == jurisdiction_code))
          | (User.role == "city"))


def _send(ctx: Context, session: Session, message: Message, who) -> None:
    users = list(session.scalars(select(User).where(who, User.is_active)))
    if users:
        for channel in ctx.channels:
            channel.send(session, users, message, ctx.clock.now())


def recent(ctx: Context, user_id: int, limit: int = 50) -> list[Notification]:
    with unit_of_work(ctx) as session:
        return list(read_only(session).scalars(select(Notification).where(Notification.user_id == user_id)
                                               .order_by(Notification.created_at.desc(), Notification.id.desc())
                                               .limit(limit)))


def unread_count(ctx: Context, user_id: int) -> int:
    with unit_of_work(ctx) as session:
        return read_only(session).scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)))


def mark_all_read(ctx: Context, user_id: int) -> None:
    with unit_of_work(ctx) as session:
        session.execute(update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
                        .values(read_at=ctx.clock.now()))
