"""The first page: what the public may look up, and for each role where its work is."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from ..processes import filing
from ..usecases import audit, definitions, tasks
from .auth import ctx, current_user, login_required

home = Blueprint("home", __name__)


@home.get("/")
def index():
    user = current_user()
    counts = tasks.inbox_counts(ctx(), user.id) if user and user.role != "analyst" else None
    analyst = {}
    if user and user.role == "analyst":
        year = ctx().today().year
        calendar = ctx().current_calendar()
        analyst = {"versions": definitions.versions(ctx(), user.id)[:5],
                   "years": [(y, calendar.covers(y)) for y in (year, year + 1)]}
    audit_check = audit.last_check(ctx(), user.id) if user and user.role in audit.CHECKERS else None
    return render_template("index.html", filed=filing.directory_size(ctx()),
                           notices=filing.open_notice_count(ctx()), counts=counts, analyst=analyst,
                           audit_check=audit_check)


@home.post("/audit/verify")
@login_required
def verify_audit():
    """The city and analysts verify the audit chains now (operators: flask verify-audit)."""
    report = audit.check(ctx(), current_user().id)
    flash(report.summary(), "info" if report.intact else "error")
    return redirect(url_for("home.index") + "#audit")
