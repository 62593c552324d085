"""Planning a batch and filing its plan (计划报备, Art. 8.4, 12–15.1): the batch opened, the plan
checked when filed, and the service topics of the plan part of bpmn/batch_certification.bpmn."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...domain import batches as rules
from ...domain.levels import LEVELS
from ...store.models import Batch, HumanTask, Institution, Setting, User
from ...usecases import assessors, audit, instances, notifications, register
from ...usecases.context import Context, unit_of_work
from ...usecases.errors import Conflict, Forbidden
from .common import PROCESS, batch_of, business_key, may_certify, pairs_of

DEFAULT_ASSESSORS_PER_PAIR = 3  # setting batch_min_assessors: assessors a practical or review module needs


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
        may_certify(institution)
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


# --- the plan's check (form check `batch_plan`, Art. 8.4, 12–15.1) ----------------------------------

def check_batch_plan(ctx: Context, session: Session, data: dict) -> dict[str, str]:
    batch = session.get(Batch, int(data["batch_id"]))
    institution = batch.institution
    errors: dict[str, str] = {}
    try:  # suspended or revoked since the batch was opened
        may_certify(institution)
    except Conflict as refusal:
        return {"_": refusal.message}
    pairs = pairs_of(session, batch.id)
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


def record_plan(ctx, session, instance, actor, data, inputs):
    """The plan as filed is kept on the batch; the facts the routing decision reads are returned."""
    batch = batch_of(session, data)
    modules = data.get("modules") or []
    days = sorted(m["day"] for m in modules)
    batch.title, batch.place = data.get("title", ""), data.get("place", "")
    batch.first_exam_day, batch.last_exam_day = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    batch.plan = {key: data.get(key) for key in ("overview", "place_jurisdiction", "modules", "invigilators",
                                                   "assessors", "quality_supervisors")}
    batch.status, batch.submitted_at = "submitted", ctx.clock.now()
    pairs = pairs_of(session, batch.id)
    highest = max((level for _, level in pairs), key=lambda level: LEVELS[level].rank)
    return {"highest_level": highest, "candidate_count": batch.candidate_count,
            "first_exam_day": batch.first_exam_day.isoformat(), "last_exam_day": batch.last_exam_day.isoformat(),
            "batch_scope": register.describe(session, sorted(pairs))}


def return_plan(ctx, session, instance, actor, data, inputs):
    """Sent back: the plan and the candidates may be changed again."""
    batch = batch_of(session, data)
    batch.status, batch.opinion = "draft", inputs.get("reason") or data.get("opinion")
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "批次计划被退回", f"认定批次{batch.id}：{batch.opinion or '见办理记录'}。请修改后重新报备",
        f"/batches/{batch.id}"))
    return {}


def accept_plan(ctx, session, instance, actor, data, inputs):
    batch = batch_of(session, data)
    batch.status, batch.planned_at, batch.opinion = "planned", ctx.clock.now(), data.get("opinion")
    batch.route = data.get("route")
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "批次计划已备案", f"认定批次{batch.id}计划已备案，请按计划组织实施（第十五条第二项）", f"/batches/{batch.id}"))
    return {}


def report_plan(ctx, session, instance, actor, data, inputs):
    """Art. 15.1: a 技师/高级技师 plan filed by the city is reported to the province centre."""
    batch = batch_of(session, data)
    audit.record(session, ctx.clock.now(), None, "plan_reported", instance_id=instance.id,
                 institution_id=batch.institution_id, data={"batch_id": batch.id, "to": "province"})
    notifications.to_role(ctx, session, "province", notifications.Message(
        "技师、高级技师认定批次计划报送",
        f"{batch.institution.name} 认定批次{batch.id}（{batch.title}）的计划已由市人社局备案，报省技能人才管理服务中心"
        "（第十五条第一项）", f"/batches/{batch.id}"))
    return {}
