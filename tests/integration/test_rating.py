"""Annual rating (Art. 21) and its path to revocation (Art. 22.6) through the API, the clock moved:
the indicators collected, the county's scores, the table's stars, the city's confirmation, the
stars in the directory; below three stars a rectification; late → a revocation case on ground 6;
rectified → a re-rating."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from service.engine.definitions import read_bundle
from service.store.models import Institution, Rating, RevocationCase
from service.usecases import messages, schedules
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from service.usecases.timers import fire_due_timers
from tests.conftest import ROOT

ITEMS = ("management", "exam_conduct", "question_bank", "assessor_team")
LOW = {**dict.fromkeys(ITEMS, 0), "opinion": "管理制度缺失，考务混乱。"}
HIGH = {**dict.fromkeys(ITEMS, 15), "opinion": "整改到位，管理规范。"}


def rate(ctx, people, year=2025):
    institution_id = people["inst1"].user["institution_id"]
    with unit_of_work(ctx) as session:
        institution = session.get(Institution, institution_id)
        messages.publish(ctx, session, "annual_rating_due", institution,
                         {"institution_id": institution_id, "year": year})
    return institution_id


def score(people, scores):
    county = people["county"]
    done = county.complete(county.only_task("score_rating")["id"], scores)
    assert done.status_code == 200, done.get_json()


def confirm(people, **extra):
    city = people["city"]
    confirmed = {"rating_decision": "confirm", "opinion": "同意评估结果。", **extra}
    done = city.complete(city.only_task("confirm_rating")["id"], confirmed)
    assert done.status_code == 200, done.get_json()


def test_a_rating_below_three_not_rectified_in_time_ends_in_revocation_on_ground_6(batch_people, app, ctx, clock):
    people = batch_people
    institution_id = rate(ctx, people)
    county = people["county"]
    task = county.only_task("score_rating")
    facts = county.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert (facts["batches_certified"], facts["data_points"]) == (0, 30)  # 40 less 10: no certification in 2025
    over = county.complete(task["id"], {**LOW, "management": 16})
    assert over.status_code == 422 and "management" in over.get_json()["errors"]
    score(people, LOW)
    shown = people["city"].get(f"/api/tasks/{people['city'].only_task('confirm_rating')['id']}").get_json()["data"]
    assert (shown["total_score"], shown["stars"]) == (30, 1)
    confirm(people)
    with unit_of_work(ctx) as session:
        institution = session.get(Institution, institution_id)
        assert (institution.stars, institution.stars_year) == (1, 2025)
    listed = app.test_client().get("/directory").get_data(as_text=True)
    assert "★☆☆☆☆" in listed and "2025年度" in listed

    # Art. 21: rectification within 20 working days of Fri 26 Sep 2025 — Thu 30 Oct (make-up days counted)
    report = people["inst1"].only_task("submit_rectification")
    assert report["due_at"].startswith("2025-10-31T00:00")
    clock.set(datetime(2025, 10, 31, 0, 0, 1))
    fire_due_timers(ctx)
    with unit_of_work(ctx) as session:
        case = session.scalars(select(RevocationCase)).one()
        assert (case.ground, case.source, case.status) == ("low_rating", "rating", "open")
    county.complete(county.only_task("review_revocation")["id"], {
        "county_decision": "propose", "sponsor": "池州市某某协会", "findings": "评估一星级，逾期未整改。",
        "opinion": "建议取消备案。"})
    people["city"].complete(people["city"].only_task("decide_revocation")["id"], {
        "revocation_decision": "revoke", "opinion": "决定取消备案。"})
    assert "池州市职业技能培训评价中心" not in app.test_client().get("/directory").get_data(as_text=True)
    page = app.test_client().get("/sanctions").get_data(as_text=True)
    assert "第二十二条第六项" in page


def test_rectified_in_time_the_institution_is_rated_again(batch_people, ctx):
    people = batch_people
    institution_id = rate(ctx, people)
    score(people, LOW)
    confirm(people)
    institution = people["inst1"]
    evidence = institution.upload()
    institution.complete(institution.only_task("submit_rectification")["id"], {
        "report": "已建立考务管理制度，更换考评人员并完成培训。", "rectification_evidence_1": str(evidence)})
    people["county"].complete(people["county"].only_task("verify_rectification")["id"],
                              {"verdict": "accepted", "verification": "现场核查，整改到位。"})
    score(people, HIGH)
    city = people["city"]
    task = city.only_task("confirm_rating")
    shown = city.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert (shown["rating_round"], shown["total_score"], shown["stars"]) == (2, 90, 5)
    no_reason = city.complete(task["id"], {"rating_decision": "adjust", "adjusted_stars": 4, "opinion": "调整星级。"})
    assert no_reason.status_code == 422 and "rating_reason" in no_reason.get_json()["errors"]
    confirm(people, rating_decision="adjust", adjusted_stars=4, rating_reason="整改后仍需观察")
    with unit_of_work(ctx) as session:
        rows = session.scalars(select(Rating).order_by(Rating.round)).all()
        assert [(r.round, r.suggested_stars, r.stars) for r in rows] == [(1, 1, 1), (2, 5, 4)]
        assert session.get(Institution, institution_id).stars == 4
        assert session.scalars(select(RevocationCase)).all() == []
    history = people["inst1"].get("/ratings").get_data(as_text=True)
    assert "整改后复评" in history and "四星级" in history


def test_the_yearly_round_rates_every_filed_institution_for_the_year_before(batch_people, ctx, clock):
    """bpmn/annual_rating_round.bpmn: 15 January 02:00 each year, for the year before."""
    clock.set(datetime(2027, 1, 14, 9, 0))
    deploy(ctx, read_bundle(ROOT), "analyst")  # with the shipped schedules
    clock.set(datetime(2027, 1, 15, 2, 0))
    assert schedules.start_due(ctx) >= 1
    with unit_of_work(ctx) as session:
        rows = session.scalars(select(Rating)).all()
        assert [(r.institution_id, r.year, r.round) for r in rows] == [
            (batch_people["inst1"].user["institution_id"], 2026, 1)]
    assert batch_people["county"].only_task("score_rating")
