"""Issue 11.4: an application bounced by the eligibility rules, or returned by the county, is
待补正 (status "correction") — not "submitted", not 审核中 — and the institution is told why:
each unmet condition with its article, or the county's reasons. What the form can check itself
(Art. 8.4, 9.4(3): at least 5 assessors per occupation and level) is checked on the form, at
the row it concerns."""
from __future__ import annotations

import pytest

from service.usecases import notifications
from tests.helpers import Api, application, demo_credit_code, make_institution, make_staff
from tests.integration.test_filing_api import submit_application
from tests.integration.test_web_pages import Page

NAME = "池州市职业技能培训评价中心"


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    make_institution(ctx, serial=2, name="池州安达电气有限公司", kind="enterprise")
    return {name: Api(app, name) for name in ("inst1", "inst2", "county", "city")}


def messages(ctx, api):
    return [(m.title, m.body, m.link) for m in notifications.recent(ctx, api.user["id"])]


def test_an_application_bounced_by_the_eligibility_rules_is_awaiting_correction_and_says_why(app, ctx, people):
    institution = people["inst1"]
    started, data, response = submit_application(institution, office_area_m2=30, theory_seats=20)
    assert response.status_code == 200
    filing = institution.get(f"/api/filings/{started['filing_id']}").get_json()["filing"]
    assert filing["status"] == "correction"
    told = messages(ctx, institution)
    assert len(told) == 1
    title, body, link = told[0]
    assert title == "备案申请待补正：未满足备案条件" and link == f"/cases/{started['instance_id']}"
    assert "1. 第八条第五项(1)" in body and "50平方米" in body and "2. 第八条第五项(2)" in body and "30" in body

    page = Page(app, "inst1")
    listed = page.text("/filings")
    table = listed[listed.index('id="filings"'):listed.index("</table>")]
    assert "待补正" in table and "审核中" not in table
    assert "待补正" in page.text(f"/filings/{started['filing_id']}")
    assert people["county"].open_tasks() == []

    institution.complete(institution.only_task("submit_application")["id"],
                         {**data, "office_area_m2": 80, "theory_seats": 40})
    assert institution.get(f"/api/filings/{started['filing_id']}").get_json()["filing"]["status"] == "under_review"
    assert people["county"].only_task("initial_review")


def test_the_page_says_a_bounced_application_came_back_and_shows_the_unmet_conditions(app, people):
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), NAME, attachment_id=institution.upload(), office_area_m2=30)
    page = Page(app, "inst1")
    form = {"action": "complete", **{k: ("true" if v is True else "false" if v is False else v)
                                     for k, v in data.items() if k != "scope"},
            "scope-0-occupation_code": "6-31-01-03", "scope-0-level": "4", "scope-0-assessors": "6"}
    response = page.form(f"/tasks/{started['task_id']}", form, page=f"/tasks/{started['task_id']}")
    assert response.status_code == 302
    back = institution.only_task("submit_application")
    assert response.headers["Location"] == f"/tasks/{back['id']}"
    html = page.text(response.headers["Location"])
    assert "已退回您补正" in html and "已提交”" not in html and "第八条第五项(1)" in html


def test_county_return_for_correction_is_awaiting_correction_with_the_countys_reasons(app, ctx, people):
    institution, county = people["inst1"], people["county"]
    started, _, _ = submit_application(institution)
    county.complete(county.only_task("initial_review")["id"],
                    {"decision": "correction", "opinion": "请补充场地租赁协议"})
    assert institution.get(f"/api/filings/{started['filing_id']}").get_json()["filing"]["status"] == "correction"
    assert messages(ctx, institution) == [("备案申请待补正：县区初审退回",
                                           "退回理由：请补充场地租赁协议。请补正后重新提交，已填写的内容均已保留。",
                                           f"/cases/{started['instance_id']}")]


@pytest.mark.parametrize(("who", "kind", "name", "expected"), [
    ("inst1", "social_org", NAME, "第八条第四项：每个职业（工种）等级自有持证考评人员不少于5人，本行为3人"),
    ("inst2", "enterprise", "池州安达电气有限公司",
     "第九条第四项(3)：申请开展认定的职业（工种）每级别不少于5名考评员，本行为3人"),
])
def test_fewer_than_five_assessors_is_refused_on_the_form_at_its_row(people, who, kind, name, expected):
    institution = people[who]
    started = institution.post("/api/filings").get_json()
    serial = 1 if who == "inst1" else 2
    data = application(demo_credit_code(serial), name, kind, attachment_id=institution.upload(),
                       scope=(("6-31-01-03", "4"), ("6-31-01-03", "3"), ("6-18-02-04", "4")))
    data["scope"][2]["assessors"] = 3
    response = institution.complete(started["task_id"], data)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"scope/2/assessors": expected}
    assert institution.only_task("submit_application")["id"] == started["task_id"]  # still the institution's
