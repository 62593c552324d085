"""Batch certification (评价批次, Art. 12–16), with bpmn/batch_certification.bpmn: a filed institution
plans a batch and files the plan (计划报备, Art. 15.1) with the county, or for 技师/高级技师 with the
city, which reports it to the province (dmn/batch_routing.dmn says which); after the exam it
enters the scores (pass or fail per module by dmn/module_pass.dmn), publishes the results for at
least 7 days and files them within 10 working days (Art. 15.3; late is flagged and kept); the
certificates are numbered then.

Candidates and scores are rows (`candidate`), imported from Excel all or nothing; the workflow
carries only the batch's id and its plan. A plan is checked when it is filed (FORM_CHECKS)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from .. import sheets
from ..domain import batches as rules
from ..domain.codes import validate_id_number
from ..domain.errors import DomainError
from ..domain.levels import LEVELS, parse_level
from ..domain.privacy import mask_contact, mask_name
from ..store.db import read_only
from ..store.models import (
    Batch,
    Candidate,
    Certificate,
    HumanTask,
    Institution,
    Occupation,
    ProcessInstance,
    Setting,
    User,
)
from ..usecases import access, assessors, audit, imports, instances, notifications, register
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Conflict, Forbidden, NotFound
from ..usecases.forms import PHONE
from ..usecases.topics import Topic

PROCESS = "batch_certification"
# Art. 22.7 and SPEC: only a filed institution that is not suspended may run batches
MAY_CERTIFY = ("filed_pilot", "filed")
DEFAULT_ASSESSORS_PER_PAIR = 3  # setting batch_min_assessors: assessors a practical or review module needs


def business_key(batch_id: int) -> str:
    return f"batch:{batch_id}"


@dataclass
class Started:
    batch_id: int
    instance_id: int
    task_id: int


def start_batch(ctx: Context, user_id: int) -> Started:
    """An institution opens a batch; its first task is the plan, the candidates are imported beside it."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "institution" or user.institution_id is None:
            raise Forbidden("只有评价机构用户可以制定认定批次计划")
        institution = session.get(Institution, user.institution_id)
        _may_certify(institution)
        batch = Batch(institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                      status="draft", plan={}, created_at=ctx.clock.now())
        session.add(batch)
        session.flush()
        data = {"batch_id": batch.id, "institution_id": institution.id, "name": institution.name,
                "credit_code": institution.credit_code, "kind": institution.kind,
                "jurisdiction": institution.jurisdiction_code, "filing_code": institution.filing_code}
        instance = instances.start(ctx, session, user, PROCESS, data, business_key=business_key(batch.id),
                                   institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                                   subject=f"{institution.name} 认定批次{batch.id}")
        audit.record(session, ctx.clock.now(), user, "start", instance_id=instance.id, institution_id=institution.id,
                     data={"process": PROCESS, "batch_id": batch.id})
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                            HumanTask.state == "open"))
        return Started(batch.id, instance.id, task_id)


def _may_certify(institution: Institution) -> None:
    if institution.status not in MAY_CERTIFY:
        names = {"suspended": "暂停评价", "revoked": "已取消备案", "expired": "备案已过期", "withdrawn": "已退出备案"}
        state = names.get(institution.status, "尚未备案")
        raise Conflict(f"本机构当前状态为“{state}”：只有已备案且未暂停评价的机构可以开展认定（第二十二条第七项）")


# --- seeing batches -----------------------------------------------------------------------------

def _visible(session: Session, user: User, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or not access.can_see_institution(user, batch.institution):
        raise NotFound("认定批次不存在")
    return batch


def list_batches(ctx: Context, user_id: int, status: str = "", page: int = 1, per_page: int = 20) -> list[Batch]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(Batch).where(access.scope_filter(user, Batch.institution_id, Batch.jurisdiction_code))
        if status:
            statement = statement.where(Batch.status == status)
        batches = list(session.scalars(statement.order_by(Batch.id.desc()).offset((page - 1) * per_page)
                                       .limit(per_page)))
        for batch in batches:
            batch.institution  # noqa: B018 — loaded for the list, which is read after the session closes
        return batches


@dataclass
class CandidateView:
    """A candidate as one user may see them: ID number and phone masked unless they handle the batch."""
    row: int
    name: str
    id_number: str
    phone: str
    occupation_code: str
    level: str
    basis: str
    category: str | None
    commissioned_by: str | None
    scores: dict | None
    passed: bool | None

    @classmethod
    def of(cls, c: Candidate, personal: bool) -> CandidateView:
        return cls(c.row, c.name, c.id_number if personal else mask_contact(c.id_number),
                   c.phone if personal else mask_contact(c.phone), c.occupation_code, c.level, c.basis, c.category,
                   c.commissioned_by, c.scores, c.passed)


@dataclass
class BatchDetail:
    batch: Batch
    institution: Institution
    instance_id: int | None
    tasks: list[HumanTask]  # the batch's open tasks this user may act on
    candidates: list[CandidateView]
    matching: int  # candidates matching the search
    page: int
    per_page: int
    pairs: list[str]  # the batch's occupations and levels, described
    passed: int
    certificates: int


def batch_detail(ctx: Context, user_id: int, batch_id: int, query: str = "", page: int = 1,
                 per_page: int = 50) -> BatchDetail:
    """A batch with a page of its candidates, searchable by name or ID number."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        batch = _visible(session, user, batch_id)
        statement = select(Candidate).where(Candidate.batch_id == batch.id)
        if query.strip():
            like = f"%{query.strip()}%"
            statement = statement.where(or_(Candidate.name.like(like), Candidate.id_number.like(like)))
        matching = session.scalar(select(func.count()).select_from(statement.subquery()))
        personal = access.sees_personal_data(user) or user.institution_id == batch.institution_id
        rows = [CandidateView.of(c, personal) for c in session.scalars(
            statement.order_by(Candidate.row, Candidate.id).offset((max(page, 1) - 1) * per_page).limit(per_page))]
        pairs = session.execute(select(Candidate.occupation_code, Candidate.level).where(
            Candidate.batch_id == batch.id).distinct()).all()
        passed = session.scalar(select(func.count()).where(Candidate.batch_id == batch.id, Candidate.passed))
        issued = session.scalar(select(func.count()).where(Certificate.batch_id == batch.id))
        instance_id = session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.business_key == business_key(batch.id)))
        tasks = [t for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                     HumanTask.state == "open"))
                 if access.can_see_task(user, t)]
        return BatchDetail(batch, batch.institution, instance_id, tasks, rows, matching, max(page, 1), per_page,
                           register.describe(session, sorted(pairs)), passed, issued)


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
        _visible(session, session.get(User, user_id), batch_id)
    return sheets.template(CANDIDATE_COLUMNS, "参加认定人员")


def import_candidates(ctx: Context, user_id: int, batch_id: int, filename: str, content: bytes) -> int:
    """The batch's candidate list, replaced by the sheet's rows if every row is right; otherwise
    nothing changes and SheetRejected names each problem (and keeps the file marked)."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        batch = _visible(session, user, batch_id)
        if user.institution_id != batch.institution_id:
            raise Forbidden("参加认定人员名单由评价机构导入")
        session.refresh(batch, with_for_update=True)  # one import at a time per batch
        if batch.status != "draft":
            raise Conflict("批次计划已报备，不能再更改参加认定人员名单；如需更改请待退回后导入")
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


# --- the plan's check (form check `batch_plan`, Art. 8.4, 12–15.1) ----------------------------------

def check_batch_plan(ctx: Context, session: Session, data: dict) -> dict[str, str]:
    batch = session.get(Batch, int(data["batch_id"]))
    institution = batch.institution
    errors: dict[str, str] = {}
    if institution.status not in MAY_CERTIFY:
        try:
            _may_certify(institution)
        except Conflict as refusal:
            return {"_": refusal.message}
    pairs = set(session.execute(select(Candidate.occupation_code, Candidate.level).where(
        Candidate.batch_id == batch.id).distinct()).all())
    if not pairs:
        return {"_": "请先导入参加认定人员名单（第十五条第一项：计划须含参加认定人员信息）"}
    outside = pairs - register.active_pairs(institution)
    if outside:
        return {"_": f"名单中的{'、'.join(register.describe(session, sorted(outside)))}已不在本机构的备案范围内"
                     "（第二十二条第七项），请重新导入名单"}
    modules = data.get("modules") or []
    days = [date.fromisoformat(m["day"]) for m in modules]
    earliest = rules.earliest_exam_day(ctx.current_calendar(), ctx.today())
    for index, module in enumerate(modules):
        if days[index] < earliest:
            errors[f"modules/{index}/day"] = (f"第十五条第一项：批次计划须提前10个工作日报备。今天报备，"
                                              f"最早可安排在{earliest:%Y年%m月%d日}")
        if module["ends"] <= module["starts"]:
            errors[f"modules/{index}/ends"] = "结束时间应晚于开始时间"
    kinds = {m["kind"] for m in modules}
    if "theory" in kinds and not data.get("invigilators"):
        errors["invigilators"] = "有理论知识考试的批次，请安排监考员"
    if (institution.kind == "social_org" and institution.status == "filed_pilot"
            and data.get("place_jurisdiction") != institution.jurisdiction_code):
        errors["place_jurisdiction"] = "第七条、第十四条：试点期的社会培训评价组织只能在登记注册地开展认定"
    if errors or not days:
        return errors
    needed = _assessors_needed(session) if kinds & set(rules.ASSESSED_MODULES) else 0
    return assessors.plan_problems(session, data.get("assessors") or [], pairs, max(days), needed)


def _assessors_needed(session: Session) -> int:
    value = session.scalar(select(Setting.value).where(Setting.key == "batch_min_assessors"))
    return int(value) if value else DEFAULT_ASSESSORS_PER_PAIR


def check_batch_scores(ctx: Context, session: Session, data: dict) -> dict[str, str]:
    """Art. 15.3: results are filed for every candidate: each module of the plan scored or marked absent."""
    missing = session.scalar(select(func.count()).where(Candidate.batch_id == int(data["batch_id"]),
                                                        Candidate.scores.is_(None)))
    if missing:
        return {"_": f"还有{missing}人没有成绩，请导入全部参加认定人员的成绩（缺考的填“缺考”）"}
    return {}


FORM_CHECKS = {"batch_plan": check_batch_plan, "batch_scores": check_batch_scores}


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
        batch = _visible(session, session.get(User, user_id), batch_id)
        columns = score_columns(batch.plan)
        rows = [(c.name, c.id_number, c.occupation_code, LEVELS[c.level].name, *([""] * (len(columns) - 4)))
                for c in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)
                                         .order_by(Candidate.row))]
    return sheets.write(columns, rows, "成绩")


def import_scores(ctx: Context, user_id: int, batch_id: int, filename: str, content: bytes) -> int:
    """Scores per module (0–100, or 缺考), matched to candidates by ID number, occupation and level;
    all rows or none."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        batch = _visible(session, user, batch_id)
        if user.institution_id != batch.institution_id:
            raise Forbidden("成绩由评价机构录入")
        session.refresh(batch, with_for_update=True)
        if batch.status != "results":
            raise Conflict("现在不是录入成绩的环节（考试结束后、结果公示前录入）")
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
                    text = str(r[kind]).strip()
                    if text == ABSENT:
                        scores[kind] = None
                        continue
                    try:
                        value = float(text)
                    except ValueError:
                        value = -1
                    if not 0 <= value <= 100:
                        errors.append(sheets.RowError(number, rules.MODULES[kind], "请填写0–100的分数，或“缺考”"))
                    scores[kind] = value
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


# --- exports in the layouts staff exchange (Art. 15.3) --------------------------------------------

def export(ctx: Context, user_id: int, batch_id: int, table: str) -> tuple[str, bytes]:
    """报名汇总表 (sign-up), 职业技能等级认定结果汇总表 (results) or 合格人员证书信息表 (certificates)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        batch = _visible(session, user, batch_id)
        names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
        code = batch.institution.filing_code or ""
        if table == "certificates":
            columns = [sheets.Column(k, t, width=w) for k, t, w in (
                ("name", "姓名", 10), ("id_number", "身份证号码", 22), ("occupation_code", "职业（工种）编码", 14),
                ("occupation", "职业（工种）名称", 20), ("level", "等级", 14), ("number", "证书编号", 26),
                ("issued_on", "发证日期", 12), ("institution", "评价机构代码", 16))]
            rows = ((c.name, c.id_number, c.occupation_code, names.get(c.occupation_code, ""), LEVELS[c.level].name,
                     c.number, c.issued_on.isoformat(), code) for c in session.scalars(
                select(Certificate).where(Certificate.batch_id == batch.id).order_by(Certificate.number)))
            return f"合格人员证书信息表-批次{batch.id}.xlsx", sheets.write(columns, rows, "证书信息表")
        candidates = session.scalars(select(Candidate).where(Candidate.batch_id == batch.id).order_by(Candidate.row))
        if table == "results":
            kinds = [m for m in rules.MODULES if m in {x["kind"] for x in batch.plan.get("modules", [])}]
            columns = [sheets.Column(k, t) for k, t in (("name", "姓名"), ("id_number", "身份证号码"),
                                                         ("occupation", "职业（工种）"), ("level", "等级"))]
            columns += [sheets.Column(k, rules.MODULES[k]) for k in kinds] + [sheets.Column("passed", "认定结果")]
            rows = ((c.name, c.id_number, f"{c.occupation_code} {names.get(c.occupation_code, '')}",
                     LEVELS[c.level].name,
                     *(ABSENT if (c.scores or {}).get(k) is None else (c.scores or {})[k] for k in kinds),
                     {True: "合格", False: "不合格"}.get(c.passed, "")) for c in candidates)
            return f"职业技能等级认定结果汇总表-批次{batch.id}.xlsx", sheets.write(columns, rows, "结果汇总表")
        if table == "signup":
            columns = [sheets.Column(c.key, c.title, width=c.width) for c in CANDIDATE_COLUMNS]
            rows = ((c.name, c.id_number, c.phone, c.occupation_code, LEVELS[c.level].name, c.basis,
                     rules.CATEGORY_NAMES.get(c.category, ""), c.commissioned_by or "") for c in candidates)
            return f"报名汇总表-批次{batch.id}.xlsx", sheets.write(columns, rows, "报名汇总表")
        raise NotFound("没有这张表")


# --- public certificate lookup ----------------------------------------------------------------------

@dataclass
class CertificateView:
    number: str
    name: str
    occupation: str
    level: str
    issued_on: date
    institution: str


def look_up_certificate(ctx: Context, number: str, name: str) -> CertificateView:
    """The public checks a certificate by its number and the holder's name; no ID number shown."""
    number, name = (number or "").strip().upper(), (name or "").strip()
    with unit_of_work(ctx) as session:
        read_only(session)
        row = session.scalar(select(Certificate).where(Certificate.number == number))
        if row is None or row.name != name:
            raise NotFound("未查到该证书：请核对证书编号和姓名")
        occupation = session.get(Occupation, row.occupation_code)
        institution = session.get(Institution, row.institution_id)
        return CertificateView(row.number, row.name, f"{row.occupation_code} {occupation.name}",
                               LEVELS[row.level].name, row.issued_on, institution.name)


def results_in_notice(ctx: Context, batch_id: int) -> tuple[Batch, list[tuple[str, str, str]]]:
    """Art. 15.3 公示: a batch's results while in notice, names masked, no ID numbers."""
    with unit_of_work(ctx) as session:
        read_only(session)
        batch = session.get(Batch, batch_id)
        if batch is None or batch.status != "notice" or batch.notice_closes_at <= ctx.clock.now():
            raise NotFound("公示不存在或已结束")
        names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
        rows = [(mask_name(c.name), f"{names.get(c.occupation_code, '')}·{LEVELS[c.level].name}",
                 "合格" if c.passed else "不合格")
                for c in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)
                                         .order_by(Candidate.row))]
        batch.institution  # noqa: B018 — read after the session closes
        return batch, rows


def batches_in_notice(ctx: Context) -> list[Batch]:
    with unit_of_work(ctx) as session:
        read_only(session)
        found = list(session.scalars(select(Batch).where(Batch.status == "notice",
                                                         Batch.notice_closes_at > ctx.clock.now())
                                     .order_by(Batch.notice_closes_at)))
        for batch in found:
            batch.institution  # noqa: B018
        return found


# --- service topics of bpmn/batch_certification.bpmn ------------------------------------------------

def _batch(session: Session, data) -> Batch:
    return session.get(Batch, int(data["batch_id"]))


def record_plan(ctx, session, instance, actor, data, inputs):
    """The plan as filed is kept on the batch; the facts the routing decision reads are returned."""
    batch = _batch(session, data)
    modules = data.get("modules") or []
    days = sorted(m["day"] for m in modules)
    batch.title, batch.place = data.get("title", ""), data.get("place", "")
    batch.first_exam_day, batch.last_exam_day = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    batch.plan = {key: data.get(key) for key in ("overview", "place_jurisdiction", "modules", "invigilators",
                                                   "assessors", "quality_supervisors")}
    batch.status, batch.submitted_at = "submitted", ctx.clock.now()
    levels = set(session.scalars(select(Candidate.level).where(Candidate.batch_id == batch.id).distinct()))
    highest = max(levels, key=lambda level: LEVELS[level].rank)
    pairs = session.execute(select(Candidate.occupation_code, Candidate.level).where(
        Candidate.batch_id == batch.id).distinct()).all()
    return {"highest_level": highest, "candidate_count": batch.candidate_count,
            "first_exam_day": batch.first_exam_day.isoformat(), "last_exam_day": batch.last_exam_day.isoformat(),
            "batch_scope": register.describe(session, sorted(pairs))}


def return_plan(ctx, session, instance, actor, data, inputs):
    """Sent back: the plan and the candidates may be changed again."""
    batch = _batch(session, data)
    batch.status, batch.opinion = "draft", inputs.get("reason") or data.get("opinion")
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "批次计划被退回", f"认定批次{batch.id}：{batch.opinion or '见办理记录'}。请修改后重新报备",
        f"/batches/{batch.id}"))
    return {}


def accept_plan(ctx, session, instance, actor, data, inputs):
    batch = _batch(session, data)
    batch.status, batch.planned_at, batch.opinion = "planned", ctx.clock.now(), data.get("opinion")
    batch.route = data.get("route")
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "批次计划已备案", f"认定批次{batch.id}计划已备案，请按计划组织实施（第十五条第二项）", f"/batches/{batch.id}"))
    return {}


def report_plan(ctx, session, instance, actor, data, inputs):
    """Art. 15.1: a 技师/高级技师 plan filed by the city is reported to the province centre."""
    batch = _batch(session, data)
    audit.record(session, ctx.clock.now(), None, "plan_reported", instance_id=instance.id,
                 institution_id=batch.institution_id, data={"batch_id": batch.id, "to": "province"})
    notifications.to_role(ctx, session, "province", notifications.Message(
        "技师、高级技师认定批次计划报送",
        f"{batch.institution.name} 认定批次{batch.id}（{batch.title}）的计划已由市人社局备案，报省技能人才管理服务中心"
        "（第十五条第一项）", f"/batches/{batch.id}"))
    return {}


def open_results(ctx, session, instance, actor, data, inputs):
    """The exam is over: the institution enters the scores."""
    batch = _batch(session, data)
    batch.status = "results"
    return {}


def grade_results(ctx, session, instance, actor, data, inputs):
    """Each module's score through dmn/module_pass.dmn (thresholds as data); a candidate passes
    with every module of the plan passed. Absent from a module fails it."""
    batch = _batch(session, data)
    decision = ctx.definitions(session, instance.definition_id).decisions["module_pass"]
    kinds = [m["kind"] for m in batch.plan.get("modules", [])]
    verdicts: dict[tuple[str, float], bool] = {}  # scores repeat: decide each (module, score) once

    def passes(kind, score):
        if score is None:
            return False
        if (kind, score) not in verdicts:
            verdicts[(kind, score)] = bool(decision.result({"module": kind, "score": score}, ctx.sandbox))
        return verdicts[(kind, score)]

    passed = 0
    for candidate in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)):
        candidate.passed = all(passes(kind, (candidate.scores or {}).get(kind)) for kind in set(kinds))
        passed += candidate.passed
    return {"passed_count": passed, "failed_count": batch.candidate_count - passed}


def publish_results(ctx, session, instance, actor, data, inputs):
    """Art. 15.3: the results on the public site until `closes_at` (at least 7 days, set in the
    model); the filing is due on `due_on` (10 working days after the notice, set in the model)."""
    batch = _batch(session, data)
    batch.status = "notice"
    batch.notice_closes_at = datetime.fromisoformat(inputs["closes_at"])
    batch.results_due_on = date.fromisoformat(str(inputs["due_on"])[:10])
    return {"results_notice_closes_at": batch.notice_closes_at.isoformat(),
            "results_due_on": batch.results_due_on.isoformat()}


def notice_over(ctx, session, instance, actor, data, inputs):
    batch = _batch(session, data)
    batch.status = "filing_results"
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "结果公示期满", f"认定批次{batch.id}的结果公示期满，请于{batch.results_due_on:%Y年%m月%d日}前报备认定结果"
        "（第十五条第三项：10个工作日内）", f"/batches/{batch.id}"))
    return {}


def flag_results_late(ctx, session, instance, actor, data, inputs):
    """Art. 15.3: the 10th working day after the notice has passed without the results filed. The
    county and the city are told; the lateness stays on the batch for the annual rating (Art. 21)."""
    batch = _batch(session, data)
    batch.results_late = True
    audit.record(session, ctx.clock.now(), None, "results_late", instance_id=instance.id,
                 institution_id=batch.institution_id, data={"batch_id": batch.id,
                                                            "due_on": batch.results_due_on.isoformat()})
    message = notifications.Message(
        "认定结果逾期未报备", f"{batch.institution.name} 认定批次{batch.id}应于{batch.results_due_on:%Y年%m月%d日}前"
        "报备认定结果，已逾期（第十五条第三项）", f"/batches/{batch.id}")
    notifications.to_staff(ctx, session, batch.jurisdiction_code, message)
    notifications.to_institution(ctx, session, batch.institution_id, message)
    return {"results_late": True}


def issue_certificates(ctx, session, instance, actor, data, inputs):
    """The results are filed: every candidate who passed gets a certificate numbered in this
    transaction (register.next_certificate_numbers); the institution's last certification day is
    kept for the inactivity rule (Art. 22.2)."""
    batch = _batch(session, data)
    institution = batch.institution
    today = ctx.today()
    passed = list(session.scalars(select(Candidate).where(Candidate.batch_id == batch.id, Candidate.passed)
                                  .order_by(Candidate.row)))
    by_level: dict[str, list[Candidate]] = {}
    for candidate in passed:
        by_level.setdefault(candidate.level, []).append(candidate)
    issued = 0
    for level, people in sorted(by_level.items()):
        digit = LEVELS[level].digit
        if digit is None:  # 学徒工、特级技师、首席技师: the enterprise's own certificate, no national number
            continue
        numbers = register.next_certificate_numbers(session, institution, today.year, digit, len(people))
        session.add_all(Certificate(number=number, batch_id=batch.id, institution_id=institution.id, name=c.name,
                                    id_number=c.id_number, occupation_code=c.occupation_code, level=c.level,
                                    issued_on=today) for number, c in zip(numbers, people, strict=True))
        issued += len(people)
    batch.status, batch.results_filed_at, batch.certified_on = "certified", ctx.clock.now(), today
    institution.last_certified_on = max(filter(None, (institution.last_certified_on, batch.last_exam_day)))
    message = notifications.Message(
        "认定结果已报备", f"{institution.name} 认定批次{batch.id}报备认定结果，合格{len(passed)}人，"
        f"核发证书{issued}本（第十五条第三项）", f"/batches/{batch.id}")
    notifications.to_staff(ctx, session, batch.jurisdiction_code, message)
    return {"certificates_issued": issued}


TOPICS = {
    "record_plan": Topic.of(record_plan),
    "return_plan": Topic.of(return_plan, ("reason",)),
    "accept_plan": Topic.of(accept_plan),
    "report_plan": Topic.of(report_plan),
    "open_results": Topic.of(open_results),
    "grade_results": Topic.of(grade_results),
    "publish_results": Topic.of(publish_results, ("closes_at", "due_on")),
    "notice_over": Topic.of(notice_over),
    "flag_results_late": Topic.of(flag_results_late),
    "issue_certificates": Topic.of(issue_certificates),
}
