"""统计 (issue 17): the figures equal counts made here independently, from the rows themselves; a
county's are its jurisdiction's alone; the export holds the page's tables."""
from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from service.store.models import HumanTask, Institution, ProcessInstance
from service.usecases.context import unit_of_work
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application


@pytest.fixture
def people(app, ctx, clock):
    make_staff(ctx)
    make_institution(ctx)  # 贵池区, social organisation: applies below
    for serial, kind, jurisdiction, status, stars in ((2, "enterprise", "341702", "filed", 4),
                                                       (3, "school", "341721", "filed", 2),
                                                       (4, "enterprise", "341721", "suspended", None)):
        institution_id, _ = make_institution(ctx, serial=serial, name=f"统计机构{serial}", kind=kind,
                                             jurisdiction=jurisdiction)
        with unit_of_work(ctx) as session:
            row = session.get(Institution, institution_id)
            row.status, row.stars = status, stars
    return {name: Api(app, name) for name in ("inst1", "county", "county_dz", "city")}


def table(html: str, name: str) -> list[list[str]]:
    body = html[html.index(f'id="table-{name}"'):]
    body = body[:body.index("</table>")]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1])]


def test_the_figures_equal_independent_counts_and_a_county_sees_its_own(people, ctx, clock):
    clock.set(datetime(2024, 9, 2, 9, 0))  # Monday
    submit_application(people["inst1"])
    county = people["county"]
    task = county.only_task("initial_review")
    clock.set(datetime(2024, 9, 12, 10, 0))  # 8 working days later (3–6, 9–12 Sep): late, it was due by 9 Sep
    assert county.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 200

    html = people["city"].get("/statistics?year=2024").get_data(as_text=True)
    with unit_of_work(ctx) as session:
        rows = session.execute(select(Institution.kind, Institution.status, Institution.jurisdiction_code,
                                      Institution.stars).where(Institution.status != "draft")).all()
        opened = Counter(i.started_at.month for i in session.scalars(select(ProcessInstance)))
        done = session.scalars(select(HumanTask).where(HumanTask.state == "completed",
                                                       HumanTask.role != "institution")).all()
    kinds = Counter(r.kind for r in rows)
    assert {k: int(n) for k, n in table(html, "kind")} == {
        {"enterprise": "企业", "school": "技工院校", "social_org": "社会培训评价组织"}[k]: n for k, n in kinds.items()}
    stars = Counter(r.stars or 0 for r in rows)
    assert {k: int(n) for k, n in table(html, "stars")} == {
        (f"{s}星" if s else "尚未评级"): n for s, n in stars.items()}
    cases = table(html, "cases")
    assert [int(row[1]) for row in cases] == [opened.get(m, 0) for m in range(1, 13)]
    [step] = table(html, "steps")
    assert len(done) == 1 and step[1:6] == ["县区初审", "1", "8.0", "1", "100%"]

    county_html = county.get("/statistics?year=2024").get_data(as_text=True)
    own = Counter(r.kind for r in rows if r.jurisdiction_code == "341702")
    assert sum(int(n) for _, n in table(county_html, "kind")) == sum(own.values()) == 2
    assert [row[0] for row in table(county_html, "jurisdiction")] == ["贵池区"]
    assert table(people["county_dz"].get("/statistics?year=2024").get_data(as_text=True), "steps") == [["暂无数据"]]
    assert people["inst1"].get("/statistics").status_code == 403

    book = load_workbook(io.BytesIO(people["city"].get("/statistics?year=2024&export=xlsx").data))
    assert book.sheetnames == ["机构类型", "机构状态", "属地", "星级", "案件", "证书", "环节办理"]
    sheet = list(book["环节办理"].iter_rows(values_only=True))
    assert sheet[0][:4] == ("业务", "环节", "办结数", "平均用时（工作日）") and sheet[1][1:4] == ("县区初审", 1, 8.0)
