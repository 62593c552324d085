"""Server-side validation of a task's form data: JSON Schema, our formats, named checks.

Errors are keyed by field path ("scope/0/occupation_code") with a Chinese message, so the
page shows each next to its field and keeps what the user typed.
"""
from __future__ import annotations

import re
from datetime import date

import jsonschema
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.codes import validate_credit_code, validate_id_number
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
from .definitions import form_validator

PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
DEFAULT_QUOTA = 3  # Art. 7: 原则上本辖区内1个职业不超过3家社会培训评价组织


def fresh_fields(form: dict) -> list[str]:
    """The fields a step fills with its own judgement (x-ui `fresh`; by default the opinion of a
    form with x-ui `opinion`): they start empty when the task opens, whatever came before."""
    ui = form.get("x-ui", {})
    return list(ui.get("fresh", ["opinion"] if ui.get("opinion") else []))


def validate(ctx, session: Session, user: User, schema: dict, data: dict, context: dict) -> dict[str, str]:
    """Errors by field path. A named check (x-checks) is called as check(ctx, session, data) with the
    case data under the form's: the checks each process registers (bootstrap) are ctx.form_checks."""
    checker = _format_checker(session, user, ctx.today() if ctx is not None else None)
    validator = form_validator(schema, checker)  # never fetches a $ref (SSRF): usecases/definitions.py
    errors: dict[str, str] = {}
    for error in validator.iter_errors(data):
        path = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            path = f"{path}/{missing}" if path else missing
        errors.setdefault(path or "_", _message(error, schema))
    if not errors:
        for check in schema.get("x-checks", []):
            errors.update(ctx.form_checks[check](ctx, session, {**context, **data}))
    return errors


# What a value of each type or format looks like, said when one does not.
TYPE_HINTS = {"number": "请填写数字", "integer": "请填写整数", "boolean": "请选择“是”或“否”", "string": "请填写文字",
              "array": "请逐行填写", "object": "请逐项填写"}
FORMAT_HINTS = {"id-number": "请填写18位身份证号码", "date": "请填写日期，如 2027-06-30",
                "phone": "请填写11位手机号或带区号的固定电话（如0566-1234567）",
                "credit-code": "请填写18位统一社会信用代码", "occupation-code": "请填写职业编码，如6-31-01-03",
                "jurisdiction": "请从列表中选择属地", "attachment": "请上传文件"}


def _message(error: jsonschema.ValidationError, schema: dict) -> str:
    """Chinese, and saying what is expected: an analyst's `x-hint` on the field, else its
    description, for a pattern or format; the limits for lengths and numbers."""
    if error.validator == "format" and isinstance(error.cause, DomainError):
        return error.cause.message
    prop = error.schema if isinstance(error.schema, dict) else {}
    value = error.validator_value
    if error.validator in ("pattern", "format"):
        hint = prop.get("x-hint") or FORMAT_HINTS.get(prop.get("format", ""))
        return hint or (f"格式不正确：{prop['description']}" if prop.get("description") else "格式不正确")
    if error.validator == "type":
        types = [value] if isinstance(value, str) else list(value)
        return next((TYPE_HINTS[t] for t in types if t in TYPE_HINTS), "内容有误")
    length = len(error.instance) if isinstance(error.instance, str) else 0
    titles = {"required": "此项必填", "minLength": f"至少填写{value}个字", "enum": "请从列表中选择",
              "maxLength": f"不超过{value}个字（现有{length}个字）", "minimum": f"不能小于{value}",
              "maximum": f"不能大于{value}", "exclusiveMinimum": f"须大于{value}",
              "exclusiveMaximum": f"须小于{value}", "minItems": f"至少填写{value}项",
              "maxItems": f"最多填写{value}项", "const": "请从列表中选择"}
    return titles.get(error.validator, "内容有误")


def _format_checker(session: Session, user: User, today) -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker([])

    @checker.checks("id-number", raises=DomainError)
    def id_number(value):
        return not isinstance(value, str) or bool(validate_id_number(value, today))

    @checker.checks("date", raises=DomainError)
    def a_date(value):
        if isinstance(value, str):
            try:
                date.fromisoformat(value)
            except ValueError:
                raise DomainError(f"日期“{value}”无效，请填写如 2027-06-30") from None
        return True

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
                                                       row.is_digital, row.is_green, row.access_type,
                                                       row.is_skill)
    return lookup


def check_filing_scope(ctx, session: Session, data: dict) -> dict[str, str]:
    """Art. 4, 5, 8.2, 9.2: catalogue occupations, not access-type, levels allowed for the kind."""
    items = [(s.get("occupation_code"), s.get("level")) for s in data.get("scope") or []]
    lookup, errors, said = _occupation_lookup(session), {}, 0
    for row in range(len(items)):
        # Each problem is told at its own row (scope/<row>), so the page marks that row only.
        # check_scope reports row by row (a repeat at its later row): what row n adds is its own.
        problems = check_scope(data.get("kind"), items[:row + 1], lookup)
        if problems[said:]:
            errors[f"scope/{row}"] = "；".join(problems[said:])
        said = len(problems)
    return errors


def quota_of(session: Session) -> int:
    return int(session.scalar(select(Setting.value).where(Setting.key == "social_org_quota")) or DEFAULT_QUOTA)


def quota_holders(session: Session, data: dict, codes) -> dict[str, int]:
    """Art. 7: for each occupation, how many other social organisations hold it city-wide: filed,
    or approved and in their public notice. The institution itself is never counted; a scope
    change (变更) counts only the occupations it adds (those it holds are in force and stay)."""
    own = int(data["institution_id"])
    # filings in their public notice count too: approved, not yet in the scope table
    in_notice = session.scalars(select(Filing).join(Institution).where(
        Filing.status == "notice", Institution.kind == "social_org", Institution.id != own)).all()
    held = set(session.scalars(select(ScopeItem.occupation_code).where(
        ScopeItem.institution_id == own, ScopeItem.is_active))) if data.get("scope_change_id") else set()
    counts = {}
    for code in sorted(set(codes) - held):
        holders = set(session.scalars(select(ScopeItem.institution_id).join(Institution).where(
            ScopeItem.occupation_code == code, ScopeItem.is_active, Institution.kind == "social_org",
            Institution.status.in_(FILED_STATUSES), Institution.id != own)))
        holders.update(f.institution_id for f in in_notice
                       if any(s["occupation_code"] == code for s in f.approved_scope or []))
        counts[code] = len(holders)
    return counts


def check_quota(ctx, session: Session, data: dict) -> dict[str, str]:
    """Art. 7: the city may reduce the scope, never widen it; in principle (原则上) at most N social
    organisations per occupation, counted city-wide (N is data): more only with a written reason."""
    if data.get("decision") != "approve":
        return {}
    requested = {(s["occupation_code"], s["level"]) for s in data.get("scope") or []}
    wider = [f"{s['occupation_code']}/{s['level']}" for s in data.get("approved_scope") or []
             if (s["occupation_code"], s["level"]) not in requested]
    if wider:
        return {"approved_scope": f"批准范围不能超出申请范围：{'、'.join(wider)}"}
    if data.get("kind") != "social_org":
        return {}
    quota = quota_of(session)
    counts = quota_holders(session, data, [s["occupation_code"] for s in data.get("approved_scope") or []])
    over = {code: n for code, n in counts.items() if n >= quota}
    if not over or (data.get("quota_reason") or "").strip():
        return {}
    names = dict(session.execute(select(Occupation.code, Occupation.name).where(Occupation.code.in_(over))).all())
    problems = "；".join(f"第七条：职业 {code} {names.get(code, '')} 在本市已有{n}家社会培训评价组织备案"
                        f"（原则上不超过{quota}家）" for code, n in over.items())
    return {"approved_scope": f"{problems}。核减该职业，或在“超出名额的理由”中写明理由后批准",
            "quota_reason": f"超出第七条名额（原则上每个职业不超过{quota}家）批准的，须写明理由"}


def check_scope_change(ctx, session: Session, data: dict) -> dict[str, str]:
    """Art. 7 (动态调整): a scope change must add or remove something; compared with the scope in force."""
    wanted = {(s.get("occupation_code"), s.get("level")) for s in data.get("scope") or []}
    in_force = select(ScopeItem.occupation_code, ScopeItem.level).where(
        ScopeItem.institution_id == int(data["institution_id"]), ScopeItem.is_active)
    held = {(code, level) for code, level in session.execute(in_force)}
    if wanted == held:
        return {"scope": "变更后的备案范围与现行备案范围相同，请增加或删除职业（工种）等级后再提交"}
    return {}


# Art. 8.4 (schools too, Art. 12), Art. 9.4(3): at least 5 own certified assessors per occupation
# and level. The eligibility tables check it too; on the form the offending row is named at once.
MIN_ASSESSORS = 5
ASSESSOR_RULES = {"social_org": "第八条第四项：每个职业（工种）等级自有持证考评人员不少于5人",
                  "school": "第八条第四项（技工院校参照）：每个职业（工种）等级自有持证考评人员不少于5人",
                  "enterprise": "第九条第四项(3)：申请开展认定的职业（工种）每级别不少于5名考评员"}


def check_assessors(ctx, session: Session, data: dict) -> dict[str, str]:
    rule = ASSESSOR_RULES.get(data.get("kind"))
    if rule is None:
        return {}
    return {f"scope/{row}/assessors": f"{rule}，本行为{item['assessors']}人"
            for row, item in enumerate(data.get("scope") or [])
            if isinstance(item.get("assessors"), int) and item["assessors"] < MIN_ASSESSORS}


CHECKS = {"filing_scope": check_filing_scope, "quota": check_quota, "scope_change": check_scope_change,
          "assessors": check_assessors}

