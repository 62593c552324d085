"""Reference data pages need on every request: read once per process, it changes only on deploy."""
from __future__ import annotations

from sqlalchemy import select

from ..store.db import read_only
from ..store.models import Jurisdiction, Occupation
from .context import Context, unit_of_work


def jurisdictions(ctx: Context) -> dict[str, str]:
    with unit_of_work(ctx) as session:
        return dict(read_only(session).execute(select(Jurisdiction.code, Jurisdiction.name)
                                               .order_by(Jurisdiction.code)).all())


def occupations(ctx: Context) -> list[dict]:
    """Fileable occupations (细类) of the catalogue, access-type ones flagged (Art. 8.2, 9.2)."""
    with unit_of_work(ctx) as session:
        rows = read_only(session).execute(select(Occupation.code, Occupation.name, Occupation.access_type)
                                          .where(Occupation.level == 4).order_by(Occupation.code)).all()
        return [{"code": code, "name": name + ("（准入类，不可备案）" if access else "")}
                for code, name, access in rows]
