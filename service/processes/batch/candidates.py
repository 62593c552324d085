"""Candidates and their scores from Excel (Art. 12, 13, 15): all rows or none."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ... import sheets
from ...domain import batches as rules
from ...domain.codes import validate_id_number
from ...domain.errors import DomainError
from ...domain.levels import LEVELS, parse_level
from ...store.db import read_only
from ...store.models import Batch, Candidate, Certificate, Institution, Occupation, User
from ...usecases import audit, imports, register
from ...usecases.context import Context, unit_of_work
from ...usecases.errors import Conflict, Forbidden, Invalid
from ...usecases.forms import PHONE
from .common import visible

# --- candidates from Excel (Art. 12, 13, 15.1) ----------------------------------------------------

CANDIDATE_COLUMNS = (
    sheets.Column("name", "姓名", example="示例：王五"),
    sheets.Column("id_number", "身份证号码", width=22, example="34170219900101002X"),
    sheets.Column("phone", "联系电话", width=15, example="13800000000"),
    sheets.Column("occupation_code", "职业（工种）编码", example="6-31-01-03"),
    sheets.Column("level", "申报等级", example="四级"),
    sheets.Column("basis", "申报条件", example="4-2"),
    sheets.Column("category", "人员类别", required=False, width=22, example="本企业在岗职工"),
    sheets.Column("commissioned_by", "委托单位", required=False, width=24, example=""),
)


def candidate_template(ctx: Context, user_id: int, batch_id: int) -> bytes:
    with unit_of_work(ctx) as session:
        visible(session, session.get(User, user_id), batch_id)
    return sheets.template(CANDIDATE_COLUMNS, "参加认定人员")


def import_candidates(ctx: Context, user_id: int, batch_id: int, filename: str, content: bytes) -> int:
    """The batch's candidate list, replaced by the sheet's rows if every row is right; otherwise
    nothing changes and SheetRejected names each problem (and keeps the file marked)."""
    with unit_of_work(ctx) as session:
        user, batch = _own_batch_at(session, user_id, batch_id, "draft", "参加认定人员名单由评价机构导入",
                                    "批次计划已报备，不能再更改参加认定人员名单；如需更改请待退回后导入")
        institution = batch.institution
        rows, errors = imports.check_sheet(content, CANDIDATE_COLUMNS,
                                           lambda rows: _check_candidates(session, ctx.today(), institution, rows))
        if not errors:
            session.execute(delete(Candidate).where(Candidate.batch_id == batch.id))
            session.add_all(Candidate(batch_id=batch.id, row=number, **r) for number, r in rows)
            batch.candidate_count = len(rows)
            audit.record(session, ctx.clock.now(), user, "candidates_imported", institution_id=institution.id,
                         data={"batch_id": batch.id, "file": filename, "rows": len(rows)})
            return len(rows)
    imports.refuse(ctx, user_id, filename, content, CANDIDATE_COLUMNS, rows, errors)


def _check_candidates(session: Session, today: date, institution: Institution,
                      rows: imports.Rows) -> list[sheets.RowError]:
    """Every problem of every row at its column, normalising each row as it goes (level code,
    category code, ID number upper-case)."""
    titles = {c.key: c.title for c in CANDIDATE_COLUMNS}
    errors = []
    scope = register.active_pairs(institution)
    names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
    certified = {}
    numbers = {r["id_number"].strip().upper() for _, r in rows}
    for chunk in _chunks(sorted(numbers), 500):
        for number, code, level, cert in session.execute(select(
                Certificate.id_number, Certificate.occupation_code, Certificate.level, Certificate.number).where(
                Certificate.id_number.in_(chunk))):
            certified[(number, code, level)] = cert
    seen: dict[tuple, int] = {}
    for number, r in rows:
        def wrong(key, message, number=number):
            errors.append(sheets.RowError(number, titles[key], message))
        if not r["name"]:
            wrong("name", "此项必填")
        elif len(r["name"]) > 50:
            wrong("name", "姓名不超过50个字")
        try:
            r["id_number"] = validate_id_number(r["id_number"], today)
        except DomainError as error:
            wrong("id_number", error.message)
        if not PHONE.match(r["phone"]):
            wrong("phone", "请填写11位手机号或带区号的固定电话")
        level = parse_level(r["level"])
        code = r["occupation_code"]
        if level is None:
            wrong("level", f"等级“{r['level']}”无法识别，请填写如 四级 或 四级/中级工")
        elif code not in names:
            wrong("occupation_code", f"职业编码“{code}”不在国家职业分类大典中")
        elif (code, level) not in scope:
            wrong("occupation_code", f"{code} {names[code]}·{LEVELS[level].name} 不在本机构的备案范围内"
                                     "（第二十二条第七项：不得超范围开展认定）")
        r["level"] = level
        if level is not None and (problem := rules.basis_problem(r["basis"], level)):
            wrong("basis", problem)
        category, problem = rules.category_of(institution.kind, r["category"])
        if problem:
            wrong("category", problem)
        r["category"] = category
        r["commissioned_by"] = r["commissioned_by"] or None
        if category == "commissioned" and not r["commissioned_by"]:
            wrong("commissioned_by", "第十三条：受其他企业委托认定的，请填写委托单位")
        elif r["commissioned_by"] and len(r["commissioned_by"]) > 200:
            wrong("commissioned_by", "委托单位名称不超过200个字")
        key = (r["id_number"], code, level)
        if key in seen:
            wrong("id_number", f"与第{seen[key]}行是同一人、同一职业和等级，重复报名")
        seen.setdefault(key, number)
        if key in certified:
            wrong("id_number", f"已取得该职业（工种）该等级的证书（编号{certified[key]}），不能重复认定")
    return errors


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- scores from Excel --------------------------------------------------------------------------

ABSENT = "缺考"


def score_columns(plan: dict) -> tuple[sheets.Column, ...]:
    kinds = sorted({m["kind"] for m in plan.get("modules", [])}, key=list(rules.MODULES).index)
    return (sheets.Column("name", "姓名"), sheets.Column("id_number", "身份证号码", width=22),
            sheets.Column("occupation_code", "职业（工种）编码"), sheets.Column("level", "申报等级"),
            *(sheets.Column(kind, rules.MODULES[kind], example="85") for kind in kinds))


def score_template(ctx: Context, user_id: int, batch_id: int) -> bytes:
    """The score sheet, one row per candidate already filled in, the modules' columns empty."""
    with unit_of_work(ctx) as session:
        read_only(session)
        batch = visible(session, session.get(User, user_id), batch_id)
        columns = score_columns(batch.plan)
        rows = [(c.name, c.id_number, c.occupation_code, LEVELS[c.level].name, *([""] * (len(columns) - 4)))
                for c in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)
                                         .order_by(Candidate.row))]
    return sheets.write(columns, rows, "成绩")


def import_scores(ctx: Context, user_id: int, batch_id: int, filename: str, content: bytes) -> int:
    """Scores per module (0–100, or 缺考), matched to candidates by ID number, occupation and level;
    all rows or none."""
    with unit_of_work(ctx) as session:
        user, batch = _scoring(session, user_id, batch_id)
        columns = score_columns(batch.plan)
        kinds = [c.key for c in columns[4:]]
        candidates = {(c.id_number, c.occupation_code, c.level): c for c in session.scalars(
            select(Candidate).where(Candidate.batch_id == batch.id))}
        found: dict[int, dict] = {}

        def check(rows):
            errors = []
            for number, r in rows:
                key = (r["id_number"].upper(), r["occupation_code"], parse_level(r["level"]))
                candidate = candidates.get(key)
                if candidate is None:
                    errors.append(sheets.RowError(number, "身份证号码", "本批次名单中没有此人的此职业等级"))
                    continue
                scores = {}
                for kind in kinds:
                    scores[kind], problem = _score(r[kind])
                    if problem:
                        errors.append(sheets.RowError(number, rules.MODULES[kind], problem))
                if candidate.id in found:
                    errors.append(sheets.RowError(number, "身份证号码", "此人的成绩重复填写"))
                found[candidate.id] = scores
            return errors

        rows, errors = imports.check_sheet(content, columns, check)
        if not errors:
            for candidate in candidates.values():
                if candidate.id in found:
                    candidate.scores, candidate.passed = found[candidate.id], None
            audit.record(session, ctx.clock.now(), user, "scores_imported", institution_id=batch.institution_id,
                         data={"batch_id": batch.id, "file": filename, "rows": len(rows)})
            return len(rows)
    imports.refuse(ctx, user_id, filename, content, columns, rows, errors)


def _scoring(session, user_id: int, batch_id: int) -> tuple[User, Batch]:
    return _own_batch_at(session, user_id, batch_id, "results", "成绩由评价机构录入",
                         "现在不是录入成绩的环节（考试结束后、结果公示前录入）")


def _own_batch_at(session, user_id: int, batch_id: int, status: str, not_yours: str,
                  not_now: str) -> tuple[User, Batch]:
    """The institution's own batch, locked (one import or entry at a time), at the step that allows it."""
    user = session.get(User, user_id)
    batch = visible(session, user, batch_id)
    if user.institution_id != batch.institution_id:
        raise Forbidden(not_yours)
    session.refresh(batch, with_for_update=True)
    if batch.status != status:
        raise Conflict(not_now)
    return user, batch


def _score(value) -> tuple[float | None, str]:
    """A module's score: 0–100 (decimals kept), or 缺考 (None)."""
    text = str(value if value is not None else "").strip()
    if text == ABSENT:
        return None, ""
    try:
        score = float(text)
    except ValueError:
        score = -1.0
    if not 0 <= score <= 100:
        return None, "请填写0–100的分数，或“缺考”"
    return score, ""


def enter_scores(ctx: Context, user_id: int, batch_id: int, entries: dict[int, dict]) -> int:
    """Scores typed in the page, by the candidate's row: {row: {module: text}}. All of them or none;
    Invalid names each wrong cell as "<row>/<module>"."""
    with unit_of_work(ctx) as session:
        user, batch = _scoring(session, user_id, batch_id)
        kinds = [c.key for c in score_columns(batch.plan)[4:]]
        candidates = {c.row: c for c in session.scalars(select(Candidate).where(
            Candidate.batch_id == batch.id, Candidate.row.in_(list(entries)[:1000])))}
        errors, found = {}, {}
        for row, typed in entries.items():
            if row not in candidates:
                errors[f"{row}"] = "本批次名单中没有这一行"
                continue
            scores = {}
            for kind in kinds:
                scores[kind], problem = _score(typed.get(kind))
                if problem:
                    errors[f"{row}/{kind}"] = problem
            found[row] = scores
        if errors:
            raise Invalid(errors, "成绩有误，未保存：请按标红的提示修改")
        for row, scores in found.items():
            candidates[row].scores, candidates[row].passed = scores, None
        audit.record(session, ctx.clock.now(), user, "scores_entered", institution_id=batch.institution_id,
                     data={"batch_id": batch.id, "rows": sorted(found)})
        return len(found)
