"""Skill levels (Art. 5) and the check of a filing scope: which occupations, at which levels."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from service.domain.occupations import Occupation


@dataclass(frozen=True)
class SkillLevel:
    code: str
    name: str
    digit: int | None  # the level digit in a national certificate number; None for the new eight-level titles
    rank: int  # 1 = lowest


# Art. 5: five national levels, plus 学徒工 below and 特级技师, 首席技师 above (新八级工制度).
LEVELS: dict[str, SkillLevel] = {
    level.code: level
    for level in (
        SkillLevel("apprentice", "学徒工", None, 1),
        SkillLevel("5", "五级/初级工", 5, 2),
        SkillLevel("4", "四级/中级工", 4, 3),
        SkillLevel("3", "三级/高级工", 3, 4),
        SkillLevel("2", "二级/技师", 2, 5),
        SkillLevel("1", "一级/高级技师", 1, 6),
        SkillLevel("special", "特级技师", None, 7),
        SkillLevel("chief", "首席技师", None, 8),
    )
}

NATIONAL_LEVELS: tuple[SkillLevel, ...] = tuple(level for level in LEVELS.values() if level.digit is not None)

# What people type for a level in a sheet: the code, either half of the name, or the whole name.
_LEVEL_WORDS = {word: level.code for level in LEVELS.values()
                for word in (level.code, level.name, *level.name.split("/"))}


def parse_level(text: str) -> str | None:
    """The level code of '四级', '中级工', '四级/中级工' or '4'; None if it is none of them."""
    return _LEVEL_WORDS.get(str(text).strip().replace("／", "/"))

_KIND_NAMES = {"enterprise": "企业", "school": "技工院校", "social_org": "社会培训评价组织"}


def allowed_levels(kind: str) -> tuple[SkillLevel, ...]:
    # Art. 5: only an employer may set up 学徒工, 特级技师 and 首席技师 for its posts; a social training
    # evaluation organisation must keep strictly to the national standards, and a school certifies
    # students against those standards (Art. 12).
    if kind == "enterprise":
        return tuple(LEVELS.values())
    if kind in ("social_org", "school"):
        return NATIONAL_LEVELS
    raise ValueError(f"unknown institution kind {kind!r}")


def check_scope(
    kind: str,
    items: Iterable[tuple[str, str]],
    occupation: Callable[[str], Occupation | None],
) -> list[str]:
    """Problems with a requested scope of (occupation code, level code) pairs, in Chinese; empty if fine."""
    allowed = {level.code for level in allowed_levels(kind)}
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for occupation_code, level_code in items:
        found = occupation(occupation_code)
        label = f"“{occupation_code}”" if found is None else f"“{occupation_code} {found.name}”"
        level = LEVELS.get(level_code)
        if (occupation_code, level_code) in seen:
            # Reported once; whatever else is wrong with the pair was said at its first occurrence.
            errors.append(f"{label}的{level.name if level else level_code}等级重复填报")
            continue
        seen.add((occupation_code, level_code))
        if found is None:
            errors.append(f"职业编码{label}不在国家职业分类大典中，不能备案（第八条第2项、第九条第2项）")
        elif not found.is_occupation:
            errors.append(f"{label}是职业类别而非具体职业（细类），请选择具体职业（第四条）")
        elif not found.is_skill:
            errors.append(f"第四条：{label}不是技能类职业（工种），不能备案")
        elif found.access_type:
            errors.append(f"{label}属于准入类职业资格，不得备案职业技能等级认定（第八条第2项、第九条第2项）")
        if level is None:
            errors.append(f"{label}的等级“{level_code}”无效（第五条）")
        elif level_code not in allowed:
            errors.append(
                f"{label}：{_KIND_NAMES[kind]}不能备案{level.name}等级（第五条：{_level_rule(kind)}）"
            )
    return errors


def _level_rule(kind: str) -> str:
    if kind == "social_org":
        return "社会培训评价组织应严格执行国家职业技能标准"
    return "学徒工、特级技师、首席技师仅限有条件的用人单位根据岗位设置需要设立"
