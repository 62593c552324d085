"""Loading reference data (jurisdictions, occupation catalogue) into the database."""
from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from .domain.bureau import Bureau, load_bureau
from .domain.occupations import index_by_code, load_catalogue
from .store.models import Jurisdiction, Occupation

DATA = Path(__file__).resolve().parent.parent / "data"
SKILL_OVERRIDES = DATA / "occupations-skill-overrides.csv"  # Art. 4 corrections the analysts keep
DEFAULT_BUREAU = "chizhou"


def bureau(name: str = DEFAULT_BUREAU) -> Bureau:
    """The bureau named by the BUREAU setting: data/bureaus/<name>.json, or a path to such a file."""
    return load_bureau(Path(name) if name.endswith(".json") else DATA / "bureaus" / f"{name}.json")


def load_reference_data(session, bureau: Bureau) -> None:
    """Idempotent: jurisdictions and occupations already present are left alone, except the flags
    that decide what may be filed (Art. 4 skill-type, Art. 8.2/9.2 access-type), which follow the
    data files, so an analyst's correction takes effect the next time reference data loads."""
    if session.scalar(select(Jurisdiction.code).limit(1)) is None:
        with open(bureau.jurisdictions, encoding="utf-8") as f:
            session.add_all(Jurisdiction(**row) for row in csv.DictReader(f))
    catalogue = index_by_code(load_catalogue(DATA / "occupations-2022.csv", DATA / "occupations-demo.csv",
                                             SKILL_OVERRIDES))
    if session.scalar(select(Occupation.code).limit(1)) is None:
        session.add_all(Occupation(code=o.code, name=o.name, level=o.level, definition=o.definition or "",
                                   is_digital=o.is_digital, is_green=o.is_green, access_type=o.access_type,
                                   is_skill=o.is_skill)
                        for o in catalogue.values())
    else:
        for row in session.scalars(select(Occupation)):
            found = catalogue.get(row.code)
            if found is not None and (row.is_skill, row.access_type) != (found.is_skill, found.access_type):
                row.is_skill, row.access_type = found.is_skill, found.access_type
    session.flush()
