"""Inspection of a batch (督查, Art. 15.2, 17), with bpmn/inspection.bpmn: the county (its own
institutions' batches) or the city appoints an inspector to a batch; the task is the inspector's
own; they record the checks before, during and after the exam (forms/inspection.json is the
checklist), the findings and photos. A finding handed over is published as the message
`supervision_matter`: the hand-over point where the supervision process opens a case (Art. 19,
20), without this module knowing it."""
from __future__ import annotations

from sqlalchemy import select

from ..store.db import read_only
from ..store.models import Batch, Candidate, Inspection, User
from ..usecases import access, audit, checklists, instances, messages, notifications, register
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Conflict, Forbidden, Invalid, NotFound
from ..usecases.topics import Topic

PROCESS = "inspection"
ENDS_WITH_THE_FILING = (PROCESS,)  # its batch ends with the filing
APPOINTERS = ("county", "city")  # Art. 15.2: 各地人社部门及市人社部门根据需要选派督查员


def assign_inspector(ctx: Context, user_id: int, batch_id: int, inspector_id: int) -> int:
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        batch = session.get(Batch, batch_id)
        if batch is None or not access.can_see_institution(user, batch.institution):
            raise NotFound("认定批次不存在")
        if user.role not in APPOINTERS:
            raise Forbidden("督查员由县区或市人社部门选派（第十五条第二项）")
        if batch.status == "draft":
            raise Conflict("批次计划尚未报备，不能选派督查员")
        inspector = session.get(User, inspector_id)
        if inspector is None or inspector.role != "inspector" or not inspector.is_active:
            raise Invalid({"inspector_id": "请选择督查员"})
        if session.scalar(select(Inspection.id).where(Inspection.batch_id == batch.id,
                                                      Inspection.inspector_id == inspector.id,
                                                      Inspection.status == "assigned")) is not None:
            raise Conflict(f"已选派{inspector.display_name}督查本批次，尚未完成")
        now = ctx.clock.now()
        row = Inspection(batch_id=batch.id, institution_id=batch.institution_id,
                         jurisdiction_code=batch.jurisdiction_code, inspector_id=inspector.id, assigned_by=user.id,
                         assigned_at=now, status="assigned", results={}, problems=0, handed_over=False)
        session.add(row)
        session.flush()
        pairs = session.execute(select(Candidate.occupation_code, Candidate.level).where(
            Candidate.batch_id == batch.id).distinct()).all()
        data = {"inspection_id": row.id, "batch_id": batch.id, "inspector_id": inspector.id,
                "institution_id": batch.institution_id, "name": batch.institution.name, "batch_title": batch.title,
                "place": batch.place, "first_exam_day": str(batch.first_exam_day or ""),
                "last_exam_day": str(batch.last_exam_day or ""),
                "batch_scope": register.describe(session, sorted(pairs))}
        instance = instances.start(ctx, session, user, PROCESS, data, business_key=f"{PROCESS}:{row.id}",
                                   institution_id=batch.institution_id, jurisdiction_code=batch.jurisdiction_code,
                                   subject=f"{batch.institution.name} 认定批次{batch.id}督查")
        audit.record(session, now, user, "start", instance_id=instance.id, institution_id=batch.institution_id,
                     data={"process": PROCESS, "batch_id": batch.id, "inspector": inspector.display_name})
        notifications.to_user(ctx, session, inspector.id, notifications.Message(
            "督查任务", f"{user.display_name}选派您督查 {batch.institution.name} 认定批次{batch.id}（{batch.title}）",
            "/inbox"))
        return row.id


def inspections_of(ctx: Context, user_id: int, batch_id: int) -> list[Inspection]:
    """The inspections of a batch: staff who see the batch see all; an inspector their own."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(Inspection).where(Inspection.batch_id == batch_id).order_by(Inspection.id)
        if user.role == "inspector":
            statement = statement.where(Inspection.inspector_id == user.id)
        elif user.role not in ("county", "city", "province"):
            return []
        rows = [r for r in session.scalars(statement) if user.role == "inspector"
                or access.can_see_institution(user, session.get(Batch, r.batch_id).institution)]
        for row in rows:
            row.inspector  # noqa: B018 — read after the session closes
        return rows


def inspectors(ctx: Context) -> list[tuple[int, str]]:
    with unit_of_work(ctx) as session:
        read_only(session)
        return [(u.id, u.display_name) for u in session.scalars(
            select(User).where(User.role == "inspector", User.is_active).order_by(User.display_name))]


# --- the form check and the service topics of bpmn/inspection.bpmn -----------------------------

STAGES = ("pre_", "during_", "post_")


def check_findings(ctx, session, data: dict) -> dict[str, str]:
    return checklists.check_findings(data, STAGES)


def record_inspection(ctx, session, instance, actor, data, inputs):
    row = session.get(Inspection, int(data["inspection_id"]))
    checklists.record(row, data, STAGES, ctx.clock.now())
    batch = session.get(Batch, row.batch_id)
    text = f"{batch.institution.name} 认定批次{batch.id}督查完成，{checklists.outcome(row)}"
    notifications.to_staff(ctx, session, batch.jurisdiction_code, notifications.Message(
        "督查结果", text, f"/batches/{batch.id}"))
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "督查结果", text, f"/batches/{batch.id}"))
    return {"problems": row.problems}


def hand_over_finding(ctx, session, instance, actor, data, inputs):
    """The hand-over point to supervision (Art. 19, 20): a message any process may start on."""
    row = session.get(Inspection, int(data["inspection_id"]))
    row.handed_over = True
    batch = session.get(Batch, row.batch_id)
    payload = {"source": "inspection", "source_ref": f"inspection:{row.id}", "inspection_id": row.id,
               "batch_id": batch.id, "institution_id": batch.institution_id,
               "facts": f"认定批次{batch.id}（{batch.title}）督查{checklists.outcome(row)}",
               "evidence": checklists.photos(data)}
    started = messages.publish(ctx, session, "supervision_matter", batch.institution, payload, source=instance)
    audit.record(session, ctx.clock.now(), None, "finding_handed_over", instance_id=instance.id,
                 institution_id=batch.institution_id,
                 data={"inspection_id": row.id, "cases": [case.id for case in started]})
    return {"supervision_cases": [case.id for case in started]}


FORM_CHECKS = {"inspection_findings": check_findings}
TOPICS = {"record_inspection": Topic.of(record_inspection), "hand_over_finding": Topic.of(hand_over_finding)}
