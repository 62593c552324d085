"""Users, passwords (Argon2id), logging in and the sessions a login opens.

Guessing is throttled before any password is checked: an account after a few wrong passwords in a
row (for a period that grows with each further one), a client address after many in a few
minutes. Failures are rows, so every worker counts the same ones. Argon2 is slow on purpose; at
most one check runs at a time per process, so a burst of logins cannot starve the public pages.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, func, select, update

from ..domain.codes import validate_credit_code
from ..domain.errors import DomainError
from ..store.db import read_only
from ..store.models import Institution, Jurisdiction, LoginFailure, User, UserSession
from . import audit
from .context import ROLES, Context, unit_of_work
from .errors import Invalid, NotFound, UseCaseError

hasher = PasswordHasher()  # argon2id at RFC 9106's second recommended cost: 64 MiB, 3 passes, 4 lanes
KINDS = ("enterprise", "school", "social_org")


def create_user(ctx: Context, username: str, password: str, display_name: str, role: str,
                jurisdiction_code: str | None = None, institution_id: int | None = None) -> int:
    errors = {}
    if role not in ROLES:
        errors["role"] = f"未知角色 {role}"
    if role == "county" and not jurisdiction_code:
        errors["jurisdiction_code"] = "县区用户必须绑定属地"
    if role == "institution" and not institution_id:
        errors["institution_id"] = "机构用户必须绑定评价机构"
    if len(password) < 8:
        errors["password"] = "密码至少8位"
    if errors:
        raise Invalid(errors)
    with unit_of_work(ctx) as session:
        if session.scalar(select(User.id).where(User.username == username)):
            raise Invalid({"username": "用户名已存在"})
        user = User(username=username, password_hash=hasher.hash(password), display_name=display_name,
                    role=role, jurisdiction_code=jurisdiction_code, institution_id=institution_id)
        session.add(user)
        session.flush()
        return user.id


def create_institution(ctx: Context, name: str, credit_code: str, kind: str, jurisdiction_code: str) -> int:
    """Register an institution before its first filing (its identity is the credit code)."""
    errors = {}
    try:
        credit_code = validate_credit_code(credit_code)
    except DomainError as error:
        errors["credit_code"] = error.message
    if kind not in KINDS:
        errors["kind"] = f"机构类型应为 {'、'.join(KINDS)} 之一"
    if not name.strip():
        errors["name"] = "请填写机构名称"
    with unit_of_work(ctx) as session:
        if session.get(Jurisdiction, jurisdiction_code) is None:
            errors["jurisdiction_code"] = f"属地 {jurisdiction_code} 不存在"
        if not errors and session.scalar(select(Institution.id).where(Institution.credit_code == credit_code)):
            errors["credit_code"] = "该统一社会信用代码的机构已登记"
        if errors:
            raise Invalid(errors)
        row = Institution(name=name.strip(), credit_code=credit_code, kind=kind, jurisdiction_code=jurisdiction_code)
        session.add(row)
        session.flush()
        return row.id


# Art. none; our own rules against password guessing. An account: this many wrong passwords in a
# row (within a day) lock it, for a period that doubles with each further one, up to an hour.
ACCOUNT_FAILURES = 5
ACCOUNT_MEMORY = timedelta(days=1)
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
# A client address: this many wrong passwords within the window, whichever the accounts.
ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=10)
# Argon2 checks running at once in this process; a login waits this long for its turn at most.
_VERIFYING = threading.BoundedSemaphore(1)
VERIFY_WAIT_SECONDS = 10
# a session's last_seen_at is refreshed at most this often: a write on every request would queue
# every page behind the scheduler's write lock on SQLite
SEEN_EVERY = timedelta(minutes=5)
MAX_USERNAME = 50  # the column's length

THROTTLED = {"account": "该账号连续登录失败次数过多，已暂时锁定，请于{when}后再试",
             "address": "本机登录失败次数过多，已暂停登录，请于{when}后再试"}


class LoginThrottled(UseCaseError):
    """Too many wrong passwords: refused before any password is checked, until `until`."""

    def __init__(self, message: str, until: datetime):
        super().__init__(message)
        self.until = until


class LoginBusy(UseCaseError):
    """Too many logins at once in this process: the caller may try again in a moment."""


def _lock_period(failures: int) -> timedelta:
    return min(FIRST_LOCK * 2 ** min(failures - ACCOUNT_FAILURES, 10), LONGEST_LOCK)


def _throttled(session, username: str, address: str, now: datetime) -> tuple[datetime, str] | None:
    """Until when logging in is refused, and why (account or address); None when it is not."""
    found = []
    failures, last = session.execute(select(func.count(), func.max(LoginFailure.at)).where(
        LoginFailure.username == username, LoginFailure.at > now - ACCOUNT_MEMORY)).one()
    if failures >= ACCOUNT_FAILURES and last + _lock_period(failures) > now:
        found.append((last + _lock_period(failures), "account"))
    # the oldest failure that keeps the address at its limit: once it leaves the window, the address may try again
    oldest = session.scalar(select(LoginFailure.at).where(
        LoginFailure.address == address, LoginFailure.at > now - ADDRESS_WINDOW)
        .order_by(LoginFailure.at.desc()).offset(ADDRESS_FAILURES - 1).limit(1))
    if oldest is not None:
        found.append((oldest + ADDRESS_WINDOW, "address"))
    return max(found) if found else None


def _clock_time(until: datetime, now: datetime) -> str:
    """The minute to try again from, rounded up; with the date when it is not today."""
    if until.second or until.microsecond:
        until = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return until.strftime("%H:%M") if until.date() == now.date() else until.strftime("%Y-%m-%d %H:%M")


def _verify(password_hash: str | None, password: str) -> bool:
    if not _VERIFYING.acquire(timeout=VERIFY_WAIT_SECONDS):
        raise LoginBusy("当前登录的人较多，请稍后再试")
    try:
        if password_hash is None:
            hasher.hash(password)  # same work either way: no user enumeration by timing
            return False
        try:
            return hasher.verify(password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False
    finally:
        _VERIFYING.release()


def authenticate(ctx: Context, username: str, password: str, address: str = "unknown") -> User | None:
    """The active user with this password, or None. Refused with LoginThrottled, before any
    password is checked, while the account or the address is locked."""
    now = ctx.clock.now()
    username, address = username[:MAX_USERNAME], (address or "unknown")[:45]
    with unit_of_work(ctx) as session:
        read_only(session)
        throttled = _throttled(session, username, address, now)
        user = None if throttled else session.scalar(select(User).where(User.username == username, User.is_active))
    if throttled:
        until, scope = throttled
        raise LoginThrottled(THROTTLED[scope].format(when=_clock_time(until, now)), until)
    # no transaction is open while Argon2 runs: on SQLite one would hold the write lock
    if not _verify(user.password_hash if user else None, password):
        with unit_of_work(ctx) as session:
            session.add(LoginFailure(at=now, username=username, address=address))
            audit.record(session, now, None, "login_failed", data={"username": username, "address": address})
            session.flush()
            locked = _throttled(session, username, address, now)
            if locked is not None:  # this failure starts a lock: the earlier check let it through
                audit.record(session, now, None, "login_throttled", data={
                    "username": username, "address": address, "scope": locked[1], "until": locked[0].isoformat()})
            # a day's failures are all the rules look at
            session.execute(delete(LoginFailure).where(
                (LoginFailure.username == username) | (LoginFailure.address == address),
                LoginFailure.at <= now - ACCOUNT_MEMORY))
        return None
    with unit_of_work(ctx) as session:
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
            session.execute(update(User).where(User.id == user.id).values(password_hash=user.password_hash))
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(ctx: Context, user_id: int) -> str:
    """A new login of the user; returns the token the signed cookie keeps (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    with unit_of_work(ctx) as session:
        session.add(UserSession(token_hash=_token_hash(token), user_id=user_id, created_at=now, last_seen_at=now))
    return token


def session_user(ctx: Context, token: str | None) -> User | None:
    """The user of a session that still holds: not ended, the user still active. Checked on every request."""
    if not token:
        return None
    now = ctx.clock.now()
    with unit_of_work(ctx) as session:
        read_only(session)
        found = session.execute(select(User, UserSession.id, UserSession.last_seen_at)
                                .join(UserSession, UserSession.user_id == User.id)
                                .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None),
                                       User.is_active)).one_or_none()
    if found is None:
        return None
    user, session_id, seen = found
    if abs(now - seen) >= SEEN_EVERY:
        with unit_of_work(ctx) as session:
            session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    return user


def end_session(ctx: Context, token: str | None) -> None:
    """Logging out: the cookie's session no longer holds, wherever the cookie turns up again."""
    if not token:
        return
    with unit_of_work(ctx) as session:
        session.execute(update(UserSession).where(UserSession.token_hash == _token_hash(token),
                                                  UserSession.revoked_at.is_(None)).values(revoked_at=ctx.clock.now()))


def _end_all_sessions(session, user_id: int, now: datetime) -> None:
    session.execute(update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
                    .values(revoked_at=now))


def _user_by_name(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


def set_active(ctx: Context, username: str, active: bool) -> None:
    """Deactivating a user ends every session of theirs at once; activating lets them log in again."""
    now = ctx.clock.now()
    with unit_of_work(ctx) as session:
        user = _user_by_name(session, username)
        user.is_active = active
        if not active:
            _end_all_sessions(session, user.id, now)
        audit.record(session, now, None, "user_activated" if active else "user_deactivated",
                     data={"username": username})


def set_password(ctx: Context, username: str, password: str) -> None:
    """A new password ends every session opened with the old one."""
    if len(password) < 8:
        raise Invalid({"password": "密码至少8位"})
    now = ctx.clock.now()
    with unit_of_work(ctx) as session:
        user = _user_by_name(session, username)
        user.password_hash = hasher.hash(password)
        _end_all_sessions(session, user.id, now)
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        audit.record(session, now, None, "password_changed", data={"username": username})


def get_user(ctx: Context, user_id: int) -> User | None:
    with unit_of_work(ctx) as session:
        read_only(session)  # no write lock on SQLite: a scheduler batch must not hold this up
        return session.get(User, user_id)
