"""The lists beside the inbox (issue 17): 已办 with the decision, 我发起的, case search across
processes by credit code, the city's and county's overdue view on the right day, and each list's
Excel export holding the list's rows. Another county, another institution and the public see none
of it."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from service.seed import demo_credit_code
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    make_institution(ctx, serial=2, name="东至县职业技能评价中心", jurisdiction="341721")
    return {name: Api(app, name) for name in ("inst1", "inst2", "county", "county_dz", "city")}


def rows(api, url) -> list[list[str]]:
    """The rows of a list's table as the page shows them."""
    import re
    html = api.get(url).get_data(as_text=True)
    body = html[html.index('<table class="list" id="worklist">'):html.index("</table>")]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], re.S)]


def xlsx(api, url) -> list[tuple]:
    answer = api.get(url)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    return list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))


def test_done_lists_what_i_completed_with_my_decision_and_opinion(people):
    submit_application(people["inst1"])
    county = people["county"]
    task = county.only_task("initial_review")
    assert county.complete(task["id"], {"decision": "forward", "opinion": "材料齐全，同意上报"}).status_code == 200
    done = ("机构备案", "县区初审", "池州市职业技能培训评价中心", "符合条件，上报市级", "材料齐全，同意上报")
    [row] = rows(county, "/lists/done")
    assert tuple(row[1:6]) == done
    assert rows(people["city"], "/lists/done") == [["没有符合条件的记录"]]  # the city completed nothing yet
    assert rows(people["county_dz"], "/lists/done") == [["没有符合条件的记录"]]
    sheet = xlsx(county, "/lists/done?export=xlsx")
    assert sheet[0] == ("办理时间", "业务", "环节", "事项", "办理结果", "审批意见", "案件状态", "案件编号")
    assert [r[1:6] for r in sheet[1:]] == [done]


def test_started_lists_the_cases_i_began_and_no_one_elses(people):
    started, _, _ = submit_application(people["inst1"])
    [row] = rows(people["inst1"], "/lists/started")
    assert row[0] == str(started["instance_id"]) and row[1] == "机构备案" and row[6] == "办理中"
    assert rows(people["inst2"], "/lists/started") == [["没有符合条件的记录"]]
    assert people["inst1"].get("/lists/cases").status_code == 403  # search is for the bureaus


def test_case_search_finds_a_case_by_credit_code_within_the_users_jurisdiction(people):
    started, _, _ = submit_application(people["inst1"])
    code = demo_credit_code(1)
    for bureau in ("county", "city"):
        found = rows(people[bureau], f"/lists/cases?q={code}")
        assert [(r[0], r[3]) for r in found] == [(str(started["instance_id"]), code)]
    assert rows(people["county"], "/lists/cases?q=不存在的机构") == [["没有符合条件的记录"]]
    assert rows(people["county_dz"], f"/lists/cases?q={code}") == [["没有符合条件的记录"]]
    assert rows(people["county"], f"/lists/cases?q={started['instance_id']}")[0][3] == code  # by case number
    assert rows(people["county"], "/lists/cases?status=completed") == [["没有符合条件的记录"]]
    sheet = xlsx(people["city"], f"/lists/cases?q={code}&export=xlsx")
    assert sheet[0][:4] == ("案件编号", "业务", "机构/事项", "统一社会信用代码")
    assert [(r[0], r[3]) for r in sheet[1:]] == [(started["instance_id"], code)]


def test_an_overdue_county_task_appears_in_the_citys_overdue_view_on_the_right_day(people, clock):
    submit_application(people["inst1"])  # Mon 2 Sep 2024: the county's review is due by the end of 9 Sep
    city, county = people["city"], people["county"]
    clock.set(datetime(2024, 9, 9, 23, 59))
    assert rows(city, "/lists/overdue") == [["没有符合条件的记录"]]
    assert [r[2] for r in rows(city, "/lists/overdue?due=soon")] == ["县区初审"]
    clock.set(datetime(2024, 9, 10, 0, 0))
    [row] = rows(city, "/lists/overdue")
    assert row[0] == "2024-09-10 00:00前"
    assert row[2:6] == ["县区初审", "池州市职业技能培训评价中心 备案申请", "县区人社部门", "贵池区"]
    assert len(rows(county, "/lists/overdue")) == 1  # the county watches its own jurisdiction
    assert rows(people["county_dz"], "/lists/overdue") == [["没有符合条件的记录"]]
    assert [t["name"] for t in county.open_tasks(due="overdue")] == ["initial_review"]
    assert people["inst1"].get("/lists/overdue").status_code == 403
    sheet = xlsx(city, "/lists/overdue?export=xlsx")
    assert len(sheet) == 2 and sheet[1][2] == "县区初审"


def test_the_public_is_sent_to_log_in(app):
    answer = app.test_client().get("/lists/done")
    assert answer.status_code in (302, 401)


def test_the_public_directory_exports_what_it_lists(app, ctx):
    from tests.integration.test_filing_api import file_directly
    file_directly(ctx, 7)
    make_institution(ctx, serial=8, name="草稿机构")  # never filed: not in the directory
    sheet = xlsx(app.test_client(), "/directory?export=xlsx")
    assert sheet[0][:5] == ("备案编码", "机构名称", "类型", "属地", "备案范围（职业（工种）及等级）")
    assert [(r[0], r[1], r[3], r[4]) for r in sheet[1:]] == [
        ("S000034000007", "已备案机构7", "东至县", "电工（三级/高级工）")]
    assert xlsx(app.test_client(), "/directory?export=xlsx&jurisdiction=341702")[1:] == []


def test_lists_filter_by_step(people, clock):
    submit_application(people["inst1"])
    county, city = people["county"], people["city"]
    task = county.only_task("initial_review")
    assert len(rows(city, "/lists/cases?step=initial_review")) == 1  # waiting at the county's review now
    assert rows(city, "/lists/cases?step=city_review") == [["没有符合条件的记录"]]
    assert county.complete(task["id"], {"decision": "forward", "opinion": "同意上报"}).status_code == 200
    assert len(rows(county, "/lists/done?step=initial_review")) == 1
    assert rows(county, "/lists/done?step=city_review") == [["没有符合条件的记录"]]
    assert len(rows(city, "/lists/cases?step=city_review")) == 1
    clock.set(datetime(2024, 9, 20, 9, 0))  # the city's 10 working days are over
    assert [r[2] for r in rows(city, "/lists/overdue?step=city_review")] == ["市级审核遴选"]
    assert rows(city, "/lists/overdue?step=initial_review") == [["没有符合条件的记录"]]
