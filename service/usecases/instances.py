"""Load a process instance, let the engine act on it, and write back what changed:
the state, the open human tasks and the waiting timers. Every use case that moves a
workflow goes through `advance`, so tasks and timers never drift from the state."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine.runtime import WorkflowError
from ..store.models import HumanTask, ProcessInstance, Timer, User
from . import handlers
from .context import Context


def start(ctx: Context, session: Session, actor: User | None, process_id: str, data: dict, *,
          business_key: str, institution_id: int | None, jurisdiction_code: str | None,
          subject: str) -> ProcessInstance:
    version_id = ctx.latest_version_id(session)
    definitions = ctx.definitions(session, version_id)
    instance = ProcessInstance(process_id=process_id, definition_id=version_id, business_key=business_key,
                               institution_id=institution_id, jurisdiction_code=jurisdiction_code,
                               started_at=ctx.clock.now(), state="{}")
    session.add(instance)
    session.flush()
    services = handlers.services(ctx, session, instance, actor)
    workflow = ctx.engine.start(definitions, process_id, {**data, "subject": subject}, services)
    save(ctx, session, instance, workflow, definitions)
    return instance


def load(ctx: Context, session: Session, instance: ProcessInstance, actor: User | None):
    """The workflow with its service tasks bound to this session; store it with `save`."""
    definitions = ctx.definitions(session, instance.definition_id)
    services = handlers.services(ctx, session, instance, actor)
    return ctx.engine.load(definitions, instance.process_id, instance.state, services), definitions


def advance(ctx: Context, session: Session, instance: ProcessInstance, actor: User | None,
            act: Callable) -> None:
    """Load the workflow, run `act(engine, workflow)`, and store the result."""
    workflow, definitions = load(ctx, session, instance, actor)
    act(ctx.engine, workflow)
    save(ctx, session, instance, workflow, definitions)


def load_readonly(ctx: Context, session: Session, instance: ProcessInstance):
    definitions = ctx.definitions(session, instance.definition_id)
    return ctx.engine.load(definitions, instance.process_id, instance.state, None), definitions


def save(ctx: Context, session: Session, instance: ProcessInstance, workflow, definitions) -> None:
    now = ctx.clock.now()
    instance.state = ctx.engine.dump(workflow)
    if workflow.completed:
        instance.status, instance.ended_at = "completed", now
    subject = ctx.engine.data(workflow).get("subject", "")

    ready = {t.id: t for t in ctx.engine.ready_tasks(definitions, instance.process_id, workflow)}
    open_rows = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.state == "open")).all()
    for row in open_rows:
        if row.spiff_task_id not in ready:
            row.state = "cancelled"  # e.g. the other branch of an event gateway won
    known = {row.spiff_task_id for row in open_rows}
    for task in ready.values():
        if task.id not in known:
            session.add(HumanTask(
                instance_id=instance.id, spiff_task_id=task.id, process_id=instance.process_id,
                name=task.name, title=task.title, subject=task.data.get("subject", subject), role=task.role,
                form_key=task.form_key, due_at=task.due_at, jurisdiction_code=instance.jurisdiction_code,
                institution_id=instance.institution_id, created_at=now))

    waiting = {t.task_id: t for t in ctx.engine.waiting_timers(workflow)}
    timer_rows = session.scalars(select(Timer).where(
        Timer.instance_id == instance.id, Timer.state == "waiting")).all()
    for row in timer_rows:
        if row.spiff_task_id not in waiting:
            row.state = "cancelled" if row.state == "waiting" else row.state
    known_timers = {row.spiff_task_id for row in timer_rows}
    for timer in waiting.values():
        if timer.task_id not in known_timers:
            session.add(Timer(instance_id=instance.id, spiff_task_id=timer.task_id, name=timer.name,
                              due_at=timer.due_at))
    session.flush()


__all__ = ["start", "load", "save", "advance", "load_readonly", "WorkflowError"]
