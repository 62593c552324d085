"""委托 (issue 17): a page to hand one's tasks to a colleague for a leave, and to end it early."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..usecases import delegations
from ..usecases.errors import Conflict, Invalid, NotFound
from .auth import ctx, current_user, login_required

pages = Blueprint("delegations", __name__)


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


@pages.route("/delegations", methods=["GET", "POST"])
@login_required
def index():
    user = current_user()
    if user.role not in delegations.ROLES:
        abort(404)
    errors, status = {}, 200
    if request.method == "POST":
        starts_on, ends_on = _day("starts_on"), _day("ends_on")
        if starts_on is None or ends_on is None:
            errors = {"ends_on": "请填写开始和结束日期"}
        else:
            try:
                delegations.create(ctx(), user.id, request.form.get("to_user", type=int) or 0, starts_on, ends_on,
                                   request.form.get("reason", ""))
                flash("委托已生效：期间对方可以办理您签收的任务", "info")
                return redirect(url_for("delegations.index"))
            except Invalid as invalid:
                errors = invalid.errors
            except Conflict as conflict:
                errors = {"ends_on": conflict.message}
        status = 422
    given, received = delegations.listed(ctx(), user.id)
    return render_template("delegations.html", given=given, received=received, errors=errors,
                           colleagues=delegations.colleagues(ctx(), user.id), typed=request.form), status


@pages.post("/delegations/<int:delegation_id>/end")
@login_required
def end(delegation_id):
    try:
        delegations.end(ctx(), current_user().id, delegation_id)
        flash("委托已结束", "info")
    except (Conflict, NotFound) as error:
        flash(error.message, "error")
    return redirect(url_for("delegations.index"))
