import csv
from pathlib import Path

import pytest

from service.domain.errors import DomainError
from service.domain.occupations import (
    apply_directory_flags,
    apply_skill_overrides,
    index_by_code,
    load_catalogue,
    parse_classification,
    parse_directory_flags,
    parse_skill_overrides,
    split_marker,
)

DATA = Path(__file__).resolve().parents[2] / "data"  # the repository's copy of the shared data
OVERRIDES = DATA / "occupations-skill-overrides.csv"

HEADER = "level,code,code_num,name,definition,tasks,csco_code_num,alias\n"
OVERRIDE_HEADER = "code,name,is_skill,reason\n"


@pytest.fixture(scope="module")
def real_catalogue():
    return load_catalogue(DATA / "occupations-2022.csv", DATA / "occupations-demo.csv", OVERRIDES)


def rows(path):
    with open(path, encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("工业机器人系统操作员S", ("工业机器人系统操作员", True, False)),
        ("森林消防员L", ("森林消防员", False, True)),
        ("海洋测绘工程技术人员L/S", ("海洋测绘工程技术人员", True, True)),
        ("电工", ("电工", False, False)),
        ("GIS", ("GIS", False, False)),  # Latin letters that are the name itself stay
    ],
)
def test_digital_and_green_markers_become_flags(raw, expected):
    assert split_marker(raw) == expected


def test_only_level_four_rows_are_occupations():
    occupations = parse_classification(
        HEADER
        + "3,6-31-01-00,6310100,机械设备修理人员,,,6310100,\n"
        + "4,6-31-01-03,6310103,电工,从事电工作业的人员。,,6310103,电工\n"
    )
    assert [o.is_occupation for o in occupations] == [False, True]
    assert [o.is_fileable for o in occupations] == [False, True]
    assert occupations[1].definition == "从事电工作业的人员。"


def test_exact_duplicate_rows_are_kept_once_and_subgroup_doubling_as_occupation_is_fileable():
    occupations = parse_classification(
        HEADER
        + "3,2-03-01-00,2030100,土壤肥料技术人员,,,2030100,\n"
        + "4,2-03-01-00,2030100,土壤肥料技术人员,从事土壤质量评价的技术人员。,,2030100,\n"
        + "4,4-12-04-02,4120402,修鞋工,,,4120402,\n"
        + "4,4-12-04-02,4120402,修鞋工,,,4120402,\n"
    )
    assert len(occupations) == 3
    assert index_by_code(occupations)["2-03-01-00"].is_occupation


def test_malformed_classification_row_is_reported_by_line():
    with pytest.raises(DomainError) as raised:
        parse_classification(HEADER + "4,6-31-01-03,,电工,,,,\nx,6-31-01-04,,电工,,,,\n")
    assert "第3行" in raised.value.message


def test_directory_flag_marks_access_type_occupations():
    occupations = parse_classification(
        HEADER + "4,4-07-05-01,4070501,保安员,,,,\n" + "4,6-31-01-03,6310103,电工,,,,\n"
    )
    flags = parse_directory_flags(
        "code_2022,name,marker,in_2021_skill_directory,note\n"
        "4-07-05-01,保安员,,yes,IN_DIRECTORY\n6-31-01-03,电工,,no,\n"
    )
    by_code = index_by_code(apply_directory_flags(occupations, flags))
    assert by_code["4-07-05-01"].access_type
    assert not by_code["6-31-01-03"].access_type


def test_directory_flag_for_mismatched_name_is_refused():
    occupations = parse_classification(HEADER + "4,4-07-05-01,4070501,保安员,,,,\n")
    with pytest.raises(DomainError) as raised:
        apply_directory_flags(occupations, {"4-07-05-01": ("保育师", True)})
    assert "与大典中的“保安员”不符" in raised.value.message


def test_directory_flag_for_unknown_code_is_refused():
    with pytest.raises(DomainError):
        apply_directory_flags([], {"9-99-99-99": ("不存在", True)})


def test_directory_flag_must_be_yes_or_no():
    with pytest.raises(DomainError) as raised:
        parse_directory_flags(
            "code_2022,name,marker,in_2021_skill_directory,note\n4-07-05-01,保安员,,maybe,\n"
        )
    assert "第2行" in raised.value.message


@pytest.mark.parametrize(("group", "skill"), [("1", False), ("2", False), ("3", True), ("4", True), ("5", True),
                                              ("6", True), ("7", False), ("8", False)])
def test_art4_skill_type_follows_the_major_group(group, skill):
    """Art. 4: only skill-type occupations (技能类职业（工种）) are certified; in the classification those
    are the major groups 3-6, not 1 (负责人), 2 (专业技术人员), 7 (军队人员) or 8 (不便分类)."""
    [occupation] = parse_classification(HEADER + f"4,{group}-01-01-01,,某职业,,,,\n")
    assert occupation.is_skill is skill and occupation.is_fileable is skill


def test_a_skill_override_corrects_the_major_group_both_ways():
    occupations = parse_classification(HEADER + "4,3-02-01-00,,人民警察,,,,\n4,2-05-01-01,,内科医师,,,,\n")
    overrides = parse_skill_overrides(OVERRIDE_HEADER + "3-02-01-00,人民警察,no,警衔制度\n"
                                                        "2-05-01-01,内科医师,yes,试点\n")
    by_code = index_by_code(apply_skill_overrides(occupations, overrides))
    assert not by_code["3-02-01-00"].is_skill and by_code["2-05-01-01"].is_skill


@pytest.mark.parametrize(("line", "problem"), [
    ("3-02-01-00,人民警察,maybe,理由", "应为yes或no"),
    ("3-02-01-00,人民警察,no,", "缺少更正理由"),
    ("3-2-1,人民警察,no,理由", "编码“3-2-1”无效"),
])
def test_a_malformed_skill_override_is_refused_by_line(line, problem):
    with pytest.raises(DomainError) as raised:
        parse_skill_overrides(OVERRIDE_HEADER + line + "\n")
    assert "第2行" in raised.value.message and problem in raised.value.message


def test_a_skill_override_for_an_unknown_or_misnamed_occupation_is_refused():
    occupations = parse_classification(HEADER + "4,3-02-01-00,,人民警察,,,,\n")
    with pytest.raises(DomainError, match="不是职业分类大典中的职业"):
        apply_skill_overrides(occupations, parse_skill_overrides(OVERRIDE_HEADER + "9-99-99-99,无,no,理由\n"))
    with pytest.raises(DomainError, match="与大典中的“人民警察”不符"):
        apply_skill_overrides(occupations, parse_skill_overrides(OVERRIDE_HEADER + "3-02-01-00,辅警,no,理由\n"))


def test_real_catalogue_keeps_each_occupation_once(real_catalogue):
    level_four = [row["code"] for row in rows(DATA / "occupations-2022.csv") if row["level"] == "4"]
    occupations = [o.code for o in real_catalogue if o.is_occupation]
    assert sorted(occupations) == sorted(set(level_four))  # the source repeats some rows word for word
    assert len(occupations) < len(level_four)


def test_real_catalogue_files_only_skill_type_occupations_outside_the_directory(real_catalogue):
    """Art. 4, 8.2, 9.2. What may be filed, worked out here from the three files themselves: an
    occupation of major group 3-6 unless the analysts' corrections say otherwise, and not in the
    2021 qualification directory."""
    corrected = {row["code"]: row["is_skill"] == "yes" for row in rows(OVERRIDES)}
    in_directory = {row["code_2022"] for row in rows(DATA / "occupations-demo.csv")
                    if row["in_2021_skill_directory"] == "yes"}
    expected = {row["code"] for row in rows(DATA / "occupations-2022.csv") if row["level"] == "4"
                and corrected.get(row["code"], row["code"][0] in "3456") and row["code"] not in in_directory}
    fileable = {o.code for o in real_catalogue if o.is_fileable}
    assert fileable == expected
    by_code = index_by_code(real_catalogue)
    for code, name in [("2-05-01-01", "内科医师"), ("1-01-00-01", "中国共产党机关负责人"), ("3-02-01-00", "人民警察")]:
        assert by_code[code].name == name and not by_code[code].is_skill and not by_code[code].is_fileable
    assert not any(o.is_fileable for o in real_catalogue if o.code[0] in "1278")
    assert by_code["6-31-01-03"].is_fileable  # 电工


def test_every_skill_correction_in_the_data_names_a_catalogue_occupation_and_gives_its_reason(real_catalogue):
    by_code = index_by_code(real_catalogue)
    for row in rows(OVERRIDES):
        assert by_code[row["code"]].name == row["name"] and row["reason"].strip()
        assert by_code[row["code"]].is_skill is (row["is_skill"] == "yes")


def test_real_catalogue_strips_markers_and_keeps_flags(real_catalogue):
    by_code = index_by_code(real_catalogue)
    robot = by_code["6-31-07-03"]
    assert (robot.name, robot.is_digital, robot.is_green) == ("工业机器人系统操作员", True, False)
    survey = by_code["2-02-02-05"]
    assert (survey.name, survey.is_digital, survey.is_green) == ("海洋测绘工程技术人员", True, True)
    assert not any(o.name.endswith(("S", "L")) for o in real_catalogue)
    assert sum(o.is_digital for o in real_catalogue) == 95
    assert sum(o.is_green for o in real_catalogue) == 134


def test_real_catalogue_marks_directory_occupations_as_access_type(real_catalogue):
    by_code = index_by_code(real_catalogue)
    assert by_code["4-07-05-01"].access_type  # 保安员
    assert by_code["4-02-01-01"].access_type  # 轨道交通列车司机, green-marked in the source
    assert not by_code["6-31-01-03"].access_type  # 电工
    assert sum(o.access_type for o in real_catalogue) == 11
