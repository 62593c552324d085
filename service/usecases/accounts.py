"""Users, passwords (Argon2id) and logging in."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select

from ..domain.codes import validate_credit_code
from ..domain.errors import DomainError
from ..store.db import read_only
from ..store.models import Institution, Jurisdiction, User
from .context import ROLES, Context, unit_of_work
from .errors import Invalid

hasher = PasswordHasher()
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


def authenticate(ctx: Context, username: str, password: str) -> User | None:
    with unit_of_work(ctx) as session:
        user = session.scalar(select(User).where(User.username == username, User.is_active))
        if user is None:
            hasher.hash(password)  # same work either way: no user enumeration by timing
            return None
        try:
            hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return None
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        return user


def get_user(ctx: Context, user_id: int) -> User | None:
    with unit_of_work(ctx) as session:
        read_only(session)  # no write lock on SQLite: a scheduler batch must not hold this up
        return session.get(User, user_id)
