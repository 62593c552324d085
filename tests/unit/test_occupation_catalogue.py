from pathlib import Path

import pytest

from service.domain.errors import DomainError
from service.domain.occupations import (
    apply_directory_flags,
    index_by_code,
    load_catalogue,
    parse_classification,
    parse_directory_flags,
    split_marker,
)

DATA = Path(__file__).resolve().parents[2] / "data"  # the repository's copy of the shared data

HEADER = "level,code,code_num,name,definition,tasks,csco_code_num,alias\n"


@pytest.fixture(scope="module")
def real_catalogue():
    return load_catalogue(DATA / "occupations-2022.csv", DATA / "occupations-demo.csv")


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


def test_only_level_four_rows_are_fileable():
    occupations = parse_classification(
        HEADER
        + "3,6-31-01-00,6310100,机械设备修理人员,,,6310100,\n"
        + "4,6-31-01-03,6310103,电工,从事电工作业的人员。,,6310103,电工\n"
    )
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
    assert index_by_code(occupations)["2-03-01-00"].is_fileable


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


def test_real_catalogue_has_1634_fileable_occupations(real_catalogue):
    fileable = [o for o in real_catalogue if o.is_fileable]
    # 1,634 level-4 rows in the source, two of them exact duplicates.
    assert len(fileable) == 1632
    assert len({o.code for o in fileable}) == 1632


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
