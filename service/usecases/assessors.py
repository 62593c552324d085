"""The assessor registry (考评员, Art. 8.4, 15.1), kept by the city: imported from the Excel the
province's assessor lists come in, and read when a batch plan names its assessors."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import sheets
from ..domain.codes import validate_id_number
from ..domain.errors import DomainError
from ..domain.levels import LEVELS, parse_level
from ..store.db import read_only
from ..store.models import Assessor, Occupation, User
from . import audit, imports
from .context import Context, unit_of_work
from .errors import Forbidden

KEEPERS = ("city",)  # Art. 15.1, 18: the city keeps the registry every county's plans are checked against
COLUMNS = (
    sheets.Column("name", "姓名", example="示例：张三"),
    sheets.Column("id_number", "身份证号码", width=22, example="34170219800101001X"),
    sheets.Column("certificate_number", "考评员证书编号", width=20, example="KP2024340001"),
    sheets.Column("occupation_code", "职业（工种）编码", example="6-31-01-03"),
    sheets.Column("level", "可考评的最高等级", example="三级"),
    sheets.Column("valid_until", "证书有效期至", kind="date", example="2027-12-31"),
    sheets.Column("dishonest", "列入失信名单", required=False, example="否"),
)
YES, NO = {"是", "y", "yes", "true", "1"}, {"", "否", "n", "no", "false", "0"}


@dataclass
class Imported:
    added: int
    updated: int


def import_assessors(ctx: Context, user_id: int, filename: str, content: bytes) -> Imported:
    """All rows or none: a person's certificate (ID number, occupation, level) already listed is
    updated (renewed, flagged), a new one added."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role not in KEEPERS:
            raise Forbidden("考评员名册由市人社局维护")
        rows, errors = imports.check_sheet(content, COLUMNS, lambda rows: _check(session, ctx.today(), rows))
        if not errors:
            known = {(a.id_number, a.occupation_code, a.level): a for a in session.scalars(select(Assessor).where(
                Assessor.id_number.in_({r["id_number"] for _, r in rows})))}
            added = 0
            now = ctx.clock.now()
            for _, r in rows:
                row = known.get((r["id_number"], r["occupation_code"], r["level"]))
                if row is None:
                    row = Assessor(id_number=r["id_number"], occupation_code=r["occupation_code"], level=r["level"])
                    session.add(row)
                    added += 1
                row.name, row.certificate_number = r["name"], r["certificate_number"]
                row.valid_until, row.dishonest, row.updated_at = r["valid_until"], r["dishonest"], now
            audit.record(session, now, user, "assessors_imported", data={"file": filename, "rows": len(rows),
                                                                         "added": added})
            return Imported(added, len(rows) - added)
    imports.refuse(ctx, user_id, filename, content, COLUMNS, rows, errors)


def _check(session: Session, today: date, rows: imports.Rows) -> list[sheets.RowError]:
    """Every problem of every row, each at its column, normalising the row as it goes."""
    errors = []
    titles = {c.key: c.title for c in COLUMNS}
    codes = {r["occupation_code"] for _, r in rows}
    catalogue = set(session.scalars(select(Occupation.code).where(Occupation.code.in_(codes))))
    seen: dict[tuple, int] = {}
    for number, r in rows:
        def wrong(key, message, number=number):
            errors.append(sheets.RowError(number, titles[key], message))
        for key in ("name", "certificate_number"):
            if not r[key]:
                wrong(key, "此项必填")
            elif len(r[key]) > 50:
                wrong(key, f"不超过50个字（现有{len(r[key])}个字）")
        try:
            r["id_number"] = validate_id_number(r["id_number"], today)
        except DomainError as error:
            wrong("id_number", error.message)
        if r["occupation_code"] not in catalogue:
            wrong("occupation_code", f"职业编码“{r['occupation_code']}”不在国家职业分类大典中")
        level = parse_level(r["level"])
        if level is None:
            wrong("level", f"等级“{r['level']}”无法识别，请填写如 三级 或 三级/高级工")
        r["level"] = level
        if r["valid_until"] is None:
            wrong("valid_until", "请填写证书有效期，如 2027-12-31")
        flag = str(r.get("dishonest") or "").strip().lower()
        if flag not in YES | NO:
            wrong("dishonest", "请填写“是”或“否”")
        r["dishonest"] = flag in YES
        key = (r["id_number"], r["occupation_code"], level)
        if key in seen:
            wrong("id_number", f"与第{seen[key]}行重复（同一人、同一职业和等级）")
        seen.setdefault(key, number)
    return errors


def list_assessors(ctx: Context, user_id: int, query: str = "", page: int = 1,
                   per_page: int = 50) -> tuple[list[Assessor], int]:
    """The registry for staff (an institution sees it only through its own plans' checks)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user.role not in ("city", "county", "province", "analyst"):
            raise Forbidden("考评员名册仅供人社部门查阅")
        statement = select(Assessor)
        if query.strip():
            like = f"%{query.strip()}%"
            statement = statement.where(or_(Assessor.name.like(like), Assessor.id_number.like(like),
                                            Assessor.certificate_number.like(like),
                                            Assessor.occupation_code.like(like)))
        total = session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = session.scalars(statement.order_by(Assessor.name, Assessor.id).offset((page - 1) * per_page)
                               .limit(per_page)).all()
        return list(rows), total


def plan_problems(session: Session, named: list[dict], pairs: Iterable[tuple[str, str]], last_day: date,
                  needed: int) -> dict[str, str]:
    """Art. 8.4, 15.1: the assessors a plan names, checked against the registry — listed, the name
    matching, a certificate for one of the batch's occupations at or above its level, valid on the
    last exam day, not on a dishonesty list; and for each (occupation, level) of the batch at
    least `needed` of them. Errors keyed by the form's field path."""
    numbers = [str(a.get("id_number") or "").strip().upper() for a in named]
    held: dict[str, list[Assessor]] = {}
    for row in session.scalars(select(Assessor).where(Assessor.id_number.in_(numbers))):
        held.setdefault(row.id_number, []).append(row)
    pairs = sorted(set(pairs))
    errors: dict[str, str] = {}
    qualified: dict[tuple[str, str], int] = dict.fromkeys(pairs, 0)
    for index, (person, number) in enumerate(zip(named, numbers, strict=True)):
        rows = held.get(number)
        where = f"assessors/{index}"
        if not rows:
            errors[where] = f"{person.get('name') or number} 不在考评员名册中（第八条第四项：须持证）"
            continue
        if person.get("name") and all(r.name != person["name"].strip() for r in rows):
            errors[where] = f"名册中身份证号码 {number} 的考评员姓名为{rows[0].name}，与所填不符"
            continue
        if any(r.dishonest for r in rows):
            errors[where] = f"{rows[0].name} 已列入失信名单，不得担任考评员（第八条第四项）"
            continue
        fits = [r for r in rows if any(r.occupation_code == code and _covers(r.level, level) for code, level in pairs)]
        if not fits:
            errors[where] = f"{rows[0].name} 的考评员证书不是本批次的职业（工种）和等级"
            continue
        valid = [r for r in fits if r.valid_until >= last_day]
        if not valid:
            latest = max(r.valid_until for r in fits)
            errors[where] = f"{rows[0].name} 的考评员证书有效期至{latest:%Y年%m月%d日}，早于本批次最后考试日"
            continue
        for code, level in pairs:
            if any(r.occupation_code == code and _covers(r.level, level) for r in valid):
                qualified[(code, level)] += 1
    short = [f"{code} {LEVELS[level].name if level in LEVELS else level}（现{count}人）"
             for (code, level), count in qualified.items() if count < needed]
    if short and not errors:
        errors["assessors"] = f"每个职业（工种）等级至少需{needed}名合格考评员：{'；'.join(short)}"
    return errors


def _covers(assessor_level: str, level: str) -> bool:
    """An assessor certified at a level assesses that level and the levels below it."""
    return assessor_level in LEVELS and level in LEVELS and LEVELS[assessor_level].rank >= LEVELS[level].rank
