"""What every part of the batch process shares: its name and business key, who may certify,
who may see a batch."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...store.models import Batch, Candidate, Inspection, Institution, User
from ...usecases import access, register
from ...usecases.errors import Conflict, NotFound

PROCESS = "batch_certification"
# Art. 22.7 and SPEC: only a filed institution that is not suspended may run batches
MAY_CERTIFY = ("filed_pilot", "filed")


def business_key(batch_id: int) -> str:
    return f"batch:{batch_id}"


def may_certify(institution: Institution) -> None:
    if institution.status not in MAY_CERTIFY:
        names = {"suspended": "暂停评价", "revoked": "已取消备案", "expired": "备案已过期", "withdrawn": "已退出备案"}
        state = names.get(institution.status, "尚未备案")
        raise Conflict(f"本机构当前状态为“{state}”：只有已备案且未暂停评价的机构可以开展认定（第二十二条第七项）")


def visible(session: Session, user: User, batch_id: int) -> Batch:
    """Who sees the institution sees its batches; an inspector the batches they were sent to."""
    batch = session.get(Batch, batch_id)
    if batch is not None and user.role == "inspector":
        sent = session.scalar(select(Inspection.id).where(Inspection.batch_id == batch.id,
                                                          Inspection.inspector_id == user.id).limit(1))
        if sent is not None:
            return batch
    if batch is None or not access.can_see_institution(user, batch.institution):
        raise NotFound("认定批次不存在")
    return batch


def batch_of(session: Session, data) -> Batch:
    return session.get(Batch, int(data["batch_id"]))


def held(session: Session, instance) -> str | None:
    """Art. 20 暂停评价: a batch of a suspended institution stops at its next step, whoever's it is,
    and goes on where it stopped once the suspension is lifted."""
    return register.why_suspended(session, instance.institution_id)


def pairs_of(session: Session, batch_id: int) -> set[tuple[str, str]]:
    """The (occupation, level) pairs a batch's candidates apply for."""
    return set(session.execute(select(Candidate.occupation_code, Candidate.level).where(
        Candidate.batch_id == batch_id).distinct()).all())
