"""Revocation (取消备案, Art. 22) through the API, ground by ground: the institution withdraws (1),
the inactivity scan proposes (2), staff propose (3, 4, 5, 8), supervision hands over (7); the
county proposes or dismisses, the city decides; a revocation takes the institution out of the
directory, ends every case its filing carried and leaves it able to start nothing; the province
gets its report and the sponsor its notice."""
from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from service.engine.definitions import read_bundle
from service.store.models import Institution, ProcessInstance, RevocationCase
from service.usecases import schedules
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from tests.batches import CANDIDATE_HEADER, candidates, upload, xlsx
from tests.conftest import ROOT
from tests.helpers import make_institution
from tests.supervision import to_decision


def _case(ctx) -> RevocationCase:
    with unit_of_work(ctx) as session:
        row = session.scalars(select(RevocationCase).order_by(RevocationCase.id.desc())).first()
        session.expunge(row)
        return row


def _status(ctx, institution_id):
    with unit_of_work(ctx) as session:
        return session.get(Institution, institution_id).status


def propose(people, sponsor="池州市某某集团有限公司", decision="propose"):
    county = people["county"]
    task = county.only_task("review_revocation")
    done = county.complete(task["id"], {"county_decision": decision, "sponsor": sponsor,
                                        "findings": "经核实，情形属实，有相关材料为证。", "opinion": "建议取消备案。"
                                        if decision == "propose" else "因疫情封控停止认定，属不可抗力，不予提出。"})
    assert done.status_code == 200, done.get_json()


def decide(people, decision="revoke"):
    city = people["city"]
    done = city.complete(city.only_task("decide_revocation")["id"], {"revocation_decision": decision,
                                                                     "opinion": "经研究，决定如上。"})
    assert done.status_code == 200, done.get_json()


def test_voluntary_withdrawal_ends_the_filing_and_every_case_it_carried(batch_people, app, ctx):
    people, institution_id = batch_people, batch_people["inst1"].user["institution_id"]
    institution = people["inst1"]
    started = institution.post("/api/batches").get_json()  # an open batch, to see it end
    upload(institution, f"/api/batches/{started['batch_id']}/candidates", xlsx(CANDIDATE_HEADER, candidates(2)))
    assert institution.post("/api/institution/withdrawal", json={"reason": "短"}).status_code == 422
    applied = institution.post("/api/institution/withdrawal", json={"reason": "本单位业务调整，申请退出备案。"})
    assert applied.status_code == 201
    again = institution.post("/api/institution/withdrawal", json={"reason": "本单位业务调整，申请退出备案。"})
    assert again.status_code == 409 and "办理中" in again.get_json()["message"]
    row = _case(ctx)
    assert (row.ground, row.source, row.status) == ("withdrawal", "institution", "open")
    data = people["county"].get(f"/api/tasks/{people['county'].only_task('review_revocation')['id']}").get_json()
    assert data["data"]["ground_name"].startswith("第二十二条第一项")
    no_sponsor = people["county"].complete(people["county"].only_task("review_revocation")["id"], {
        "county_decision": "propose", "findings": "经核实，机构申请属实。", "opinion": "建议取消备案。"})
    assert no_sponsor.status_code == 422 and "sponsor" in no_sponsor.get_json()["errors"]
    propose(people)
    assert _status(ctx, institution_id) == "filed"  # the county proposes; only the city decides
    decide(people)

    assert _status(ctx, institution_id) == "revoked" and _case(ctx).status == "revoked"
    assert app.test_client().get("/api/public/institutions").get_json()["items"] == []
    with unit_of_work(ctx) as session:
        batch_case = session.scalars(select(ProcessInstance).where(
            ProcessInstance.process_id == "batch_certification")).one()
        assert batch_case.status == "ended"
    assert institution.open_tasks() == []
    refused = institution.post("/api/batches")
    assert refused.status_code == 409 and "已取消备案" in refused.get_json()["message"]
    assert institution.post("/api/scope-changes").status_code == 409
    page = app.test_client().get("/sanctions").get_data(as_text=True)
    assert "取消备案公告" in page and "第二十二条第一项" in page and "池州市职业技能培训评价中心" in page


def test_the_province_gets_its_report_and_the_sponsor_its_notice(batch_people, ctx):
    people = batch_people
    people["inst1"].post("/api/institution/withdrawal", json={"reason": "本单位业务调整，申请退出备案。"})
    propose(people, sponsor="池州市教育局")
    decide(people)
    case_id = _case(ctx).id
    notice = people["city"].get(f"/revocations/{case_id}/notice").get_data(as_text=True)
    assert "池州市教育局" in notice and "第二十二条" in notice and "取消其职业技能等级认定备案" in notice
    assert people["inst1"].get(f"/revocations/{case_id}/notice").status_code == 404
    sheet = load_workbook(io.BytesIO(people["province"].get("/revocations/report.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("机构名称", "统一社会信用代码", "备案编码", "所在县区", "取消情形")
    assert rows[1][0] == "池州市职业技能培训评价中心" and rows[1][4].startswith("第二十二条第一项")
    assert people["county"].get("/revocations/report.xlsx").status_code == 403


@pytest.mark.parametrize("ground", ["legal_person_terminated", "false_materials", "facilities_unfit", "other"])
def test_staff_propose_on_grounds_3_4_5_and_8_and_the_city_may_refuse(batch_people, ctx, ground):
    people, institution_id = batch_people, batch_people["inst1"].user["institution_id"]
    wrong = people["county"].post("/api/revocations", json={"institution_id": institution_id, "ground": "withdrawal",
                                                             "facts": "机构法人资格已于2025年9月注销。"})
    assert wrong.status_code == 422 and "ground" in wrong.get_json()["errors"]
    elsewhere = people["county_dz"].post("/api/revocations", json={
        "institution_id": institution_id, "ground": ground, "facts": "机构法人资格已于2025年9月注销。"})
    assert elsewhere.status_code == 422 and "institution_id" in elsewhere.get_json()["errors"]
    opened = people["county"].post("/api/revocations", json={"institution_id": institution_id, "ground": ground,
                                                              "facts": "经核查，相关情形属实，详见证据材料。"})
    assert opened.status_code == 201
    assert _case(ctx).ground == ground
    propose(people)
    decide(people, "not_revoke")
    assert _status(ctx, institution_id) == "filed" and _case(ctx).status == "not_revoked"


def test_the_city_returns_and_the_county_dismisses(batch_people, ctx):
    people = batch_people
    opened = {"institution_id": people["inst1"].user["institution_id"], "ground": "other",
              "facts": "经核查，相关情形属实，详见证据材料。"}
    assert people["county"].post("/api/revocations", json=opened).status_code == 201
    propose(people)
    decide(people, "return")
    propose(people, decision="dismiss")
    row = _case(ctx)
    assert row.status == "dismissed" and "不可抗力" in row.opinion


def test_supervision_removal_opens_a_revocation_case_the_city_decides(batch_people, ctx):
    to_decision(batch_people, "removal", violation="fraud", severity="grave")
    row = _case(ctx)
    assert (row.ground, row.source, row.source_ref) == ("other", "supervision", "supervision:1")
    propose(batch_people)
    decide(batch_people)
    assert _status(ctx, batch_people["inst1"].user["institution_id"]) == "revoked"


def test_the_inactivity_scan_finds_a_year_without_certification_and_not_eleven_months(batch_people, ctx, clock):
    """Art. 22.2: the weekly scan (Mondays 02:00, bpmn/inactivity_scan.bpmn) on Mon 5 Jan 2026."""
    inactive_id = batch_people["inst1"].user["institution_id"]
    recent_id, _ = make_institution(ctx, 2, "评价机构2")
    never_id, _ = make_institution(ctx, 3, "评价机构3")
    with unit_of_work(ctx) as session:
        session.get(Institution, inactive_id).last_certified_on = date(2025, 1, 4)  # a year and a day
        recent = session.get(Institution, recent_id)
        recent.status, recent.valid_from, recent.last_certified_on = "filed", date(2023, 1, 1), date(2025, 2, 5)
        never = session.get(Institution, never_id)  # filed 10 months ago, never certified: still in its first year
        never.status, never.valid_from = "filed_pilot", date(2025, 3, 1)
    clock.set(datetime(2025, 12, 28, 9, 0))
    deploy(ctx, read_bundle(ROOT), "analyst")  # with the shipped schedules
    clock.set(datetime(2025, 12, 29, 2, 0))
    assert schedules.start_due(ctx) == 1
    with unit_of_work(ctx) as session:  # a year less a week: nobody yet
        assert session.scalars(select(RevocationCase.institution_id)).all() == []
    clock.set(datetime(2026, 1, 5, 2, 0))
    assert schedules.start_due(ctx) == 1
    with unit_of_work(ctx) as session:
        proposed = session.scalars(select(RevocationCase.institution_id)).all()
    assert proposed == [inactive_id]
    assert "2025-01-04" in _case(ctx).facts
    clock.set(datetime(2026, 1, 12, 2, 0))
    assert schedules.start_due(ctx) == 1  # the next Monday: the open case is not proposed twice
    with unit_of_work(ctx) as session:
        assert session.scalars(select(RevocationCase.institution_id)).all() == [inactive_id]


def test_violations_not_rectified_in_time_are_ground_7(batch_people, ctx, clock):
    """Art. 20, 22.7: a rectification left undone, the city's next measure 移除机构备案."""
    from service.usecases.timers import fire_due_timers
    to_decision(batch_people, "rectification", deadline_days=5)  # due the end of Fri 10 Oct 2025
    clock.set(datetime(2025, 10, 11, 0, 0, 1))
    fire_due_timers(ctx)
    city = batch_people["city"]
    city.complete(city.only_task("decide_escalation")["id"], {"next_measure": "removal",
                                                              "opinion": "逾期未整改，移除机构备案。"})
    row = _case(ctx)
    assert (row.ground, row.source) == ("violations", "supervision")
    propose(batch_people)
    decide(batch_people)
    assert _status(ctx, batch_people["inst1"].user["institution_id"]) == "revoked"
