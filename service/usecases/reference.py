"""Reference data pages need on every request: read once per process, it changes only on deploy."""
from __future__ import annotations

from sqlalchemy import func, select

from ..reference import load_reference_data
from ..store.db import read_only
from ..store.models import Jurisdiction, Occupation
from .context import Context, unit_of_work


def jurisdictions(ctx: Context) -> dict[str, str]:
    with unit_of_work(ctx) as session:
        return dict(read_only(session).execute(select(Jurisdiction.code, Jurisdiction.name)
                                               .order_by(Jurisdiction.code)).all())


def occupations(ctx: Context) -> list[dict]:
    """The occupations (细类) of the catalogue, each saying whether it may be filed: skill-type
    (Art. 4) and not access-type (Art. 8.2, 9.2); the others named as such, for scopes filed before."""
    with unit_of_work(ctx) as session:
        rows = read_only(session).execute(
            select(Occupation.code, Occupation.name, Occupation.access_type, Occupation.is_skill)
            .where(Occupation.level == 4).order_by(Occupation.code)).all()
        return [{"code": code, "name": name + ("" if skill else "（非技能类，不可备案）")
                 + ("（准入类，不可备案）" if access else ""), "fileable": skill and not access}
                for code, name, access, skill in rows]


def reload(ctx: Context) -> str:
    """Load reference data again, so edited flags (data/occupations-skill-overrides.csv) take effect."""
    with unit_of_work(ctx) as session:
        load_reference_data(session, ctx.bureau)
        fileable = session.scalar(select(func.count()).select_from(Occupation).where(
            Occupation.level == 4, Occupation.is_skill.is_(True), Occupation.access_type.is_(False)))
    return f"reference data loaded: {fileable} fileable occupations"
