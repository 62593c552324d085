"""Filings as lists: an institution's own applications, and the cases staff may see."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..usecases import filing, scope_change
from ..usecases.errors import Conflict, Forbidden
from . import labels
from .auth import ctx, current_user, login_required

institution = Blueprint("institution", __name__)


@institution.get("/filings")
@login_required
def filings():
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int))
    rows = filing.list_filings(ctx(), current_user().id, status, page=page)
    changes = scope_change.list_scope_changes(ctx(), current_user().id) if page == 1 and not status else []
    return render_template("filings.html", rows=rows, status=status, page=page, statuses=labels.FILING_STATUSES,
                           changes=changes)


@institution.post("/filings")
@login_required
def start():
    try:
        started = filing.start_filing(ctx(), current_user().id)
    except (Conflict, Forbidden) as error:
        flash(error.message, "error")
        return redirect(url_for("institution.filings"))
    flash("备案申请已创建，请填写申请表并上传申报材料", "info")
    return redirect(url_for("work.task", task_id=started.task_id))


@institution.post("/scope-changes")
@login_required
def start_scope_change():
    """申请变更备案范围 (Art. 7): the request form opens prefilled with the scope in force."""
    try:
        started = scope_change.start_scope_change(ctx(), current_user().id)
    except (Conflict, Forbidden) as error:
        flash(error.message, "error")
        return redirect(url_for("institution.filings"))
    flash("变更申请已创建：请在现行备案范围的基础上增加或删除职业（工种）等级，并填写变更理由", "info")
    return redirect(url_for("work.task", task_id=started.task_id))


@institution.get("/filings/<int:filing_id>")
@login_required
def detail(filing_id):
    found = filing.filing_detail(ctx(), current_user().id, filing_id)
    return render_template("filing.html", d=found, statuses=labels.FILING_STATUSES)


@institution.get("/filings/<int:filing_id>/receipt")
@login_required
def receipt(filing_id):
    found = filing.receipt(ctx(), current_user().id, filing_id)
    return render_template("receipt.html", r=found, levels=labels.LEVEL_NAMES)
