"""Supervision and sanctions (监督检查, Art. 17–20), with bpmn/supervision.bpmn: one case per matter
about one institution. A case starts on the message `supervision_matter`, from whichever
process found the matter (a substantiated complaint, an inspector's finding) or from staff
opening one here (a media report, a data check, daily supervision). The county investigates and
proposes one of the five measures of Art. 20, helped by dmn/supervision_measure.dmn; the city
reviews and decides; each measure's effect is a step of the model. 移除机构备案 is handed over
as the message `revocation_proposed` (Art. 22), the revocation process's to take up."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from ..domain.calendar import add_years
from ..domain.supervision import MEASURES, PUBLIC_MEASURES, SEVERITIES, SOURCES, VIOLATIONS
from ..store.db import read_only
from ..store.models import (
    FILED_STATUSES,
    Attachment,
    Institution,
    Jurisdiction,
    Measure,
    Rectification,
    SupervisionCase,
    User,
)
from ..usecases import access, attachments, audit, instances, messages, notifications
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Forbidden, Invalid, NotFound
from ..usecases.topics import Topic

PROCESS = "supervision"
MESSAGE = "supervision_matter"
OPENERS = ("county", "city")
STAFF_SOURCES = ("media", "data_check", "staff")  # the others come from their own processes
PRIOR_YEARS = 2  # the decision table weighs measures of the last two years
MAX_FACTS = 5000


def open_case(ctx: Context, user_id: int, institution_id: int | None, source: str, facts: str,
              evidence: list[str] = ()) -> int:
    """Staff open a case on a filed institution of their jurisdiction (the city: any); the
    process registers it. Returns the supervision case's id."""
    facts = (facts or "").strip()
    evidence = [str(key) for key in evidence if str(key).strip()]
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role not in OPENERS:
            raise Forbidden("监督检查案件由县区或市人社部门立案（第十九条）")
        errors = {}
        institution = session.get(Institution, institution_id) if institution_id else None
        if institution is None or not access.can_see_institution(user, institution):
            errors["institution_id"] = "请选择本辖区的评价机构"
        elif institution.status not in FILED_STATUSES:
            errors["institution_id"] = "该机构不在备案机构目录中，不能立案监督检查"
        if source not in STAFF_SOURCES:
            errors["source"] = "请选择案件来源：" + "、".join(SOURCES[s] for s in STAFF_SOURCES)
        if len(facts) < 10:
            errors["facts"] = "请写明事实和线索（不少于10个字）：时间、地点、涉及的认定批次或人员"
        elif len(facts) > MAX_FACTS:
            errors["facts"] = f"事实和线索不超过{MAX_FACTS}个字"
        files = attachments.own_uploads(session, user, evidence)
        if files is None:
            errors["evidence"] = "证据材料须由本人上传"
        if errors:
            raise Invalid(errors)
        attachments.give_to_case(files, institution.id)
        payload = {"institution_id": institution.id, "source": source, "facts": facts, "evidence": evidence,
                   "opened_by": user.id}
        instance = _start(ctx, session, user, institution, payload)
        return session.scalar(select(SupervisionCase.id).where(SupervisionCase.instance_id == instance.id))


def _start(ctx, session, user, institution, payload):
    instance = instances.start(ctx, session, user, PROCESS, payload, message=MESSAGE,
                               business_key=f"{PROCESS}:{institution.id}", institution_id=institution.id,
                               jurisdiction_code=institution.jurisdiction_code,
                               subject=f"{institution.name} 监督检查（{SOURCES[payload['source']][:4]}）")
    audit.record(session, ctx.clock.now(), user, "start", instance_id=instance.id, institution_id=institution.id,
                 data={"process": PROCESS, "source": payload["source"]})
    return instance


def cases(ctx: Context, user_id: int) -> list[SupervisionCase]:
    """The cases a user may see, newest first: staff by jurisdiction, an institution its own
    once the city has decided a measure (an investigation is not shown to whom it concerns)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(SupervisionCase).where(access.scope_filter(
            user, SupervisionCase.institution_id, SupervisionCase.jurisdiction_code))
        if user.role == "institution":
            statement = statement.where(SupervisionCase.status.in_(("decided", "closed")),
                                        SupervisionCase.id.in_(select(Measure.case_id)))
        rows = session.scalars(statement.order_by(SupervisionCase.id.desc()).limit(500)).all()
        for row in rows:
            row.institution  # noqa: B018 — read after the session closes
        return list(rows)


@dataclass
class CaseDetail:
    case: SupervisionCase
    measures: list[Measure]
    rectifications: list[Rectification]
    evidence: dict[int, str]  # attachment id -> file name


def case_detail(ctx: Context, user_id: int, case_id: int) -> CaseDetail:
    """A case as its page shows it; an institution sees its own once a measure is decided."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        row = session.get(SupervisionCase, case_id)
        if row is None or not access.can_see_institution(user, row.institution) or user.role not in (
                "institution", "county", "city", "province"):
            raise NotFound("监督检查案件不存在")
        measures = session.scalars(select(Measure).where(Measure.case_id == row.id).order_by(Measure.id)).all()
        if user.role == "institution" and not measures:
            raise NotFound("监督检查案件不存在")
        origins = [f"measure:{m.id}" for m in measures]
        rectifications = session.scalars(select(Rectification).where(Rectification.origin.in_(origins))
                                         .order_by(Rectification.id)).all() if origins else []
        keys = [int(k) for k in row.evidence if str(k).isdigit()]
        evidence = dict(session.execute(select(Attachment.id, Attachment.filename)
                                        .where(Attachment.id.in_(keys))).all()) if keys else {}
        return CaseDetail(row, list(measures), list(rectifications), evidence)


def measures_of(ctx: Context, user_id: int, institution_id: int) -> list[Measure]:
    """An institution's record of measures (county, city, the institution itself)."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        institution = session.get(Institution, institution_id)
        if institution is None or not access.can_see_institution(user, institution):
            raise NotFound("机构不存在")
        rows = session.scalars(select(Measure).where(Measure.institution_id == institution_id)
                               .order_by(Measure.decided_at.desc(), Measure.id.desc())).all()
        for row in rows:
            row.institution  # noqa: B018
        return list(rows)


def measures_in_scope(ctx: Context, user_id: int) -> list[Measure]:
    """The record of measures a user may see (Art. 20): its own for an institution, its
    jurisdiction's for a county, all for the city and the province; newest first."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        rows = session.scalars(select(Measure).join(Institution, Institution.id == Measure.institution_id).where(
            access.scope_filter(user, Measure.institution_id, Institution.jurisdiction_code))
            .order_by(Measure.decided_at.desc(), Measure.id.desc()).limit(500)).all()
        for row in rows:
            row.institution  # noqa: B018
        return list(rows)


def public_measures(ctx: Context) -> list[Measure]:
    """一公开 (Art. 21): the criticisms and suspensions the city decided, for everyone."""
    with unit_of_work(ctx) as session:
        read_only(session)
        rows = session.scalars(select(Measure).where(Measure.kind.in_(PUBLIC_MEASURES),
                                                     Measure.status != "escalated")
                               .order_by(Measure.decided_at.desc()).limit(200)).all()
        for row in rows:
            row.institution  # noqa: B018
        return list(rows)


def institutions_to_open(ctx: Context, user_id: int) -> list[tuple[int, str]]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        return [(i.id, i.name) for i in session.scalars(select(Institution).where(
            Institution.status.in_(FILED_STATUSES),
            access.scope_filter(user, Institution.id, Institution.jurisdiction_code)).order_by(Institution.name))]


# --- form checks --------------------------------------------------------------------------------------

def check_proposal(ctx, session, data: dict) -> dict[str, str]:
    """The county may choose another measure than the table suggests, with its reason."""
    suggested = data.get("suggested_measure")
    chosen = data.get("measure")
    if chosen and suggested and chosen != suggested and len((data.get("reason") or "").strip()) < 4:
        return {"reason": f"建议处理措施为“{MEASURES.get(suggested, suggested)}”，选择其他措施须说明理由"}
    return {}


def check_decision(ctx, session, data: dict) -> dict[str, str]:
    if data.get("city_decision") == "return":
        return {}
    if data.get("city_decision") == "change" and data.get("decided_measure") == data.get("measure"):
        return {"decided_measure": "与县区拟处理措施相同，请选择“认可县区处理意见”"}
    return _check_effect(ctx, data, _effective(data))


def check_escalation(ctx, session, data: dict) -> dict[str, str]:
    return _check_effect(ctx, data, data.get("next_measure"))


def _check_effect(ctx, data: dict, measure: str | None) -> dict[str, str]:
    """A rectification needs its deadline (days or a date, one of them); a suspension starts today or later."""
    today = ctx.today()
    errors = {}
    if measure == "rectification":
        days, until = data.get("deadline_days"), data.get("deadline_date")
        if bool(days) == bool(until):
            errors["deadline_days"] = "限期整改须设定整改期限：填写工作日数或截止日期，二选一"
        elif until and date.fromisoformat(until) <= today:
            errors["deadline_date"] = f"整改截止日期须晚于今天（{today:%Y-%m-%d}）"
    if measure == "suspension" and data.get("suspend_from") and date.fromisoformat(data["suspend_from"]) < today:
        errors["suspend_from"] = f"暂停起始日期不能早于今天（{today:%Y-%m-%d}）"
    return errors


def _effective(data: dict) -> str:
    return data["decided_measure"] if data.get("city_decision") == "change" else data["measure"]


# --- service topics of bpmn/supervision.bpmn ---------------------------------------------------------

def register_case(ctx, session, instance, actor, data, inputs):
    institution = session.get(Institution, int(data["institution_id"]))
    source = data.get("source")
    if source not in SOURCES:  # a new caller must say where the matter comes from
        raise ValueError(f"register_case: source must be one of {sorted(SOURCES)}, got {source!r}")
    now = ctx.clock.now()
    row = SupervisionCase(institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                          source=source, source_ref=data.get("source_ref"), facts=data.get("facts") or "",
                          evidence=list(data.get("evidence") or []), opened_at=now,
                          opened_by=data.get("opened_by") or (actor.id if actor else None),
                          instance_id=instance.id, status="investigating")
    session.add(row)
    session.flush()
    since = add_years(ctx.today(), -PRIOR_YEARS)
    prior = session.scalar(select(func.count()).select_from(Measure).where(
        Measure.institution_id == institution.id, Measure.decided_at >= since))
    names = dict(session.execute(select(Attachment.id, Attachment.filename).where(
        Attachment.id.in_([int(k) for k in row.evidence if str(k).isdigit()]))).all()) if row.evidence else {}
    notifications.to_assignees(ctx, session, "county", institution.jurisdiction_code, None, notifications.Message(
        "监督检查立案", f"{institution.name}：{SOURCES[source]}，请调查核实", f"/cases/{instance.id}"))
    return {"case_id": row.id, "name": institution.name, "prior_measures": prior, "source_name": SOURCES[source],
            "jurisdiction_name": session.get(Jurisdiction, institution.jurisdiction_code).name,
            "opened_at": now.isoformat(timespec="minutes"), "evidence_names": "、".join(names.values()) or "无"}


def record_investigation(ctx, session, instance, actor, data, inputs):
    """What the county found, on the case; the table's suggestion named for the proposal."""
    row = _case(session, data)
    if data.get("violation") not in VIOLATIONS or data.get("severity") not in SEVERITIES:
        raise ValueError("record_investigation: violation and severity must be the form's keys")
    row.violation, row.severity = data["violation"], data["severity"]
    suggested = data.get("suggested_measure")
    if suggested not in MEASURES:  # a changed table must not suggest what the model cannot route
        raise ValueError(f"supervision_measure suggested {suggested!r}, not one of {sorted(MEASURES)}")
    return {"suggested_measure_name": MEASURES[suggested]}


def record_proposal(ctx, session, instance, actor, data, inputs):
    """Art. 20: the county's proposal goes up to the city; nothing takes effect yet."""
    row = _case(session, data)
    row.status, row.violation, row.severity = "proposed", data.get("violation"), data.get("severity")
    if data.get("measure") not in MEASURES:
        raise ValueError(f"record_proposal: measure must be one of {sorted(MEASURES)}, got {data.get('measure')!r}")
    notifications.to_role(ctx, session, "city", notifications.Message(
        "处理意见待复核", f"{row.institution.name}：县区拟{MEASURES[data['measure']]}，请复核（第二十条）",
        f"/cases/{instance.id}"))
    return {"proposed_measure_name": MEASURES[data["measure"]], "proposal_reason": data.get("reason") or "",
            "county_opinion": data.get("opinion")}


def record_decision(ctx, session, instance, actor, data, inputs):
    """Art. 20 由市人力资源社会保障部门作出相应处理: the measure is on the institution's record."""
    if data.get("city_decision") not in ("agree", "change"):
        raise ValueError(f"record_decision: city_decision must be agree or change, got {data.get('city_decision')!r}")
    row = _case(session, data)
    row.status = "decided"
    return _decide(ctx, session, instance, actor, data, row, _effective(data), proposed=data.get("measure"),
                   reason=data.get("decision_reason") if data.get("city_decision") == "change" else None)


def escalate(ctx, session, instance, actor, data, inputs):
    """Art. 20, 22.7: not rectified in time or not accepted — the city's next measure replaces the last."""
    previous = session.get(Measure, int(data["measure_id"]))
    previous.status, previous.ended_on = "escalated", ctx.today()
    return _decide(ctx, session, instance, actor, data, _case(session, data), data.get("next_measure"),
                   proposed=None, reason=None)


def _decide(ctx, session, instance, actor, data, row, kind, proposed, reason):
    if kind not in MEASURES:  # a changed form must not record a measure the model cannot route
        raise ValueError(f"measure must be one of {sorted(MEASURES)}, got {kind!r}")
    today = ctx.today()
    due = None
    if kind == "rectification":
        due = (date.fromisoformat(data["deadline_date"]) if data.get("deadline_date") else
               ctx.current_calendar().working_days_after(today, int(data["deadline_days"])))
    starts = date.fromisoformat(data["suspend_from"]) if kind == "suspension" and data.get("suspend_from") else today
    violation = f"{VIOLATIONS.get(row.violation, '违规')}（{SEVERITIES.get(row.severity, '')}）"
    matter = f"{violation}：{data.get('findings') or row.facts}"
    measure = Measure(case_id=row.id, institution_id=row.institution_id, kind=kind, proposed_kind=proposed,
                      matter=matter[:300], reason=reason, opinion=data.get("opinion") or "",
                      decided_by=actor.id if actor else None, decided_at=ctx.clock.now(), status="in_effect",
                      effective_from=starts, deadline=due, details={})
    session.add(measure)
    session.flush()
    audit.record(session, ctx.clock.now(), actor, "measure_decided", instance_id=instance.id,
                 institution_id=row.institution_id, opinion=measure.opinion,
                 data={"measure_id": measure.id, "kind": kind, "proposed": proposed, "deadline": str(due or "")})
    what = MEASURES[kind] + (f"，整改期限至{due:%Y-%m-%d}" if due else "") + (
        f"，自{starts:%Y-%m-%d}起" if kind == "suspension" else "")
    message = notifications.Message(f"处理决定：{MEASURES[kind]}", f"{row.institution.name}：{what}。{measure.opinion}",
                                    f"/supervision/{row.id}")
    notifications.to_institution(ctx, session, row.institution_id, message)
    notifications.to_staff(ctx, session, row.jurisdiction_code, message)
    return {"measure": kind, "measure_id": measure.id, "measure_name": MEASURES[kind],
            "decision_opinion": measure.opinion,
            "rectification_origin": f"measure:{measure.id}", "rectification_matter": measure.matter,
            "rectification_due": due.isoformat() if due else None, "suspend_from": starts.isoformat()}


def record_interview(ctx, session, instance, actor, data, inputs):
    measure = _measure(session, data)
    measure.details = {key: data.get(key) for key in ("interview_date", "attendees", "minutes", "interview_record")}
    measure.status, measure.ended_on = "done", ctx.today()
    return {}


def publish_criticism(ctx, session, instance, actor, data, inputs):
    """Art. 20 通报批评, Art. 21 一公开: the measure is on the public site from now (public_measures)."""
    measure = _measure(session, data)
    measure.status, measure.ended_on = "done", ctx.today()
    audit.record(session, ctx.clock.now(), None, "criticism_published", instance_id=instance.id,
                 institution_id=measure.institution_id, data={"measure_id": measure.id})
    return {}


def suspend(ctx, session, instance, actor, data, inputs):
    """Art. 20 暂停评价: no new batch plan, open batches stop at their next step (`suspended`),
    the directory shows 暂停评价. The status before is kept for the lift."""
    measure = _measure(session, data)
    institution = measure.institution
    if institution.status in FILED_STATUSES and institution.status != "suspended":
        measure.status_before, institution.status = institution.status, "suspended"
    elif institution.status != "suspended":  # revoked or expired meanwhile: nothing left to suspend
        measure.status, measure.ended_on = "done", ctx.today()
    audit.record(session, ctx.clock.now(), None, "suspended", instance_id=instance.id, institution_id=institution.id,
                 data={"measure_id": measure.id, "status_before": measure.status_before})
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "暂停评价", f"自{measure.effective_from:%Y-%m-%d}起暂停职业技能等级认定（第二十条），不得报备新的认定批次，"
        "进行中的批次暂停办理；整改完成后由县区核查、市人社局决定解除。", f"/supervision/{measure.case_id}"))
    return {"suspension_in_force": measure.status == "in_effect"}


def lift_suspension(ctx, session, instance, actor, data, inputs):
    measure = _measure(session, data)
    institution = measure.institution
    if institution.status == "suspended" and measure.status_before:
        institution.status = measure.status_before
    measure.status, measure.ended_on = "lifted", ctx.today()
    audit.record(session, ctx.clock.now(), actor, "suspension_lifted", instance_id=instance.id,
                 institution_id=institution.id, data={"measure_id": measure.id, "status": institution.status})
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "解除暂停评价", "市人社局已解除暂停，可继续开展职业技能等级认定。", f"/supervision/{measure.case_id}"))
    return {}


def hand_over_revocation(ctx, session, instance, actor, data, inputs):
    """Art. 20 移除机构备案 → Art. 22.7 (not rectified) or 22.8 (other): the hand-over point."""
    measure = _measure(session, data)
    measure.status = "handed_over"
    row = _case(session, data)
    ground = "violations" if data.get("rectified") is False else "other"
    payload = {"source": "supervision", "ground": ground, "case_id": row.id, "measure_id": measure.id,
               "institution_id": row.institution_id, "facts": measure.matter, "opinion": measure.opinion}
    started = messages.publish(ctx, session, "revocation_proposed", row.institution, payload, source=instance)
    audit.record(session, ctx.clock.now(), None, "revocation_proposed", instance_id=instance.id,
                 institution_id=row.institution_id, data={"ground": ground, "cases": [c.id for c in started]})
    return {"revocation_cases": [c.id for c in started]}


def close_case(ctx, session, instance, actor, data, inputs):
    outcome = inputs.get("outcome")
    if outcome not in ("no_violation", "closed"):
        raise ValueError(f"close_case: outcome must be no_violation or closed, got {outcome!r}")
    row = _case(session, data)
    row.status, row.closed_at = outcome, ctx.clock.now()
    # a rectification accepted (or left by the city's 结案) is over with the case
    session.execute(Measure.__table__.update().where(
        Measure.case_id == row.id, Measure.kind == "rectification", Measure.status == "in_effect")
        .values(status="done", ended_on=ctx.today()))
    return {"case_status": outcome}


def _case(session, data) -> SupervisionCase:
    return session.get(SupervisionCase, int(data["case_id"]))


def _measure(session, data) -> Measure:
    return session.get(Measure, int(data["measure_id"]))


FORM_CHECKS = {"supervision_proposal": check_proposal, "supervision_decision": check_decision,
               "supervision_escalation": check_escalation}
TOPICS = {
    "register_case": Topic.of(register_case),
    "record_investigation": Topic.of(record_investigation),
    "record_proposal": Topic.of(record_proposal),
    "record_decision": Topic.of(record_decision),
    "escalate": Topic.of(escalate),
    "record_interview": Topic.of(record_interview),
    "publish_criticism": Topic.of(publish_criticism),
    "suspend": Topic.of(suspend),
    "lift_suspension": Topic.of(lift_suspension),
    "hand_over_revocation": Topic.of(hand_over_revocation),
    "close_case": Topic.of(close_case, ("outcome",)),
}
