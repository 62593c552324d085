"""The first page: what the public may look up, and for each role where its work is."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..usecases import definitions, filing, tasks
from .auth import ctx, current_user

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
    return render_template("index.html", filed=filing.directory_size(ctx()),
                           notices=filing.open_notice_count(ctx()), counts=counts, analyst=analyst)
