"""Wiring: one Context per process (web, scheduler, CLI), and the unit of work per use case."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .. import reference as reference_data
from ..domain import calendar as cal
from ..domain.bureau import Bureau
from ..engine.definitions import Bundle, Definitions, compile_bundle
from ..engine.runtime import Engine
from ..engine.sandbox import Sandbox, charge
from ..store.db import read_only
from ..store.files import FileStore
from ..store.models import CalendarYear, DefinitionVersion
from .topics import Topic

ROLES = {"institution", "county", "city", "inspector", "province", "analyst"}


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


@dataclass
class Context:
    session_factory: sessionmaker[Session]
    clock: object
    topics: dict[str, Topic]  # every process's service topics, registered at start-up (bootstrap)
    form_checks: dict[str, object]  # the named form checks (x-checks) each process registers (bootstrap)
    holds: dict[str, object] = field(default_factory=dict)  # process -> why its cases wait (bootstrap)
    ends_with_filing: frozenset[str] = frozenset()  # processes whose cases end with the filing (bootstrap)
    channels: tuple = ()  # where notifications go (notifications.Channel); in-app by default
    calendar: cal.WorkingCalendar = field(default_factory=cal.WorkingCalendar)
    bureau: Bureau = field(default_factory=reference_data.bureau)  # who runs this install (BUREAU setting)
    files: FileStore | None = None  # large files outside the database (Art. 16 archives), store/files.py
    _definitions: dict[int, Definitions] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _calendar_read_at: float = -1e9

    def __post_init__(self):
        self.sandbox = Sandbox(self.model_functions())
        self.engine = Engine(self.sandbox, self.clock)

    def today(self) -> date:
        return self.clock.now().date()

    def model_functions(self) -> dict:
        """The only functions BPMN and DMN expressions may call (documented in docs/analysts.md)."""
        return {
            "today": lambda: self.today().isoformat(),
            "working_days_after": self._working_days_after,
            "end_of": lambda day: cal.end_of(_as_date(day)).isoformat(),
            "add_years": lambda day, n: cal.add_years(_as_date(day), int(n)).isoformat(),
            "add_days": lambda day, n: cal.add_days(_as_date(day), int(n)).isoformat(),
        }

    def _working_days_after(self, start, n) -> str:
        days = int(n)
        charge(days)  # a day at a time: a huge n costs the expression's budget, not minutes
        return self.current_calendar().working_days_after(_as_date(start), days).isoformat()

    def current_calendar(self) -> cal.WorkingCalendar:
        """Analyst-entered years, re-read at most every 30 s so other processes see new entries."""
        if time.monotonic() - self._calendar_read_at > 30:
            with self.session_factory() as session:
                rows = read_only(session).scalars(select(CalendarYear)).all()
                years = {row.year: cal.parse_year_arrangement(row.year, row.text) for row in rows}
            self.calendar = cal.WorkingCalendar(years)
            self._calendar_read_at = time.monotonic()
        return self.calendar

    def forget_calendar(self):
        self._calendar_read_at = -1e9

    def definitions(self, session: Session, version_id: int) -> Definitions:
        """Compiled once per process per version; versions never change."""
        found = self._definitions.get(version_id)
        if found is None:
            with self._lock:
                found = self._definitions.get(version_id)
                if found is None:
                    row = session.get(DefinitionVersion, version_id)
                    found = self.compile(Bundle(dict(row.files)), deploying=False)
                    self._definitions[version_id] = found
        return found

    def remember(self, version_id: int, definitions: Definitions) -> None:
        self._definitions[version_id] = definitions

    def compile(self, bundle: Bundle, deploying: bool = True) -> Definitions:
        return compile_bundle(bundle, roles=ROLES, topics={name: t.inputs for name, t in self.topics.items()},
                              sandbox=self.sandbox, form_checks=self.form_checks, deploying=deploying)

    def latest_version_id(self, session: Session) -> int:
        """The current version, which new cases start on: the one last deployed, which may be an
        earlier version deployed again (usecases/definitions.py), not the newest stored."""
        version_id = session.scalar(select(DefinitionVersion.id).order_by(
            DefinitionVersion.activation.desc(), DefinitionVersion.id.desc()).limit(1))
        if version_id is None:
            raise RuntimeError("no process definitions deployed: run `flask --app service.app deploy`")
        return version_id


@contextmanager
def unit_of_work(ctx: Context) -> Iterator[Session]:
    """One transaction per use case: commit on success, roll back on any error."""
    session = ctx.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
