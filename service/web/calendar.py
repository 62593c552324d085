"""法定节假日安排 (issue 16): analysts enter a year's State Council arrangement on a page, see the
year before saving it, and saving counts again the deadlines that waited for it; the city reads."""
from __future__ import annotations

import calendar as months
from datetime import date

from flask import Blueprint, abort, flash, render_template, request

from ..domain.calendar import YearArrangement
from ..domain.errors import DomainError
from ..usecases import calendar as calendar_case
from .auth import ctx, current_user, login_required

pages = Blueprint("calendar", __name__)
READERS = ("analyst", "city")
EXAMPLE = ("# 每行一条：日期 休 / 日期 班，或 起..止 休；# 后为说明\n"
           "{y}-01-01 休  # 元旦\n{y}-02-06..{y}-02-12 休  # 春节\n")


def year_grid(arrangement: YearArrangement) -> list[tuple[str, list[list[tuple[int, str] | None]]]]:
    """Twelve months, each as weeks of (day, kind): kind is off (放假), work (调休上班), weekend or day."""
    grid = []
    for month in range(1, 13):
        weeks = []
        for week in months.Calendar().monthdayscalendar(arrangement.year, month):
            row = []
            for day in week:
                if not day:
                    row.append(None)
                    continue
                d = date(arrangement.year, month, day)
                kind = ("off" if d in arrangement.holidays else "work" if d in arrangement.workdays
                        else "weekend" if d.weekday() >= 5 else "day")
                row.append((day, kind))
            weeks.append(row)
        grid.append((f"{month}月", weeks))
    return grid


@pages.route("/admin/calendar", methods=["GET", "POST"])
@login_required
def edit():
    user = current_user()
    if user.role not in READERS:
        abort(404)
    known = calendar_case.years(ctx())
    entered = {year: row for year, _, row in known if row}
    covered = {year for year, _, _ in known}
    this_year = ctx().today().year
    year = request.values.get("year", type=int) or next(
        (y for y in (this_year, this_year + 1) if y not in covered), this_year + 1)
    text = request.form.get("text") if request.method == "POST" else (
        entered[year].text if year in entered else EXAMPLE.format(y=year))
    error, grid, recounted = None, None, None
    if request.method == "POST":
        if user.role != "analyst":
            abort(403)
        if not 2000 <= year <= 2100:
            error = "年份应在2000至2100之间"
        else:
            try:
                if request.form.get("action") == "save":
                    recounted = calendar_case.enter_year(ctx(), user.id, year, text)
                    flash(f"已保存{year}年节假日安排；{len(recounted.tasks)}个待办任务的办理期限"
                          "已按新安排重新计算", "info")
                    known = calendar_case.years(ctx())
                    covered = {y for y, _, _ in known}
                grid = year_grid(calendar_case.preview(year, text))
            except DomainError as problem:
                error = problem.message
    elif year in covered:
        grid = year_grid(ctx().current_calendar().arrangement(year))
    missing = [y for y in (this_year, this_year + 1) if y not in covered]
    return render_template("calendar.html", known=known, year=year, text=text, error=error, grid=grid,
                           recounted=recounted, missing=missing, can_edit=user.role == "analyst"), 422 if error else 200
