"""Objections to a batch's results in their public notice (Art. 15.3: results are filed only after a
notice without objection), as for filings (Art. 7): anyone objects while the notice runs; the
county investigates; upheld, the institution corrects the scores and publishes them again."""
from __future__ import annotations

from sqlalchemy import select

from ...domain.privacy import mask_contact, mask_name
from ...store.db import read_only
from ...store.models import Batch, Candidate, ProcessInstance, ResultObjection, User
from ...usecases import access, audit, messages, notifications
from ...usecases.context import Context, unit_of_work
from ...usecases.errors import Conflict, Invalid, NotFound
from .common import batch_of, business_key, visible


def submit_result_objection(ctx: Context, batch_id: int, name: str, contact: str, content: str) -> int:
    name, contact, content = (name or "").strip(), (contact or "").strip(), (content or "").strip()
    errors = {}
    if not name or len(name) > 50:
        errors["name"] = "请填写姓名或单位（不超过50个字）"
    if not contact or len(contact) > 50:
        errors["contact"] = "请填写联系方式，以便调查核实"
    if not 10 <= len(content) <= 2000:
        errors["content"] = "异议内容10至2000个字，请写明事实和理由"
    if errors:
        raise Invalid(errors)
    with unit_of_work(ctx) as session:
        batch = session.get(Batch, batch_id, with_for_update=True)
        now = ctx.clock.now()
        if batch is None or batch.notice_closes_at is None:
            raise NotFound("公示不存在")
        if batch.status != "notice" or batch.notice_closes_at <= now:
            raise Conflict("公示期已结束，不再受理异议")
        row = ResultObjection(batch_id=batch.id, name=name, contact=contact, content=content, created_at=now,
                              status="open")
        session.add(row)
        session.flush()
        key = business_key(batch.id)
        audit.record(session, now, None, "objection", institution_id=batch.institution_id,
                     instance_id=session.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == key)),
                     data={"batch_id": batch.id, "result_objection_id": row.id})
        messages.deliver(ctx, session, key, "results_objection", {"result_objection_id": row.id})
        return row.id


def _open(session, batch_id: int) -> list[ResultObjection]:
    return list(session.scalars(select(ResultObjection).where(ResultObjection.batch_id == batch_id,
                                                              ResultObjection.status == "open")
                                .order_by(ResultObjection.id)))


def count_result_objections(ctx, session, instance, actor, data, inputs):
    """At the notice's end: the objections not yet investigated, for the county's form."""
    found = _open(session, batch_of(session, data).id)
    return {"open_objections": len(found), "result_objections": _described(found)}


def _described(rows: list[ResultObjection]) -> list[str]:
    """For the county that investigates (it may see who objected; the institution never sees its task)."""
    return [f"{row.name}（{row.contact}，{row.created_at:%Y-%m-%d %H:%M}）：{row.content}" for row in rows]


def resolve_result_objections(ctx, session, instance, actor, data, inputs):
    """The county's finding, written on every objection not yet investigated."""
    finding = inputs.get("finding")
    if finding not in ("upheld", "dismissed"):  # a changed model must not record nonsense
        raise ValueError(f"resolve_result_objections: finding must be upheld or dismissed, got {finding!r}")
    for row in _open(session, batch_of(session, data).id):
        row.status = finding
    return {"open_objections": 0}


def correct_results(ctx, session, instance, actor, data, inputs):
    """An objection upheld: the results go back to the institution to be corrected and published again."""
    batch = batch_of(session, data)
    batch.status, batch.notice_closes_at, batch.results_due_on = "results", None, None
    for candidate in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)):
        candidate.passed = None
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "认定结果异议成立", f"认定批次{batch.id}的结果公示收到的异议经调查成立：{data.get('opinion') or ''}"
        "请更正成绩后重新提交，结果将重新公示不少于7天（第十五条第三项）", f"/batches/{batch.id}"))
    return {}


def objections_of(ctx: Context, user_id: int, batch_id: int) -> list[tuple[str, str, str, str]]:
    """(who, contact, content, status) for whoever sees the batch; who objected and how to reach
    them only for the county and the city (masked for the institution, the province)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        visible(session, user, batch_id)
        personal = access.sees_personal_data(user)
        return [(row.name if personal else mask_name(row.name), row.contact if personal else mask_contact(row.contact),
                 row.content, row.status) for row in session.scalars(
            select(ResultObjection).where(ResultObjection.batch_id == batch_id).order_by(ResultObjection.id))]
