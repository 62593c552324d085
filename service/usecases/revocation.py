"""Ending a filing (取消备案, Art. 22; a failed pilot, Art. 7). `end_filing` is the one place a
filing ends: the pilot calls it today, the revocation process will call it for the grounds of
Art. 22 once it exists (and add what it needs: reporting upward, telling other open cases)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..store.models import Institution, Revocation, User
from . import audit, notifications
from .context import Context

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
}


def end_filing(ctx: Context, session: Session, institution: Institution, reason: str, ground: str, *,
               actor: User | None = None, instance_id: int | None = None) -> Revocation:
    """The institution's filing ends: status revoked, its scope deactivated (so it leaves the
    public directory and no longer counts towards the quota), the reason recorded and audited,
    the institution told. In the caller's transaction."""
    if ground not in GROUNDS:  # a changed model must not end a filing on an unknown ground
        raise ValueError(f"end_filing: ground must be one of {sorted(GROUNDS)}, got {ground!r}")
    reason = (reason or "").strip() or GROUNDS[ground]
    now = ctx.clock.now()
    before = institution.status
    institution.status = "revoked"
    for item in institution.scope:
        item.is_active = False
    row = Revocation(institution_id=institution.id, ground=ground, reason=reason, instance_id=instance_id,
                     decided_by=actor.id if actor else None, decided_at=now)
    session.add(row)
    session.flush()
    audit.record(session, now, actor, "revoked", instance_id=instance_id, institution_id=institution.id,
                 opinion=reason, data={"ground": ground, "status_before": before, "revocation_id": row.id,
                                       "filing_code": institution.filing_code})
    notifications.to_institution(ctx, session, institution.id, notifications.Message(
        "备案已取消", f"{GROUNDS[ground]}。理由：{reason}。本机构已移出备案机构目录，不得再开展职业技能等级认定。",
        "/filings"))
    return row
