"""Server-side validation of a task's form data: JSON Schema, our formats, named checks.

Errors are keyed by field path ("scope/0/occupation_code") with a Chinese message, so the
page shows each next to its field and keeps what the user typed.
"""
from __future__ import annotations

import re

import jsonschema
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.codes import validate_credit_code
from ..domain.errors import DomainError
from ..domain.levels import check_scope
from ..domain.occupations import Occupation as OccupationRule
from ..store.models import (
    FILED_STATUSES,
    Attachment,
    Filing,
    Institution,
    Jurisdiction,
    Occupation,
    ScopeItem,
    Setting,
    User,
)

PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
DEFAULT_QUOTA = 3  # Art. 7: 原则上本辖区内1个职业不超过3家社会培训评价组织


def validate(session: Session, user: User, schema: dict, data: dict, context: dict) -> dict[str, str]:
    checker = _format_checker(session, user)
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    errors: dict[str, str] = {}
    for error in validator.iter_errors(data):
        path = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            path = f"{path}/{missing}" if path else missing
        errors.setdefault(path or "_", _message(error, schema))
    if not errors:
        for check in schema.get("x-checks", []):
            errors.update(CHECKS[check](session, {**context, **data}))
    return errors


def _message(error: jsonschema.ValidationError, schema: dict) -> str:
    if error.validator == "format" and isinstance(error.cause, DomainError):
        return error.cause.message
    titles = {"required": "此项必填", "minLength": "内容过短", "maxLength": "内容过长", "enum": "请选择有效选项",
              "type": "格式不正确", "minimum": f"不能小于{error.validator_value}",
              "maximum": f"不能大于{error.validator_value}", "minItems": f"至少填写{error.validator_value}项",
              "pattern": "格式不正确", "format": "格式不正确"}
    return titles.get(error.validator, "内容有误")


def _format_checker(session: Session, user: User) -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker([])

    @checker.checks("credit-code", raises=DomainError)
    def credit_code(value):
        return not isinstance(value, str) or bool(validate_credit_code(value))

    @checker.checks("phone")
    def phone(value):
        return not isinstance(value, str) or bool(PHONE.match(value))

    @checker.checks("jurisdiction")
    def jurisdiction(value):
        return session.get(Jurisdiction, value) is not None

    @checker.checks("occupation-code", raises=DomainError)
    def occupation(value):
        if session.get(Occupation, value) is None:
            raise DomainError(f"职业编码 {value} 不在国家职业分类大典中")
        return True

    @checker.checks("attachment", raises=DomainError)
    def attachment(value):
        # An institution may attach only its own uploads; staff may attach their own.
        found = session.get(Attachment, int(value)) if str(value).isdigit() else None
        if found is None or (found.owner_id != user.id and found.institution_id != user.institution_id):
            raise DomainError("附件不存在或无权使用，请重新上传")
        return True

    return checker


def _occupation_lookup(session: Session):
    def lookup(code):
        row = session.get(Occupation, code)
        return None if row is None else OccupationRule(row.code, row.name, row.level, row.definition,
                                                       row.is_digital, row.is_green, row.access_type)
    return lookup


def check_filing_scope(session: Session, data: dict) -> dict[str, str]:
    """Art. 4, 5, 8.2, 9.2: catalogue occupations, not access-type, levels allowed for the kind."""
    items = [(s.get("occupation_code"), s.get("level")) for s in data.get("scope") or []]
    problems = check_scope(data.get("kind"), items, _occupation_lookup(session))
    return {"scope": "；".join(problems)} if problems else {}


def check_quota(session: Session, data: dict) -> dict[str, str]:
    """Art. 7: the city may reduce the scope, never widen it; at most N social organisations
    per occupation, counted city-wide (N is data)."""
    if data.get("decision") != "approve":
        return {}
    requested = {(s["occupation_code"], s["level"]) for s in data.get("scope") or []}
    wider = [f"{s['occupation_code']}/{s['level']}" for s in data.get("approved_scope") or []
             if (s["occupation_code"], s["level"]) not in requested]
    if wider:
        return {"approved_scope": f"批准范围不能超出申请范围：{'、'.join(wider)}"}
    if data.get("kind") != "social_org":
        return {}
    quota = int(session.scalar(select(Setting.value).where(Setting.key == "social_org_quota")) or DEFAULT_QUOTA)
    own = int(data["institution_id"])
    # filings in their public notice count too: approved, not yet in the scope table
    in_notice = session.scalars(select(Filing).join(Institution).where(
        Filing.status == "notice", Institution.kind == "social_org", Institution.id != own)).all()
    # A scope change (变更) counts only the occupations it adds: those the institution holds already are
    # in force and stay, whatever others hold meanwhile. The institution itself is never counted.
    held = set(session.scalars(select(ScopeItem.occupation_code).where(
        ScopeItem.institution_id == own, ScopeItem.is_active))) if data.get("scope_change_id") else set()
    problems = []
    for code in sorted({s["occupation_code"] for s in data.get("approved_scope") or []} - held):
        holders = set(session.scalars(select(ScopeItem.institution_id).join(Institution).where(
            ScopeItem.occupation_code == code, ScopeItem.is_active, Institution.kind == "social_org",
            Institution.status.in_(FILED_STATUSES), Institution.id != own)))
        holders.update(f.institution_id for f in in_notice
                       if any(s["occupation_code"] == code for s in f.approved_scope or []))
        if len(holders) >= quota:
            name = session.scalar(select(Occupation.name).where(Occupation.code == code))
            problems.append(f"第七条：职业 {code} {name} 在本市已有{len(holders)}家社会培训评价组织备案"
                            f"（上限{quota}家），不能再批准")
    return {"approved_scope": "；".join(problems)} if problems else {}


def check_scope_change(session: Session, data: dict) -> dict[str, str]:
    """Art. 7 (动态调整): a scope change must add or remove something; compared with the scope in force."""
    wanted = {(s.get("occupation_code"), s.get("level")) for s in data.get("scope") or []}
    in_force = select(ScopeItem.occupation_code, ScopeItem.level).where(
        ScopeItem.institution_id == int(data["institution_id"]), ScopeItem.is_active)
    held = {(code, level) for code, level in session.execute(in_force)}
    if wanted == held:
        return {"scope": "变更后的备案范围与现行备案范围相同，请增加或删除职业（工种）等级后再提交"}
    return {}


CHECKS = {"filing_scope": check_filing_scope, "quota": check_quota, "scope_change": check_scope_change}

