
from service.domain.levels import (
    LEVELS,
    NATIONAL_LEVELS,
    allowed_levels,
    check_scope,
    parse_level,
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


def test_a_level_is_read_as_people_write_it_in_a_sheet():
    assert [parse_level(t) for t in ("4", "四级", "中级工", "四级/中级工", " 四级／中级工 ")] == ["4"] * 5
    assert parse_level("技师") == "2" and parse_level("高级技师") == "1" and parse_level("学徒工") == "apprentice"
    assert parse_level("六级") is None and parse_level("") is None
