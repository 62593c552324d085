"""Staff pages for keeping the system running: incidents (异常任务), timers that failed after
their retries and steps that failed on a user's submit."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from ..usecases import incidents as incident_cases
from ..usecases import timers
from ..usecases.errors import Conflict, NotFound
from .auth import ctx, current_user, login_required

admin = Blueprint("admin", __name__)


@admin.get("/incidents")
@login_required
def incidents():
    return render_template("incidents.html", incidents=incident_cases.open_incidents(ctx(), current_user().id),
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


@admin.post("/incidents/steps/<int:incident_id>/resolve")
@login_required
def resolve(incident_id):
    """After the cause is fixed: off the list; whoever submitted is told to submit again."""
    try:
        incident = incident_cases.resolve(ctx(), current_user().id, incident_id)
        flash(f"异常{incident.id}（“{incident.title}”，{incident.subject}）已标记为已处理，"
              f"已通知{incident.actor_name or '经办人'}重新提交", "info")
    except (Conflict, NotFound) as error:
        flash(error.message, "error")
    return redirect(url_for("admin.incidents"))


@admin.get("/schedules")
@login_required
def schedules():
    """定时启动: the processes that start by themselves, when next, and what their last occurrences did."""
    from ..usecases.schedules import overview
    return render_template("schedules.html", schedules=overview(ctx(), current_user().id))
