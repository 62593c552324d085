"""Art. 4: only skill-type occupations (技能类职业（工种）) may be filed. The catalogue in the database
says which are (major groups 3-6, with the analysts' corrections in data/), a filing of another is
refused at submission naming the article, and the occupation picker offers only what may be filed."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from service import reference
from service.store.models import Base, Occupation
from service.usecases.context import unit_of_work
from tests.helpers import Api, application, demo_credit_code, make_institution


@pytest.mark.parametrize(("code", "name"), [("2-05-01-01", "内科医师"), ("1-01-00-01", "中国共产党机关负责人"),
                                            ("3-02-01-00", "人民警察")])
def test_a_non_skill_occupation_is_refused_at_submission_naming_article_four(app, ctx, code, name):
    make_institution(ctx)
    institution = Api(app, "inst1")
    started = institution.post("/api/filings").get_json()
    data = application(demo_credit_code(1), "机构", attachment_id=institution.upload(),
                       scope=(("6-31-01-03", "4"), (code, "4")))
    response = institution.complete(started["task_id"], data)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors == {"scope/1": f"第四条：“{code} {name}”不是技能类职业（工种），不能备案"}


def test_the_occupation_picker_offers_only_what_may_be_filed(app, ctx):
    offered = app.test_client().get("/reference/occupations.json").get_json()
    codes = {item["code"] for item in offered}
    with unit_of_work(ctx) as session:
        fileable = set(session.scalars(select(Occupation.code).where(
            Occupation.level == 4, Occupation.is_skill.is_(True), Occupation.access_type.is_(False))))
        occupations = session.scalar(select(func.count()).select_from(Occupation).where(Occupation.level == 4))
    assert codes == fileable and len(codes) < occupations
    assert {"6-31-01-03", "4-10-01-05"} <= codes  # 电工, 养老护理员
    assert not codes & {"2-05-01-01", "1-01-00-01", "3-02-01-00", "4-07-05-01"}  # 医师, 负责人, 警察, 保安员 (准入类)
    assert {"code": "6-31-01-03", "name": "电工"} in offered


def test_a_correction_an_analyst_writes_takes_effect_when_reference_data_loads(tmp_path, monkeypatch):
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        reference.load_reference_data(session, reference.bureau())
        assert not session.get(Occupation, "3-02-01-00").is_skill  # 人民警察, corrected in the shipped data
        assert not session.get(Occupation, "2-05-01-01").is_skill
        corrections = tmp_path / "overrides.csv"
        corrections.write_text("code,name,is_skill,reason\n2-05-01-01,内科医师,yes,（测试）试点\n", encoding="utf-8")
        monkeypatch.setattr(reference, "SKILL_OVERRIDES", corrections)
        reference.load_reference_data(session, reference.bureau())
        assert session.get(Occupation, "2-05-01-01").is_skill
        assert session.get(Occupation, "3-02-01-00").is_skill  # no longer corrected: its group, 3, decides
    engine.dispose()
