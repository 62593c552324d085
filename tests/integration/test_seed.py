"""The demo a newcomer clicks through: every stage is really there."""
from sqlalchemy import func, select

from service.seed import seed_demo
from service.store.models import HumanTask, Institution, Notice
from service.usecases.context import unit_of_work


def test_demo_seed_shows_a_living_system(app, ctx):
    assert "demo data ready" in seed_demo(ctx)
    with unit_of_work(ctx) as session:
        statuses = dict(session.execute(select(Institution.status, func.count()).group_by(Institution.status)).all())
        open_tasks = sorted(session.scalars(select(HumanTask.name).where(HumanTask.state == "open")))
        assert session.scalar(select(func.count()).select_from(Notice)) == 1
    assert statuses == {"filed_pilot": 1, "under_review": 3, "draft": 1}
    assert open_tasks == ["city_review", "handle_complaint", "initial_review", "submit_application"]
    listed = app.test_client().get("/api/public/institutions").get_json()["items"]
    assert [i["name"] for i in listed] == ["青阳县华能电力技能评价中心"]
    home = app.test_client().get("/").get_data(as_text=True)
    assert "已备案评价机构名录</a>（1 家）" in home and "备案公示</a>（1 件公示中" in home
    assert seed_demo(ctx) == "demo data already present"
