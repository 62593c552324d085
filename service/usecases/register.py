"""The filing register (备案登记簿): what every process may ask or change about an institution's
filing, in one small shared service, so processes never call into each other (filing, renewal,
scope change, pilot, and the revocation and supervision to come).

It holds the filing in force and its scope, the numbers the city assigns (filing codes,
receipt numbers), opening a filing case (an institution's own application, or a renewal), and
ending a filing (取消备案, Art. 22; a failed pilot, Art. 7). Each function works in the caller's
transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..domain.bureau import Bureau
from ..domain.codes import FILING_CODE_LETTER, format_filing_code
from ..domain.levels import LEVELS
from ..store.models import (
    Filing,
    HumanTask,
    Institution,
    Measure,
    Occupation,
    ProcessInstance,
    Revocation,
    ScopeChange,
    ScopeItem,
    Setting,
    User,
)
from . import audit, instances, notifications
from .context import Context
from .errors import Conflict

# A filing in these states is still being decided: an institution has at most one.
OPEN_FILING = ("draft", "under_review", "correction", "notice")


# --- the filing in force and its scope --------------------------------------------------------

def filing_in_force(session: Session, institution_id: int) -> Filing | None:
    """The last filing decided as filed (first filing or renewal): its application holds the facts."""
    return session.scalar(select(Filing).where(Filing.institution_id == institution_id, Filing.status == "filed")
                          .order_by(Filing.decided_at.desc(), Filing.id.desc()).limit(1))


def scope_in_force(session: Session, institution: Institution) -> list[dict]:
    """The active scope, each pair with the own certified assessors last declared for it: by the
    filing in force, or by a scope change approved after it."""
    last = filing_in_force(session, institution.id)
    declared = {(s["occupation_code"], s["level"]): s.get("assessors")
                for s in ((last.application or {}).get("scope") or [] if last else [])}
    changes = select(ScopeChange).where(ScopeChange.institution_id == institution.id,
                                        ScopeChange.status == "approved")
    if last is not None and last.decided_at is not None:
        changes = changes.where(ScopeChange.decided_at >= last.decided_at)
    for change in session.scalars(changes.order_by(ScopeChange.decided_at, ScopeChange.id)):
        declared.update({(s["occupation_code"], s["level"]): s.get("assessors") for s in change.requested_scope})
    return [{"occupation_code": item.occupation_code, "level": item.level,
             "assessors": declared.get((item.occupation_code, item.level))}
            for item in institution.scope if item.is_active]


def changed_since(session: Session, institution_id: int, since: datetime) -> tuple[set, set]:
    """(added, removed) pairs of the scope changes approved after `since`: a renewal opened while a
    change was under review was prefilled without it, and its receipt must not undo it."""
    added, removed = set(), set()
    for change in session.scalars(select(ScopeChange).where(
            ScopeChange.institution_id == institution_id, ScopeChange.status == "approved",
            ScopeChange.decided_at >= since).order_by(ScopeChange.decided_at, ScopeChange.id)):
        before, after = pairs(change.scope_before), pairs(change.approved_scope)
        gained, lost = after - before, before - after
        added, removed = (added - lost) | gained, (removed - gained) | lost
    return added, removed


def pairs(scope) -> set[tuple[str, str]]:
    return {(s["occupation_code"], s["level"]) for s in scope or []}


def active_pairs(institution: Institution) -> set[tuple[str, str]]:
    return {(item.occupation_code, item.level) for item in institution.scope if item.is_active}


def set_scope(institution: Institution, wanted: set[tuple[str, str]]) -> None:
    """The scope in force becomes `wanted`: pairs no longer wanted are deactivated (kept, for the
    record), new ones added or reactivated. The public directory and the quota read this."""
    existing = {(item.occupation_code, item.level): item for item in institution.scope}
    for key, item in existing.items():
        item.is_active = key in wanted
    for code, level in sorted(wanted - set(existing)):
        institution.scope.append(ScopeItem(occupation_code=code, level=level, is_active=True))


def describe(session: Session, scope_pairs) -> list[str]:
    """'6-31-01-03 电工 · 四级/中级工', for the reviewers, the messages and the record."""
    scope_pairs = sorted(scope_pairs)
    names = dict(session.execute(select(Occupation.code, Occupation.name).where(
        Occupation.code.in_({code for code, _ in scope_pairs}))).all()) if scope_pairs else {}
    return [f"{code} {names.get(code, '')} · {LEVELS[level].name if level in LEVELS else level}"
            for code, level in scope_pairs]


# --- numbers the city assigns ------------------------------------------------------------------

def next_filing_code(session: Session, bureau: Bureau, kind: str) -> str:
    """Art. 7 赋码: the next code of this city, a sequence per code letter, so two approvals never
    share a code (and the city part keeps other cities' codes apart)."""
    sequence = _next_in_sequence(session, f"filing_code_serial_{FILING_CODE_LETTER[kind]}")
    return format_filing_code(kind, sequence, bureau.province_code, bureau.city_part)


def next_receipt_number(session: Session, bureau: Bureau, year: int) -> str:
    """备案回执编号 <prefix><year><serial> (池州 CZBA): one sequence per year for every receipt, the
    system's own and those of filings recorded from before it (seed), so no two receipts can share
    a number."""
    return f"{bureau.receipt_prefix}{year}{_next_in_sequence(session, f'receipt_serial_{year}'):06d}"


def next_certificate_numbers(session: Session, institution: Institution, year: int, level_digit: int,
                             count: int) -> list[str]:
    """Art. 15.3 证书编号 (data/README.md): the institution's 13-character code, the year's last two
    digits, the level digit and a 6-digit serial per institution, year and level, reserved `count`
    at a time in the caller's transaction, so two batches never share a number and none is reused."""
    last = _next_in_sequence(session, f"certificate_{institution.filing_code}_{year % 100:02d}_{level_digit}", count)
    if last > 999_999:
        raise Conflict(f"本机构{year}年该等级的证书序号已用尽（6位），请联系市人社局")
    prefix = f"{institution.filing_code}{year % 100:02d}{level_digit}"
    return [f"{prefix}{serial:06d}" for serial in range(last - count + 1, last + 1)]


def _next_in_sequence(session: Session, key: str, count: int = 1) -> int:
    """The counter row is locked until the transaction ends: concurrent approvals queue for it.
    Takes `count` numbers at once and returns the last of them. A counter's first use inserts its
    row with ON CONFLICT DO NOTHING: two first uses at once wait for each other, never fail."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(Setting).values(key=key, value="0").on_conflict_do_nothing())
    setting = session.execute(select(Setting).where(Setting.key == key).with_for_update()).scalar_one()
    setting.value = str(int(setting.value) + count)
    session.flush()
    return int(setting.value)


# --- opening a filing case -----------------------------------------------------------------------

@dataclass
class Started:
    filing_id: int
    instance_id: int
    task_id: int


def open_filing(ctx: Context, session: Session, institution: Institution, actor: User | None,
                purpose: str = "initial", prefill: dict | None = None) -> Started:
    """A filing case (bpmn/filing.bpmn) for the institution: its own application (initial), or a
    renewal the scheduler opens before the three years end (Art. 7), prefilled from the filing in
    force and carrying the validity it would follow on from."""
    open_filing = session.scalar(select(Filing).where(
        Filing.institution_id == institution.id, Filing.status.in_(OPEN_FILING)))
    if open_filing is not None:
        raise Conflict(f"本机构已有一件办理中的备案申请（编号{open_filing.id}），请勿重复申请")
    filing = Filing(institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code, purpose=purpose)
    session.add(filing)
    session.flush()
    data = {**(prefill or {}), "filing_id": filing.id, "institution_id": institution.id, "purpose": purpose,
            "name": institution.name, "credit_code": institution.credit_code, "kind": institution.kind,
            "identity_fixed": institution.status != "draft",  # the form shows credit code and kind read-only
            "jurisdiction": institution.jurisdiction_code, "address": institution.address,
            "legal_representative": institution.legal_representative,
            "contact_name": institution.contact_name, "contact_phone": institution.contact_phone,
            "valid_until_in_force": institution.valid_until.isoformat() if institution.valid_until else None}
    what = "延续备案申请" if purpose == "renewal" else "备案申请"
    instance = instances.start(ctx, session, actor, "filing", data, business_key=f"filing:{filing.id}",
                               institution_id=institution.id, jurisdiction_code=institution.jurisdiction_code,
                               subject=f"{institution.name} {what}")
    audit.record(session, ctx.clock.now(), actor, "start", instance_id=instance.id,
                 institution_id=institution.id, data={"process": "filing", "filing_id": filing.id, "purpose": purpose})
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.state == "open"))
    return Started(filing.id, instance.id, task_id)


# --- ending a filing -------------------------------------------------------------------------------

# Why a filing ends; the key is stored (revocation.ground), the text is shown and sent.
GROUNDS = {
    "pilot_failed": "第七条：认定试点结束后未通过评估",
    "withdrawal": "第二十二条第一项：自愿退出职业技能等级认定工作备案",
    "inactive": "第二十二条第二项：非不可抗力因素停止职业技能等级认定工作1年以上",
    "legal_person_terminated": "第二十二条第三项：机构或其举办单位法人资格依法终止",
    "false_materials": "第二十二条第四项：通过虚假材料、虚假承诺取得备案登记，或拒不履行工作承诺",
    "facilities_unfit": "第二十二条第五项：设施设备无法满足鉴定考核需求且无法整改完善",
    "low_rating": "第二十二条第六项：年度工作评估为三星级以下且限期内未完成整改",
    "violations": "第二十二条第七项：存在违规行为且限期内未完成整改",
    "other": "第二十二条第八项：其他因违法违规开展认定造成不良影响",
    "expired": "第七条：备案有效期满未延续",
}


def end_filing(ctx: Context, session: Session, institution: Institution, reason: str, ground: str, *,
               actor: User | None = None, instance_id: int | None = None) -> Revocation:
    """The one way a filing ends (Art. 22; Art. 7 a failed pilot or validity run out): status
    revoked (expired when the validity ran out), its scope deactivated (so it leaves the public
    directory and no longer counts towards the quota), the reason recorded and audited, every
    case the filing carried ended (an ended institution can act on nothing), the institution told."""
    if ground not in GROUNDS:  # a changed model must not end a filing on an unknown ground
        raise ValueError(f"end_filing: ground must be one of {sorted(GROUNDS)}, got {ground!r}")
    reason = (reason or "").strip() or GROUNDS[ground]
    now = ctx.clock.now()
    before = institution.status
    institution.status = "expired" if ground == "expired" else "revoked"
    for item in institution.scope:
        item.is_active = False
    row = Revocation(institution_id=institution.id, ground=ground, reason=reason, instance_id=instance_id,
                     decided_by=actor.id if actor else None, decided_at=now)
    session.add(row)
    session.flush()
    audit.record(session, now, actor, institution.status, instance_id=instance_id, institution_id=institution.id,
                 opinion=reason, data={"ground": ground, "status_before": before, "revocation_id": row.id,
                                       "filing_code": institution.filing_code})
    # a renewal applied for in time is still decided after the validity runs out (Art. 7)
    ending = ctx.ends_with_filing - ({"filing"} if ground == "expired" else set())
    for case in session.scalars(select(ProcessInstance).where(
            ProcessInstance.institution_id == institution.id, ProcessInstance.status == "running",
            ProcessInstance.process_id.in_(ending), ProcessInstance.id != (instance_id or -1))
            .order_by(ProcessInstance.id)):
        instances.end(ctx, session, case, f"备案已终止：{GROUNDS[ground]}", actor)
    ended = "备案已过期" if ground == "expired" else "备案已取消"
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        f"{ended}：{institution.name}",
        f"{GROUNDS[ground]}。理由：{reason}。本机构已移出备案机构目录，不得再开展职业技能等级认定，"
        "办理中的备案、变更、延续、试点和认定批次已终止。", "/filings"))
    return row


def why_suspended(session: Session, institution_id: int | None) -> str | None:
    """Art. 20 暂停评价: why the institution's work waits, or None when it is not suspended."""
    institution = session.get(Institution, institution_id) if institution_id else None
    if institution is None or institution.status != "suspended":
        return None
    since = session.scalar(select(Measure.effective_from).where(
        Measure.institution_id == institution.id, Measure.kind == "suspension", Measure.status == "in_effect")
        .order_by(Measure.id.desc()).limit(1))
    since_text = f"自{since:%Y-%m-%d}起" if since else ""
    return f"{institution.name}{since_text}暂停评价（第二十条），待市人社局解除暂停后继续办理"


def pilot_passed(session: Session, institution: Institution) -> None:
    """Art. 7: the pilot passed — 已备案 from now; if suspended meanwhile (Art. 20), the lift restores 已备案."""
    if institution.status == "filed_pilot":
        institution.status = "filed"
    elif institution.status == "suspended":
        session.execute(Measure.__table__.update().where(
            Measure.institution_id == institution.id, Measure.kind == "suspension", Measure.status == "in_effect",
            Measure.status_before == "filed_pilot").values(status_before="filed"))
