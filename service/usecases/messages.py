"""How processes meet: messages, never calls into each other's code (as Camunda correlates them).

`deliver` hands a message to the running case with a business key (an objection to its filing).
`publish` is for what happens to an institution: the message goes to each of its running cases
waiting for it, and starts a case of every process whose start event catches it. So the receipt
of a filing starts the pilot and puts the three years on the clock (bpmn/pilot.bpmn and
bpmn/renewal.bpmn start on `filing_filed`) without the filing knowing either exists."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..store.models import Institution, ProcessInstance, User
from . import audit, instances
from .context import Context


def deliver(ctx: Context, session: Session, business_key: str, message: str, payload: dict) -> bool:
    """Correlate by business key; an instance not waiting for it keeps the fact in its tables."""
    delivered = False
    for instance in session.scalars(select(ProcessInstance).where(
            ProcessInstance.business_key == business_key, ProcessInstance.status == "running")):
        delivered |= _deliver(ctx, session, instance, message, payload)
    return delivered


def publish(ctx: Context, session: Session, message: str, institution: Institution, payload: dict, *,
            source: ProcessInstance | None = None, actor: User | None = None) -> list[ProcessInstance]:
    """What happened to `institution`: told to each of its running cases that waits for `message`
    (except `source`, the case publishing it, which is mid-step), then a case started for every
    process whose start event catches it, with `payload` as its data. Returns the started cases.
    In the caller's transaction."""
    cases = session.scalars(select(ProcessInstance).where(
        ProcessInstance.institution_id == institution.id, ProcessInstance.status == "running",
        ProcessInstance.id != (source.id if source is not None else -1)).order_by(ProcessInstance.id)).all()
    for instance in cases:
        _deliver(ctx, session, instance, message, payload)
    definitions = ctx.definitions(session, ctx.latest_version_id(session))
    started = []
    for process_id in sorted(definitions.start_messages.get(message, ())):
        instance = instances.start(ctx, session, actor, process_id, payload, message=message,
                                   business_key=f"{process_id}:{institution.id}", institution_id=institution.id,
                                   jurisdiction_code=institution.jurisdiction_code,
                                   subject=f"{institution.name} {definitions.process_names[process_id]}")
        audit.record(session, ctx.clock.now(), actor, "start", instance_id=instance.id, institution_id=institution.id,
                     data={"process": process_id, "message": message})
        started.append(instance)
    return started


def _deliver(ctx: Context, session: Session, instance: ProcessInstance, message: str, payload: dict) -> bool:
    loaded = instances.load(ctx, session, instance, None)
    if not ctx.engine.deliver(loaded.workflow, message, payload):
        return False
    instances.save(ctx, session, instance, loaded)
    return True
