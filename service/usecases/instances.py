"""Load a process instance, let the engine act on it, and write back what changed:
the state, the open human tasks and the waiting timers. Every use case that moves a
workflow goes through `load` and `save`, so tasks and timers never drift from the state.

Rows mirror the workflow, so what changed is the difference between the workflow's ready
tasks and waiting timers before and after the step: no rows need to be read back."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..domain.errors import CalendarYearMissing
from ..engine.definitions import Definitions
from ..engine.errors import ExpressionError
from ..engine.runtime import ReadyTask, WaitingTimer
from ..store import held
from ..store.models import HumanTask, ProcessInstance, Timer, User
from . import access, audit, forms, notifications
from .context import Context

INSTANCES, TASKS, TIMERS = ProcessInstance.__table__, HumanTask.__table__, Timer.__table__
# the columns to set come with the parameters
SAVE = INSTANCES.update().where(INSTANCES.c.id == bindparam("instance_id"),
                                INSTANCES.c.version == bindparam("loaded_version"))
NEW_TASKS, NEW_TIMERS = TASKS.insert().inline(), TIMERS.insert().inline()  # inline: no id read back (store.held)


@dataclass
class Loaded:
    workflow: object
    definitions: Definitions
    ready_before: dict[str, ReadyTask] = field(default_factory=dict)
    timers_before: set[str] = field(default_factory=set)
    actor: User | None = None  # who is acting: None for the system (a timer, a public message)
    said: str = ""  # what the actor's step decided, e.g. "县区初审：退回补正", for whoever acts next


def start(ctx: Context, session: Session, actor: User | None, process_id: str, data: dict, *,
          business_key: str, institution_id: int | None, jurisdiction_code: str | None,
          subject: str, message: str | None = None) -> ProcessInstance:
    """A new case on the current version; `message` starts a process whose start event catches it."""
    version_id = ctx.latest_version_id(session)
    definitions = ctx.definitions(session, version_id)
    instance = ProcessInstance(process_id=process_id, definition_id=version_id, business_key=business_key,
                               institution_id=institution_id, jurisdiction_code=jurisdiction_code,
                               started_at=ctx.clock.now(), started_by=actor.id if actor else None, state="{}")
    session.add(instance)
    session.flush()
    services = _services(ctx, session, instance, actor)
    workflow = ctx.engine.start(definitions, process_id, {**data, "subject": subject}, services, message)
    save(ctx, session, instance, Loaded(workflow, definitions, actor=actor))
    return instance


def end(ctx: Context, session: Session, instance: ProcessInstance, why: str, actor: User | None = None) -> None:
    """End a running case from outside (its institution's filing ended, Art. 22): its open tasks
    leave every inbox, its timers stop, it is marked 已终止 and the reason is on its record."""
    loaded = load(ctx, session, instance, actor)
    ctx.engine.cancel(loaded.workflow)
    save(ctx, session, instance, loaded)
    session.execute(INSTANCES.update().where(INSTANCES.c.id == instance.id).values(status="ended"))
    set_committed_value(instance, "status", "ended")
    audit.record(session, ctx.clock.now(), actor, "case_ended", instance_id=instance.id,
                 institution_id=instance.institution_id, opinion=why)


def load(ctx: Context, session: Session, instance: ProcessInstance, actor: User | None) -> Loaded:
    """The workflow with its service tasks bound to this session; store it with `save`."""
    definitions = ctx.definitions(session, instance.definition_id)
    services = _services(ctx, session, instance, actor)
    workflow = ctx.engine.load(definitions, instance.process_id, instance.state, services)
    ready, timers = ctx.engine.snapshot(definitions, instance.process_id, workflow)
    return Loaded(workflow, definitions, {t.id: t for t in ready}, {t.task_id for t in timers}, actor)


def _services(ctx: Context, session: Session, instance: ProcessInstance, actor: User | None):
    """The external service tasks of this step, answered by the topics registered at start-up."""
    def call(topic, data, inputs):
        return ctx.topics[topic].handler(ctx, session, instance, actor, dict(data), dict(inputs))
    return call


def load_readonly(ctx: Context, session: Session, instance: ProcessInstance):
    definitions = ctx.definitions(session, instance.definition_id)
    return ctx.engine.load(definitions, instance.process_id, instance.state, None), definitions


def save(ctx: Context, session: Session, instance: ProcessInstance, loaded: Loaded) -> None:
    now = ctx.clock.now()
    workflow = loaded.workflow
    ready_now, timers_now = ctx.engine.snapshot(loaded.definitions, instance.process_id, workflow)
    ready = {t.id: t for t in ready_now}
    new = [task for task_id, task in ready.items() if task_id not in loaded.ready_before]
    for task in new:  # a step's own judgement starts empty, not with its predecessor's
        ctx.engine.start_fresh(workflow, task.id, forms.fresh_fields(loaded.definitions.forms[task.form_key]))
    deadlines = {task.id: _deadline(ctx, loaded.definitions, instance.process_id, task) for task in new}
    for step in ctx.engine.trail(workflow):  # Art. 8.3, 18: the system's own steps are traceable too
        audit.record(session, now, None, step.kind, instance_id=instance.id, institution_id=instance.institution_id,
                     task_name=step.name, task_title=step.title, data=step.data)
    values = {"state": ctx.engine.dump(workflow), "version": instance.version + 1}
    head = audit.take_head(session, instance.id)
    if head is not None:
        values["audit_hash"] = head
    if workflow.completed:
        values.update(status="completed", ended_at=now)
    # Optimistic concurrency: only the version we loaded may be replaced; the audit chain's
    # head goes with it, so a case's chain can only grow by one writer at a time.
    # Plain Core statements, held in a scheduler batch (store.held): this runs on every step,
    # and the ORM's unit of work would cost more than the SQL itself.
    held.write(session, SAVE, [{**values, "instance_id": instance.id, "loaded_version": instance.version}],
               one_row_each=True)
    for name, value in values.items():
        set_committed_value(instance, name, value)

    connection = session.connection()
    gone = [task_id for task_id in loaded.ready_before if task_id not in ready]
    if gone:  # e.g. the other branch of an event gateway won
        connection.execute(TASKS.update().where(TASKS.c.instance_id == instance.id, TASKS.c.state == "open",
                                                TASKS.c.spiff_task_id.in_(gone)).values(state="cancelled"))
    if new:
        held.write(session, NEW_TASKS, [dict(
            instance_id=instance.id, spiff_task_id=task.id, process_id=instance.process_id, name=task.name,
            title=task.title, subject=task.data.get("subject", ""), role=task.role, form_key=task.form_key,
            due_at=deadlines[task.id][0], due_note=deadlines[task.id][1],
            jurisdiction_code=instance.jurisdiction_code, institution_id=instance.institution_id,
            claimed_by=access.assignee(task.role, task.data), state="open", created_at=now) for task in new])
        _tell_assignees(ctx, session, instance, loaded, new)

    waiting: dict[str, WaitingTimer] = {t.task_id: t for t in timers_now}
    gone = [task_id for task_id in loaded.timers_before if task_id not in waiting]
    if gone:
        connection.execute(TIMERS.update().where(TIMERS.c.instance_id == instance.id, TIMERS.c.state == "waiting",
                                                 TIMERS.c.spiff_task_id.in_(gone)).values(state="cancelled"))
    timers = [dict(instance_id=instance.id, spiff_task_id=t.task_id, name=t.name, due_at=t.due_at, state="waiting",
                   attempts=0) for task_id, t in waiting.items() if task_id not in loaded.timers_before]
    held.write(session, NEW_TIMERS, timers)


def _deadline(ctx: Context, definitions: Definitions, process_id: str,
              task: ReadyTask) -> tuple[datetime | None, str | None]:
    """A task's deadline and, when it cannot be counted, why. A year whose holidays are not
    entered yet must not stop the case (a public complaint would be lost) nor be counted as
    weekends only (SPEC): the task opens without a deadline and says so to the staff."""
    try:
        return ctx.engine.due_at(definitions, process_id, task), None
    except ExpressionError as error:
        if isinstance(error.__cause__, CalendarYearMissing):
            return None, error.__cause__.message
        raise


# County and city staff work their inbox all day and see a colleague's hand-over there. Whoever
# does not (an institution, the province) is told of every step that becomes theirs; staff are
# told of what the system or the public brought them: a notice closed, a pilot year ended, an
# objection, a complaint.
TOLD_OF_EVERY_STEP = frozenset({"institution", "province"})


def _tell_assignees(ctx: Context, session: Session, instance: ProcessInstance, loaded: Loaded,
                    new: list[ReadyTask]) -> None:
    actor = loaded.actor
    by_role: dict[str, list[ReadyTask]] = {}
    for task in new:
        by_role.setdefault(task.role, []).append(task)
    for role, handed in by_role.items():
        if actor is not None and (actor.role == role or role not in TOLD_OF_EVERY_STEP):
            continue
        if notifications.was_told(session, instance.id, role):
            continue
        notifications.to_assignees(ctx, session, role, instance.jurisdiction_code, instance.institution_id,
                                   notifications.Message(
                                       f"{loaded.said + '，' if loaded.said else ''}待您办理："
                                       f"{'、'.join(task.title for task in handed)}",
                                       handed[0].data.get("subject", ""), f"/cases/{instance.id}/next"))
