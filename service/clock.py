"""The one clock. Every `now` in the system comes from here; tests and training move it.

All times are naive China Standard Time (UTC+8, no daylight saving), the bureau's only zone.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

CST = timedelta(hours=8)


def system_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None) + CST


class SystemClock:
    def now(self) -> datetime:
        return system_now()


class FixedClock:
    """For tests: time stands still until the test moves it."""

    def __init__(self, now: datetime):
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime):
        self._now = now

    def advance(self, delta: timedelta):
        self._now += delta


class TrainingClock:
    """A settable clock for training and acceptance instances, so staff can rehearse a year
    in an afternoon. The offset lives in the database (setting `training_clock_offset`), so
    web workers, the scheduler and the CLI all read the same time and it survives restarts.
    Refused in production by the configuration (see service.config)."""

    KEY = "training_clock_offset"
    CACHE_SECONDS = 1.0

    def __init__(self, session_factory):
        self._session_factory = session_factory
        self._offset = timedelta(0)
        self._read_at = -1e9

    def _current_offset(self) -> timedelta:
        if time.monotonic() - self._read_at > self.CACHE_SECONDS:
            from .store.db import read_only
            from .store.models import Setting
            with self._session_factory() as session:
                value = read_only(session).scalar(select(Setting.value).where(Setting.key == self.KEY))
            self._offset = timedelta(seconds=float(value or 0))
            self._read_at = time.monotonic()
        return self._offset

    def now(self) -> datetime:
        return system_now() + self._current_offset()

    def set(self, session, now: datetime):
        from .store.models import Setting
        offset = (now - system_now()).total_seconds()
        setting = session.get(Setting, self.KEY) or Setting(key=self.KEY, value="0")
        setting.value = str(offset)
        session.add(setting)
        self._read_at = -1e9
