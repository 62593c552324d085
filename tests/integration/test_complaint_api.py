"""Complaints (投诉举报, Art. 19) through the API: anyone reports, the county of the
jurisdiction investigates and records its finding; nobody else sees the case."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from service.store.models import Complaint, Institution, ProcessInstance
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from tests.helpers import Api, make_institution, make_staff

CONTENT = "该机构2024年8月考试时考评员代考，现场无视频监控，考生未到场也发了证书。"


def filed(ctx, serial=1, name="池州市职业技能培训评价中心", jurisdiction="341702", status="filed") -> int:
    """An institution with its own user (inst<serial>), in the directory unless `status` says otherwise."""
    institution_id, _ = make_institution(ctx, serial=serial, name=name, jurisdiction=jurisdiction)
    with unit_of_work(ctx) as session:
        row = session.get(Institution, institution_id)
        row.status = status
        if status == "filed":
            row.filing_code = f"S0000340{serial:05d}"
    return institution_id


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    return {name: Api(app, name) for name in ("county", "county_dz", "city")}


@pytest.fixture
def public(app):
    return app.test_client()  # not logged in, no CSRF token


def complain(public, **fields):
    """Names a filed institution when `institution_id` is given, else types a name."""
    typed = "" if fields.get("institution_id") is not None else "贵池区某培训学校"
    body = {"jurisdiction_code": "341702", "institution_id": None, "institution_name": typed, "name": "王五",
            "contact": "13900000000", "content": CONTENT, **fields}
    return public.post("/api/public/complaints", json=body)


def test_complaint_opens_a_case_for_the_county_of_its_jurisdiction(ctx, people, public):
    institution_id = filed(ctx)
    response = complain(public, institution_id=institution_id)
    assert response.status_code == 201, response.get_json()
    complaint_id = response.get_json()["id"]

    county = people["county"]
    task = county.only_task("handle_complaint")
    assert task["subject"] == "池州市职业技能培训评价中心 投诉举报"
    assert task["due_at"] == "2024-09-15T00:00:00"  # 10 working days after Mon 2 Sep, Sat 14 Sep a make-up day
    data = county.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert (data["complaint_id"], data["institution_name"], data["jurisdiction_name"]) == \
        (complaint_id, "池州市职业技能培训评价中心", "贵池区")
    assert (data["complainant_name"], data["complainant_contact"], data["content"]) == ("王五", "13900000000", CONTENT)

    assert people["county_dz"].open_tasks() == []
    assert people["county_dz"].get(f"/api/tasks/{task['id']}").status_code == 404
    assert people["city"].open_tasks() == []
    with unit_of_work(ctx) as session:
        row = session.get(Complaint, complaint_id)
        assert (row.status, row.institution_id, row.jurisdiction_code) == ("open", institution_id, "341702")
        assert row.institution_name == "池州市职业技能培训评价中心"  # nothing typed: the directory's name
        instance = session.scalar(select(ProcessInstance).where(ProcessInstance.business_key ==
                                                                f"complaint:{complaint_id}"))
        assert (instance.process_id, instance.institution_id) == ("complaint", institution_id)


def test_complaint_naming_only_an_institution_name_goes_to_the_county_chosen(ctx, people, public):
    response = complain(public, jurisdiction_code="341721", institution_name="东至县某某技能培训学校")
    assert response.status_code == 201, response.get_json()
    task = people["county_dz"].only_task("handle_complaint")
    assert task["subject"] == "东至县某某技能培训学校 投诉举报"
    assert people["county"].open_tasks() == []
    with unit_of_work(ctx) as session:
        row = session.get(Complaint, response.get_json()["id"])
        assert (row.institution_id, row.institution_name) == (None, "东至县某某技能培训学校")


def test_county_records_its_finding_and_the_complaint_is_closed(ctx, clock, people, public):
    complaint_id = complain(public, institution_id=filed(ctx)).get_json()["id"]
    county = people["county"]
    task = county.only_task("handle_complaint")
    clock.set(datetime(2024, 9, 10, 15, 30))
    response = county.complete(task["id"], {"finding": "substantiated", "opinion": "经调阅考场录像，情况属实"})
    assert response.status_code == 200, response.get_json()
    with unit_of_work(ctx) as session:
        row = session.get(Complaint, complaint_id)
        assert (row.status, row.finding, row.measures, row.closed_at) == (
            "substantiated", "经调阅考场录像，情况属实", None, datetime(2024, 9, 10, 15, 30))
        assert verify_chain(session) is None
    timeline = county.get(f"/api/cases/{task['instance_id']}/timeline").get_json()
    assert timeline["status"] == "completed"
    assert [t["name"] for t in county.open_tasks()] == ["investigate_case"]  # handed to supervision (Art. 20)
    assert [e["opinion"] for e in timeline["events"] if e["opinion"]] == ["经调阅考场录像，情况属实"]
    steps = [(e["action"], e["task_name"]) for e in timeline["events"]]
    assert ("service", "close_complaint") in steps and ("service", "hand_over_complaint") in steps
    assert people["city"].get(f"/api/cases/{task['instance_id']}/timeline").status_code == 200


def test_unsubstantiated_complaint_is_closed_without_measures(ctx, people, public):
    complaint_id = complain(public).get_json()["id"]
    county = people["county"]
    task = county.only_task("handle_complaint")
    response = county.complete(task["id"], {"finding": "unsubstantiated", "opinion": "经核查，反映情况不属实"})
    assert response.status_code == 200, response.get_json()
    with unit_of_work(ctx) as session:
        row = session.get(Complaint, complaint_id)
        assert (row.status, row.finding, row.measures) == ("unsubstantiated", "经核查，反映情况不属实", None)


def test_county_must_write_a_finding_and_an_opinion(people, public):
    complain(public)
    county = people["county"]
    task = county.only_task("handle_complaint")
    no_opinion = county.complete(task["id"], {"finding": "unsubstantiated"})
    assert no_opinion.status_code == 422 and "opinion" in no_opinion.get_json()["errors"]
    no_finding = county.complete(task["id"], {"opinion": "情况属实"})
    assert no_finding.status_code == 422 and "finding" in no_finding.get_json()["errors"]
    assert county.only_task("handle_complaint")["state"] == "open"


def test_missing_content_and_unknown_jurisdiction_are_refused_per_field(ctx, people, public):
    response = complain(public, jurisdiction_code="999999", content="   ")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"jurisdiction_code", "content"}
    assert "县区" in errors["jurisdiction_code"] and "10个字" in errors["content"]
    empty = public.post("/api/public/complaints", json={})
    assert empty.status_code == 422
    assert set(empty.get_json()["errors"]) == {"jurisdiction_code", "institution_name", "name", "contact", "content"}
    with unit_of_work(ctx) as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    assert people["county"].open_tasks() == []


def test_named_institution_must_be_filed_in_the_chosen_jurisdiction(ctx, public):
    elsewhere = filed(ctx, serial=1, jurisdiction="341721")
    draft = filed(ctx, serial=2, name="尚未备案的机构", status="draft")
    wrong_county = complain(public, institution_id=elsewhere)
    assert wrong_county.status_code == 422 and "贵池区" in wrong_county.get_json()["errors"]["institution_id"]
    not_filed = complain(public, institution_id=draft)
    assert not_filed.status_code == 422 and "备案" in not_filed.get_json()["errors"]["institution_id"]
    unknown = complain(public, institution_id=99999)
    assert unknown.get_json()["errors"] == not_filed.get_json()["errors"]  # no hint which ids exist
    assert complain(public, institution_id="abc").status_code == 400


def test_institution_complained_about_never_sees_the_case(app, ctx, people, public):
    institution_id = filed(ctx)
    complain(public, institution_id=institution_id)
    task = people["county"].only_task("handle_complaint")
    institution = Api(app, "inst1")
    assert institution.open_tasks() == []
    assert institution.get(f"/api/cases/{task['instance_id']}/timeline").status_code == 404
    assert institution.get(f"/api/tasks/{task['id']}").status_code == 404


def test_openapi_document_lists_the_complaint_endpoint(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/public/complaints"]
    assert "ComplaintIn" in spec["components"]["schemas"]
