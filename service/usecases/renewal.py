"""The three-year validity of a filing (Art. 7: 备案期限三年) on the scheduler.

Each receipt starts a `renewal` case that waits for the reminder date; then a renewal filing is
opened for the institution (the same review as a first filing, bpmn/filing.bpmn), and the case
waits for that filing to be decided or for the validity to end, whichever comes first.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..domain import calendar as cal
from ..store.models import FILED_STATUSES, Institution
from . import audit, filing, instances, notifications, scope_change
from .context import Context


def watch(ctx: Context, session: Session, institution: Institution) -> None:
    """Put the validity in force on the clock."""
    instances.start(ctx, session, None, "renewal",
                    {"institution_id": institution.id, "valid_until": institution.valid_until.isoformat()},
                    business_key=f"renewal:{institution.id}", institution_id=institution.id,
                    jurisdiction_code=institution.jurisdiction_code, subject=f"{institution.name} 备案期限")


def renew(ctx: Context, session: Session, institution: Institution) -> None:
    """A renewal filing was approved: three more years, following on from the period in force
    (or from today if it had already expired); the waiting case ends, the new period goes on the clock."""
    today = ctx.today()
    follows = institution.valid_until is not None and institution.valid_until >= today
    institution.valid_from = cal.add_days(institution.valid_until, 1) if follows else today
    institution.valid_until = cal.add_days(cal.add_years(institution.valid_from, 3), -1)
    if institution.status in ("filed_pilot", "expired"):
        institution.status = "filed"
    filing.deliver_message(ctx, session, f"renewal:{institution.id}", "renewal_filed",
                           {"valid_until": institution.valid_until.isoformat()})
    watch(ctx, session, institution)


def open_renewal(ctx, session, instance, actor, data, inputs):
    """The institution's renewal application, prefilled with the application in force."""
    institution = session.get(Institution, int(data["institution_id"]))
    if institution.status not in FILED_STATUSES:
        return {"renewal_filing_id": None}  # revoked or withdrawn meanwhile: nothing to renew
    last = scope_change.filing_in_force(session, institution.id)
    prefill = dict(last.application or {}) if last else {}
    in_force = scope_change.scope_in_force(session, institution)
    if in_force:  # renew what is in force (scope changes included), not what was once asked for
        prefill["scope"] = in_force
    started = filing.open_filing(ctx, session, institution, None, "renewal", prefill)
    return {"renewal_filing_id": started.filing_id}


def expire_filing(ctx, session, instance, actor, data, inputs):
    """Art. 7: not renewed when the three years end — expired, out of the public directory."""
    institution = session.get(Institution, int(data["institution_id"]))
    if institution.status not in FILED_STATUSES:
        return {}
    institution.status = "expired"
    audit.record(session, ctx.clock.now(), None, "expired", instance_id=instance.id, institution_id=institution.id,
                 data={"valid_until": institution.valid_until.isoformat()})
    message = notifications.Message(f"备案已过期：{institution.name}",
                                    f"备案有效期至{institution.valid_until:%Y-%m-%d}，未延续，已移出机构名录",
                                    f"/cases/{instance.id}")
    notifications.to_institution(ctx, session, institution.id, message)
    notifications.to_staff(ctx, session, institution.jurisdiction_code, message)
    return {}
