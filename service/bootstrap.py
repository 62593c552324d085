"""The one place that wires database, clock, engine and the processes together.
Tests wire the same with a fixed clock."""
from __future__ import annotations

from pathlib import Path

from . import reference
from .clock import SystemClock, TrainingClock
from .config import DEVELOPMENT_AUDIT_KEY
from .processes import (
    batch,
    complaint,
    filing,
    inspection,
    pilot,
    rating,
    rectification,
    renewal,
    review,
    revocation,
    scope_change,
    spot_check,
    supervision,
)
from .store.db import make_engine, make_session_factory
from .store.files import DiskStore, default_root
from .usecases import audit, topics
from .usecases.context import Context
from .usecases.forms import CHECKS
from .usecases.notifications import InApp

# Every process, registered here and nowhere else: its topics are what its models may call.
PROCESSES = (review, filing, pilot, renewal, scope_change, complaint, batch, inspection, supervision, rectification,
             spot_check, revocation, rating)


def registered_topics() -> dict[str, topics.Topic]:
    return topics.merge(*(process.TOPICS for process in PROCESSES))


def registered_checks() -> dict:
    """The named form checks (x-checks): the platform's and each process's own."""
    checks = dict(CHECKS)
    for process in PROCESSES:
        for name, check in getattr(process, "FORM_CHECKS", {}).items():
            if name in checks:
                raise RuntimeError(f"form check '{name}' is registered twice")
            checks[name] = check
    return checks


def registered_holds() -> dict:
    """Why a process's case may not move now (process id -> hold(session, instance) -> reason or None)."""
    return {process_id: hold for process in PROCESSES for process_id, hold in getattr(process, "HOLDS", {}).items()}


def ends_with_filing() -> frozenset[str]:
    """The processes whose cases end when their institution's filing ends (Art. 22)."""
    return frozenset(p for process in PROCESSES for p in getattr(process, "ENDS_WITH_THE_FILING", ()))


def build_context(database_url: str, clock=None, clock_kind: str = "system", audit_key: str | None = None,
                  bureau: str = reference.DEFAULT_BUREAU) -> Context:
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:///:"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    session_factory = make_session_factory(make_engine(database_url))
    # the audit chain's HMAC key: AUDIT_KEY (required in production, config.check), else the development one
    audit.install(session_factory, (audit_key or DEVELOPMENT_AUDIT_KEY).encode())
    if clock is None:
        clock = TrainingClock(session_factory) if clock_kind == "training" else SystemClock()
    return Context(session_factory=session_factory, clock=clock, topics=registered_topics(),
                   form_checks=registered_checks(), holds=registered_holds(),
                   ends_with_filing=ends_with_filing(),
                   channels=(InApp(),), bureau=reference.bureau(bureau), files=DiskStore(default_root(database_url)))
