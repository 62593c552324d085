import pytest

from service.domain.levels import (
    LEVELS,
    NATIONAL_LEVELS,
    allowed_levels,
    check_scope,
    levels_needing_city_filing,
)
from service.domain.occupations import Occupation


def make_occupation(code: str, name: str, level: int = 4, access_type: bool = False) -> Occupation:
    return Occupation(code, name, level, "", False, False, access_type, is_skill=code[0] in "3456")


CATALOGUE = {
    o.code: o
    for o in (
        make_occupation("6-31-01-03", "电工"),
        make_occupation("6-18-02-04", "焊工"),
        make_occupation("4-07-05-01", "保安员", access_type=True),
        make_occupation("6-31-01-00", "机械设备修理人员", level=3),
        make_occupation("2-05-01-01", "内科医师"),
        make_occupation("1-01-00-01", "中国共产党机关负责人"),
    )
}


def check(kind, items):
    return check_scope(kind, items, CATALOGUE.get)


def test_levels_are_ranked_from_apprentice_to_chief():
    ranked = sorted(LEVELS.values(), key=lambda level: level.rank)
    assert [level.code for level in ranked] == ["apprentice", "5", "4", "3", "2", "1", "special", "chief"]
    assert LEVELS["1"].name == "一级/高级技师"
    assert LEVELS["2"].rank > LEVELS["3"].rank  # a lower digit is a higher level


def test_national_levels_are_the_five_with_a_certificate_digit():
    assert [level.digit for level in NATIONAL_LEVELS] == [5, 4, 3, 2, 1]
    assert LEVELS["special"].digit is None


def test_only_an_enterprise_may_certify_the_new_eight_level_titles():
    assert {level.code for level in allowed_levels("enterprise")} == set(LEVELS)
    assert allowed_levels("social_org") == NATIONAL_LEVELS
    assert allowed_levels("school") == NATIONAL_LEVELS


def test_technician_and_senior_technician_plans_go_to_the_city():
    # Art. 15.1: "其中技师、高级技师等级由市人力资源社会保障部门备案" — the two national levels so named,
    # the highest two with a certificate digit; not 特级技师 or 首席技师, which have none.
    named = {level.code for level in LEVELS.values() if level.name.split("/")[-1] in ("技师", "高级技师")}
    highest = {level.code for level in sorted(NATIONAL_LEVELS, key=lambda level: level.rank)[-2:]}
    assert levels_needing_city_filing == named == highest
    assert not levels_needing_city_filing & {"special", "chief", "3"}


def test_valid_scope_has_no_errors():
    assert check("social_org", [("6-31-01-03", "5"), ("6-31-01-03", "4"), ("6-18-02-04", "1")]) == []
    assert check("enterprise", [("6-31-01-03", "chief"), ("6-31-01-03", "apprentice")]) == []


def test_social_org_may_not_file_chief_technician():
    [error] = check("social_org", [("6-31-01-03", "chief")])
    assert "社会培训评价组织不能备案首席技师等级" in error
    assert "第五条" in error


def test_school_may_not_file_apprentice():
    [error] = check("school", [("6-31-01-03", "apprentice")])
    assert "技工院校不能备案学徒工等级" in error


def test_access_type_occupation_may_not_be_filed():
    [error] = check("enterprise", [("4-07-05-01", "5")])
    assert "保安员" in error and "准入类" in error and "不得备案" in error
    assert "第八条第2项、第九条第2项" in error


@pytest.mark.parametrize(("code", "name"), [("2-05-01-01", "内科医师"), ("1-01-00-01", "中国共产党机关负责人")])
def test_art4_a_non_skill_occupation_may_not_be_filed(code, name):
    [error] = check("enterprise", [(code, "5")])
    assert error == f"第四条：“{code} {name}”不是技能类职业（工种），不能备案"


def test_unknown_occupation_is_refused():
    [error] = check("enterprise", [("9-99-99-99", "5")])
    assert "“9-99-99-99”不在国家职业分类大典中" in error


def test_occupation_group_is_not_an_occupation():
    [error] = check("enterprise", [("6-31-01-00", "5")])
    assert "“6-31-01-00 机械设备修理人员”是职业类别而非具体职业（细类）" in error


def test_unknown_level_is_refused():
    [error] = check("enterprise", [("6-31-01-03", "6")])
    assert "等级“6”无效（第五条）" in error


def test_duplicate_pair_is_reported_once():
    errors = check("social_org", [("6-31-01-03", "5"), ("6-18-02-04", "5"), ("6-31-01-03", "5")])
    assert errors == ["“6-31-01-03 电工”的五级/初级工等级重复填报"]


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        allowed_levels("hospital")
