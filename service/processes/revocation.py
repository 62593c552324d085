"""Revocation (取消备案, Art. 22), with bpmn/revocation.bpmn: a case on one of the eight grounds,
started by the message `revocation_proposed` from the institution itself (ground 1, 自愿退出), the
inactivity scan (ground 2, bpmn/inactivity_scan.bpmn), staff (grounds 3, 4, 5, 8), supervision (7)
or the annual rating (6). The county proposes or dismisses with its reason, the city (备案机关)
decides; a revocation ends the filing the one way there is (register.end_filing: out of the
directory, every case the filing carried ended, the institution told), is reported to the
province and notified to the sponsor or supervising department by a document to print or send."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from .. import sheets
from ..domain.calendar import add_years
from ..store.db import read_only
from ..store.models import (
    FILED_STATUSES,
    Attachment,
    Institution,
    Jurisdiction,
    Revocation,
    RevocationCase,
    User,
)
from ..usecases import access, attachments, audit, messages, notifications, register
from ..usecases.context import Context, unit_of_work
from ..usecases.errors import Conflict, Forbidden, Invalid, NotFound
from ..usecases.topics import Topic

PROCESS = "revocation"
MESSAGE = "revocation_proposed"
SOURCES = {"institution": "机构申请", "scan": "系统扫描（一年以上未开展认定）", "staff": "工作人员立案",
           "supervision": "监督检查移交", "rating": "年度评估移交"}
STAFF_GROUNDS = ("legal_person_terminated", "false_materials", "facilities_unfit", "other")  # Art. 22.3, .4, .5, .8
INACTIVE_FOR_YEARS = 1  # Art. 22.2: 停止职业技能等级认定工作1年以上
MAX_TEXT = 5000


def ground_text(ground: str) -> str:
    return register.GROUNDS.get(ground, ground)


def apply_withdrawal(ctx: Context, user_id: int, reason: str) -> int:
    """Art. 22.1 自愿退出: the institution applies; its county and the city decide. The case's id."""
    reason = (reason or "").strip()
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role != "institution":
            raise Forbidden("退出备案由评价机构本机构申请")
        if not 4 <= len(reason) <= MAX_TEXT:
            raise Invalid({"reason": f"请写明退出原因（4至{MAX_TEXT}字）"})
        institution = session.get(Institution, user.institution_id)
        return _open(ctx, session, user, institution, "withdrawal", "institution", f"机构申请自愿退出备案：{reason}",
                     [])


def open_case(ctx: Context, user_id: int, institution_id: int | None, ground: str, facts: str,
              evidence: list[str] = ()) -> int:
    """Staff (the county its own, the city any) open a case on ground 3, 4, 5 or 8. The case's id."""
    facts = (facts or "").strip()
    evidence = [str(key) for key in evidence if str(key).strip()]
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id)
        if user.role not in ("county", "city"):
            raise Forbidden("取消备案由县区提出、市人社局决定（第二十二条）")
        institution = session.get(Institution, institution_id) if institution_id else None
        errors = {}
        if institution is None or not access.can_see_institution(user, institution):
            errors["institution_id"] = "请选择本辖区的评价机构"
        if ground not in STAFF_GROUNDS:
            errors["ground"] = "请选择取消备案的情形（第二十二条第三、四、五、八项）"
        if not 10 <= len(facts) <= MAX_TEXT:
            errors["facts"] = f"请写明事实和依据（10至{MAX_TEXT}字）"
        files = attachments.own_uploads(session, user, evidence)
        if files is None:
            errors["evidence"] = "证据材料须由本人上传"
        if errors:
            raise Invalid(errors)
        attachments.give_to_case(files, institution.id)
        return _open(ctx, session, user, institution, ground, "staff", facts, evidence)


def _open(ctx, session, user, institution, ground, source, facts, evidence) -> int:
    if institution.status not in FILED_STATUSES:
        raise Conflict("该机构不在备案机构目录中，无需取消备案")
    already = session.scalar(select(RevocationCase.id).where(RevocationCase.institution_id == institution.id,
                                                             RevocationCase.status == "open"))
    if already is not None:
        raise Conflict(f"该机构已有办理中的取消备案案件（编号{already}）")
    payload = {"institution_id": institution.id, "ground": ground, "source": source, "facts": facts,
               "evidence": evidence, "opened_by": user.id}
    started = messages.publish(ctx, session, MESSAGE, institution, payload, actor=user)
    return session.scalar(select(RevocationCase.id).where(RevocationCase.instance_id.in_([c.id for c in started])))


def scan_inactive(ctx, session, instance, actor, data, inputs):
    """Art. 22.2, bpmn/inactivity_scan.bpmn: a filed institution whose last certification (or, if it
    never certified, its filing) is more than a year ago is proposed, once, for the county to
    confirm or dismiss (force majeure is the county's to weigh)."""
    before = add_years(date.fromisoformat(str(data.get("occurrence") or ctx.today())[:10]), -INACTIVE_FOR_YEARS)
    open_cases = select(RevocationCase.institution_id).where(RevocationCase.status == "open")
    certified = Institution.last_certified_on
    found = session.scalars(select(Institution).where(
        Institution.status.in_(FILED_STATUSES), Institution.id.not_in(open_cases),
        (certified.is_not(None) & (certified < before)) | (certified.is_(None) & (Institution.valid_from < before)))
        .order_by(Institution.id)).all()
    for institution in found:
        last = institution.last_certified_on
        facts = (f"最近一次认定发证日期为{last:%Y-%m-%d}" if last else
                 f"自{institution.valid_from:%Y-%m-%d}备案以来未在本系统发证") + "，已超过1年未开展职业技能等级认定。"
        payload = {"institution_id": institution.id, "ground": "inactive", "source": "scan", "facts": facts,
                   "evidence": []}
        messages.publish(ctx, session, MESSAGE, institution, payload, source=instance)
    return {"proposed": [i.id for i in found]}


# --- service topics of bpmn/revocation.bpmn --------------------------------------------------------

def register_case(ctx, session, instance, actor, data, inputs):
    institution = session.get(Institution, int(data["institution_id"]))
    ground, source = data.get("ground"), data.get("source")
    if ground not in register.GROUNDS or ground in ("pilot_failed", "expired") or source not in SOURCES:
        raise ValueError(f"register_revocation: an Art. 22 ground and a source, got {ground!r}, {source!r}")
    ref = data.get("source_ref") or (f"supervision:{data['case_id']}" if source == "supervision" else None)
    row = RevocationCase(institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code, ground=ground,
                         source=source, source_ref=ref, facts=data.get("facts") or "",
                         evidence=list(data.get("evidence") or []), opened_at=ctx.clock.now(),
                         opened_by=data.get("opened_by") or (actor.id if actor else None), instance_id=instance.id,
                         status="open")
    session.add(row)
    session.flush()
    notifications.to_assignees(ctx, session, "county", institution.jurisdiction_code, None, notifications.Message(
        "取消备案待审查", f"{institution.name}：{ground_text(ground)}", f"/revocations/{row.id}"))
    last = institution.last_certified_on
    return {"revocation_case_id": row.id, "name": institution.name, "ground_name": ground_text(ground),
            "source_name": SOURCES[source], "filing_code": institution.filing_code,
            "jurisdiction_name": session.get(Jurisdiction, institution.jurisdiction_code).name,
            "last_certified_on": last.isoformat() if last else "未在本系统发证"}


def record_proposal(ctx, session, instance, actor, data, inputs):
    row = _case(session, data)
    row.sponsor = data.get("sponsor") or None
    notifications.to_role(ctx, session, "city", notifications.Message(
        "取消备案待决定", f"{row.institution.name}：县区提出取消备案（{ground_text(row.ground)}）",
        f"/revocations/{row.id}"))
    return {"county_opinion": data.get("opinion")}


def revoke(ctx, session, instance, actor, data, inputs):
    """Art. 22 由备案机关取消其备案: the one way a filing ends (register.end_filing)."""
    row = _case(session, data)
    ended = register.end_filing(ctx, session, row.institution, data.get("opinion") or row.facts, row.ground,
                                actor=actor, instance_id=instance.id)
    row.revocation_id = ended.id
    return {"revocation_id": ended.id}


def report_revocation(ctx, session, instance, actor, data, inputs):
    """Art. 22 逐级上报、更新相关备案信息: the province is told and reads it in its export."""
    row = _case(session, data)
    audit.record(session, ctx.clock.now(), None, "reported_to_province", instance_id=instance.id,
                 institution_id=row.institution_id, data={"revocation_case_id": row.id, "ground": row.ground})
    notifications.to_role(ctx, session, "province", notifications.Message(
        "取消备案报告", f"{row.institution.name}（{row.institution.filing_code}）已取消备案：{ground_text(row.ground)}",
        f"/revocations/{row.id}"))
    return {}


def notify_sponsor(ctx, session, instance, actor, data, inputs):
    """Art. 22 通报其主管部门或举办单位: the notice is a document (/revocations/<id>/notice) the city
    prints or sends; the county and the city are told it is ready."""
    row = _case(session, data)
    notifications.to_staff(ctx, session, row.jurisdiction_code, notifications.Message(
        "取消备案通报待发送",
        f"致{row.sponsor or '主管部门或举办单位'}：{row.institution.name}已取消备案，请打印或发送通报",
        f"/revocations/{row.id}/notice"))
    return {}


def close_case(ctx, session, instance, actor, data, inputs):
    outcome = inputs.get("outcome")
    if outcome not in ("dismissed", "not_revoked", "revoked"):
        raise ValueError(f"close_revocation: outcome must be dismissed, not_revoked or revoked, got {outcome!r}")
    row = _case(session, data)
    row.status, row.closed_at, row.opinion = outcome, ctx.clock.now(), data.get("opinion")
    if outcome != "revoked" and row.source == "institution":
        notifications.to_institution(ctx, session, row.institution_id, notifications.Message(
            "退出备案申请未获同意", data.get("opinion") or "", f"/revocations/{row.id}"))
    return {"revocation_status": outcome}


def _case(session, data) -> RevocationCase:
    return session.get(RevocationCase, int(data["revocation_case_id"]))


# --- what the pages show ---------------------------------------------------------------------------

@dataclass
class CaseView:
    case: RevocationCase
    revocation: Revocation | None
    evidence: dict[int, str]


def cases(ctx: Context, user_id: int) -> list[RevocationCase]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user.role not in ("institution", "county", "city", "province"):
            return []
        rows = session.scalars(select(RevocationCase).where(access.scope_filter(
            user, RevocationCase.institution_id, RevocationCase.jurisdiction_code))
            .order_by(RevocationCase.id.desc()).limit(500)).all()
        for row in rows:
            row.institution  # noqa: B018 — read after the session closes
        return list(rows)


def case_view(ctx: Context, user_id: int, case_id: int) -> CaseView:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        row = session.get(RevocationCase, case_id)
        if row is None or user.role not in ("institution", "county", "city", "province") or \
                not access.can_see_institution(user, row.institution):
            raise NotFound("取消备案案件不存在")
        keys = [int(k) for k in row.evidence if str(k).isdigit()]
        evidence = dict(session.execute(select(Attachment.id, Attachment.filename)
                                        .where(Attachment.id.in_(keys))).all()) if keys else {}
        ended = session.get(Revocation, row.revocation_id) if row.revocation_id else None
        return CaseView(row, ended, evidence)


def public_revocations(ctx: Context) -> list:
    """Art. 22 (网站公布信息): filings the city revoked, for everyone; validity run out is not a revocation."""
    with unit_of_work(ctx) as session:
        read_only(session)
        return list(session.execute(select(Revocation, Institution).join(
            Institution, Institution.id == Revocation.institution_id).where(Revocation.ground != "expired")
            .order_by(Revocation.decided_at.desc()).limit(200)).all())


REPORT_COLUMNS = tuple(sheets.Column(key, title, width=width) for key, title, width in (
    ("name", "机构名称", 30), ("credit_code", "统一社会信用代码", 22), ("filing_code", "备案编码", 16),
    ("jurisdiction", "所在县区", 14), ("ground", "取消情形", 40), ("reason", "理由", 40), ("date", "取消日期", 12)))


def report_sheet(ctx: Context, user_id: int) -> bytes:
    """The province's report (逐级上报): every filing ended, as an .xlsx."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user.role not in ("city", "province"):
            raise Forbidden("取消备案报告由市人社局报省技能人才管理服务中心")
        names = dict(session.execute(select(Jurisdiction.code, Jurisdiction.name)).all())
        rows = [(i.name, i.credit_code, i.filing_code or "", names.get(i.jurisdiction_code, ""), ground_text(r.ground),
                 r.reason, r.decided_at.date()) for r, i in session.execute(select(Revocation, Institution).join(
                     Institution, Institution.id == Revocation.institution_id).order_by(Revocation.decided_at))]
        return sheets.write(REPORT_COLUMNS, rows, "取消备案报告")


def institutions_to_open(ctx: Context, user_id: int) -> list[tuple[int, str]]:
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        return [(i.id, i.name) for i in session.scalars(select(Institution).where(
            Institution.status.in_(FILED_STATUSES),
            access.scope_filter(user, Institution.id, Institution.jurisdiction_code)).order_by(Institution.name))]


TOPICS = {
    "register_revocation": Topic.of(register_case),
    "record_revocation_proposal": Topic.of(record_proposal),
    "revoke": Topic.of(revoke),
    "report_revocation": Topic.of(report_revocation),
    "notify_sponsor": Topic.of(notify_sponsor),
    "close_revocation": Topic.of(close_case, ("outcome",)),
    "scan_inactive": Topic.of(scan_inactive),
}
