"""限期整改 (Art. 20, 21), with bpmn/rectification.bpmn: a called process, so a supervision
measure and a rating below three stars run the same loop. The caller passes `institution_id`,
`rectification_origin` ("measure:5"), `rectification_matter` and `rectification_due` (a date);
the institution reports with evidence by the end of that day, the county verifies, and the
caller gets `rectified` back (False when late or not accepted)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..store.db import read_only
from ..store.models import Institution, Rectification, User
from ..usecases import access, audit, notifications
from ..usecases.context import Context, unit_of_work
from ..usecases.topics import Topic

STATUS_NAMES = {"open": "整改中", "submitted": "待核查", "accepted": "整改合格", "rejected": "整改不合格",
                "overdue": "逾期未整改"}
EVIDENCE = ("rectification_evidence_1", "rectification_evidence_2", "rectification_evidence_3")


def rectifications_of(ctx: Context, user_id: int) -> list[Rectification]:
    """What a user may see: an institution its own, a county its jurisdiction's, the city all."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(Rectification).join(Institution, Institution.id == Rectification.institution_id).where(
            access.scope_filter(user, Rectification.institution_id, Institution.jurisdiction_code))
        return list(session.scalars(statement.order_by(Rectification.id.desc()).limit(500)))


def open_rectification(ctx, session, instance, actor, data, inputs):
    institution = session.get(Institution, int(data["institution_id"]))
    due = date.fromisoformat(data["rectification_due"])
    row = Rectification(institution_id=institution.id, origin=data["rectification_origin"],
                        matter=data.get("rectification_matter") or "", due_on=due, status="open", evidence=[])
    session.add(row)
    session.flush()
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "限期整改通知", f"请于{due:%Y-%m-%d}前提交整改报告和证据材料：{row.matter}", "/inbox"))
    return {"rectification_id": row.id, "rectified": None, "rectification_status_name": STATUS_NAMES["open"]}


def record_report(ctx, session, instance, actor, data, inputs):
    row = _row(session, data)
    row.report, row.submitted_at, row.status = data.get("report"), ctx.clock.now(), "submitted"
    row.evidence = [data[key] for key in EVIDENCE if data.get(key)]
    institution = session.get(Institution, row.institution_id)
    notifications.to_assignees(ctx, session, "county", institution.jurisdiction_code, None, notifications.Message(
        "整改报告待核查", f"{institution.name}已提交整改报告：{row.matter[:80]}", f"/cases/{instance.id}"))
    return {"rectification_status_name": STATUS_NAMES["submitted"]}


def record_overdue(ctx, session, instance, actor, data, inputs):
    """The deadline's day ended with no report: the caller decides what follows."""
    row = _row(session, data)
    row.status = "overdue"
    institution = session.get(Institution, row.institution_id)
    audit.record(session, ctx.clock.now(), None, "rectification_overdue", instance_id=instance.id,
                 institution_id=institution.id, data={"rectification_id": row.id, "due_on": row.due_on.isoformat()})
    message = notifications.Message("整改逾期", f"{institution.name}未在{row.due_on:%Y-%m-%d}前提交整改报告",
                                    f"/cases/{instance.id}")
    notifications.to_staff(ctx, session, institution.jurisdiction_code, message)
    notifications.to_institution(ctx, session, institution.id, message)
    return {"rectified": False, "rectification_status_name": STATUS_NAMES["overdue"]}


def record_verification(ctx, session, instance, actor, data, inputs):
    verdict = data.get("verdict")
    if verdict not in ("accepted", "rejected"):
        raise ValueError(f"record_verification: verdict must be accepted or rejected, got {verdict!r}")
    row = _row(session, data)
    row.status, row.verification = verdict, data.get("verification")
    row.verified_by, row.verified_at = actor.id if actor else None, ctx.clock.now()
    notifications.to_institution(ctx, session, row.institution_id, notifications.Message(
        f"整改核查：{STATUS_NAMES[verdict]}", row.verification or "", f"/cases/{instance.id}"))
    return {"rectified": verdict == "accepted", "rectification_status_name": STATUS_NAMES[verdict],
            "rectification_verification": row.verification, "previous_verification": row.verification}


def _row(session, data) -> Rectification:
    return session.get(Rectification, int(data["rectification_id"]))


TOPICS = {
    "open_rectification": Topic.of(open_rectification),
    "record_rectification_report": Topic.of(record_report),
    "record_rectification_overdue": Topic.of(record_overdue),
    "record_verification": Topic.of(record_verification),
}
