"""Schemathesis over /api/openapi.json (issue 11, item 20): every operation, as the public and
as a user of each role, with inputs generated from the document, valid and invalid; the bar is
no server error (5xx).

Bounded: EXAMPLES inputs per operation, role and mode, so the whole run adds about a minute. It
runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL, which refuses more (lengths, NUL
characters). Generated ids rarely name a row, so each operation with ids in its path runs once
more with the ids of the rows a real day has (an open notice, an objection being investigated)."""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import func, select

from service.store.models import Attachment, Batch, Filing, HumanTask, Institution, Notice, ProcessInstance
from service.usecases import accounts
from service.usecases.context import unit_of_work
from tests.helpers import PASSWORD, Api, application, make_institution, make_staff

ROLES = ("public", "institution", "county", "city", "province", "analyst")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 6))  # FUZZ_EXAMPLES=100 for a longer search
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


@pytest.fixture(params=ROLES)
def caller(request, app, ctx):
    """Someone calling the API over the data of a real day: a filing in its public notice, an
    objection to it that the county investigates."""
    make_staff(ctx)
    accounts.create_user(ctx, "province", PASSWORD, "省中心复核员", "province")
    make_institution(ctx)
    people = {name: Api(app, name) for name in ("inst1", "county", "city")}
    institution, county, city = people["inst1"], people["county"], people["city"]
    started = institution.post("/api/filings").get_json()
    data = application("52341702MJ0000001D", "池州市职业技能培训评价中心", attachment_id=institution.upload())
    assert institution.complete(started["task_id"], data).status_code == 200
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    city.complete(city.only_task("city_review")["id"], {"decision": "approve", "opinion": "同意", "approved_scope": [
        {"occupation_code": "6-31-01-03", "level": "4", "assessors": 6}]})
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    notice_id = app.test_client().get("/api/public/notices").get_json()["items"][0]["id"]
    assert app.test_client().post(f"/api/public/notices/{notice_id}/objections", json={
        "name": "王五", "contact": "13912345678", "content": "场地面积不足六十平方米，请核实。"}).status_code == 201
    school, _ = make_institution(ctx, serial=2, name="池州市技工学校", kind="school")
    with unit_of_work(ctx) as session:  # a filed school planning a batch
        session.get(Institution, school).status = "filed"
    assert Api(app, "inst2").post("/api/batches").status_code == 201
    role = request.param
    if role == "public":
        return role, {}, {}
    user = people.get({"institution": "inst1"}.get(role, role)) or Api(app, role)
    return role, user.headers, {"session": user.client.get_cookie("session").value}


def _known_ids(ctx) -> dict[str, int]:
    """A row of each kind the paths name: the newest, so an open task rather than a finished one."""
    with unit_of_work(ctx) as session:
        newest = {table: session.scalar(select(func.max(table.id))) for table in
                  (HumanTask, Filing, ProcessInstance, Attachment, Notice, Batch, Institution)}
    return {"task_id": newest[HumanTask], "filing_id": newest[Filing], "instance_id": newest[ProcessInstance],
            "attachment_id": newest[Attachment], "notice_id": newest[Notice], "timer_id": 1,
            "scope_change_id": 1, "incident_id": 1, "year": 2027, "batch_id": newest[Batch] or 1,
            "table": "signup", "archive_id": 1, "institution_id": newest[Institution] or 1,
            "plan_id": 1, "delegation_id": 1, "name": "done"}


def _operations(app, role):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    if role != "public":
        # a user's own session: logging out would end the run's session; logging in is the public's
        schema = schema.include(func=lambda context: "security" in context.operation.definition.raw).exclude(
            path=["/api/logout"])
    return [result.ok() for result in schema.get_all_operations()]


def test_no_generated_input_makes_the_api_fail(app, ctx, caller):
    """Each operation's failures are collected, so one run names every operation that failed."""
    role, headers, cookies = caller
    known, failed = _known_ids(ctx), {}
    for operation in _operations(app, role):
        names = re.findall(r"{(\w+)}", operation.path)
        runs = [(mode, None) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if names:
            runs.append((GenerationMode.POSITIVE, {name: known[name] for name in names}))
        for mode, path_parameters in runs:
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
            @FUZZ
            def call(case):
                response = case.call(headers=headers, cookies=cookies)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
                continue
            except Exception as failure:  # noqa: BLE001 - reported below, per operation
                failed[f"{operation.label} ({mode.value}, ids {path_parameters})"] = str(failure)[:3000]
    assert not failed, "\n\n".join(f"{label}:\n{text}" for label, text in failed.items())


def test_the_document_declares_parameters_bodies_and_answers(app):
    document = app.test_client().get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    objection = document["paths"]["/api/public/notices/{notice_id}/objections"]["post"]
    assert objection["parameters"] == [{"in": "path", "name": "notice_id", "required": True,
                                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}]
    body = objection["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schemas[body]["properties"]["name"]["maxLength"] == 50  # the column's length
    assert "201" in objection["responses"] and "default" in objection["responses"]
    inbox = document["paths"]["/api/tasks"]["get"]
    page = next(p for p in inbox["parameters"] if p["name"] == "page")
    assert page["in"] == "query" and page["schema"]["maximum"] == 100_000 and inbox["security"] == [{"session": []}]
    upload = document["paths"]["/api/attachments"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"] == {"type": "string", "format": "binary"}
    answer = document["paths"]["/api/filings"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["properties"]["items"]["items"] == {"$ref": "#/components/schemas/FilingOut"}
