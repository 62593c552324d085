"""Incidents (异常任务): what failed that the system could not finish by itself, for the city and
the analysts to see, fix and clear, as Camunda's incidents.

Two kinds. A timer that still fails after its retries stays on its own row (timers.py) and is
retried. A step that fails on a user's submit for a reason not theirs (a service task raising,
an expression failing) rolls the submit back; tasks.complete then keeps what was typed as the
task's draft and records the failure here, on the case: the error text for staff (never shown
to institutions or the public), the case's record saying that a step failed, and a message to
the analysts. Once the cause is fixed, the city or an analyst marks it resolved and whoever
submitted is told to submit again.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..store.db import read_only
from ..store.models import HumanTask, Institution, ProcessInstance, User
from ..store.models import Incident as IncidentRow
from . import audit, notifications, timers
from .context import Context, unit_of_work
from .errors import Conflict, NotFound
from .timers import Incident


def error_text(error: BaseException) -> str:
    """What staff read: the error's own words. A database error without its SQL and parameters,
    which may hold personal data (a phone number typed into the form)."""
    shown = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    return f"{type(shown).__name__}: {shown}"[:2000]


def record_step_failure(ctx: Context, session: Session, user: User, task: HumanTask, instance: ProcessInstance,
                        step: tuple[str, str], error: BaseException) -> int:
    """In the caller's transaction (the one keeping the draft): the incident, the case's record
    (without the error text: institutions read their case's record) and the analysts' message."""
    now = ctx.clock.now()
    name, title = step
    row = IncidentRow(instance_id=instance.id, task_id=task.id, step_name=name[:50], step_title=title[:100],
                      user_id=user.id, created_at=now, error=error_text(error))
    session.add(row)
    session.flush()
    audit.record(session, now, user, "step_failed", instance_id=instance.id, institution_id=instance.institution_id,
                 task_name=name, task_title=title, data={"incident_id": row.id, "task": task.title})
    process_name, _ = timers.model_names(ctx, session, instance.definition_id, instance.process_id, name)
    notifications.to_role(ctx, session, "analyst", notifications.Message(
        f"步骤异常：{title}",
        f"{task.subject or process_name}（{process_name}，案件{instance.id}）："
        f"{user.display_name}提交“{task.title}”时，系统步骤“{title}”出错（异常编号{row.id}）：{row.error[:200]}。本次提交已撤销，填写的内容已保留为草稿。"
        "排除原因后请在“异常任务”中标记为已处理，经办人将收到通知并重新提交。", "/incidents"))
    return row.id


def open_incidents(ctx: Context, user_id: int) -> list[Incident]:
    """Failed timers and unresolved step failures, oldest first (city and analysts only)."""
    found = timers.incidents(ctx, user_id)  # refuses everyone else
    with unit_of_work(ctx) as session:
        read_only(session)
        rows = session.execute(_STEP_ROWS.where(IncidentRow.resolved_at.is_(None))
                               .order_by(IncidentRow.created_at, IncidentRow.id)).all()
        found += [_incident(ctx, session, row) for row in rows]
    return sorted(found, key=lambda i: (i.occurred_at is None, i.occurred_at, i.kind, i.id))


def resolve(ctx: Context, user_id: int, incident_id: int) -> Incident:
    """The cause is fixed: the incident leaves the list, the case's record says who cleared it,
    and whoever submitted is told to submit again (their entries are still the task's draft)."""
    with unit_of_work(ctx) as session:
        user = timers.incident_handler(session, user_id)
        row = session.scalar(select(IncidentRow).where(IncidentRow.id == incident_id).with_for_update())
        if row is None:
            raise NotFound("异常任务不存在")
        if row.resolved_at is not None:
            raise Conflict("该异常已被标记为已处理（可能已有同事处理），请刷新页面查看")
        now = ctx.clock.now()
        row.resolved_at, row.resolved_by = now, user.id
        instance = session.get(ProcessInstance, row.instance_id)
        audit.record(session, now, user, "incident_resolved", instance_id=instance.id,
                     institution_id=instance.institution_id, task_name=row.step_name, task_title=row.step_title,
                     data={"incident_id": row.id})
        task = session.get(HumanTask, row.task_id) if row.task_id else None
        if row.user_id is not None and task is not None and task.state == "open":
            notifications.to_user(ctx, session, row.user_id, notifications.Message(
                f"异常已处理，请重新提交：{task.title}",
                f"您提交“{task.title}”时出现的系统异常（编号{row.id}）已由{user.display_name}处理，"
                "已填写的内容仍在，请打开任务核对后重新提交。", f"/tasks/{task.id}"))
        session.flush()
        return _incident(ctx, session, session.execute(_STEP_ROWS.where(IncidentRow.id == row.id)).one())


_ACTOR = select(User.display_name).where(User.id == IncidentRow.user_id).scalar_subquery()
_TASK = select(HumanTask.title).where(HumanTask.id == IncidentRow.task_id).scalar_subquery()
_STEP_ROWS = (select(IncidentRow, ProcessInstance.process_id, ProcessInstance.definition_id,
                     ProcessInstance.business_key, Institution.name.label("institution"),
                     timers.CASE_SUBJECT.label("subject"), _ACTOR.label("actor"), _TASK.label("task"))
              .join(ProcessInstance, ProcessInstance.id == IncidentRow.instance_id)
              .outerjoin(Institution, Institution.id == ProcessInstance.institution_id))


def _incident(ctx: Context, session: Session, row) -> Incident:
    incident = row.Incident
    process_name, _ = timers.model_names(ctx, session, row.definition_id, row.process_id, incident.step_name)
    return Incident(incident.id, incident.instance_id, row.process_id, process_name,
                    row.subject or row.institution or row.business_key, incident.step_name, incident.step_title,
                    1, incident.error, None, "resolved" if incident.resolved_at else "failed", kind="step",
                    occurred_at=incident.created_at, task_title=row.task or "", actor_name=row.actor or "")
