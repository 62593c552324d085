"""Identifiers: unified social credit codes, resident ID numbers and filing codes."""

import re
from dataclasses import dataclass
from datetime import date

from service.domain.errors import DomainError

# GB 32100-2015: the 31 characters a credit code may use (no I, O, S, V, Z); a character's value
# is its index here.
_CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# GB 11643-1999, ISO 7064 MOD 11-2.
_ID_NUMBER_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_NUMBER_CHECK_CHARS = "10X98765432"

# Art. 7 赋码 follows the provincial filing code scheme, whose first letter tells an employer-type
# institution (Y) from a social training evaluation organisation (S). A school certifies its own
# students like an employer, so it takes Y. This is data: change it here if the province says so.
FILING_CODE_LETTER = {"enterprise": "Y", "school": "Y", "social_org": "S"}

CITY_SERIAL_MAX = 9_999  # per city and code letter: the 6-digit serial is 2 digits of city, 4 of sequence


def credit_code_check_char(first17: str) -> str:
    total = sum(
        _CREDIT_CODE_CHARSET.index(char) * weight
        for char, weight in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return _CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """The normalised (stripped, upper-case) code, or DomainError saying exactly what is wrong."""
    code = value.strip().upper()
    if len(code) != 18:
        raise DomainError(f"统一社会信用代码应为18位，现为{len(code)}位", field="credit_code")
    for position, char in enumerate(code, start=1):
        if char not in _CREDIT_CODE_CHARSET:
            raise DomainError(
                f"统一社会信用代码第{position}位“{char}”不是合法字符（不使用I、O、S、V、Z）",
                field="credit_code",
            )
    if not code[2:8].isdigit():
        raise DomainError("统一社会信用代码第3至8位应为6位数字的行政区划码", field="credit_code")
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        raise DomainError(f"统一社会信用代码校验码错误：第18位应为{expected}", field="credit_code")
    return code


def id_number_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_NUMBER_WEIGHTS, strict=True))
    return _ID_NUMBER_CHECK_CHARS[total % 11]


def validate_id_number(value: str, today: date | None = None) -> str:
    """An 18-digit resident ID number, normalised (stripped, `x` -> `X`).

    `today`, when given, also rejects a birth date in the future.
    """
    number = value.strip().upper()
    if len(number) != 18:
        raise DomainError(f"身份证号码应为18位，现为{len(number)}位", field="id_number")
    if not number[:17].isdigit():
        raise DomainError("身份证号码前17位应全部为数字", field="id_number")
    if not (number[17].isdigit() or number[17] == "X"):
        raise DomainError("身份证号码第18位应为数字或X", field="id_number")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DomainError(f"身份证号码中的出生日期{number[6:14]}不存在", field="id_number") from None
    # GB 11643 writes the century, 18xx included (its own example is born 1880).
    if birth.year < 1800 or (today is not None and birth > today):
        raise DomainError(f"身份证号码中的出生日期{birth}不合理", field="id_number")
    expected = id_number_check_char(number[:17])
    if number[17] != expected:
        raise DomainError(f"身份证号码校验码错误：第18位应为{expected}", field="id_number")
    return number


@dataclass(frozen=True)
class FilingCode:
    letter: str
    ministry: str
    province: str
    serial: int

    def __str__(self) -> str:
        return f"{self.letter}{self.ministry}{self.province}{self.serial:06d}"


def format_filing_code(kind: str, sequence: int, province: str, city: str, ministry: str = "0000") -> str:
    """The 13-character institution code that opens every national certificate number.

    1 letter + 4 digits ministry (0000 when filed with a province) + 2 digits province (Anhui 34)
    + 6 digits serial, e.g. S000034170001. The serial starts with the city within the province
    (池州 341700 → 17) and counts on per city: every city of the province running this system
    issues codes from its own range, so two cities never issue the same one.
    """
    if kind not in FILING_CODE_LETTER:
        raise ValueError(f"unknown institution kind {kind!r}")
    if not re.fullmatch(r"\d{4}", ministry) or not re.fullmatch(r"\d{2}", province) or not re.fullmatch(r"\d{2}", city):
        raise ValueError(f"ministry must be 4 digits, province and city 2, got {ministry!r}, {province!r}, {city!r}")
    if not 1 <= sequence <= CITY_SERIAL_MAX:
        raise DomainError(f"本市备案序号应在1至{CITY_SERIAL_MAX}之间，现为{sequence}", field="filing_code")
    return str(FilingCode(FILING_CODE_LETTER[kind], ministry, province, int(city) * 10_000 + sequence))


def parse_filing_code(code: str) -> FilingCode:
    """Split a filing code; the letter does not tell an enterprise from a school (both Y)."""
    normalised = code.strip().upper()
    letters = "".join(sorted(set(FILING_CODE_LETTER.values())))
    match = re.fullmatch(rf"([{letters}])(\d{{4}})(\d{{2}})(\d{{6}})", normalised)
    if match is None:
        raise DomainError(
            f"备案编码“{code.strip()}”格式错误：应为1位字母（{'或'.join(letters)}）加12位数字，共13位",
            field="filing_code",
        )
    serial = int(match.group(4))
    if serial == 0:
        raise DomainError("备案编码的序号不能为000000", field="filing_code")
    return FilingCode(match.group(1), match.group(2), match.group(3), serial)
