"""The three-year validity of a filing (Art. 7: 备案期限三年) on the scheduler, with bpmn/renewal.bpmn.

Every receipt publishes `validity_started` (usecases.messages): a `renewal` case starts on it and
waits for the reminder date; then a renewal filing is opened for the institution (the same review
as a first filing, bpmn/filing.bpmn, through the filing register), and the case waits for the next
`validity_started` (the renewal's receipt) or for the validity to end, whichever comes first.
"""
from __future__ import annotations

from ..store.models import FILED_STATUSES, Institution
from ..usecases import notifications, register
from ..usecases.topics import Topic


def open_renewal(ctx, session, instance, actor, data, inputs):
    """The institution's renewal application, prefilled with the application in force."""
    institution = session.get(Institution, int(data["institution_id"]))
    if institution.status not in FILED_STATUSES:
        return {"renewal_filing_id": None}  # revoked or withdrawn meanwhile: nothing to renew
    last = register.filing_in_force(session, institution.id)
    prefill = dict(last.application or {}) if last else {}
    in_force = register.scope_in_force(session, institution)
    if in_force:  # renew what is in force (scope changes included), not what was once asked for
        prefill["scope"] = in_force
    started = register.open_filing(ctx, session, institution, None, "renewal", prefill)
    return {"renewal_filing_id": started.filing_id}


def expire_filing(ctx, session, instance, actor, data, inputs):
    """Art. 7: not renewed when the three years end — expired, out of the public directory."""
    institution = session.get(Institution, int(data["institution_id"]))
    if institution.status not in FILED_STATUSES:
        return {}
    reason = f"备案有效期至{institution.valid_until:%Y-%m-%d}，未延续"
    register.end_filing(ctx, session, institution, reason, "expired", instance_id=instance.id)
    notifications.to_staff(ctx, session, institution.jurisdiction_code, notifications.Message(
        f"备案已过期：{institution.name}", f"{reason}，已移出机构名录", f"/cases/{instance.id}"))
    return {}


ENDS_WITH_THE_FILING = ("renewal",)
TOPICS = {
    "open_renewal": Topic.of(open_renewal),
    "expire_filing": Topic.of(expire_filing),
}
