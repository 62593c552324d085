"""Complaints (投诉举报, Art. 19): anyone reports an institution and the county of its
jurisdiction investigates. A substantiated complaint about a filed institution is handed over
to supervision (the message `supervision_matter`), where the measure is proposed and decided
(Art. 20); what is handed over is the county's finding, never who complained."""
from __future__ import annotations

from ..store.models import COMPLAINT_FINDINGS, FILED_STATUSES, Complaint, Institution, Jurisdiction
from ..usecases import audit, instances, messages
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Invalid
from ..usecases.topics import Topic

MAX_CONTENT = 5000


def submit_complaint(ctx: Context, jurisdiction_code: str, institution_id: int | None, institution_name: str,
                     name: str, contact: str, content: str) -> int:
    """Anyone, no login. The complaint is stored and its case opened for the county of
    `jurisdiction_code`, in one transaction; returns the complaint's id."""
    jurisdiction_code = (jurisdiction_code or "").strip()
    institution_name, name = (institution_name or "").strip(), (name or "").strip()
    contact, content = (contact or "").strip(), (content or "").strip()
    errors = {}
    if institution_id is None and not institution_name:
        errors["institution_name"] = "请填写被投诉机构的名称"
    elif len(institution_name) > 100:
        errors["institution_name"] = "机构名称不超过100个字"
    if not name:
        errors["name"] = "请填写姓名或单位"
    elif len(name) > 50:
        errors["name"] = "姓名或单位不超过50个字"
    if not contact:
        errors["contact"] = "请填写联系方式，以便调查核实和反馈处理结果"
    elif len(contact) > 100:
        errors["contact"] = "联系方式不超过100个字"
    if len(content) < 10:
        errors["content"] = "投诉举报内容不少于10个字，请写明事实、时间和地点"
    elif len(content) > MAX_CONTENT:
        errors["content"] = f"投诉举报内容不超过{MAX_CONTENT}个字"
    with unit_of_work(ctx) as session:
        jurisdiction = session.get(Jurisdiction, jurisdiction_code) if jurisdiction_code else None
        if jurisdiction is None:
            errors["jurisdiction_code"] = "请选择被投诉机构所在的县区" if not jurisdiction_code else "所选县区不存在"
        institution = None
        if institution_id is not None:
            institution = session.get(Institution, institution_id)
            # an institution that is not filed is not shown as existing: the public sees the directory only
            if institution is None or institution.status not in FILED_STATUSES:
                errors["institution_id"] = "所选机构不在已备案评价机构目录中，可直接填写机构名称"
            elif jurisdiction is not None and institution.jurisdiction_code != jurisdiction.code:
                errors["institution_id"] = f"所选机构不属于{jurisdiction.name}，请核对县区或机构"
        if errors:
            raise Invalid(errors)
        now = ctx.clock.now()
        complaint = Complaint(jurisdiction_code=jurisdiction.code, institution_id=institution_id,
                              institution_name=institution_name or institution.name, complainant_name=name,
                              complainant_contact=contact, content=content, created_at=now, status="open")
        session.add(complaint)
        session.flush()
        # the county works on the directory's name when one was picked; the row keeps what was typed
        shown_name = institution.name if institution is not None else institution_name
        data = {"complaint_id": complaint.id, "institution_id": institution_id,
                "institution_name": shown_name, "jurisdiction": jurisdiction.code,
                "jurisdiction_name": jurisdiction.name, "complainant_name": name, "complainant_contact": contact,
                "content": content, "received_at": now.isoformat(timespec="seconds")}
        instance = instances.start(ctx, session, None, "complaint", data, business_key=f"complaint:{complaint.id}",
                                   institution_id=institution_id, jurisdiction_code=jurisdiction.code,
                                   subject=f"{shown_name[:100]} 投诉举报")
        # who complained stays out of the log: it travels with the case to the county only
        audit.record(session, now, None, "start", instance_id=instance.id, institution_id=institution_id,
                     data={"process": "complaint", "complaint_id": complaint.id, "channel": "public"})
        return complaint.id


# --- service topics of bpmn/complaint.bpmn ---------------------------------------------------------

def close_complaint(ctx, session, instance, actor, data, inputs):
    """Art. 19: the county's finding closes the complaint; a measure is for supervision (Art. 20)."""
    finding = inputs.get("finding")
    if finding not in COMPLAINT_FINDINGS:  # a changed form must not silently close it either way
        raise ValueError(f"close_complaint: finding must be one of {COMPLAINT_FINDINGS}, got {finding!r}")
    complaint = session.get(Complaint, int(data["complaint_id"]))
    complaint.status, complaint.closed_at = finding, ctx.clock.now()
    complaint.finding = inputs.get("opinion")
    return {"complaint_status": finding}


def hand_over_complaint(ctx, session, instance, actor, data, inputs):
    complaint = session.get(Complaint, int(data["complaint_id"]))
    institution = session.get(Institution, complaint.institution_id)
    payload = {"source": "complaint", "source_ref": f"complaint:{complaint.id}", "institution_id": institution.id,
               "facts": f"投诉举报（编号{complaint.id}）经调查核实情况属实。{complaint.finding or ''}", "evidence": []}
    started = messages.publish(ctx, session, "supervision_matter", institution, payload, source=instance, actor=actor)
    audit.record(session, ctx.clock.now(), None, "complaint_handed_over", instance_id=instance.id,
                 institution_id=institution.id, data={"complaint_id": complaint.id, "cases": [c.id for c in started]})
    return {"supervision_cases": [c.id for c in started]}


TOPICS = {
    "close_complaint": Topic.of(close_complaint, ("finding", "opinion")),
    "hand_over_complaint": Topic.of(hand_over_complaint),
}
