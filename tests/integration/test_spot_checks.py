"""双随机、一公开 (Art. 21) through the API: the city or a county draws, with the seed recorded;
each drawn pair is the inspector's own task with Art. 17's checklist; the plan and its results
are public and can be drawn again to the same pairs; a finding goes to supervision; a scheduled
draw starts from the model's timer."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from service.engine.definitions import read_bundle
from service.store.models import Institution, SpotCheck, SpotCheckPlan, SupervisionCase, User
from service.usecases import accounts, schedules
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from tests.conftest import ROOT
from tests.helpers import PASSWORD, Api, make_institution

CHECKED = {"method": "documents", **{f"check_{k}": "ok" for k in (
    "qualification", "conduct", "results", "certificates", "quality", "scope", "archive")}}


@pytest.fixture
def people(batch_people, app, ctx):
    """inst1 in 贵池区 and five more filed institutions across three counties; inspectors of 贵池区,
    东至县 and the city."""
    for serial, jurisdiction in ((2, "341702"), (3, "341721"), (4, "341721"), (5, "341722"), (6, "341723")):
        institution_id, _ = make_institution(ctx, serial, f"评价机构{serial}", jurisdiction=jurisdiction)
        with unit_of_work(ctx) as session:
            row = session.get(Institution, institution_id)
            row.status, row.valid_from, row.valid_until = "filed", date(2025, 1, 1), date(2028, 1, 1)
    for name, jurisdiction in (("inspector_gc", "341702"), ("inspector_dz", "341721"), ("inspector_city", None)):
        accounts.create_user(ctx, name, PASSWORD, f"督查员{name[10:]}", "inspector", jurisdiction_code=jurisdiction)
    return {**batch_people, **{n: Api(app, n) for n in ("inspector_gc", "inspector_dz", "inspector_city")}}


def plan_of(ctx, plan_id) -> SpotCheckPlan:
    with unit_of_work(ctx) as session:
        plan = session.get(SpotCheckPlan, plan_id)
        session.expunge(plan)
        return plan


def test_the_city_draws_with_a_seed_and_the_published_plan_draws_again_the_same(people, app, ctx):
    city = people["city"]
    drawn = city.post("/api/spot-checks", json={"title": "2025年第四季度双随机抽查", "count": 3, "seed": "2025Q4"})
    assert drawn.status_code == 201, drawn.get_json()
    plan = plan_of(ctx, drawn.get_json()["id"])
    assert (plan.seed, len(plan.population), len(plan.pairs)) == ("2025Q4", 6, 3)
    where = dict(plan.population)
    home = {i: j for i, j in plan.pool}
    assert all(home[inspector] != where[institution] for institution, inspector in plan.pairs)  # 回避

    # the same seed over the same population and pool: the same pairs
    again = plan_of(ctx, city.post("/api/spot-checks", json={"title": "复核抽取", "count": 3, "seed": "2025Q4"})
                    .get_json()["id"])
    assert again.pairs == plan.pairs

    public = app.test_client().get(f"/api/public/spot-checks/{plan.id}").get_json()
    assert public["reproduced"] is True and public["seed"] == "2025Q4" and public["pairs"] == plan.pairs
    with unit_of_work(ctx) as session:
        names = {i.id: i.name for i in session.scalars(select(Institution))}
    assert [c["institution"] for c in public["checks"]] == [names[i] for i, _ in plan.pairs]
    page = app.test_client().get(f"/spot-checks/{plan.id}").get_data(as_text=True)
    assert "结果一致" in page and "2025Q4" in page and "督查员gc" not in page  # the public does not see who checks


def test_each_drawn_inspector_has_the_task_alone_and_a_finding_goes_to_supervision(people, app, ctx):
    drawn = people["city"].post("/api/spot-checks", json={"title": "抽查", "count": 6, "seed": "all"})
    plan_id = drawn.get_json()["id"]
    plan = plan_of(ctx, plan_id)
    with unit_of_work(ctx) as session:
        usernames = {u: n for u, n in session.execute(select(User.id, User.username))}
    mine = [(institution, usernames[inspector]) for institution, inspector in plan.pairs]
    counts = {name: sum(1 for _, n in mine if n == name) for name in ("inspector_gc", "inspector_dz", "inspector_city")}
    for name, expected in counts.items():
        assert len(people[name].open_tasks()) == expected
    institution_id, name = next((i, n) for i, n in mine if i == people["inst1"].user["institution_id"])
    task = next(t for t in people[name].open_tasks() if t["subject"].startswith("池州市职业技能培训评价中心"))
    inspector = people[name]
    short = inspector.complete(task["id"], {**CHECKED, "check_archive": "problem", "hand_over": True, "findings": "缺"})
    assert short.status_code == 422 and "不少于10个字" in short.get_json()["errors"]["findings"]
    assert inspector.complete(task["id"], {**CHECKED, "check_archive": "problem", "hand_over": True,
                                           "findings": "2025年第1批认定档案缺少考场记录。"}).status_code == 200
    with unit_of_work(ctx) as session:
        check = session.scalars(select(SpotCheck).where(SpotCheck.institution_id == institution_id)).one()
        case = session.scalars(select(SupervisionCase)).one()
    assert (check.status, check.problems, check.handed_over) == ("recorded", 1, True)
    assert (case.source, case.source_ref) == ("spot_check", f"spot_check:{check.id}")
    assert case.institution_id == institution_id
    assert people["county"].only_task("investigate_case")
    page = app.test_client().get(f"/spot-checks/{plan_id}").get_data(as_text=True)
    assert "发现问题1项，已移交监督检查" in page


def test_a_county_draws_its_own_and_others_may_not_draw(people, ctx):
    drawn = people["county_dz"].post("/api/spot-checks", json={"title": "东至县抽查", "rate": 50, "exclude_own": False})
    plan = plan_of(ctx, drawn.get_json()["id"])
    assert plan.jurisdiction_code == "341721" and {j for _, j in plan.population} == {"341721"}
    assert len(plan.pairs) == 1 and len(plan.seed) == 16  # a seed the system chose, recorded
    assert people["inst1"].post("/api/spot-checks", json={"title": "x", "count": 1}).status_code == 403
    both = people["city"].post("/api/spot-checks", json={"title": "抽查", "count": 1, "rate": 10})
    assert both.status_code == 422 and "二选一" in both.get_json()["errors"]["count"]
    narrow = people["city"].post("/api/spot-checks", json={"title": "抽查", "count": 1, "kind": "school"})
    assert narrow.status_code == 422 and "为0" in narrow.get_json()["errors"]["count"]


def test_the_scheduled_draw_starts_from_the_models_timer(people, ctx, clock):
    """bpmn/spot_check_draw.bpmn: every quarter from 5 Jan 2027 09:00, 10% of the city's institutions."""
    clock.set(datetime(2026, 12, 1, 9, 0))
    deploy(ctx, read_bundle(ROOT), "analyst")  # with the shipped schedules
    clock.set(datetime(2027, 1, 5, 8, 59))
    schedules.start_due(ctx)  # the Monday inactivity scans of December
    with unit_of_work(ctx) as session:
        assert session.scalars(select(SpotCheckPlan)).all() == []
    clock.set(datetime(2027, 1, 5, 9, 0))
    assert schedules.start_due(ctx) == 1
    with unit_of_work(ctx) as session:
        plan = session.scalars(select(SpotCheckPlan)).one()
        assert (plan.rate, plan.drawn_by, len(plan.pairs)) == (10, None, 1)
        assert plan.title.startswith("季度双随机抽查")
    assert schedules.start_due(ctx) == 0  # once per occurrence
