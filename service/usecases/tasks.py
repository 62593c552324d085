"""The task inbox and acting on tasks: claim, unclaim, open, complete, keep a draft.

A case goes back (退回) only where its process says so: a review form's decision (退回补正,
退回县区) follows a flow the analysts drew, so the diagram, the record and the data agree."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..domain.errors import DomainError
from ..store import held
from ..store.db import read_only
from ..store.models import Attachment, AuditEvent, HumanTask, Institution, Occupation, ProcessInstance, Timer, User
from . import access, audit, delegations, forms, incidents, instances
from .context import Context, unit_of_work
from .errors import Conflict, Invalid, NotFound, StepFailed, UseCaseError

log = logging.getLogger(__name__)
SOON = timedelta(days=7)  # "due soon": within a week, in calendar days, so no year's holidays are needed
# A task due at 10 Sep 00:00 may be done until 9 Sep ends: from that instant on it is overdue.
DUE = {"overdue": lambda now: HumanTask.due_at <= now,
       "soon": lambda now: (HumanTask.due_at > now) & (HumanTask.due_at <= now + SOON)}


@dataclass
class InboxQuery:
    process: str | None = None
    step: str | None = None
    jurisdiction: str | None = None
    due: str | None = None  # "soon" | "overdue"
    state: str = "open"
    due_before: datetime | None = None
    mine: bool = False
    sort: str = "created"  # "created" (newest first) | "due" (soonest first, none last)
    page: int = 1
    per_page: int = 20


def _inbox_where(user: User, query: InboxQuery, now: datetime, acting_for: tuple[int, ...] = ()) -> list:
    where = [access.task_filter(user, acting_for), HumanTask.state == query.state]
    for column, value in ((HumanTask.process_id, query.process), (HumanTask.name, query.step),
                          (HumanTask.jurisdiction_code, query.jurisdiction)):
        if value:
            where.append(column == value)
    if query.due in ("overdue", "soon"):
        where.append(DUE[query.due](now))
    if query.due_before:
        where.append(HumanTask.due_at <= query.due_before)
    if query.mine:
        where.append(HumanTask.claimed_by == user.id)
    return where


def inbox(ctx: Context, user_id: int, query: InboxQuery) -> tuple[list[HumanTask], int]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        where = _inbox_where(user, query, ctx.clock.now(), delegations.acting_for(session, user.id, ctx.today()))
        total = session.scalar(select(func.count()).select_from(HumanTask).where(*where))
        order = ((HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id) if query.sort == "due"
                 else (HumanTask.created_at.desc(), HumanTask.id.desc()))
        rows = session.scalars(select(HumanTask).where(*where).order_by(*order)
                               .offset((query.page - 1) * query.per_page).limit(query.per_page)).all()
        return list(rows), total


@dataclass
class InboxCounts:
    """How many open tasks each filter of the inbox would show."""
    total: int = 0
    mine: int = 0
    soon: int = 0
    overdue: int = 0
    by_process: dict[str, int] = field(default_factory=dict)
    by_step: dict[tuple[str, str], int] = field(default_factory=dict)  # (name, title)
    by_jurisdiction: dict[str, int] = field(default_factory=dict)
    process_names: dict[str, str] = field(default_factory=dict)


def inbox_counts(ctx: Context, user_id: int) -> InboxCounts:
    """One grouped query over the indexed task columns, never the workflows."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        now = ctx.clock.now()
        counts = InboxCounts(process_names=ctx.definitions(session, ctx.latest_version_id(session)).process_names)
        rows = session.execute(
            select(HumanTask.process_id, HumanTask.name, HumanTask.title, HumanTask.jurisdiction_code,
                   func.count(), func.sum(case((HumanTask.claimed_by == user.id, 1), else_=0)),
                   func.sum(case((DUE["overdue"](now), 1), else_=0)),
                   func.sum(case((DUE["soon"](now), 1), else_=0)))
            .where(access.task_filter(user, delegations.acting_for(session, user.id, ctx.today())),
                   HumanTask.state == "open")
            .group_by(HumanTask.process_id, HumanTask.name, HumanTask.title, HumanTask.jurisdiction_code))
        for process, name, title, jurisdiction, n, mine, overdue, soon in rows:
            counts.total += n
            counts.mine += mine or 0
            counts.overdue += overdue or 0
            counts.soon += soon or 0
            counts.by_process[process] = counts.by_process.get(process, 0) + n
            counts.by_step[(name, title)] = counts.by_step.get((name, title), 0) + n
            if jurisdiction:
                counts.by_jurisdiction[jurisdiction] = counts.by_jurisdiction.get(jurisdiction, 0) + n
        return counts


def my_open_task(ctx: Context, user_id: int, instance_id: int) -> int | None:
    """The newest open task of a case in the user's inbox, if there is one."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        return session.scalar(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open",
            access.task_filter(user, delegations.acting_for(session, user.id, ctx.today())))
            .order_by(HumanTask.id.desc()).limit(1))


def _visible_task(session: Session, user: User, task_id: int, lock=False, today=None) -> HumanTask:
    statement = select(HumanTask).where(HumanTask.id == task_id)
    task = session.scalar(statement.with_for_update() if lock else statement)
    if task is None or not (access.can_see_task(user, task) or _delegated(session, user, task, today)):
        raise NotFound("任务不存在")
    return task


def _delegated(session: Session, user: User, task: HumanTask, today) -> bool:
    """委托: asked only when the plain rules say no, so the hot path pays nothing for it."""
    return today is not None and access.can_see_task(
        user, task, delegations.acting_for(session, user.id, today))


def _must_be_open_for(session, task: HumanTask, user: User, today=None):
    if task.state != "open":
        who = session.get(User, task.completed_by) if task.completed_by else None
        when = task.completed_at.strftime("%Y-%m-%d %H:%M:%S") if task.completed_at else ""
        raise Conflict(f"该任务已由{who.display_name if who else '他人'}于{when}办理，无需重复提交"
                       if task.state == "completed" else "该任务已不在办理中")
    if task.claimed_by not in (None, user.id) and not (
            today is not None and delegations.acts_for(session, user.id, task.claimed_by, today)):
        raise Conflict(f"该任务已被{session.get(User, task.claimed_by).display_name}签收")


def claim(ctx: Context, user_id: int, task_id: int) -> None:
    _set_claim(ctx, user_id, task_id, claiming=True)


def unclaim(ctx: Context, user_id: int, task_id: int) -> None:
    _set_claim(ctx, user_id, task_id, claiming=False)


def _set_claim(ctx: Context, user_id: int, task_id: int, claiming: bool) -> None:
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        task = _visible_task(session, user, task_id, lock=True, today=ctx.today())
        _must_be_open_for(session, task, user, ctx.today())
        if task.role in access.PERSONAL_ROLES:
            raise Conflict("此任务指定由您本人办理，不能签收或取消签收")
        task.claimed_by = user.id if claiming else None
        audit.record(session, ctx.clock.now(), user, "claim" if claiming else "unclaim",
                     instance_id=task.instance_id, institution_id=task.institution_id, task_name=task.name,
                     task_title=task.title)


@dataclass
class OpenTask:
    task: HumanTask
    form: dict
    data: dict
    context: list[tuple[str, str, dict]]  # (key, title, property schema): case facts shown beside the form
    attachments: dict[int, str]  # id → file name, for the attachments the page shows
    claimed_by: str | None  # display name of whoever has claimed it
    quota: Quota | None = None  # Art. 7, on a form with the quota check
    held: str | None = None  # why the case may not move now (a suspended institution's batch)


@dataclass
class Quota:
    """Art. 7 as the city weighs it: how many social organisations hold each requested occupation."""
    limit: int
    rows: list[tuple[str, str, int]]  # (occupation code, name, social organisations holding it)

    @property
    def over(self) -> bool:
        return any(holders >= self.limit for _, _, holders in self.rows)


def open_task(ctx: Context, user_id: int, task_id: int, typed: dict | None = None) -> OpenTask:
    """The task as its page shows it; `typed` is what the user has just posted, kept over the
    stored data when the page is drawn again with errors."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        task = _visible_task(session, user, task_id, today=ctx.today())
        instance = session.get(ProcessInstance, task.instance_id)
        workflow, definitions = instances.load_readonly(ctx, session, instance)
        data = {}
        if task.state == "open":
            spiff_task = next((t for t in ctx.engine.ready_tasks(definitions, instance.process_id, workflow)
                               if t.id == task.spiff_task_id), None)
            data = dict(spiff_task.data) if spiff_task else {}
        data.update(typed or {})
        form = definitions.forms[task.form_key]
        context = [c for c in _context_fields(definitions.forms, form) if _applies(form, c[0], data)]
        described = {key: prop for key, _, prop in context} | form.get("properties", {})
        ids = {int(data[key]) for key, prop in described.items()
               if prop.get("format") == "attachment" and str(data.get(key, "")).isdigit()}
        names = dict(session.execute(select(Attachment.id, Attachment.filename)
                                     .where(Attachment.id.in_(ids))).all()) if ids else {}
        claimer = session.get(User, task.claimed_by) if task.claimed_by else None
        return OpenTask(task, form, data, context, names, claimer.display_name if claimer else None,
                        _quota(session, form, data), _held(ctx, session, instance))


def _held(ctx: Context, session: Session, instance: ProcessInstance) -> str | None:
    hold = ctx.holds.get(instance.process_id)
    return hold(session, instance) if hold else None


def _quota(session: Session, form: dict, data: dict) -> Quota | None:
    if "quota" not in form.get("x-checks", []):
        return None
    if data.get("kind") != "social_org" or "institution_id" not in data:
        return Quota(0, [])
    counts = forms.quota_holders(session, data, [s.get("occupation_code") for s in data.get("scope") or []])
    names = dict(session.execute(select(Occupation.code, Occupation.name).where(Occupation.code.in_(counts))).all())
    return Quota(forms.quota_of(session), [(code, names.get(code, ""), n) for code, n in counts.items()])


def _context_fields(all_forms: dict[str, dict], form: dict) -> list[tuple[str, str, dict]]:
    """The case facts a form shows read-only (x-ui readonly_context), each described by the form
    that collected it, so an enum shows its title and a scope its columns."""
    ui = form.get("x-ui", {})
    found = []
    for key in ui.get("readonly_context", []):
        prop = next((f["properties"][key] for f in all_forms.values() if key in f.get("properties", {})), {})
        found.append((key, ui.get("context_titles", {}).get(key) or prop.get("title", key), prop))
    return found


def _applies(form: dict, key: str, data: dict) -> bool:
    """A fact shown only for some cases (x-ui show_when, e.g. a school's education level only on
    a school's application); a rule on a value the case does not have yet does not hide it."""
    rule = form.get("x-ui", {}).get("show_when", {}).get(key, {})
    return all(name not in data or _as_text(data[name]) in [_as_text(v) for v in allowed]
               for name, allowed in rule.items())


def _as_text(value) -> str:
    # as the page's fields post them: a yes/no answer is "true"/"false"
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# Built once: statements on every task action are not rebuilt per request.
WORK_ON = (select(User, HumanTask, ProcessInstance).select_from(User)
           .join(HumanTask, HumanTask.id == bindparam("task_id"))
           .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
           .where(User.id == bindparam("user_id")).with_for_update(of=HumanTask))
FINISH = HumanTask.__table__.update().where(HumanTask.__table__.c.id == bindparam("task_id"))  # SET: the parameters


@contextmanager
def _working_on(ctx: Context, user_id: int, task_id: int):
    """The frame of every action on an open task: one transaction, the task locked and checked
    (visible, open, not claimed by a colleague), its workflow loaded; a concurrent change of
    the instance surfaces as a clear conflict."""
    try:
        with unit_of_work(ctx) as session:
            held.hold(session)  # the step's writes go together when it commits
            # the acting user, the task (locked) and its instance in one round trip: the hot path
            found = session.execute(WORK_ON, {"user_id": user_id, "task_id": task_id}).first()
            if found is None or not (access.can_see_task(found[0], found[1])
                                     or _delegated(session, found[0], found[1], ctx.today())):
                raise NotFound("任务不存在")
            user, task, instance = found
            _must_be_open_for(session, task, user, ctx.today())
            loaded = instances.load(ctx, session, instance, user)
            yield session, user, task, instance, loaded
    except StaleDataError:
        raise Conflict("该案件刚被他人办理，请刷新后查看最新状态") from None


def _form_fields(loaded: instances.Loaded, task: HumanTask, submitted: dict) -> tuple[dict, dict]:
    """Only the form's own fields: a client cannot overwrite case data like filing_id."""
    schema = loaded.definitions.forms[task.form_key]
    return schema, {k: v for k, v in submitted.items() if k in schema.get("properties", {})}


def _finish(session: Session, task: HumanTask, user: User, now) -> None:
    # A plain UPDATE, the loaded task kept in step: no unit-of-work flush on the hot path.
    values = {"state": "completed", "completed_at": now, "completed_by": user.id}
    held.write(session, FINISH, [{**values, "task_id": task.id}])
    for name, value in values.items():
        set_committed_value(task, name, value)


def complete(ctx: Context, user_id: int, task_id: int, submitted: dict) -> HumanTask:
    """Submit a task. A step failing for a reason not the user's (a service task raising, an
    expression failing) rolls the whole submit back; then, in a second transaction, what was
    typed is kept as the task's draft and the failure is recorded on the case as an incident,
    and StepFailed says so in Chinese. The user's own reasons stay what they are: a form error
    (Invalid), someone acting first (Conflict), a domain rule such as a calendar year not entered
    (Conflict with its message)."""
    attempt = _Attempt()
    try:
        return _complete(ctx, user_id, task_id, submitted, attempt)
    except UseCaseError:
        raise
    except Exception as error:
        refusal = _refusal(error)
        if refusal is not None:
            raise refusal from error
        if attempt.data is None:  # it failed before any step ran (e.g. loading the case): nothing to keep
            raise
        raise _step_failed(ctx, user_id, task_id, attempt, error) from error


@dataclass
class _Attempt:
    """What a submit got as far as, for the incident if it fails."""
    data: dict | None = None  # the form's fields, once valid
    task_title: str = ""
    step: tuple[str, str] | None = None  # (BPMN id, name) of the element that failed


def _complete(ctx: Context, user_id: int, task_id: int, submitted: dict, attempt: _Attempt) -> HumanTask:
    with _working_on(ctx, user_id, task_id) as (session, user, task, instance, loaded):
        why = _held(ctx, session, instance)
        if why:
            raise Conflict(why)
        schema, data = _form_fields(loaded, task, submitted)
        current = loaded.ready_before.get(task.spiff_task_id)
        errors = forms.validate(ctx, session, user, schema, data, dict(current.data) if current else {})
        if errors:
            raise Invalid(errors)
        attempt.data, attempt.task_title, attempt.step = data, task.title, (task.name, task.title)
        _attach_to_case(session, user, schema, data, instance)
        now = ctx.clock.now()
        outcome = _outcome(schema, data)  # kept in the event: the record stays right when the form changes
        recorded = {**data, "outcome": outcome} if outcome else dict(data)
        if task.claimed_by not in (None, user.id):  # 委托: the record says on whose behalf
            recorded["on_behalf_of"] = session.get(User, task.claimed_by).display_name
        # logged first: what the service tasks after it record follows it in the case's record
        audit.record(session, now, user, "complete", instance_id=instance.id, institution_id=instance.institution_id,
                     task_name=task.name, task_title=task.title, opinion=data.get("opinion"), data=recorded)
        try:
            ctx.engine.complete(loaded.workflow, task.spiff_task_id, data)
        except Exception:
            attempt.step = ctx.engine.failed_step(loaded.workflow) or attempt.step
            raise
        loaded.ready_before.pop(task.spiff_task_id)  # its row is marked done below, not cancelled
        loaded.said = f"{task.title}：{outcome['title']}" if outcome else ""
        _finish(session, task, user, now)
        instances.save(ctx, session, instance, loaded)  # after: the steps the system took follow in the log
        return task


def _attach_to_case(session: Session, user: User, schema: dict, data: dict, instance: ProcessInstance) -> None:
    """Files staff attach to a case's form belong to the case's institution from then on, so
    whoever works on the case sees them (the county's evidence, read by the city that decides)."""
    if instance.institution_id is None:
        return
    ids = [int(data[name]) for name, prop in schema.get("properties", {}).items()
           if prop.get("format") == "attachment" and str(data.get(name) or "").isdigit()]
    if ids:
        session.execute(Attachment.__table__.update().where(
            Attachment.id.in_(ids), Attachment.owner_id == user.id, Attachment.institution_id.is_(None))
            .values(institution_id=instance.institution_id))


def _outcome(schema: dict, data: dict) -> dict | None:
    """What the step decided (上报, 退回补正, 不予备案, 同意…): the choice among the fields the step
    fills with its own judgement (x-ui fresh: decision, finding), with its title in the form."""
    props = schema.get("properties", {})
    for name in forms.fresh_fields(schema):
        prop = props.get(name, {})
        if "enum" in prop and data.get(name) in prop["enum"]:
            titles = prop.get("x-enum-titles", prop["enum"])
            index = prop["enum"].index(data[name])
            return {"field": name, "value": data[name],
                    "title": titles[index] if index < len(titles) else str(data[name])}
    return None


def _refusal(error: BaseException) -> UseCaseError | None:
    """A domain rule the step ran into (e.g. a calendar year not entered yet): not an incident,
    the user is told why and nothing is saved."""
    if isinstance(error, DomainError):
        return Invalid({error.field or "_": error.message})
    cause = error.__cause__
    while cause is not None and not isinstance(cause, DomainError):
        cause = cause.__cause__
    return Conflict(cause.message) if cause is not None else None


def _step_failed(ctx: Context, user_id: int, task_id: int, attempt: _Attempt, error: Exception) -> StepFailed:
    log.error("task %s: step %s failed", task_id, attempt.step, exc_info=error)
    name, title = attempt.step
    try:
        with _working_on(ctx, user_id, task_id) as (session, user, task, instance, loaded):
            ctx.engine.save_draft(loaded.workflow, task.spiff_task_id, attempt.data)
            incident_id = incidents.record_step_failure(ctx, session, user, task, instance, (name, title), error)
            instances.save(ctx, session, instance, loaded)  # the draft, with the case's record
    except Exception:  # noqa: BLE001 - the user must still be told; the log has both errors
        log.exception("task %s: keeping the draft and recording the incident failed too", task_id)
        return StepFailed(f"“{attempt.task_title}”未能提交：系统在“{title}”一步出错，本次提交未生效，"
                          "填写的内容也未能保存，请先复制留存，并联系系统管理员。", None)
    return StepFailed(f"“{attempt.task_title}”未能提交：系统在“{title}”一步出错（异常编号{incident_id}），"
                      "本次提交未生效。已填写的内容均已保留，系统管理员已收到通知；排除原因后请重新提交。",
                      incident_id)


def save_draft(ctx: Context, user_id: int, task_id: int, submitted: dict) -> None:
    """Keep what the user typed without submitting it: no validation, nothing moves on."""
    with _working_on(ctx, user_id, task_id) as (session, user, task, instance, loaded):
        _, data = _form_fields(loaded, task, submitted)
        ctx.engine.save_draft(loaded.workflow, task.spiff_task_id, data)
        audit.record(session, ctx.clock.now(), user, "draft", instance_id=instance.id,
                     institution_id=instance.institution_id, task_name=task.name, task_title=task.title)
        instances.save(ctx, session, instance, loaded)  # stores the audit chain's head with the state


@dataclass
class Timeline:
    instance: ProcessInstance
    events: list[AuditEvent]
    next_tasks: list[HumanTask]
    completed_steps: list[str]
    current_steps: list[str]
    bpmn: str
    process_name: str
    actionable: set[int]  # ids of the open tasks this user may act on
    institution: Institution | None = None  # whom the case is about: its name, credit code and filing code
    called: dict[str, tuple[str, str]] = field(default_factory=dict)  # process running in a call: (name, bpmn)
    waiting: list[tuple[str, datetime]] = field(default_factory=list)  # timers it waits for: (name, due)
    files: list[tuple[int, str, str, str]] = field(default_factory=list)  # (id, name, type, step) it attached


def timeline(ctx: Context, user_id: int, instance_id: int) -> Timeline:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        instance = session.get(ProcessInstance, instance_id)
        if instance is None or not access.can_see_instance(user, instance):
            raise NotFound("案件不存在")
        events = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id)
                                 .order_by(AuditEvent.id)).all()
        if user.role == "institution":  # error texts (a failed timer's) are for staff only
            for event in events:
                if "last_error" in (event.data or {}):
                    set_committed_value(event, "data", {k: v for k, v in event.data.items() if k != "last_error"})
        next_tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                             HumanTask.state == "open")).all()
        workflow, definitions = instances.load_readonly(ctx, session, instance)
        institution = session.get(Institution, instance.institution_id) if instance.institution_id else None
        called = {process: (definitions.process_names.get(process, process),
                            definitions.bundle.files.get(f"bpmn/{process}.bpmn", ""))
                  for process in ctx.engine.running_calls(workflow)}
        return Timeline(instance, list(events), list(next_tasks), ctx.engine.completed_steps(workflow),
                        ctx.engine.current_steps(workflow),
                        definitions.bundle.files.get(f"bpmn/{instance.process_id}.bpmn", ""),
                        definitions.process_names.get(instance.process_id, instance.process_id),
                        {task.id for task in next_tasks if access.can_see_task(user, task)},
                        institution, called, _waiting(ctx, session, definitions, instance),
                        _case_files(session, user, definitions, events, institution))


def _case_files(session, user: User, definitions, events, institution) -> list[tuple[int, str, str, str]]:
    """The files the case's steps attached (their forms' attachment fields), each once with the step
    that attached it first; only those the user may open (attachments.download_attachment's rule)."""
    fields: dict[str, set[str]] = {}
    for info in definitions.user_tasks.values():
        properties = definitions.forms.get(info.form_key, {}).get("properties", {})
        fields.setdefault(info.name, set()).update(k for k, p in properties.items() if p.get("format") == "attachment")
    steps: dict[int, str] = {}
    for event in events:
        if event.action == "complete" and event.data:
            for key in sorted(fields.get(event.task_name, ())):
                if str(event.data.get(key) or "").isdigit():
                    steps.setdefault(int(event.data[key]), event.task_title or "")
    if not steps:
        return []
    readable = institution is not None and access.can_see_institution(user, institution)
    rows = session.execute(select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.owner_id,
                                  Attachment.institution_id).where(Attachment.id.in_(steps)).order_by(Attachment.id))
    return [(row.id, row.filename, row.content_type, steps[row.id]) for row in rows
            if row.owner_id == user.id or (readable and row.institution_id == institution.id)]


def _waiting(ctx: Context, session, definitions, instance: ProcessInstance) -> list[tuple[str, datetime]]:
    """The timers a case waits for, by the names analysts gave them, soonest first."""
    timers = session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting")
                             .order_by(Timer.due_at))
    return [(ctx.engine.element_name(definitions, instance.process_id, timer.name), timer.due_at) for timer in timers]
