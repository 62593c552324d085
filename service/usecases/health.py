"""Whether this install can serve (issue 18): what a load balancer or an operator asks before
sending traffic. Each check says in a few words what is wrong; none reveals data."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from ..store import migrate
from ..store.models import DefinitionVersion, SchedulerHeartbeat
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
