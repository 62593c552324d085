"""Batch certification (Art. 12–16) through the API: the plan filed 10 working days ahead by the
State Council calendar (2025 National Day), candidates and assessors from real .xlsx files, the
routing decision, results in notice, the late flag, certificate numbers and the public lookup."""
from __future__ import annotations

import io
import threading
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from service.processes import batch as batches
from service.store.models import Batch, Certificate, Institution, Notification, User
from service.usecases import register
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.batches import (
    ASSESSOR_HEADER,
    CANDIDATE_HEADER,
    ELECTRICIAN,
    assessor_rows,
    candidates,
    person,
    plan,
    upload,
    xlsx,
)
from tests.helpers import Api, demo_credit_code, make_institution


def test_a_batch_from_its_plan_to_certificates_across_national_day(people, ctx, clock):
    institution, county, city = people["inst1"], people["county"], people["city"]
    started = institution.post("/api/batches")
    assert started.status_code == 201
    batch_id, task_id = started.get_json()["batch_id"], started.get_json()["task_id"]
    assert institution.only_task("plan_batch")["id"] == task_id

    # a sheet with one bad ID number on its third row: nothing imported, the row and column named
    rows = candidates(3)
    rows[1][1] = rows[1][1][:-1] + ("0" if rows[1][1][-1] != "0" else "1")
    refused = upload(institution, f"/api/batches/{batch_id}/candidates", xlsx(CANDIDATE_HEADER, rows))
    assert refused.status_code == 422
    body = refused.get_json()
    assert [(e["row"], e["column"]) for e in body["rows"]] == [(3, "身份证号码")]
    assert "校验码" in body["rows"][0]["message"] and "未导入任何数据" in body["message"]
    marked = load_workbook(io.BytesIO(institution.get(body["annotated"]).data))
    assert marked.active.cell(3, 9).value.startswith("身份证号码：身份证号码校验码错误")
    assert institution.get(f"/api/batches/{batch_id}").get_json()["batch"]["candidate_count"] == 0

    assert upload(institution, f"/api/batches/{batch_id}/candidates",
                  xlsx(CANDIDATE_HEADER, candidates(3))).get_json() == {"imported": 3}

    # Art. 15.1: filed on Fri 26 Sep 2025, the 10th working day after is Thu 16 Oct (Sep 28 and
    # Oct 11 are worked, Oct 1–8 are not): the 15th is refused naming the 16th, the 16th accepted
    early = institution.complete(task_id, plan("2025-10-15"))
    assert early.status_code == 422
    assert "2025年10月16日" in early.get_json()["errors"]["modules/0/day"]
    short = institution.complete(task_id, plan("2025-10-16", assessors=2))
    assert short.status_code == 422 and "至少需3名" in short.get_json()["errors"]["assessors"]
    assert institution.complete(task_id, plan("2025-10-16")).status_code == 200

    # 四级: the county files the plan; the city has nothing
    assert [t["name"] for t in city.open_tasks()] == []
    assert people["county_dz"].open_tasks() == []  # another county sees nothing of it
    review = county.only_task("county_accept_plan")
    assert county.complete(review["id"], {"decision": "accept", "opinion": "同意备案。"}).status_code == 200
    assert institution.get(f"/api/batches/{batch_id}").get_json()["batch"]["status"] == "planned"

    clock.set(datetime(2025, 10, 17, 9, 0))  # the exam day is over
    fire_due_timers(ctx)
    enter = institution.only_task("enter_results")
    refused = institution.complete(enter["id"], {"scores_entered": True})
    assert refused.status_code == 422 and "还有3人没有成绩" in refused.get_json()["errors"]["_"]
    sheet = load_workbook(io.BytesIO(institution.get(f"/api/batches/{batch_id}/scores/template").data)).active
    header = [c.value for c in sheet[1]]
    assert header == ["姓名", "身份证号码", "职业（工种）编码", "申报等级", "理论知识考试", "操作技能考核"]
    scores = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    scores[0][4:] = [60, 75]    # passes: 60 is the pass mark
    scores[1][4:] = [59.5, 90]  # fails theory by half a point
    scores[2][4:] = ["缺考", 80]  # absent from theory
    assert upload(institution, f"/api/batches/{batch_id}/scores", xlsx(header, scores)).get_json() == {"imported": 3}
    assert institution.complete(enter["id"], {"scores_entered": True}).status_code == 200
    with unit_of_work(ctx) as session:
        published = session.get(Batch, batch_id)
        assert published.status == "notice"
        assert published.notice_closes_at == datetime(2025, 10, 25)  # 7 full days after the 17th
        assert published.results_due_on == date(2025, 11, 7)  # 10 working days after the 24th
    public = batches.results_in_notice(ctx, batch_id)[1]
    assert [r[2] for r in public] == ["合格", "不合格", "不合格"] and public[0][0] != "学员1"

    clock.set(datetime(2025, 10, 25, 0, 0))
    fire_due_timers(ctx)
    filing = institution.only_task("file_results")
    assert filing["due_at"].startswith("2025-11-08T00:00")
    clock.set(datetime(2025, 11, 7, 23, 0))  # the last day: not late yet
    fire_due_timers(ctx)
    with unit_of_work(ctx) as session:
        assert session.get(Batch, batch_id).results_late is False
    clock.set(datetime(2025, 11, 8, 0, 0))
    fire_due_timers(ctx)
    with unit_of_work(ctx) as session:
        assert session.get(Batch, batch_id).results_late is True
        told = session.scalars(select(User.username).join(Notification, Notification.user_id == User.id).where(
            Notification.title == "认定结果逾期未报备")).all()
    assert set(told) == {"county", "city", "inst1"}
    # Art. 21 数据比对: the lateness is a matter for supervision, investigated by the county
    opened = people["county"].only_task("investigate_case")
    facts = people["county"].get(f"/api/tasks/{opened['id']}").get_json()["data"]
    assert facts["source_name"].startswith("数据比对") and "逾期未报备" in facts["facts"]

    assert institution.complete(filing["id"], {"no_objection": True}).status_code == 200
    detail = institution.get(f"/api/batches/{batch_id}").get_json()
    assert detail["batch"]["status"] == "certified" and detail["certificates"] == 1
    from service.processes.pilot import pilot_facts  # what the city weighs when a pilot ends (Art. 7)
    with unit_of_work(ctx) as session:
        facts = pilot_facts(session, session.get(Batch, batch_id).institution)
    assert (facts["batches_run"], facts["certificates_issued"], facts["findings_open"]) == (1, 1, 1)
    # and what the annual rating collects of the year (Art. 21): its archive is still empty (Art. 16)
    from service.usecases import messages
    with unit_of_work(ctx) as session:
        owner = session.get(Batch, batch_id).institution
        messages.publish(ctx, session, "annual_rating_due", owner, {"institution_id": owner.id, "year": 2025})
    county = people["county"]
    collected = county.get(f"/api/tasks/{county.only_task('score_rating')['id']}").get_json()["data"]
    assert (collected["batches_certified"], collected["certificates"], collected["results_late"],
            collected["archives_incomplete"], collected["data_points"]) == (1, 1, 1, 1, 33)  # 40 - 5 late - 2
    exported = load_workbook(io.BytesIO(institution.get(f"/api/batches/{batch_id}/export/certificates").data)).active
    assert [c.value for c in exported[1]] == ["姓名", "身份证号码", "职业（工种）编码", "职业（工种）名称", "等级",
                                              "证书编号", "发证日期", "评价机构代码"]
    number = exported.cell(2, 6).value
    assert number == "S00003417000125" + "4" + "000001" and len(number) == 22
    found = institution.client.get("/api/public/certificates", query_string={"number": number, "name": "学员1"})
    assert found.status_code == 200 and "id_number" not in found.get_json()
    assert found.get_json()["level"] == "四级/中级工"
    assert institution.client.get("/api/public/certificates",
                                  query_string={"number": number, "name": "学员2"}).status_code == 404
    with unit_of_work(ctx) as session:
        assert session.get(Institution, detail["batch"]["institution_id"]).last_certified_on == date(2025, 10, 16)

@pytest.fixture
def people(batch_people):
    return batch_people



def test_a_technician_batch_is_filed_by_the_city_and_reported_to_the_province(people, ctx):
    institution, county, city = people["inst1"], people["county"], people["city"]
    started = institution.post("/api/batches").get_json()
    assert upload(institution, f"/api/batches/{started['batch_id']}/candidates",
                  xlsx(CANDIDATE_HEADER, candidates(2, "二级"))).status_code == 200
    assert institution.complete(started["task_id"], plan("2025-10-16")).status_code == 200
    assert county.open_tasks() == []
    review = city.only_task("city_accept_plan")
    back = city.complete(review["id"], {"decision": "return", "opinion": "请补充考评员安排。"})
    assert back.status_code == 200
    again = institution.only_task("plan_batch")  # back with the institution, what it filed kept
    with unit_of_work(ctx) as session:  # told what happened, and led to the step
        title, link = session.execute(select(Notification.title, Notification.link).join(
            User, Notification.user_id == User.id).where(User.username == "inst1")
            .order_by(Notification.id.desc()).limit(1)).one()
    assert title == "市级计划备案：退回修改，待您办理：填报批次计划"
    assert institution.get(link).headers["Location"].endswith(f"/tasks/{again['id']}")
    assert institution.get(f"/api/tasks/{again['id']}").get_json()["data"]["title"] == "2025年第1批电工认定"
    assert institution.complete(again["id"], plan("2025-10-16")).status_code == 200
    review = city.only_task("city_accept_plan")
    assert city.complete(review["id"], {"decision": "accept", "opinion": "同意备案。"}).status_code == 200
    with unit_of_work(ctx) as session:
        row = session.get(Batch, started["batch_id"])
        assert (row.status, row.route) == ("planned", "city")
        told = session.scalars(select(Notification.title).join(User, Notification.user_id == User.id).where(
            User.username == "province")).all()
    assert "技师、高级技师认定批次计划报送" in told


def test_assessors_expired_dishonest_or_for_another_level_are_refused(people, ctx):
    institution, city = people["inst1"], people["city"]
    rows = assessor_rows()
    rows[0][5] = "2025-10-15"  # expires the day before the exam
    rows[1][6] = "是"          # on a dishonesty list
    rows[2] = ["考评员9", person(509, "19700101"), "KP0009", ELECTRICIAN, "五级", "2027-12-31", ""]  # below 四级
    assert upload(city, "/api/admin/assessors", xlsx(ASSESSOR_HEADER, rows)).get_json() == {"added": 1, "updated": 3}
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(1)))
    named = plan("2025-10-16")
    named["assessors"][2] = {"name": "考评员9", "id_number": person(509, "19700101")}
    errors = institution.complete(started["task_id"], named).get_json()["errors"]
    assert "有效期至2025年10月15日" in errors["assessors/0"]
    assert "失信" in errors["assessors/1"]
    assert "不是本批次的职业（工种）和等级" in errors["assessors/2"]


def test_candidates_outside_the_scope_repeated_or_of_the_wrong_category_are_named(people, ctx):
    institution = people["inst1"]
    started = institution.post("/api/batches").get_json()
    rows = candidates(3)
    rows[0][4] = "三级"              # not in the filed scope (四级 and 二级 are)
    rows[2][1] = rows[1][1]          # the same person twice
    rows[1][6] = "本企业在岗职工"     # ignored: a social organisation certifies the public (Art. 14)
    response = upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, rows))
    found = {(e["row"], e["column"]): e["message"] for e in response.get_json()["rows"]}
    assert "不在本机构的备案范围内" in found[(2, "职业（工种）编码")]
    assert "与第3行是同一人" in found[(4, "身份证号码")]
    assert "4-1" in found[(2, "申报条件")]  # 三级 needs a 三级 condition
    assert len(found) == 3


@pytest.mark.parametrize("status", ["suspended", "revoked"])
def test_a_suspended_or_revoked_institution_cannot_plan_a_batch(people, ctx, status):
    with unit_of_work(ctx) as session:
        session.scalars(select(Institution)).one().status = status
    refused = people["inst1"].post("/api/batches")
    assert refused.status_code == 409 and "第二十二条第七项" in refused.get_json()["message"]


def test_an_institution_never_sees_another_institutions_batch(people, app, ctx):
    started = people["inst1"].post("/api/batches").get_json()
    make_institution(ctx, serial=2, name="东至县某企业", kind="enterprise", jurisdiction="341721")
    other = Api(app, "inst2")
    assert other.get(f"/api/batches/{started['batch_id']}").status_code == 404
    assert other.get(f"/api/batches/{started['batch_id']}/export/signup").status_code == 404
    assert upload(other, f"/api/batches/{started['batch_id']}/candidates",
                  xlsx(CANDIDATE_HEADER, candidates(1))).status_code == 404
    assert people["county_dz"].get(f"/api/batches/{started['batch_id']}").status_code == 404
    assert people["county"].get(f"/api/batches/{started['batch_id']}").status_code == 200
    assert other.get("/api/batches").get_json()["items"] == []


def test_two_batches_numbering_at_once_never_share_a_certificate_number(ctx, database_url):
    """Art. 15.3: numbers are reserved under a row lock, the counter's first row inserted with ON
    CONFLICT DO NOTHING, so two batches of one institution and level numbering at the same moment
    get disjoint ranges (PostgreSQL: real concurrency; SQLite serialises writers anyway)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent transactions need PostgreSQL")
    with unit_of_work(ctx) as session:
        session.add(Institution(credit_code=demo_credit_code(7), name="甲", kind="social_org",
                                jurisdiction_code="341702", status="filed", filing_code="S000034170007"))
    barrier, results = threading.Barrier(2), []

    def number():
        with unit_of_work(ctx) as session:
            institution = session.scalars(select(Institution)).one()
            barrier.wait()
            results.append(register.next_certificate_numbers(session, institution, 2025, 4, 300))

    threads = [threading.Thread(target=number) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and not set(results[0]) & set(results[1])
    assert sorted(results[0] + results[1])[-1] == "S00003417000725" + "4" + "000600"
    with unit_of_work(ctx) as session:
        assert session.scalars(select(Certificate)).all() == []


def test_a_file_that_is_not_an_xlsx_or_not_the_layout_is_refused_with_a_reason(people):
    institution = people["inst1"]
    started = institution.post("/api/batches").get_json()
    url = f"/api/batches/{started['batch_id']}/candidates"
    not_excel = upload(institution, url, b"%PDF-1.4 a scanned list", "名单.xlsx")
    assert not_excel.status_code == 422 and "不是有效的 Excel" in not_excel.get_json()["message"]
    wrong_layout = upload(institution, url, xlsx(["序号", "姓名"], [[1, "张三"]]))
    assert wrong_layout.status_code == 422
    assert {e["column"] for e in wrong_layout.get_json()["rows"]} >= {"身份证号码", "联系电话"}
    empty = upload(institution, url, xlsx(CANDIDATE_HEADER, []))
    assert empty.status_code == 422 and "没有数据行" in empty.get_json()["errors"]["file"]
    typed_as_number = candidates(1)
    typed_as_number[0][1] = 341702199001010011  # Excel keeps 15 digits: the end is gone
    lost = upload(institution, url, xlsx(CANDIDATE_HEADER, typed_as_number)).get_json()["rows"]
    assert lost[0]["row"] == 2 and "文本" in lost[0]["message"]


def test_cells_longer_than_their_columns_are_named_not_a_failure(people):
    """A sheet is hostile input: each over-long cell is an error at its row and column (on
    PostgreSQL it would otherwise fail the insert)."""
    institution, city = people["inst1"], people["city"]
    started = institution.post("/api/batches").get_json()
    rows = [[*candidates(1)[0][:6], "受其他企业委托", "某" * 201]]
    found = upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, rows))
    assert [(e["row"], e["column"]) for e in found.get_json()["rows"]] == [(2, "委托单位")]
    rows = assessor_rows()
    rows[0][0], rows[1][2] = "张" * 51, "K" * 51
    found = upload(city, "/api/admin/assessors", xlsx(ASSESSOR_HEADER, rows)).get_json()["rows"]
    assert [(e["row"], e["column"]) for e in found] == [(2, "姓名"), (3, "考评员证书编号")]


def test_a_plan_whose_ten_working_days_cross_into_a_year_not_entered_is_held_until_it_is(people, app, clock):
    """SPEC: a year the calendar does not cover is never counted as weekends only: the institution
    is told, nothing is lost, and once an analyst enters 2027 the same plan goes through."""
    from tests.integration.test_filing_api import ARRANGEMENT_2027
    institution = people["inst1"]
    clock.set(datetime(2026, 12, 21, 9, 0))
    started = institution.post("/api/batches").get_json()
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(1)))
    held = institution.complete(started["task_id"], plan("2027-01-15"))
    assert held.status_code == 422 and "2027年的法定节假日安排尚未录入" in held.get_json()["errors"]["_"]
    assert institution.only_task("plan_batch")["id"] == started["task_id"]
    analyst = Api(app, "analyst")
    assert analyst.client.put("/api/admin/calendar/2027", json={"text": ARRANGEMENT_2027},
                              headers=analyst.headers).status_code == 200
    # 22–31 Dec are 8 working days, 1 Jan is a holiday: the 10th is Tue 5 Jan 2027
    early = institution.complete(started["task_id"], plan("2027-01-04"))
    assert early.status_code == 422 and "2027年01月05日" in early.get_json()["errors"]["modules/0/day"]
    assert institution.complete(started["task_id"], plan("2027-01-05")).status_code == 200
