"""Scope change (变更, Art. 7: 动态调整), with bpmn/scope_change.bpmn.

A filed institution (试点期 or 已备案; not suspended, revoked or expired) asks for the whole scope
it wants: the table starts as the scope in force, it adds and removes (occupation, level) pairs
and says why. The same rules as a filing apply to the new scope — Art. 4, 5, 8.2, 9.2 on the form
(x-checks `filing_scope`), the eligibility decisions on the facts of the filing in force, the
county's initial review and the city's review with the Art. 7 quota (counted for the occupations
the change adds). Approved, the scope items change and the public directory with them; the filing
code and the validity stay. Rejected, nothing changes. The request is a row (`scope_change`).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain.eligibility import scope_facts
from ..store.db import read_only
from ..store.models import (
    SCOPE_CHANGE_OPEN,
    Filing,
    HumanTask,
    Institution,
    ProcessInstance,
    ScopeChange,
    User,
)
from ..usecases import access, audit, instances, notifications, register
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Conflict, Forbidden, NotFound
from ..usecases.topics import Topic

PROCESS = "scope_change"
ENDS_WITH_THE_FILING = (PROCESS,)
# Art. 22.7: only a filed institution that is not suspended certifies, so only it changes its scope
MAY_CHANGE = ("filed_pilot", "filed")
STATUS_NAMES = {"draft": "未备案", "under_review": "备案审核中", "suspended": "暂停评价", "revoked": "已取消备案",
                "expired": "已过期", "withdrawn": "已撤回", "rejected": "不予备案"}


def business_key(scope_change_id: int) -> str:
    return f"{PROCESS}:{scope_change_id}"


@dataclass
class Started:
    scope_change_id: int
    instance_id: int
    task_id: int


def start_scope_change(ctx: Context, user_id: int) -> Started:
    """An institution user opens a scope change; its first task is its own request form."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "institution" or user.institution_id is None:
            raise Forbidden("只有评价机构用户可以申请变更备案范围")
        # locked: two clicks at once must not open two changes
        institution = session.get(Institution, user.institution_id, with_for_update=True)
        if institution.status not in MAY_CHANGE:
            raise Conflict(f"本机构当前状态为“{STATUS_NAMES.get(institution.status, institution.status)}”，"
                           "只有已备案且未暂停评价的机构可以申请变更备案范围")
        open_filing = session.scalar(select(Filing.id).where(Filing.institution_id == institution.id,
                                                             Filing.status.in_(register.OPEN_FILING)).limit(1))
        if open_filing is not None:
            raise Conflict(f"本机构有一件办理中的备案申请（编号{open_filing}），请待其办结后再申请变更备案范围")
        open_change = session.scalar(select(ScopeChange.id).where(ScopeChange.institution_id == institution.id,
                                                                  ScopeChange.status.in_(SCOPE_CHANGE_OPEN)).limit(1))
        if open_change is not None:
            raise Conflict(f"本机构已有一件办理中的备案范围变更（编号{open_change}），请勿重复申请")
        last = register.filing_in_force(session, institution.id)
        if last is None or not last.application:
            raise Conflict("未找到本机构现行备案的申请材料，无法据此办理变更，请联系属地人社部门")
        scope = register.scope_in_force(session, institution)
        change = ScopeChange(institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                             status="draft", scope_before=[{k: s[k] for k in ("occupation_code", "level")}
                                                           for s in scope],
                             requested_scope=[], created_at=ctx.clock.now())
        session.add(change)
        session.flush()
        # the facts of the filing in force feed the same eligibility decisions; the scope is the one in force
        data = {**dict(last.application), "scope_change_id": change.id, "institution_id": institution.id,
                "filing_id": last.id, "name": institution.name, "credit_code": institution.credit_code,
                "kind": institution.kind, "jurisdiction": institution.jurisdiction_code,
                "scope": scope, "scope_in_force": register.describe(session, register.pairs(scope))}
        instance = instances.start(ctx, session, user, PROCESS, data, business_key=business_key(change.id),
                                   institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                                   subject=f"{institution.name} 备案范围变更")
        audit.record(session, ctx.clock.now(), user, "start", instance_id=instance.id, institution_id=institution.id,
                     data={"process": PROCESS, "scope_change_id": change.id})
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                            HumanTask.state == "open"))
        return Started(change.id, instance.id, task_id)


@dataclass
class ScopeChangeDetail:
    change: ScopeChange
    instance_id: int | None
    added: list[str]
    removed: list[str]


def list_scope_changes(ctx: Context, user_id: int, status: str = "", page: int = 1,
                       per_page: int = 20) -> list[ScopeChange]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(ScopeChange).options(selectinload(ScopeChange.institution)).where(
            access.scope_filter(user, ScopeChange.institution_id, ScopeChange.jurisdiction_code))
        if status:
            statement = statement.where(ScopeChange.status == status)
        return list(session.scalars(statement.order_by(ScopeChange.id.desc())
                                    .offset((page - 1) * per_page).limit(per_page)))


def scope_change_detail(ctx: Context, user_id: int, scope_change_id: int) -> ScopeChangeDetail:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        change = session.get(ScopeChange, scope_change_id)
        if change is None or not access.can_see_institution(user, change.institution):
            raise NotFound("备案范围变更不存在")
        instance_id = session.scalar(select(ProcessInstance.id).where(
            ProcessInstance.business_key == business_key(change.id)))
        before = register.pairs(change.scope_before)
        after = register.pairs(change.approved_scope if change.status == "approved" else change.requested_scope)
        after = after or before  # not submitted yet: nothing asked for
        return ScopeChangeDetail(change, instance_id, register.describe(session, after - before),
                                 register.describe(session, before - after))


# --- service topics of bpmn/scope_change.bpmn ------------------------------------------------------

def _change(session: Session, data) -> ScopeChange:
    return session.get(ScopeChange, int(data["scope_change_id"]))


def record_scope_change(ctx, session, instance, actor, data, inputs):
    """The request reaches the county: what is added and removed, and the facts the eligibility
    decisions read, computed for the new scope as for a filing."""
    change = _change(session, data)
    institution = change.institution
    scope = data.get("scope") or []
    change.requested_scope = [{"occupation_code": s["occupation_code"], "level": s["level"],
                               "assessors": s.get("assessors")} for s in scope]
    change.reason = data.get("change_reason")
    change.status, change.submitted_at = "under_review", ctx.clock.now()
    wanted, held = register.pairs(scope), register.active_pairs(institution)
    return {**scope_facts(institution.kind, scope, data.get("highest_level_by_education")),
            "scope_added": register.describe(session, wanted - held),
            "scope_removed": register.describe(session, held - wanted)}


def apply_scope_change(ctx, session, instance, actor, data, inputs):
    """Approved by the city: the scope items follow the approved scope (removed ones deactivated,
    added ones added or reactivated), so the public directory does; code and validity stay."""
    change = _change(session, data)
    institution = change.institution
    now = ctx.clock.now()
    if institution.status not in MAY_CHANGE:  # suspended, revoked or expired while under review
        change.status, change.decided_at = "rejected", now
        change.opinion = (f"机构状态已变为“{STATUS_NAMES.get(institution.status, institution.status)}”，"
                          "变更未生效")
        notifications.to_institution(ctx, session, institution.id, notifications.Message(
            "备案范围变更未生效", change.opinion, f"/cases/{instance.id}"))
        return {"scope_change_status": change.status}
    wanted = register.pairs(inputs.get("scope") or data.get("approved_scope") or data.get("scope"))
    held = register.active_pairs(institution)
    register.set_scope(institution, wanted)
    added, removed = register.describe(session, wanted - held), register.describe(session, held - wanted)
    change.approved_scope = [{"occupation_code": code, "level": level} for code, level in sorted(wanted)]
    change.status, change.decided_at, change.opinion = "approved", now, data.get("opinion")
    audit.record(session, now, None, "scope_changed", instance_id=instance.id, institution_id=institution.id,
                 data={"scope_change_id": change.id, "added": added, "removed": removed,
                       "filing_code": institution.filing_code})
    body = "；".join(part for part in (f"新增：{'、'.join(added)}" if added else "",
                                       f"删除：{'、'.join(removed)}" if removed else "") if part)
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "备案范围变更已核准", f"{body or '备案范围未变'}。备案编码和有效期不变，机构名录已更新",
        f"/cases/{instance.id}"))
    return {"scope_change_status": change.status}


def reject_scope_change(ctx, session, instance, actor, data, inputs):
    """Rejected by the county or the city: the scope in force stays as it is."""
    change = _change(session, data)
    change.status, change.decided_at = "rejected", ctx.clock.now()
    change.opinion = inputs.get("reason") or data.get("opinion")
    notifications.to_institution(ctx, session, change.institution_id, notifications.Message(
        "备案范围变更未通过", f"理由：{change.opinion or '见办理记录'}。现有备案范围不变", f"/cases/{instance.id}"))
    return {"scope_change_status": change.status}


TOPICS = {
    "record_scope_change": Topic.of(record_scope_change),
    "apply_scope_change": Topic.of(apply_scope_change, ("scope",)),
    "reject_scope_change": Topic.of(reject_scope_change, ("reason",)),
}
