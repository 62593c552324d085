"""Issue 11.6: an application does not rewrite who the institution is. Art. 7: a filing is of one
subject; its kind decides the rules and the quota, its credit code who it is. Once filed (or
under review) neither changes by submitting an application: the form shows them read-only, a
submission that differs is refused at the field. A draft institution may correct them, but not
take another institution's credit code. A new name is a recorded change, before and after."""
from __future__ import annotations

from datetime import datetime

import pytest

from service.store.models import AuditEvent, Institution
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.helpers import Api, application, demo_credit_code, make_institution, make_staff
from tests.integration.test_filing_api import forward_and_approve, submit_application
from tests.integration.test_renewal_api import YEARS, notice_and_code, renewal_tasks
from tests.integration.test_web_pages import Page

FIXED = "统一社会信用代码和机构类型在备案后不能更改；如需变更，请以新主体重新申请备案"
NAME = "池州市职业技能培训评价中心"


def institution_row(ctx, institution_id=None, credit_code=None):
    with unit_of_work(ctx) as session:
        row = (session.get(Institution, institution_id) if institution_id
               else session.query(Institution).filter_by(credit_code=credit_code).one())
        session.expunge(row)
        return row


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    people = {name: Api(app, name) for name in ("inst1", "county", "city", "analyst")}
    for year, text in YEARS.items():  # the renewal reaches into years the package does not know
        assert people["analyst"].client.put(f"/api/admin/calendar/{year}", json={"text": text},
                                            headers=people["analyst"].headers).status_code == 200
    return people


@pytest.fixture
def renewal(people, ctx, clock):
    """The filed social organisation's renewal application, open, as prefilled."""
    clock.set(datetime(2025, 2, 20, 9, 0))
    assert submit_application(people["inst1"])[2].status_code == 200
    forward_and_approve(people)
    notice_and_code(people, ctx, clock, datetime(2025, 2, 21, 9, 0), datetime(2025, 3, 3, 9, 0))
    clock.set(datetime(2027, 12, 3, 0, 0))
    fire_due_timers(ctx)
    clock.set(datetime(2027, 12, 6, 9, 0))
    [task] = renewal_tasks(people["inst1"])
    return task, people["inst1"].get(f"/api/tasks/{task['id']}").get_json()["data"]


@pytest.mark.parametrize(("field", "value"), [("kind", "enterprise"), ("credit_code", demo_credit_code(7))])
def test_a_filed_institution_cannot_change_its_kind_or_credit_code_by_renewing(people, ctx, renewal, field, value):
    institution = people["inst1"]
    task, data = renewal
    before = institution_row(ctx, institution.user["institution_id"])
    refused = institution.complete(task["id"], {**data, field: value})
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"] == {field: FIXED}
    after = institution_row(ctx, before.id)
    assert (after.kind, after.credit_code, after.filing_code) == (before.kind, before.credit_code, before.filing_code)
    assert [t["id"] for t in renewal_tasks(institution)] == [task["id"]]  # still the institution's, nothing moved on
    assert people["county"].open_tasks() == []

    assert institution.complete(task["id"], data).status_code == 200  # as it is: accepted


def test_the_renewal_form_shows_kind_and_credit_code_read_only(app, people, renewal):
    task, data = renewal
    html = Page(app, "inst1").text(f"/tasks/{task['id']}")
    assert f'<input type="hidden" name="credit_code" value="{data["credit_code"]}">' in html
    assert '<span class="readonly" id="kind">社会培训评价组织</span>' in html
    assert f'<input name="name" id="name" value="{data["name"]}"' in html  # the name stays editable
    assert '<select name="kind"' not in html and '<input name="credit_code"' not in html


def test_a_new_name_is_a_recorded_change_and_the_renewal_receipt_carries_it(app, people, ctx, clock, renewal):
    institution = people["inst1"]
    task, data = renewal
    renamed = "池州市职业技能鉴定评价中心"
    assert institution.complete(task["id"], {**data, "name": renamed}).status_code == 200
    institution_id = institution.user["institution_id"]
    assert institution_row(ctx, institution_id).name == renamed
    with unit_of_work(ctx) as session:
        [event] = session.query(AuditEvent).filter_by(action="institution_changed").all()
        assert event.institution_id == institution_id and event.actor_id == institution.user["id"]
        assert event.data == {"changes": {"name": {"title": "机构名称", "before": NAME, "after": renamed}}}
        instance_id = event.instance_id
    timeline = institution.get(f"/api/cases/{instance_id}/timeline").get_json()
    assert [e["action"] for e in timeline["events"]].count("institution_changed") == 1
    assert f"机构名称：{NAME} → {renamed}" in Page(app, "inst1").text(f"/cases/{instance_id}")

    forward_and_approve(people)
    notice_and_code(people, ctx, clock, datetime(2027, 12, 7, 9, 0), datetime(2027, 12, 15, 9, 0))
    receipt = institution.get(f"/api/filings/{data['filing_id']}/receipt").get_json()
    assert receipt["institution"] == renamed


def test_an_unchanged_name_records_no_change(people, ctx):
    _, _, response = submit_application(people["inst1"])
    assert response.status_code == 200
    with unit_of_work(ctx) as session:
        assert session.query(AuditEvent).filter_by(action="institution_changed").count() == 0


def test_a_draft_institution_may_correct_its_credit_code_but_not_take_anothers(app, ctx, people):
    make_institution(ctx, serial=2, name="池州安达电气有限公司", kind="enterprise")
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    taken = application(demo_credit_code(2), NAME, attachment_id=institution.upload())
    refused = institution.complete(started["task_id"], taken)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["errors"] == {
        "credit_code": "该统一社会信用代码已由另一家机构登记，请核对本机构营业执照或登记证书上的代码"}
    assert institution_row(ctx, credit_code=demo_credit_code(2)).name == "池州安达电气有限公司"

    corrected = demo_credit_code(3)
    assert institution.complete(started["task_id"], {**taken, "credit_code": corrected}).status_code == 200
    assert institution_row(ctx, institution.user["institution_id"]).credit_code == corrected
    with unit_of_work(ctx) as session:
        [event] = session.query(AuditEvent).filter_by(action="institution_changed").all()
        assert event.data["changes"]["credit_code"]["before"] == demo_credit_code(1)
        assert event.data["changes"]["credit_code"]["after"] == corrected


def test_a_first_application_under_review_keeps_its_identity_when_sent_back(people, ctx):
    """Returned for correction, a first application's institution is a draft again: its kind may
    be corrected (it is not filed), and the form says so by leaving the fields editable."""
    institution, county = people["inst1"], people["county"]
    started, data, _ = submit_application(institution)
    county.complete(county.only_task("initial_review")["id"], {"decision": "correction", "opinion": "请核对机构类型"})
    task = institution.only_task("submit_application")
    assert institution.get(f"/api/tasks/{task['id']}").get_json()["data"]["identity_fixed"] is False
    assert institution.complete(task["id"], {**data, "kind": "enterprise"}).status_code == 200
    assert institution_row(ctx, institution.user["institution_id"]).kind == "enterprise"

