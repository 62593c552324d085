"""The one-year pilot (认定试点, Art. 7) and province-wide service, with bpmn/pilot.bpmn.

A first filing's receipt starts the pilot: bpmn/pilot.bpmn starts on the message `filing_filed`
(usecases.messages), with the facts of the filing as its data. When the pilot year ends the city
evaluates it: pass → the institution certifies for the rest of its three years; fail → the filing
ends (register.end_filing). The city may recommend a passed institution for province-wide service,
which the province re-reviews.

An institution certifying in another city records that city's filing here too
(`record_other_city_filing`)."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..domain import calendar as cal
from ..domain.levels import LEVELS
from ..store.db import read_only
from ..store.models import (
    FILED_STATUSES,
    Attachment,
    Batch,
    Certificate,
    Complaint,
    Institution,
    Measure,
    OtherCityFiling,
    SupervisionCase,
    User,
)
from ..usecases import access, audit, notifications, register
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Forbidden, Invalid
from ..usecases.topics import Topic

FACTS_NOTE = ("认定批次数、发证人数按本系统登记的试点期内批次计；未结监督检查问题含办理中的案件和执行中的处理措施"
              "（第二十条）。系统上线前的情况请以机构报送材料和线下检查记录为准。")


def pilot_facts(session: Session, institution: Institution) -> dict:
    """What the city weighs at the end of the pilot: the batches certified and certificates issued
    in the pilot year (Art. 15), the supervision matters not yet settled (Art. 20), complaints."""
    start = institution.valid_from
    end = institution.pilot_until
    complaints = select(func.count()).select_from(Complaint).where(Complaint.institution_id == institution.id)
    if start and end:
        complaints = complaints.where(Complaint.created_at >= datetime.combine(start, time()),
                                      Complaint.created_at < cal.end_of(end))
    scope = [f"{item.occupation_code} {item.occupation.name} · "
             f"{LEVELS[item.level].name if item.level in LEVELS else item.level}"
             for item in institution.scope if item.is_active]
    batches = select(Batch.id).where(Batch.institution_id == institution.id, Batch.status == "certified")
    if start and end:
        batches = batches.where(Batch.created_at >= datetime.combine(start, time()), Batch.created_at < cal.end_of(end))
    open_cases = select(func.count()).select_from(SupervisionCase).where(
        SupervisionCase.institution_id == institution.id, SupervisionCase.status.in_(("investigating", "proposed")))
    measures = select(func.count()).select_from(Measure).where(Measure.institution_id == institution.id,
                                                               Measure.status == "in_effect")
    return {
        "pilot_period": f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}" if start and end else "未登记",
        "pilot_scope": scope,
        "batches_run": session.scalar(select(func.count()).select_from(batches.subquery())),
        "certificates_issued": session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.batch_id.in_(batches))),
        "findings_open": session.scalar(open_cases) + session.scalar(measures),
        "facts_note": FACTS_NOTE,
        "complaints_received": session.scalar(complaints),
        "complaints_substantiated": session.scalar(complaints.where(Complaint.status == "substantiated")),
        # a filing ended during the pilot (e.g. withdrawn) needs no evaluation
        "still_filed": institution.status in FILED_STATUSES,
    }


# --- service topics of bpmn/pilot.bpmn -------------------------------------------------------------

def _institution(session: Session, data) -> Institution:
    return session.get(Institution, int(data["institution_id"]))


def facts_topic(ctx, session, instance, actor, data, inputs):
    # the city's review starts with no recommendation for province-wide service
    return {**pilot_facts(session, _institution(session, data)), "recommend_province": False}


def passed_topic(ctx, session, instance, actor, data, inputs):
    """Art. 7: 试点结束后，通过评估的评价组织，可在备案期限内持续开展认定服务."""
    institution = _institution(session, data)
    register.pilot_passed(session, institution)
    body = f"可在备案有效期内（至{institution.valid_until:%Y-%m-%d}）持续开展职业技能等级认定。"
    if data.get("recommend_province"):
        body += "市人社局已推荐面向全省开展认定服务，待省人社厅复核。"
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "认定试点评估通过", body, f"/cases/{instance.id}"))
    # the city's opinion stays in the record; the province writes its own
    return {"institution_status": institution.status, "city_opinion": data.get("opinion"), "opinion": ""}


def end_filing_topic(ctx, session, instance, actor, data, inputs):
    institution = _institution(session, data)
    register.end_filing(ctx, session, institution, inputs.get("reason") or "", inputs.get("ground") or "",
                          actor=actor, instance_id=instance.id)
    return {"institution_status": institution.status}


def province_topic(ctx, session, instance, actor, data, inputs):
    """Art. 7: 经市择优推荐、省人力资源社会保障厅复核备案的评价组织，可面向全省提供认定服务."""
    decision = inputs.get("decision")
    if decision not in ("approve", "reject"):  # a changed form must not silently decide either way
        raise ValueError(f"record_province_review: decision must be approve or reject, got {decision!r}")
    institution = _institution(session, data)
    approved = decision == "approve" and institution.status in FILED_STATUSES
    if approved:
        institution.is_province_wide = True
    message = (notifications.Message("通过省级复核，可面向全省开展认定服务",
                                     "本机构已列入面向全省开展认定的评价机构目录。", f"/cases/{instance.id}")
               if approved else
               notifications.Message("省级复核未同意面向全省开展认定服务",
                                     f"继续面向全市开展认定服务。意见：{inputs.get('opinion') or '见办理记录'}",
                                     f"/cases/{instance.id}"))
    notifications.to_institution(ctx, session, institution.id, message)
    return {"is_province_wide": institution.is_province_wide}


ENDS_WITH_THE_FILING = ("pilot",)
TOPICS = {
    "pilot_facts": Topic.of(facts_topic),
    "pilot_passed": Topic.of(passed_topic),
    "end_filing": Topic.of(end_filing_topic, ("reason", "ground")),
    "record_province_review": Topic.of(province_topic, ("decision", "opinion")),
}


# --- filings in other cities (Art. 7: 异地开展认定服务须经拟开展认定地市级人社部门备案) ---------------

def record_other_city_filing(ctx: Context, user_id: int, city: str, filing_code: str, valid_until,
                             attachment_id=None) -> int:
    """An institution user records a filing its institution obtained in another city; for its
    own institution only. Returns the row's id."""
    city, filing_code = (city or "").strip(), (filing_code or "").strip()
    errors = {}
    if not city:
        errors["city"] = "请填写开展认定服务的地市，如“合肥市”"
    elif len(city) > 50:
        errors["city"] = "地市名称不超过50个字"
    elif city.startswith(ctx.bureau.city_short):  # this system keeps its own city's filing
        errors["city"] = "本市的备案无需登记为异地备案"
    if not filing_code:
        errors["filing_code"] = "请填写该地市人社部门出具的备案编号"
    elif len(filing_code) > 50:
        errors["filing_code"] = "备案编号不超过50个字"
    until = _date(valid_until)
    if not valid_until:
        errors["valid_until"] = "请填写该备案的有效期截止日期"
    elif until is None:
        errors["valid_until"] = "日期格式应为YYYY-MM-DD，如2027-03-02"
    elif until < ctx.today():
        errors["valid_until"] = "该备案已过有效期，不能登记"
    attachment = None
    if attachment_id not in (None, ""):
        text = str(attachment_id)  # an id beyond INTEGER names no attachment (and would overflow the query)
        attachment = int(text) if text.isdecimal() and len(text) <= 9 else -1
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        refusal = _refusal(session, user)
        if refusal:
            raise Forbidden(refusal)
        institution = session.get(Institution, user.institution_id)
        if attachment is not None:
            row = session.get(Attachment, attachment) if attachment > 0 else None
            if row is None or row.institution_id != institution.id:
                errors["attachment_id"] = "附件不存在，请重新上传备案证明"
        if not errors and session.scalar(select(OtherCityFiling.id).where(
                OtherCityFiling.institution_id == institution.id, OtherCityFiling.city == city,
                OtherCityFiling.filing_code == filing_code)):
            errors["filing_code"] = f"{city}的该备案编号已登记"
        if errors:
            raise Invalid(errors)
        now = ctx.clock.now()
        row = OtherCityFiling(institution_id=institution.id, city=city, filing_code=filing_code, valid_until=until,
                              attachment_id=attachment, recorded_by=user.id, recorded_at=now)
        session.add(row)
        session.flush()
        audit.record(session, now, user, "other_city_filing", institution_id=institution.id,
                     data={"id": row.id, "city": city, "filing_code": filing_code, "valid_until": until.isoformat(),
                           "attachment_id": attachment})
        return row.id


def other_city_refusal(ctx: Context, user_id: int) -> str | None:
    """Why this user may not record a filing in another city, or None if it may: the page says so
    before anything is typed. record_other_city_filing checks the same."""
    with unit_of_work(ctx) as session:
        read_only(session)
        return _refusal(session, session.get(User, user_id))


def _refusal(session: Session, user: User) -> str | None:
    if user.role != "institution" or user.institution_id is None:
        return "只有评价机构用户可以登记本机构的异地备案"
    if session.get(Institution, user.institution_id).status not in FILED_STATUSES:
        return "本机构尚未在本市备案或备案已终止，不能登记异地备案"
    return None


def other_city_filings(ctx: Context, user_id: int, institution_id: int | None = None) -> list[OtherCityFiling]:
    """An institution's own; staff those of the institutions they may see, or of one of them.
    Each row comes with its institution and proof attachment (file name, not content) loaded."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = (select(OtherCityFiling).join(Institution, Institution.id == OtherCityFiling.institution_id)
                     .options(selectinload(OtherCityFiling.institution), selectinload(OtherCityFiling.attachment))
                     .where(access.scope_filter(user, OtherCityFiling.institution_id, Institution.jurisdiction_code))
                     .order_by(OtherCityFiling.valid_until, OtherCityFiling.id))
        if institution_id is not None:
            statement = statement.where(OtherCityFiling.institution_id == institution_id)
        return list(session.scalars(statement))


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None
