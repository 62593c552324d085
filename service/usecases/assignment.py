"""Who works a task, beyond the role and jurisdiction that offer it (issue 17), as in the approval
offices staff know: hand it to a colleague (转办), or urge whoever has it (催办).

Both are recorded on the case's audit chain, so the case's record says who handed what to whom,
why, and who urged when; the person concerned is told with a link to the task."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..store.db import read_only
from ..store.models import AuditEvent, CaseCopy, HumanTask, ProcessInstance, User
from . import access, audit, notifications
from .context import Context, unit_of_work
from .errors import Conflict, Invalid, NotFound

REASON_MAX = 200
URGE_AGAIN_AFTER = timedelta(hours=24)  # one reminder a day per person and task, not a flood


def colleagues(ctx: Context, user_id: int, task_id: int) -> list[User]:
    """Who a task may be handed to: the active users whose inbox it lies in, other than the user."""
    with unit_of_work(ctx) as session:
        read_only(session)  # the task page asks it: never behind a scheduler batch's write lock
        user = session.get(User, user_id)
        task = _task(session, user, task_id)
        return list(session.scalars(select(User).where(
            access.task_assignees(task.role, task.jurisdiction_code, task.institution_id),
            User.is_active, User.id != user.id).order_by(User.display_name)))


def transfer(ctx: Context, user_id: int, task_id: int, to_user_id: int, reason: str) -> HumanTask:
    """转办: the task becomes the colleague's (claimed for them); only an open task that is the
    user's, or nobody's yet, and only to someone whose inbox it lies in."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "请填写转办理由"})
    if len(reason) > REASON_MAX:
        raise Invalid({"reason": f"转办理由不超过{REASON_MAX}字"})
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        task = _task(session, user, task_id, lock=True)
        if task.role in access.PERSONAL_ROLES:
            raise Conflict("此任务指定由您本人办理，不能转办")
        if task.state != "open":
            raise Conflict("该任务已不在办理中，不能转办")
        if task.claimed_by not in (None, user.id):
            raise Conflict(f"该任务已被{session.get(User, task.claimed_by).display_name}签收，只有签收人可以转办")
        colleague = session.get(User, to_user_id)
        if colleague is None or colleague.id == user.id or not colleague.is_active \
                or not access.can_see_task(colleague, task):
            raise Invalid({"to_user": "只能转给同一部门、能办理此任务的其他在岗人员"})
        task.claimed_by = colleague.id
        audit.record(session, ctx.clock.now(), user, "transfer", instance_id=task.instance_id,
                     institution_id=task.institution_id, task_name=task.name, task_title=task.title,
                     opinion=reason, data={"to": colleague.id, "to_name": colleague.display_name})
        notifications.to_user(ctx, session, colleague.id, notifications.Message(
            f"{user.display_name}转办给您：{task.title}", f"{task.subject}。转办理由：{reason}", f"/tasks/{task.id}"))
        return task


def urge(ctx: Context, user_id: int, task_id: int, note: str = "") -> HumanTask:
    """催办: whoever holds the task and everyone whose inbox it lies in (their post answers for it)
    are told. The city urges any open task in the city, a county those in its jurisdiction
    (access.oversight_filter)."""
    note = (note or "").strip()[:REASON_MAX]
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        task = session.scalar(select(HumanTask).where(HumanTask.id == task_id, access.oversight_filter(user)))
        if task is None:
            raise NotFound("任务不存在")
        if task.state != "open":
            raise Conflict("该任务已办理完毕，无需催办")
        now = ctx.clock.now()
        last = session.scalar(select(AuditEvent.at).where(
            AuditEvent.actor_id == user.id, AuditEvent.action == "urge", AuditEvent.instance_id == task.instance_id,
            AuditEvent.task_name == task.name).order_by(AuditEvent.id.desc()).limit(1))
        if last is not None and now - last < URGE_AGAIN_AFTER:
            raise Conflict(f"您已于{last:%Y-%m-%d %H:%M}催办过此任务，24小时内不再重复催办")
        audit.record(session, now, user, "urge", instance_id=task.instance_id, institution_id=task.institution_id,
                     task_name=task.name, task_title=task.title, opinion=note or None)
        due = f"，办理期限{task.due_at:%Y-%m-%d %H:%M}前" if task.due_at else ""
        message = notifications.Message(f"{user.display_name}催办：{task.title}",
                                        f"{task.subject}{due}。{note}".rstrip("。") + "。", f"/tasks/{task.id}")
        if task.role in access.PERSONAL_ROLES:  # an inspector's task is that inspector's alone
            notifications.to_user(ctx, session, task.claimed_by, message)
        else:  # the holder is one of them
            notifications.to_assignees(ctx, session, task.role, task.jurisdiction_code, task.institution_id, message)
        return task


# 抄送 goes to bureau staff who may read the case anyway: a copy tells, it never opens a case to
# someone outside its jurisdiction.
COPY_ROLES = ("county", "city", "province")


def _may_receive_copy(person: User, instance: ProcessInstance) -> bool:
    return person.is_active and person.role in COPY_ROLES and access.can_see_instance(person, instance)


def copy_recipients(ctx: Context, user_id: int, task_id: int) -> list[User]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        task = _task(session, user, task_id)
        instance = session.get(ProcessInstance, task.instance_id)
        people = session.scalars(select(User).where(User.role.in_(COPY_ROLES), User.id != user.id)
                                 .order_by(User.role, User.display_name))
        return [person for person in people if _may_receive_copy(person, instance)]


def copy(ctx: Context, user_id: int, task_id: int, to_user_ids: list[int], note: str = "") -> int:
    """抄送: the case goes to each person's 抄送我的 list and they are told; read-only for them."""
    note = (note or "").strip()
    if not to_user_ids:
        raise Invalid({"to_users": "请选择抄送对象"})
    if len(note) > REASON_MAX:
        raise Invalid({"note": f"说明不超过{REASON_MAX}字"})
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user is None or user.role not in COPY_ROLES:
            raise NotFound("任务不存在")
        task = _task(session, user, task_id)
        instance = session.get(ProcessInstance, task.instance_id)
        people = session.scalars(select(User).where(User.id.in_(set(to_user_ids)))).all()
        if len(people) != len(set(to_user_ids)) or any(
                p.id == user.id or not _may_receive_copy(p, instance) for p in people):
            raise Invalid({"to_users": "只能抄送给能查看本案件的其他在岗工作人员"})
        now = ctx.clock.now()
        for person in people:
            session.add(CaseCopy(instance_id=instance.id, task_title=task.title, user_id=person.id,
                                 by_user_id=user.id, note=note, created_at=now))
            notifications.to_user(ctx, session, person.id, notifications.Message(
                f"{user.display_name}抄送：{task.title}", f"{task.subject}。{note}".rstrip("。") + "。",
                f"/cases/{instance.id}"))
        audit.record(session, now, user, "copy", instance_id=instance.id, institution_id=instance.institution_id,
                     task_name=task.name, task_title=task.title, opinion=note or None,
                     data={"to": [p.id for p in people], "to_names": [p.display_name for p in people]})
        return len(people)


def _task(session, user: User, task_id: int, lock: bool = False) -> HumanTask:
    statement = select(HumanTask).where(HumanTask.id == task_id)
    task = session.scalar(statement.with_for_update() if lock else statement)
    if task is None or user is None or not access.can_see_task(user, task):
        raise NotFound("任务不存在")
    return task
