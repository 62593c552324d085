"""Moving the training clock (never available with the system clock)."""
from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import TrainingClock
from ..store.models import User
from . import audit
from .context import Context, unit_of_work
from .errors import Forbidden


def move(ctx: Context, user_id: int | None, to: datetime | None, advance: timedelta | None) -> datetime:
    if not isinstance(ctx.clock, TrainingClock):
        raise Forbidden("本系统使用真实时钟，不能调整时间（仅培训/验收环境可调）")
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id) if user_id else None
        if user is not None and user.role != "analyst":
            raise Forbidden("只有分析员可以调整培训时钟")
        before = ctx.clock.now()
        target = to if to is not None else before + (advance or timedelta(0))
        ctx.clock.set(session, target)
        audit.record(session, before, user, "clock_moved", data={"from": before.isoformat(),
                                                                  "to": target.isoformat()})
    return ctx.clock.now()
