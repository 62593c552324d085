"""The worklists beside the inbox (issue 17): 已办, 我发起的, 案件查询, 超期督办; each page exports
the whole list (not only the page shown) as .xlsx with the same Chinese columns."""
from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, render_template, request

from .. import sheets
from ..usecases import worklists
from . import labels
from .auth import ctx, current_user, login_required
from .batches import xlsx_download
from .format import when

pages = Blueprint("lists", __name__)
PER_PAGE = 20


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None  # a half-typed date filters nothing rather than failing the page


def _query(args) -> worklists.ListQuery:
    return worklists.ListQuery(
        text=(args.get("q") or "")[:100], process=args.get("process") or None, step=args.get("step") or None,
        status=args.get("status") if args.get("status") in worklists.STATUSES else None,
        date_from=_day(args.get("from")), date_to=_day(args.get("to")),
        due="soon" if args.get("due") == "soon" else "overdue",
        page=max(1, args.get("page", 1, type=int)), per_page=PER_PAGE)


# Rows carry codes (the API answers with them); a page and its export show their names.
NAMES = {"status": labels.INSTANCE_STATUSES, "role": labels.ROLES}


def _cell(key: str, value):
    if isinstance(value, datetime):
        return when(value)
    return NAMES[key].get(value, value) if key in NAMES else value


@pages.get("/lists/<name>")
@login_required
def show(name):
    worklist = worklists.LISTS.get(name) or abort(404)
    user, query = current_user(), _query(request.args)
    if request.args.get("export") == "xlsx":
        columns = [sheets.Column(key, title, width=24 if key in ("subject", "opinion") else 16)
                   for key, title in worklist.columns]
        rows = ([_cell(key, row[key]) for key, _ in worklist.columns]
                for row in worklist.export(ctx(), user.id, query))
        return xlsx_download(f"{worklist.title}-{ctx().today():%Y%m%d}.xlsx",
                             sheets.write(columns, rows, worklist.title))
    page = worklist.page(ctx(), user.id, query)
    page.rows = [{key: _cell(key, value) for key, value in row.items()} for row in page.rows]
    filters = {k: v for k, v in request.args.items() if k not in ("page", "export") and v}
    return render_template("worklist.html", name=name, worklist=worklist, page=page, query=query, filters=filters,
                           pages=max(1, -(-page.total // PER_PAGE)), statuses=labels.INSTANCE_STATUSES,
                           tabs=worklists.tabs(user.role))
