"""Staff pages for keeping the system running: timers that failed after their retries (异常任务)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from ..usecases import timers
from ..usecases.errors import Conflict, NotFound
from .auth import ctx, current_user, login_required

admin = Blueprint("admin", __name__)


@admin.get("/incidents")
@login_required
def incidents():
    return render_template("incidents.html", incidents=timers.incidents(ctx(), current_user().id),
                           max_attempts=timers.MAX_ATTEMPTS)


@admin.post("/incidents/<int:timer_id>/retry")
@login_required
def retry(timer_id):
    """After the cause is fixed: the timer waits again, due now, and the next scheduler pass fires it."""
    try:
        incident = timers.retry(ctx(), current_user().id, timer_id)
        flash(f"已重新安排“{incident.title}”（{incident.subject}），调度程序下一轮将执行", "info")
    except (Conflict, NotFound) as error:
        flash(error.message, "error")
    return redirect(url_for("admin.incidents"))
