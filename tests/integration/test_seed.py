"""The demo a newcomer clicks through: every stage is really there."""
from sqlalchemy import func, select

from service.seed import seed_demo
from service.store.models import Assessor, Batch, HumanTask, Institution, Notice, SpotCheckPlan
from service.usecases.context import unit_of_work


def test_demo_seed_shows_a_living_system(app, ctx):
    assert "demo data ready" in seed_demo(ctx)
    with unit_of_work(ctx) as session:
        statuses = dict(session.execute(select(Institution.status, func.count()).group_by(Institution.status)).all())
        open_tasks = sorted(session.scalars(select(HumanTask.name).where(HumanTask.state == "open")))
        assert session.scalar(select(func.count()).select_from(Notice)) == 1
    assert statuses == {"filed_pilot": 1, "under_review": 3, "draft": 1}
    assert open_tasks == ["check_institution", "city_review", "handle_complaint", "initial_review",
                          "investigate_case", "plan_batch", "submit_application"]  # Art. 19–21: a case, a spot check
    with unit_of_work(ctx) as session:  # Art. 15: a batch of the filed institution, its candidates imported
        assert session.scalars(select(Batch.candidate_count)).all() == [12]
        assert session.scalar(select(func.count()).select_from(Assessor)) == 5
        assert session.scalars(select(SpotCheckPlan.seed)).all() == ["demo"]
    listed = app.test_client().get("/api/public/institutions").get_json()["items"]
    assert [i["name"] for i in listed] == ["青阳县华能电力技能评价中心"]
    home = app.test_client().get("/").get_data(as_text=True)
    assert "已备案评价机构名录</a>（1 家）" in home and "备案公示</a>（1 件公示中" in home
    assert seed_demo(ctx) == "demo data already present"


def test_the_demos_draft_filing_reaches_its_receipt_with_a_number_of_its_own(app, ctx, clock, monkeypatch):
    """Issue 11.1: the seed numbered the filed institution's receipt from its institution id and
    issue_receipt from the filing id, so the city's 赋码 for the demo's fifth filing hit the
    unique constraint. Both now draw from one locked sequence."""
    from datetime import datetime

    from service.seed import DEMO_PASSWORD
    from service.store.models import Filing
    from service.usecases.timers import fire_due_timers
    from tests import helpers
    monkeypatch.setattr(helpers, "PASSWORD", DEMO_PASSWORD)
    seed_demo(ctx)
    inst4, county, city = (helpers.Api(app, name) for name in ("inst4", "county1", "city"))
    with unit_of_work(ctx) as session:
        draft = session.scalars(select(Filing).where(Filing.status == "draft")).one()
        name, code, kind = draft.institution.name, draft.institution.credit_code, draft.institution.kind
    data = helpers.application(code, name, kind, attachment_id=inst4.upload())
    assert inst4.complete(inst4.only_task("submit_application")["id"], data).status_code == 200
    review = [t for t in county.open_tasks() if t["name"] == "initial_review" and "新星" in t["subject"]][0]
    assert county.complete(review["id"], {"decision": "forward", "opinion": "材料齐全，同意上报"}).status_code == 200
    task = [t for t in city.open_tasks() if t["name"] == "city_review" and "新星" in t["subject"]][0]
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    assert city.complete(task["id"], {"decision": "approve", "opinion": "同意备案",
                                      "approved_scope": scope}).status_code == 200
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(datetime(2024, 9, 20, 9, 0))  # both demo notices are over
    fire_due_timers(ctx)
    assigns = [t for t in city.open_tasks() if t["name"] == "assign_code"]
    assert len(assigns) == 2  # the demo's filing in its notice, and this one
    for assign in assigns:
        response = city.complete(assign["id"], {"opinion": "同意赋码，出具备案回执"})
        assert response.status_code == 200, response.get_json()
    with unit_of_work(ctx) as session:
        numbers = sorted(session.scalars(select(Filing.receipt_number).where(Filing.status == "filed")))
    assert numbers == ["CZBA2024000001", "CZBA2024000002", "CZBA2024000003"]
    receipt = inst4.get(f"/api/filings/{draft.id}/receipt")
    assert receipt.status_code == 200 and receipt.get_json()["institution"] == "贵池区新星职业培训学校"
