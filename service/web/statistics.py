"""统计 (issue 17): the city's and a county's figures as tables, charts drawn from the same numbers
(ECharts, from npm like bpmn-js), and every table in one .xlsx."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template, request, send_from_directory

from .. import sheets
from ..usecases import statistics
from . import _reference, labels
from .auth import ctx, current_user, login_required
from .batches import xlsx_download

pages = Blueprint("statistics", __name__)
ECHARTS = Path(__file__).resolve().parents[2] / "node_modules" / "echarts" / "dist"
MONTHS = [f"{m}月" for m in range(1, 13)]


@pages.get("/vendor/echarts/<path:name>")
def echarts(name):
    return send_from_directory(ECHARTS, name, max_age=86400)


def tables(stats: statistics.Statistics, jurisdictions: dict[str, str]) -> list[tuple[str, list, list]]:
    """Each table as (title, columns, rows): the page shows them, the export writes them."""
    def two(first, second="数量"):
        return [sheets.Column("key", first, width=24), sheets.Column("n", second)]
    return [
        ("机构类型", two("机构类型"), [(labels.KINDS.get(k, k), n) for k, n in sorted(stats.by_kind.items())]),
        ("机构状态", two("状态"),
         [(labels.INSTITUTION_STATUSES.get(k, k), n) for k, n in sorted(stats.by_status.items())]),
        ("属地", two("属地"), [(jurisdictions.get(k, k), n) for k, n in sorted(stats.by_jurisdiction.items())]),
        ("星级", two("年度评估星级"), [(f"{k}星" if k else "尚未评级", n) for k, n in sorted(stats.by_stars.items())]),
        ("案件", [sheets.Column("month", "月份"), sheets.Column("opened", "新开案件"),
                 sheets.Column("closed", "办结案件")],
         list(zip(MONTHS, stats.opened, stats.closed, strict=True))),
        ("证书", [sheets.Column("month", "月份"), sheets.Column("n", "核发证书")],
         list(zip(MONTHS, stats.certificates, strict=True))),
        ("环节办理", [sheets.Column("process", "业务", width=20), sheets.Column("step", "环节", width=20),
                     sheets.Column("done", "办结数"), sheets.Column("days", "平均用时（工作日）"),
                     sheets.Column("late", "超期办结"), sheets.Column("rate", "超期率"),
                     sheets.Column("open", "当前逾期未办")],
         [(s.process, s.title, s.done, s.average_days if s.average_days is not None else "",
           s.late, f"{s.late_rate:.0%}" if s.late_rate is not None else "", s.open_overdue) for s in stats.steps]),
    ]


@pages.get("/statistics")
@login_required
def show():
    year = request.args.get("year", type=int) or ctx().today().year
    year = min(max(year, 2000), 2100)
    stats = statistics.compute(ctx(), current_user().id, year)
    found = tables(stats, _reference(current_app)["jurisdictions"])
    if request.args.get("export") == "xlsx":
        return xlsx_download(f"统计-{year}.xlsx", sheets.write_tables(found))
    return render_template("statistics.html", stats=stats, year=year, tables=found, months=MONTHS)
