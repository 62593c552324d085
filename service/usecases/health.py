"""Whether this install can serve (issue 18): what a load balancer or an operator asks before
sending traffic. Each check says in a few words what is wrong; none reveals data."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select, text

from ..store import migrate
from ..store.models import DefinitionVersion, HumanTask, Incident, SchedulerHeartbeat, Timer
from .context import Context

HEARTBEAT_STALE = timedelta(minutes=2)  # the scheduler passes every 15 s by default


def readiness(ctx: Context) -> dict[str, str]:
    """{check: "ok" or what is wrong}: database reachable, schema at the code's migration head,
    process definitions deployed, a scheduler's heartbeat fresh."""
    checks: dict[str, str] = {}
    try:
        with ctx.session_factory() as session:
            session.execute(text("SELECT 1"))
            current = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            expected = migrate.head()
            checks["database"] = "ok"
            checks["migrations"] = ("ok" if current == expected
                                    else f"at {current}, code expects {expected}: run upgrade-db")
            deployed = session.scalar(select(func.count()).select_from(DefinitionVersion))
            checks["definitions"] = "ok" if deployed else "nothing deployed: run deploy"
            beat = session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))
    except Exception as error:  # noqa: BLE001 - the answer is the check's, not a 500
        checks["database"] = f"unreachable: {type(error).__name__}"
        return checks
    if beat is None:
        checks["scheduler"] = "no scheduler has run: start `flask scheduler`"
    elif ctx.clock.now() - beat > HEARTBEAT_STALE:
        checks["scheduler"] = f"last pass at {beat:%Y-%m-%d %H:%M:%S}: is the scheduler running?"
    else:
        checks["scheduler"] = "ok"
    return checks


@dataclass
class Figures:
    """What the metrics report of the work itself, read from the database, so every worker and
    scheduler process agrees on them (issue 18)."""
    completions: dict[str, int] = field(default_factory=dict)  # process -> tasks completed, ever
    timers_due: int = 0  # waiting timers whose time has come
    timer_lag_seconds: float = 0.0  # how late the oldest of them is
    timers_fired: int = 0
    timers_failed: int = 0  # after their retries: incidents
    incidents_open: int = 0  # failed steps not yet resolved, and failed timers
    heartbeat_age_seconds: float | None = None  # since the freshest scheduler pass; None: never


def figures(ctx: Context) -> Figures:
    now = ctx.clock.now()
    with ctx.session_factory() as session:
        found = Figures(completions=dict(session.execute(
            select(HumanTask.process_id, func.count()).where(HumanTask.state == "completed")
            .group_by(HumanTask.process_id)).all()))
        timers = dict(session.execute(select(Timer.state, func.count()).group_by(Timer.state)).all())
        found.timers_fired, found.timers_failed = timers.get("fired", 0), timers.get("failed", 0)
        found.timers_due, oldest = session.execute(select(func.count(), func.min(Timer.due_at)).where(
            Timer.state == "waiting", Timer.due_at <= now)).one()
        found.timer_lag_seconds = (now - oldest).total_seconds() if oldest else 0.0
        found.incidents_open = found.timers_failed + session.scalar(
            select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None)))
        beat = session.scalar(select(func.max(SchedulerHeartbeat.beat_at)))
        found.heartbeat_age_seconds = (now - beat).total_seconds() if beat else None
    return found
