from datetime import date

import pytest

from service.domain.codes import (
    FILING_CODE_LETTER,
    FilingCode,
    credit_code_check_char,
    format_filing_code,
    id_number_check_char,
    parse_filing_code,
    validate_credit_code,
    validate_id_number,
)
from service.domain.errors import DomainError

# Published codes: the GB 32100-2015 example and well-known companies' licences.
PUBLIC_CREDIT_CODES = [
    "91350100M000100Y43",
    "914403001922038216",
    "9144030071526726XG",
    "91330100716105852F",
]


@pytest.mark.parametrize("code", PUBLIC_CREDIT_CODES)
def test_published_credit_codes_are_accepted(code):
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]


def test_credit_code_is_normalised():
    assert validate_credit_code("  9144030071526726xg ") == "9144030071526726XG"


def test_self_generated_credit_code_round_trips():
    first17 = "52341702MJ0000000"  # 民政 registered social organisation in 贵池区
    code = first17 + credit_code_check_char(first17)
    assert validate_credit_code(code) == code


def test_check_value_31_maps_to_zero():
    # Sum ≡ 0 (mod 31) gives 31 - 0 = 31, written as "0".
    assert credit_code_check_char("0" * 17) == "0"


def test_credit_code_of_wrong_length_says_how_long_it_is():
    with pytest.raises(DomainError) as raised:
        validate_credit_code("91350100M000100Y4")
    assert raised.value.message == "统一社会信用代码应为18位，现为17位"
    assert raised.value.field == "credit_code"


@pytest.mark.parametrize(
    ("code", "position", "char"), [("91350100M00010OY43", 15, "O"), ("9135010-M000100Y43", 8, "-")]
)
def test_credit_code_with_illegal_character_names_its_position(code, position, char):
    with pytest.raises(DomainError) as raised:
        validate_credit_code(code)
    assert f"第{position}位“{char}”不是合法字符" in raised.value.message


def test_credit_code_with_letters_in_division_code_is_refused():
    first17 = "913501A0M00010000"
    with pytest.raises(DomainError) as raised:
        validate_credit_code(first17 + credit_code_check_char(first17))
    assert "行政区划码" in raised.value.message


def test_credit_code_with_wrong_check_character_gives_the_right_one():
    with pytest.raises(DomainError) as raised:
        validate_credit_code("91350100M000100Y44")
    assert raised.value.message == "统一社会信用代码校验码错误：第18位应为3"


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_standard_example_id_numbers_are_accepted(number):
    assert validate_id_number(number) == number


def test_id_number_lowercase_x_is_normalised():
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("1101051949123100", "身份证号码应为18位，现为16位"),
        ("11010519491231A02X", "身份证号码前17位应全部为数字"),
        ("11010519491231002Y", "身份证号码第18位应为数字或X"),
        ("110105194902300021", "出生日期19490230不存在"),
        ("110105194912310021", "身份证号码校验码错误：第18位应为X"),
    ],
)
def test_bad_id_numbers_are_refused_in_chinese(number, expected):
    with pytest.raises(DomainError) as raised:
        validate_id_number(number)
    assert expected in raised.value.message
    assert raised.value.field == "id_number"


def test_id_number_born_in_the_future_is_refused_when_today_is_known():
    first17 = "34170220300101001"
    number = first17 + id_number_check_char(first17)
    assert validate_id_number(number) == number
    with pytest.raises(DomainError):
        validate_id_number(number, today=date(2025, 1, 1))


def test_filing_code_is_thirteen_characters_with_the_city_opening_its_serial():
    # Art. 7 赋码: letter + ministry 0000 + Anhui 34 + 6-digit serial, the serial's first two the city
    assert format_filing_code("social_org", 1, "34", "17") == "S000034170001"
    assert format_filing_code("enterprise", 1234, "34", "08") == "Y000034081234"
    assert len(format_filing_code("school", 9_999, "34", "17")) == 13


def test_two_cities_of_a_province_never_issue_the_same_code():
    chizhou = {format_filing_code("social_org", n, "34", "17") for n in range(1, 10_000)}
    anqing = {format_filing_code("social_org", n, "34", "08") for n in range(1, 10_000)}
    assert len(chizhou) == len(anqing) == 9_999 and not chizhou & anqing


def test_school_is_filed_as_employer_type():
    assert FILING_CODE_LETTER["school"] == "Y"
    assert format_filing_code("school", 7, "34", "17").startswith("Y")


@pytest.mark.parametrize("serial", [0, 10_000, -1])
def test_filing_serial_out_of_range_is_refused(serial):
    with pytest.raises(DomainError) as raised:
        format_filing_code("enterprise", serial, "34", "17")
    assert "本市备案序号应在1至9999之间" in raised.value.message


def test_filing_code_of_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        format_filing_code("hospital", 1, "34", "17")


def test_filing_code_parses_back():
    assert parse_filing_code(" s000034000012 ") == FilingCode("S", "0000", "34", 12)
    assert str(parse_filing_code("Y000034000012")) == "Y000034000012"


@pytest.mark.parametrize("code", ["S0000340000012", "X000034000001", "S00003400001A", "S000034000000"])
def test_malformed_filing_code_is_refused(code):
    with pytest.raises(DomainError) as raised:
        parse_filing_code(code)
    assert raised.value.field == "filing_code"
