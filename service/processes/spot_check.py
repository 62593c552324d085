"""双随机、一公开 (Art. 21), with bpmn/spot_check.bpmn and bpmn/spot_check_draw.bpmn: the city (or a
county for its own) draws filed institutions at random and an inspector for each at random from
the pool, the seed recorded so anyone can draw again and check (domain/spot_checks.py); each
pair becomes the inspector's own task with Art. 17's key links as its checklist; the plan and
then its results are on the public site. A finding is handed to supervision (`supervision_matter`).
A scheduled draw is a timer start event in the model, its rate and title input parameters there."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ..domain.spot_checks import Candidate, DrawError, Inspector, draw, sample_size
from ..store.db import read_only
from ..store.models import FILED_STATUSES, Institution, Occupation, ScopeItem, SpotCheck, SpotCheckPlan, User
from ..usecases import audit, checklists, instances, messages, notifications
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Forbidden, Invalid, NotFound
from ..usecases.topics import Topic

PROCESS = "spot_check"
ENDS_WITH_THE_FILING = (PROCESS,)
DRAWERS = ("county", "city")
KINDS = ("enterprise", "school", "social_org")
MAX_COUNT = 500


def draw_plan(ctx: Context, user_id: int, title: str, *, count: int | None = None, rate: int | None = None,
              kind: str | None = None, occupation_code: str | None = None, exclude_own: bool = True,
              seed: str | None = None) -> int:
    """The city draws across the city, a county within its jurisdiction. Returns the plan's id."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role not in DRAWERS:
            raise Forbidden("双随机抽查由市人社局或县区人社部门抽取（第二十一条）")
        return _draw(ctx, session, user, title, count, rate, kind, occupation_code, exclude_own, seed).id


def _draw(ctx, session, user, title, count, rate, kind, occupation_code, exclude_own, seed) -> SpotCheckPlan:
    title = (title or "").strip()
    errors = {}
    if not 2 <= len(title) <= 200:
        errors["title"] = "请填写抽查计划名称（2至200字）"
    if (count is None) == (rate is None):
        errors["count"] = "请填写抽查数量或抽查比例，二选一"
    elif count is not None and not 1 <= count <= MAX_COUNT:
        errors["count"] = f"抽查数量应为1至{MAX_COUNT}"
    elif rate is not None and not 1 <= rate <= 100:
        errors["rate"] = "抽查比例应为1%至100%"
    if kind and kind not in KINDS:
        errors["kind"] = "机构类型无效"
    if occupation_code and session.get(Occupation, occupation_code) is None:
        errors["occupation_code"] = f"职业编码“{occupation_code}”不在职业分类大典中"
    seed = (seed or "").strip() or secrets.token_hex(8)
    if len(seed) > 64:
        errors["seed"] = "随机种子不超过64个字符"
    if errors:
        raise Invalid(errors)
    jurisdiction = user.jurisdiction_code if user is not None and user.role == "county" else None
    statement = select(Institution.id, Institution.jurisdiction_code).where(Institution.status.in_(FILED_STATUSES))
    if jurisdiction:
        statement = statement.where(Institution.jurisdiction_code == jurisdiction)
    if kind:
        statement = statement.where(Institution.kind == kind)
    if occupation_code:
        statement = statement.where(Institution.id.in_(select(ScopeItem.institution_id).where(
            ScopeItem.occupation_code == occupation_code, ScopeItem.is_active)))
    population = [Candidate(i, j) for i, j in session.execute(statement)]
    pool = [Inspector(i, j) for i, j in session.execute(select(User.id, User.jurisdiction_code).where(
        User.role == "inspector", User.is_active))]
    try:
        size = sample_size(len(population), count=count, rate=rate)
        pairs = draw(seed, population, pool, size, exclude_own)
    except DrawError as error:
        raise Invalid({"count": str(error)}) from None
    if not pairs:
        raise Invalid({"count": "符合条件的备案机构为0，未抽取"})
    now = ctx.clock.now()
    plan = SpotCheckPlan(title=title, jurisdiction_code=jurisdiction, kind=kind or None,
                         occupation_code=occupation_code or None, rate=rate, count=count, exclude_own=exclude_own,
                         seed=seed, population=[[c.id, c.jurisdiction_code] for c in population],
                         pool=[[i.id, i.jurisdiction_code] for i in pool], pairs=[list(p) for p in pairs],
                         drawn_by=user.id if user is not None else None, drawn_at=now)
    session.add(plan)
    session.flush()
    for institution_id, inspector_id in pairs:
        _assign(ctx, session, user, plan, session.get(Institution, institution_id), inspector_id)
    audit.record(session, now, user, "spot_check_drawn", data={"plan_id": plan.id, "seed": seed, "pairs": plan.pairs})
    return plan


def _assign(ctx, session, user, plan, institution, inspector_id):
    row = SpotCheck(plan_id=plan.id, institution_id=institution.id, inspector_id=inspector_id, status="assigned",
                    results={}, problems=0, handed_over=False)
    session.add(row)
    session.flush()
    data = {"spot_check_id": row.id, "plan_id": plan.id, "plan_title": plan.title, "inspector_id": inspector_id,
            "institution_id": institution.id, "name": institution.name, "address": institution.address,
            "filing_code": institution.filing_code}
    instances.start(ctx, session, user, PROCESS, data, business_key=f"{PROCESS}:{row.id}",
                    institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                    subject=f"{institution.name} 双随机抽查（{plan.title}）")
    notifications.to_user(ctx, session, inspector_id, notifications.Message(
        "双随机抽查任务", f"{plan.title}：抽取您检查 {institution.name}", "/inbox"))


@dataclass
class PlanView:
    plan: SpotCheckPlan
    checks: list[SpotCheck]
    reproduced: bool  # drawing again from the published seed, population and pool gives the same pairs


def plans(ctx: Context) -> list[SpotCheckPlan]:
    """Every plan, newest first: they are public (一公开)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        return list(session.scalars(select(SpotCheckPlan).order_by(SpotCheckPlan.id.desc()).limit(200)))


def plan_view(ctx: Context, plan_id: int) -> PlanView:
    with unit_of_work(ctx) as session:
        read_only(session)
        plan = session.get(SpotCheckPlan, plan_id)
        if plan is None:
            raise NotFound("抽查计划不存在")
        checks = session.scalars(select(SpotCheck).where(SpotCheck.plan_id == plan.id).order_by(SpotCheck.id)).all()
        for check in checks:
            check.institution, check.inspector  # noqa: B018 — read after the session closes
        return PlanView(plan, list(checks), reproduce(plan) == [tuple(p) for p in plan.pairs])


def reproduce(plan: SpotCheckPlan) -> list[tuple[int, int]]:
    """The draw again, from what was published."""
    population = [Candidate(i, j) for i, j in plan.population]
    pool = [Inspector(i, j) for i, j in plan.pool]
    return draw(plan.seed, population, pool, len(plan.pairs), plan.exclude_own)


def may_draw(user: User | None) -> bool:
    return user is not None and user.role in DRAWERS


def sees_inspectors(user: User | None) -> bool:
    """Who checked whom: staff; the public sees the institutions drawn and the results."""
    return user is not None and user.role in ("county", "city", "province")


# --- the form check and the service topics ---------------------------------------------------------

CHECK_ITEMS = ("check_",)  # forms/spot_check.json's items


def check_findings(ctx, session, data: dict) -> dict[str, str]:
    return checklists.check_findings(data, CHECK_ITEMS)


def record_spot_check(ctx, session, instance, actor, data, inputs):
    row = session.get(SpotCheck, int(data["spot_check_id"]))
    checklists.record(row, data, CHECK_ITEMS, ctx.clock.now())
    institution = session.get(Institution, row.institution_id)
    text = f"{institution.name} 双随机抽查完成，{checklists.outcome(row)}"
    notifications.to_staff(ctx, session, institution.jurisdiction_code, notifications.Message(
        "抽查结果", text, f"/spot-checks/{row.plan_id}"))
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "抽查结果", text, f"/spot-checks/{row.plan_id}"))
    return {"problems": row.problems}


def hand_over_spot_check(ctx, session, instance, actor, data, inputs):
    row = session.get(SpotCheck, int(data["spot_check_id"]))
    row.handed_over = True
    institution = session.get(Institution, row.institution_id)
    payload = {"source": "spot_check", "source_ref": f"spot_check:{row.id}", "institution_id": institution.id,
               "facts": f"双随机抽查（{data.get('plan_title')}）{checklists.outcome(row)}",
               "evidence": checklists.photos(data)}
    started = messages.publish(ctx, session, "supervision_matter", institution, payload, source=instance)
    return {"supervision_cases": [case.id for case in started]}


def draw_on_schedule(ctx, session, instance, actor, data, inputs):
    """A scheduled draw (bpmn/spot_check_draw.bpmn): city-wide, its title and rate from the model."""
    rate = int(inputs["rate"])
    plan = _draw(ctx, session, None, f"{inputs['title']}（{data.get('occurrence', '')[:10]}）", None, rate, None,
                 None, bool(inputs.get("exclude_own", True)), None)
    notifications.to_role(ctx, session, "city", notifications.Message(
        "定期双随机抽查已抽取", f"{plan.title}：抽取{len(plan.pairs)}家机构", f"/spot-checks/{plan.id}"))
    return {"plan_id": plan.id}


FORM_CHECKS = {"spot_check_findings": check_findings}
TOPICS = {
    "record_spot_check": Topic.of(record_spot_check),
    "hand_over_spot_check": Topic.of(hand_over_spot_check),
    "draw_spot_checks": Topic.of(draw_on_schedule, ("title", "rate", "exclude_own")),
}
