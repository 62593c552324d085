"""Deploying models: broken files are refused naming file, element and problem; versions
are immutable and running instances keep theirs."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from service.engine.definitions import Bundle, read_bundle
from service.engine.errors import DefinitionError
from service.store.models import DefinitionVersion, ProcessInstance
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from tests.conftest import ROOT, without_schedules
from tests.helpers import Api, make_institution, make_staff


def edited(path: str, old: str, new: str) -> Bundle:
    files = dict(read_bundle(ROOT).files)
    assert old in files[path], f"{old!r} not in {path}"
    files[path] = files[path].replace(old, new, 1)
    return Bundle(files)


@pytest.mark.parametrize(("path", "old", "new", "element", "problem"), [
    ("bpmn/review.bpmn", 'camunda:formKey="initial_review"', 'camunda:formKey="no_such_form"',
     "initial_review", "form 'no_such_form' does not exist"),
    ("bpmn/review.bpmn", "${decision == 'forward'}", "${decision ==}", None, "expression"),
    ("bpmn/review.bpmn", "${decision == 'forward'}", "${().__class__}", None, "expression"),
    ("bpmn/filing.bpmn", 'camunda:topic="open_notice"', 'camunda:topic="send_fax"', "open_notice", "unknown topic"),
    ("bpmn/filing.bpmn", '<camunda:inputParameter name="scope">',
     '<camunda:inputParameter name="valid_till">${today()}</camunda:inputParameter>'
     '<camunda:inputParameter name="scope">',
     "open_notice", "does not read input 'valid_till'"),
    ("bpmn/review.bpmn", 'camunda:decisionRef="social_org_eligibility"', 'camunda:decisionRef="nope"',
     "eligibility_social_org", "decision 'nope' does not exist"),
    ("bpmn/filing.bpmn", 'value="county"', 'value="mayor"', "lane_county", "角色属性 role"),
    ("bpmn/filing.bpmn", 'calledElement="review"', 'calledElement="reveiw"', "review", "“reveiw”不存在"),
    # what a modeler offers and this engine would ignore is refused, naming why
    ("bpmn/review.bpmn", 'camunda:formKey="city_review"', 'camunda:formKey="city_review" camunda:assignee="张三"',
     "city_review", "camunda:assignee 在本系统中不起作用"),
    ("bpmn/filing.bpmn", '<camunda:inputParameter name="scope">${approved_scope}</camunda:inputParameter>',
     '<camunda:inputParameter name="scope">${approved_scope}</camunda:inputParameter>'
     '<camunda:outputParameter name="receipt">${receipt_number}</camunda:outputParameter>',
     "open_notice", "camunda:outputParameter 在本系统中不起作用"),
    ("bpmn/filing.bpmn", '<bpmn:incoming>flow_record_to_review</bpmn:incoming>',
     '<bpmn:extensionElements><camunda:in variables="all" /></bpmn:extensionElements>'
     '<bpmn:incoming>flow_record_to_review</bpmn:incoming>', "review", "camunda:in 在本系统中不起作用"),
    ("dmn/social_org_eligibility.dmn", "&lt; 50", "between 1 and 50", None, "unsupported"),
    ("forms/initial_review.json", '"minLength": 2', '"minLength": "two"', None, "JSON Schema"),
])
def test_broken_model_is_refused_naming_file_element_and_problem(ctx, path, old, new, element, problem):
    with pytest.raises(DefinitionError) as refused:
        deploy(ctx, edited(path, old, new), "analyst")
    assert refused.value.file == path
    if element:
        assert refused.value.element == element
    assert problem in str(refused.value)
    with unit_of_work(ctx) as session:
        assert len(session.scalars(select(DefinitionVersion)).all()) == 1  # nothing stored


def test_xml_with_entities_is_refused(ctx):
    bundle = edited("bpmn/filing.bpmn", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                    '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>')
    with pytest.raises(DefinitionError, match="DOCTYPE"):
        deploy(ctx, bundle, "analyst")


def test_new_version_serves_new_instances_while_running_ones_keep_theirs(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    institution = Api(app, "inst1")
    first = institution.post("/api/filings").get_json()
    same_id, is_new = deploy(ctx, without_schedules(), "analyst")  # as the tests deployed it
    assert not is_new
    renamed = edited("bpmn/filing.bpmn", 'name="发布公示"', 'name="发布备案公示"')
    new_id, is_new = deploy(ctx, renamed, "analyst")
    assert is_new and new_id != same_id

    make_institution(ctx, serial=2, name="池州市第二评价中心")
    second = Api(app, "inst2").post("/api/filings").get_json()
    with unit_of_work(ctx) as session:
        versions = {i.id: i.definition_id for i in session.scalars(select(ProcessInstance))}
    assert versions[first["instance_id"]] == same_id
    assert versions[second["instance_id"]] == new_id


def test_analyst_deploys_a_changed_process_through_the_api_and_a_broken_one_is_refused(app, ctx):
    make_staff(ctx)
    analyst, county = Api(app, "analyst"), Api(app, "county")
    text = read_bundle(ROOT).files["bpmn/filing.bpmn"]
    payload = {"files": {"bpmn/filing.bpmn": text.replace('name="发布公示"', 'name="发布备案公示"')}}
    assert county.post("/api/admin/definitions", json=payload).status_code == 403
    response = analyst.post("/api/admin/definitions", json=payload)
    assert response.status_code == 201 and response.get_json()["is_new"]
    listed = analyst.get("/api/admin/definitions?files=latest").get_json()["items"]
    assert listed[0]["id"] == response.get_json()["version_id"] and len(listed) >= 2
    assert "发布备案公示" in listed[0]["files"]["bpmn/filing.bpmn"]
    assert all("files" not in v for v in listed[1:])
    assert county.get("/api/admin/definitions").status_code == 403

    review = read_bundle(ROOT).files["bpmn/review.bpmn"]
    broken = {"files": {"bpmn/review.bpmn": review.replace('camunda:formKey="city_review"', "")}}
    refused = analyst.post("/api/admin/definitions", json=broken)
    assert refused.status_code == 422
    assert refused.get_json()["file"] == "bpmn/review.bpmn"
    assert refused.get_json()["element"] == "city_review"
    assert "form key" in refused.get_json()["problem"]
    outside = analyst.post("/api/admin/definitions", json={"files": {"../service/app.py": "x"}})
    assert outside.status_code == 422


def test_due_date_written_in_the_model_reaches_the_inbox_and_its_filter(app, ctx):
    from tests.integration.test_filing_api import submit_application
    make_staff(ctx)
    make_institution(ctx)
    shipped = 'camunda:dueDate="${end_of(working_days_after(today(), 5))}"'  # the bureau's 承诺时限
    due = 'camunda:dueDate="${end_of(working_days_after(today(), 10))}"'
    deploy(ctx, edited("bpmn/review.bpmn", f'camunda:formKey="initial_review" {shipped}',
                       f'camunda:formKey="initial_review" {due}'), "analyst")
    submit_application(Api(app, "inst1"))  # 2 Sep 2024
    county = Api(app, "county")
    [task] = county.open_tasks()
    # 3–6 and 9–13 Sep, then Saturday 14 Sep, a make-up working day before Mid-Autumn
    assert task["due_at"] == "2024-09-15T00:00:00"
    assert county.open_tasks(due_before="2024-09-14T23:00:00") == []
    assert len(county.open_tasks(due_before="2024-09-15T00:00:00")) == 1


@pytest.mark.parametrize(("old", "new", "where", "problem"), [
    ('"x-ui"', '"x-iu"', "/x-iu", "表单提示“x-iu”不存在"),
    ('"x-ui": {', '"x-ui": {"colour": "red", ', "/x-ui/colour", "x-ui 中的“colour”不存在"),
])
def test_a_form_hint_that_would_do_nothing_is_refused_at_deploy(ctx, old, new, where, problem):
    with pytest.raises(DefinitionError) as refused:
        deploy(ctx, edited("forms/initial_review.json", old, new), "analyst")
    assert refused.value.file == "forms/initial_review.json" and refused.value.element == where
    assert problem in str(refused.value)
