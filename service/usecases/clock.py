"""Moving the training clock (never available with the system clock)."""
from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import TrainingClock
from ..store.models import User
from . import audit
from .context import Context, unit_of_work
from .errors import Forbidden, Invalid

# A training clock stays where dates still mean something to the calendar and the deadlines.
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2099, 12, 31, 23, 59, 59)
MAX_ADVANCE_DAYS = 3650


def move(ctx: Context, user_id: int | None, to: datetime | None, advance_days: int | None) -> datetime:
    if not isinstance(ctx.clock, TrainingClock):
        raise Forbidden("本系统使用真实时钟，不能调整时间（仅培训/验收环境可调）")
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id) if user_id else None
        if user is not None and user.role != "analyst":
            raise Forbidden("只有分析员可以调整培训时钟")
        # only now, for someone who may move it, is the value looked at
        if advance_days is not None and abs(advance_days) > MAX_ADVANCE_DAYS:
            raise Invalid({"advance_days": f"一次前进或后退不超过{MAX_ADVANCE_DAYS}天"})
        before = ctx.clock.now()
        target = to if to is not None else before + timedelta(days=advance_days or 0)
        if target.tzinfo is not None or not EARLIEST <= target <= LATEST:
            raise Invalid({"set" if to is not None else "advance_days":
                           f"培训时钟应在{EARLIEST:%Y-%m-%d}至{LATEST:%Y-%m-%d}之间（北京时间，不带时区）"})
        ctx.clock.set(session, target)
        audit.record(session, before, user, "clock_moved", data={"from": before.isoformat(),
                                                                  "to": target.isoformat()})
    return ctx.clock.now()
