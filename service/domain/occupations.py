"""The occupational classification (职业分类大典, 2022 edition) and the flags that decide what may be filed.

Pure readers: they take paths or text and return dataclasses; where the files live is the caller's
business. Art. 4 allows only skill-type occupations (技能类职业（工种）); Art. 8.2 and 9.2 only
occupations inside the classification and outside the access-type (准入类) qualifications of the
国家职业资格目录.

Skill-type follows the classification's major groups (大类): 3 办事人员和有关人员, 4 社会生产服务和
生活服务人员, 5 农、林、牧、渔业生产及辅助人员 and 6 生产制造及有关人员 are skill-type; 1 (负责人),
2 (专业技术人员), 7 (军队人员) and 8 (不便分类的其他从业人员) are not. Where an occupation differs from
its group (人民警察 sits in group 3), a per-code override with its reason says so, in a CSV the
analysts keep (data/occupations-skill-overrides.csv).
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from service.domain.errors import DomainError

# The classification marks digital occupations with a trailing S, green ones with L, both with L/S,
# always right after the Chinese name (no name contains other Latin letters; checked in 2022 data).
_MARKER = re.compile(r"(?<=[^A-Za-z/])(L/S|S/L|L|S)$")

FILEABLE_LEVEL = 4  # 细类: the occupation itself; levels 1-3 are 大类, 中类, 小类
SKILL_GROUPS = frozenset("3456")  # Art. 4: the major groups (大类, first digit) of skill-type occupations


@dataclass(frozen=True)
class Occupation:
    code: str  # e.g. 6-31-01-03
    name: str
    level: int
    definition: str
    is_digital: bool
    is_green: bool
    access_type: bool  # in the skill part of the 国家职业资格目录 (2021): a government qualification
    is_skill: bool  # Art. 4: a skill-type occupation (技能类职业（工种）)

    @property
    def is_occupation(self) -> bool:
        """A 细类, the occupation itself, not a group of them."""
        return self.level == FILEABLE_LEVEL

    @property
    def is_fileable(self) -> bool:
        """May be filed for skill-level certification: Art. 4 (skill-type), 8.2 and 9.2 (not access-type)."""
        return self.is_occupation and self.is_skill and not self.access_type


def in_skill_group(code: str) -> bool:
    """Art. 4, by the major group the code starts with; overrides may say otherwise."""
    return code[:1] in SKILL_GROUPS


def split_marker(name: str) -> tuple[str, bool, bool]:
    """(name without marker, is_digital, is_green)."""
    name = name.strip()
    match = _MARKER.search(name)
    if match is None:
        return name, False, False
    marker = match.group(1)
    return name[: match.start()], "S" in marker, "L" in marker


def parse_classification(text: str) -> list[Occupation]:
    """Rows of the classification CSV (level, code, code_num, name, definition, tasks, ...).

    Exact duplicate rows in the source are kept once. A code may appear twice with different
    levels: a 小类 without subdivisions is also its own 细类 (e.g. 2-03-01-00).
    """
    occupations: list[Occupation] = []
    seen: set[tuple[str, int]] = set()
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            level = int(row["level"])
            code = row["code"].strip()
        except (KeyError, TypeError, ValueError):
            raise DomainError(f"职业分类文件第{number}行缺少或无法识别“level”“code”列") from None
        if not re.fullmatch(r"\d-\d{2}-\d{2}-\d{2}", code) or not 1 <= level <= FILEABLE_LEVEL:
            raise DomainError(f"职业分类文件第{number}行编码“{code}”或层级“{row['level']}”无效")
        if (code, level) in seen:
            continue
        seen.add((code, level))
        name, is_digital, is_green = split_marker(row.get("name") or "")
        occupations.append(
            Occupation(
                code=code,
                name=name,
                level=level,
                definition=(row.get("definition") or "").strip(),
                is_digital=is_digital,
                is_green=is_green,
                access_type=False,
                is_skill=in_skill_group(code),
            )
        )
    return occupations


def parse_directory_flags(text: str) -> dict[str, tuple[str, bool]]:
    """code_2022 -> (name, in the 2021 skill directory) from the flags CSV."""
    flags: dict[str, tuple[str, bool]] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        answer = (row.get("in_2021_skill_directory") or "").strip().lower()
        if answer not in ("yes", "no"):
            raise DomainError(f"职业资格目录标记文件第{number}行“in_2021_skill_directory”应为yes或no")
        flags[(row.get("code_2022") or "").strip()] = ((row.get("name") or "").strip(), answer == "yes")
    return flags


def apply_directory_flags(
    occupations: Iterable[Occupation], flags: dict[str, tuple[str, bool]]
) -> list[Occupation]:
    """Mark access-type occupations; a flag naming an unknown occupation is refused, not ignored."""
    occupations = list(occupations)
    fileable = {o.code: o for o in occupations if o.is_occupation}
    for code, (name, _) in flags.items():
        occupation = fileable.get(code)
        if occupation is None:
            raise DomainError(f"职业资格目录标记中的编码“{code}”（{name}）不是职业分类大典中的职业")
        # The flags were matched by name; a different name means the code was mistyped.
        if name and split_marker(name)[0] != occupation.name:
            raise DomainError(
                f"职业资格目录标记中的编码“{code}”名称为“{name}”，与大典中的“{occupation.name}”不符"
            )
    return [
        replace(o, access_type=True) if o.is_occupation and flags.get(o.code, ("", False))[1] else o
        for o in occupations
    ]


@dataclass(frozen=True)
class SkillOverride:
    code: str
    name: str
    is_skill: bool
    reason: str


def parse_skill_overrides(text: str) -> dict[str, SkillOverride]:
    """code -> override, from the CSV analysts keep (code, name, is_skill yes/no, reason)."""
    overrides: dict[str, SkillOverride] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        code = (row.get("code") or "").strip()
        answer = (row.get("is_skill") or "").strip().lower()
        reason = (row.get("reason") or "").strip()
        if not re.fullmatch(r"\d-\d{2}-\d{2}-\d{2}", code):
            raise DomainError(f"技能类职业更正文件第{number}行编码“{code}”无效，应如6-31-01-03")
        if answer not in ("yes", "no"):
            raise DomainError(f"技能类职业更正文件第{number}行“is_skill”应为yes或no")
        if not reason:
            raise DomainError(f"技能类职业更正文件第{number}行（{code}）缺少更正理由“reason”")
        if code in overrides:
            raise DomainError(f"技能类职业更正文件第{number}行编码“{code}”重复")
        overrides[code] = SkillOverride(code, (row.get("name") or "").strip(), answer == "yes", reason)
    return overrides


def apply_skill_overrides(occupations: Iterable[Occupation], overrides: dict[str, SkillOverride]) -> list[Occupation]:
    """Art. 4 corrections to the major-group rule; one naming an unknown occupation is refused, not ignored."""
    occupations = list(occupations)
    known = {o.code: o for o in occupations if o.is_occupation}
    for override in overrides.values():
        occupation = known.get(override.code)
        if occupation is None:
            raise DomainError(f"技能类职业更正中的编码“{override.code}”（{override.name}）不是职业分类大典中的职业")
        if override.name and split_marker(override.name)[0] != occupation.name:
            raise DomainError(f"技能类职业更正中的编码“{override.code}”名称为“{override.name}”，"
                              f"与大典中的“{occupation.name}”不符")
    return [replace(o, is_skill=overrides[o.code].is_skill) if o.is_occupation and o.code in overrides else o
            for o in occupations]


def load_catalogue(classification_path: str | Path, directory_flags_path: str | Path,
                   skill_overrides_path: str | Path | None = None) -> list[Occupation]:
    classification = Path(classification_path).read_text(encoding="utf-8-sig")
    flags = Path(directory_flags_path).read_text(encoding="utf-8-sig")
    occupations = apply_directory_flags(parse_classification(classification), parse_directory_flags(flags))
    if skill_overrides_path is not None:
        overrides = Path(skill_overrides_path).read_text(encoding="utf-8-sig")
        occupations = apply_skill_overrides(occupations, parse_skill_overrides(overrides))
    return occupations


def index_by_code(occupations: Iterable[Occupation]) -> dict[str, Occupation]:
    """Code -> occupation, the 细类 row winning where a 小类 doubles as its own 细类."""
    index: dict[str, Occupation] = {}
    for occupation in occupations:
        if occupation.code not in index or occupation.is_occupation:
            index[occupation.code] = occupation
    return index
