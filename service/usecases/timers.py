"""Firing due timers. The scheduler and the CLI call this; the clock says what is due.

A timer that still fails after its retries is an incident (as in Camunda's job executor): the
case's record says so, the analysts get a message, and the city or an analyst sees it on
/incidents and retries it once the cause is fixed."""
from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..store import held
from ..store.db import read_only
from ..store.models import HumanTask, Institution, ProcessInstance, Timer, User
from . import access, audit, instances, notifications
from .context import Context, unit_of_work
from .errors import Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass
class FireResult:
    fired: int = 0
    failed: int = 0


def fire_due_timers(ctx: Context, as_of: datetime | None = None, batch: int = 100) -> FireResult:
    """Fire every timer due at `as_of` (default: the clock's now).

    A batch of due rows is taken with FOR UPDATE SKIP LOCKED, so several schedulers can run
    side by side without firing a timer twice. The batch is one transaction; if any timer in
    it fails, the batch is rolled back and fired again with a savepoint per timer, so a broken
    instance rolls back alone, records its error and is retried with backoff; after
    MAX_ATTEMPTS it stays `failed` for staff to see. Never lost silently."""
    as_of = as_of or ctx.clock.now()
    result = FireResult()
    while True:
        try:
            fired = _fire_batch(ctx, as_of, batch, careful=False)
        except _BatchFailed:
            fired = _fire_batch(ctx, as_of, batch, careful=True)
        if fired is None:
            return result
        result.fired += fired.fired
        result.failed += fired.failed


class _BatchFailed(Exception):
    pass


def _fire_batch(ctx: Context, as_of: datetime, batch: int, careful: bool) -> FireResult | None:
    result = FireResult()
    with unit_of_work(ctx) as session:
        if not careful:  # the fast way: the batch's writes go together (a broken timer fails it all)
            held.hold(session)
        due = session.scalars(select(Timer).where(Timer.state == "waiting", Timer.due_at <= as_of)
                              .order_by(Timer.due_at).limit(batch).with_for_update(skip_locked=True)).all()
        if not due:
            return None
        # one read for the batch's instances, held here: the session keeps only weak references,
        # so a discarded result would be read again, state and all, timer by timer
        cases = {case.id: case for case in session.scalars(
            select(ProcessInstance).where(ProcessInstance.id.in_({t.instance_id for t in due})))}
        fired = []
        for timer in due:
            try:
                with session.begin_nested() if careful else nullcontext():
                    _fire(ctx, session, timer, cases[timer.instance_id], as_of)
                fired.append(timer.id)
                result.fired += 1
            except Exception as error:
                if not careful:
                    raise _BatchFailed from error
                log.exception("timer %s failed", timer.id)
                audit.forget(session, timer.instance_id)
                timer.attempts += 1
                timer.last_error = str(error)[:2000]
                if timer.attempts >= MAX_ATTEMPTS:
                    timer.state = "failed"
                    _incident_raised(ctx, session, timer)
                else:  # later than as_of, so this pass does not pick it up again
                    timer.due_at = as_of + timedelta(minutes=2 ** timer.attempts)
                result.failed += 1
        try:
            held.release(session)
        except StaleDataError as error:  # a case changed under the batch: find it timer by timer
            raise _BatchFailed from error
        if fired:  # one statement for the batch
            session.execute(update(Timer).where(Timer.id.in_(fired))
                            .values(state="fired", attempts=Timer.attempts + 1)
                            .execution_options(synchronize_session=False))
    return result


def _fire(ctx: Context, session, timer: Timer, instance: ProcessInstance, as_of: datetime) -> None:
    loaded = instances.load(ctx, session, instance, None)
    loaded.timers_before.discard(timer.spiff_task_id)  # its row is marked fired with the batch
    ctx.engine.fire_timers(loaded.workflow, as_of)
    instances.save(ctx, session, instance, loaded)


@dataclass(frozen=True)
class Incident:
    """What failed that the system could not finish by itself, with what staff need to find its
    case: a timer that failed after its retries (kind "timer", id = the timer's), or a step that
    failed on a user's submit (kind "step", id = the incident's; usecases/incidents.py)."""
    id: int
    instance_id: int
    process_id: str
    process_name: str
    subject: str
    name: str  # the BPMN id of the timer, or of the element the step failed at
    title: str  # its name in the model, e.g. 公示期满
    attempts: int
    last_error: str  # for the city and the analysts only
    due_at: datetime | None  # a timer's planned time
    state: str  # failed | waiting (a timer put back) | resolved (a step)
    kind: str = "timer"
    occurred_at: datetime | None = None  # when it failed (a timer: when it was due)
    task_title: str = ""  # a step: the task whose submit failed
    actor_name: str = ""  # a step: who submitted


def incidents(ctx: Context, user_id: int) -> list[Incident]:
    """Failed timers, oldest first (city and analysts only)."""
    with unit_of_work(ctx) as session:
        incident_handler(read_only(session), user_id)
        rows = session.execute(_INCIDENT_ROWS.where(Timer.state == "failed").order_by(Timer.due_at, Timer.id)).all()
        return [_incident(ctx, session, row) for row in rows]


def retry(ctx: Context, user_id: int, timer_id: int) -> Incident:
    """Put a failed timer back: waiting, attempts 0, due now; the next scheduler pass fires it."""
    with unit_of_work(ctx) as session:
        user = incident_handler(session, user_id)
        timer = session.scalar(select(Timer).where(Timer.id == timer_id).with_for_update())
        if timer is None:
            raise NotFound("异常任务不存在")
        if timer.state != "failed":
            raise Conflict("该定时任务已不是异常状态（可能已有同事重试），请刷新页面查看")
        now = ctx.clock.now()
        instance = session.get(ProcessInstance, timer.instance_id)
        _, title = model_names(ctx, session, instance.definition_id, instance.process_id, timer.name)
        audit.record(session, now, user, "timer_retried", instance_id=instance.id,
                     institution_id=instance.institution_id, task_name=timer.name, task_title=title,
                     data={"timer_id": timer.id, "attempts": timer.attempts, "last_error": timer.last_error,
                           "due_at": timer.due_at.isoformat()})
        timer.state, timer.attempts, timer.due_at = "waiting", 0, now
        session.flush()
        return _incident(ctx, session, session.execute(_INCIDENT_ROWS.where(Timer.id == timer.id)).one())


def incident_handler(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not access.can_handle_incidents(user):
        raise Forbidden("只有市人社局和流程分析员可以查看、处理异常任务")
    return user


# What a case is about: the subject its tasks show, else its institution, else its business key.
CASE_SUBJECT = (select(HumanTask.subject).where(HumanTask.instance_id == ProcessInstance.id)
                .order_by(HumanTask.id.desc()).limit(1).scalar_subquery())
_INCIDENT_ROWS = (select(Timer, ProcessInstance.process_id, ProcessInstance.definition_id,
                         ProcessInstance.business_key, Institution.name.label("institution"),
                         CASE_SUBJECT.label("subject"))
                  .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                  .outerjoin(Institution, Institution.id == ProcessInstance.institution_id))


def _incident(ctx: Context, session: Session, row) -> Incident:
    timer = row.Timer
    process_name, title = model_names(ctx, session, row.definition_id, row.process_id, timer.name)
    return Incident(timer.id, timer.instance_id, row.process_id, process_name,
                    row.subject or row.institution or row.business_key, timer.name, title, timer.attempts,
                    timer.last_error or "", timer.due_at, timer.state, occurred_at=timer.due_at)


def model_names(ctx: Context, session: Session, definition_id: int, process_id: str,
                element_id: str) -> tuple[str, str]:
    """The process's and an element's (a timer's) names in the model; the ids if the model cannot be read
    (a broken definition may be the very cause of the incident)."""
    try:
        definitions = ctx.definitions(session, definition_id)
    except Exception:  # noqa: BLE001 - the incident must still be shown
        return process_id, element_id
    return (definitions.process_names.get(process_id, process_id),
            ctx.engine.element_name(definitions, process_id, element_id))


def _incident_raised(ctx: Context, session: Session, timer: Timer) -> None:
    """Never lost silently: the case's record says the timer failed and the analysts are told.
    The timer stays failed (visible on /incidents) even if telling fails."""
    session.flush()
    try:
        with session.begin_nested():
            _tell_incident(ctx, session, timer)
    except Exception:
        log.exception("timer %s failed; recording the incident failed too", timer.id)
        audit.forget(session, timer.instance_id)


def _tell_incident(ctx: Context, session: Session, timer: Timer) -> None:
    instance = session.get(ProcessInstance, timer.instance_id)
    session.expire(instance)  # a rolled-back savepoint may have left its version ahead of the row
    incident = _incident(ctx, session, session.execute(_INCIDENT_ROWS.where(Timer.id == timer.id)).one())
    audit.record(session, ctx.clock.now(), None, "timer_failed", instance_id=instance.id,
                 institution_id=instance.institution_id, task_name=timer.name, task_title=incident.title,
                 data={"timer_id": timer.id, "attempts": timer.attempts, "last_error": timer.last_error})
    notifications.to_role(ctx, session, "analyst", notifications.Message(
        f"定时任务异常：{incident.title}",
        f"{incident.subject}（{incident.process_name}，案件{incident.instance_id}）的定时事件“{incident.title}”"
        f"重试{incident.attempts}次仍未成功：{incident.last_error[:200]}。排除原因后请在“异常任务”中重试。",
        "/incidents"))
