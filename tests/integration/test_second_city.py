"""Issue 12: nothing of Chizhou is written in code. The same system installed for a second city
(tests/fixtures/bureaus/anqing.json, a database of its own) files an institution to the receipt
under that city's name, receipt prefix, jurisdictions and filing-code range."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from service.app import create_app
from service.bootstrap import build_context
from service.clock import FixedClock
from service.engine.definitions import read_bundle
from service.processes import pilot
from service.reference import load_reference_data
from service.seed import application, demo_credit_code, seed_demo
from service.store.migrate import upgrade
from service.store.models import Complaint, Filing, Institution, Jurisdiction
from service.usecases import accounts
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from service.usecases.errors import Invalid
from service.usecases.timers import fire_due_timers
from tests.conftest import ROOT
from tests.helpers import PASSWORD, Api, make_institution

ANQING = str(ROOT / "tests" / "fixtures" / "bureaus" / "anqing.json")
NAME = "安庆市职业技能鉴定中心"
CHIZHOU = "池州"


@pytest.fixture
def anqing(tmp_path):
    url = f"sqlite:///{tmp_path}/anqing.db"
    upgrade(url)
    clock = FixedClock(datetime(2024, 9, 2, 9, 0))
    ctx = build_context(url, clock=clock, bureau=ANQING)
    with unit_of_work(ctx) as session:
        load_reference_data(session, ctx.bureau)
    deploy(ctx, read_bundle(ROOT), "tests")
    make_institution(ctx, name=NAME, jurisdiction="340802")
    accounts.create_user(ctx, "county", PASSWORD, "迎江区审核员", "county", jurisdiction_code="340802")
    accounts.create_user(ctx, "city", PASSWORD, "市局审核员", "city")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True}, context=ctx)
    yield ctx, clock, {name: Api(app, name) for name in ("inst1", "county", "city")}
    ctx.session_factory.kw["bind"].dispose()


def test_a_second_city_files_under_its_own_name_prefix_jurisdictions_and_code_range(anqing):
    ctx, clock, people = anqing
    institution, county, city = people["inst1"], people["county"], people["city"]
    with unit_of_work(ctx) as session:
        assert {j.name for j in session.scalars(select(Jurisdiction))} >= {"迎江区", "桐城市"}
        assert session.get(Jurisdiction, "341702") is None  # not a Chizhou county in sight

    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), NAME, jurisdiction="340802", attachment_id=institution.upload(),
                       address="安庆市迎江区人民路1号")
    assert institution.complete(started["task_id"], data).status_code == 200
    review = county.only_task("initial_review")
    assert county.complete(review["id"], {"decision": "forward", "opinion": "材料齐全，同意上报"}).status_code == 200
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    assert city.complete(task["id"], {"decision": "approve", "opinion": "同意备案", "approved_scope": scope}
                         ).status_code == 200
    clock.set(datetime(2024, 9, 3, 9, 0))
    assert county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"}).status_code == 200
    clock.set(datetime(2024, 9, 11, 9, 0))
    assert fire_due_timers(ctx).fired == 1
    assert city.complete(city.only_task("assign_code")["id"], {"opinion": "同意赋码"}).status_code == 200

    receipt = institution.get(f"/api/filings/{started['filing_id']}/receipt").get_json()
    assert receipt["filing_code"] == "S000034080001"  # Anhui 34, Anqing 08, its first code
    assert receipt["receipt_number"].startswith("AQBA2024")
    page = institution.get(f"/filings/{started['filing_id']}/receipt").get_data(as_text=True)
    assert "安庆市人力资源和社会保障局" in page and "《安庆市技能人才评价机构管理办法》" in page
    assert "池州" not in page
    home = institution.get("/").get_data(as_text=True)
    assert "安庆市技能人才评价机构管理系统" in home and "池州" not in home

    # Art. 7 异地备案: this install keeps its own city's filings, so 安庆 is "own" here, 池州 is not
    user_id = institution.user["id"]
    with pytest.raises(Invalid) as refused:
        pilot.record_other_city_filing(ctx, user_id, "安庆市", "AQ-1", "2027-06-30")
    assert refused.value.errors["city"] == "本市的备案无需登记为异地备案"
    assert pilot.record_other_city_filing(ctx, user_id, "池州市", "CZBA2024000001", "2027-06-30")


def test_the_demo_seed_of_a_second_city_speaks_only_of_that_city(tmp_path):
    """The demo a newcomer to Anqing's install clicks through names Anqing's institutions, places and
    counties; nothing of Chizhou is left in the database or on the pages."""
    url = f"sqlite:///{tmp_path}/anqing-demo.db"
    upgrade(url)
    ctx = build_context(url, clock=FixedClock(datetime(2024, 9, 2, 9, 0)), bureau=ANQING)
    deploy(ctx, read_bundle(ROOT), "tests")
    assert "demo data ready" in seed_demo(ctx)
    with unit_of_work(ctx) as session:
        institutions = session.scalars(select(Institution).order_by(Institution.id)).all()
        names = [i.name for i in institutions]
        places = {i.jurisdiction_code for i in institutions}
        texts = [str(row) for table in (Filing, Complaint) for row in
                 session.execute(select(table.__table__)).all()]
    assert names[:4] == ["安庆市职业技能培训评价中心", "安庆安达电气有限公司", "安庆市技工学校",
                         "迎江区新星职业培训学校"]
    assert names[4] == "怀宁县华能电力技能评价中心"  # the one filed before the system, in the fourth county
    assert places == {"340802", "340822"}
    assert all(i.credit_code[2:8] == i.jurisdiction_code for i in institutions)
    assert texts and not [text for text in texts if CHIZHOU in text]

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True}, context=ctx)
    public = app.test_client()
    for path in ("/", "/directory", "/notices"):
        page = public.get(path).get_data(as_text=True)
        assert "安庆" in page and CHIZHOU not in page, path
    ctx.session_factory.kw["bind"].dispose()
