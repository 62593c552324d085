"""Append-only audit log, tamper-evident (Art. 8.3, 16, 18: every step recorded and traceable).

**Chains.** Each case (process instance) has its own hash chain: an event carries the hash of the
case's previous event, and the instance row keeps the hash of the last one (its head). The head
is written by the same version-checked UPDATE that stores the workflow (or, for events that move
no workflow, by one at commit), so two writers can never both extend a case's chain, and no
global lock serialises the whole bureau. Events that belong to no case (calendar entries, clock
moves, deploys, objections, and the anchors and seals below) form one global chain, serialised
by a lock.

**Keyed.** An event's hash is HMAC-SHA256 over every field the record prints or keeps (time,
actor id and name, action, case, institution, step id and title, opinion, data) and the previous
hash, with AUDIT_KEY, a key that is not in the database (service/config.py; installed on the
sessions by bootstrap). Without the key, an edited or deleted event cannot be hidden by
recomputing the hashes after it.

**Anchored.** A case's first event also appends an anchor (`case_opened`, with the first
event's hash) to the global chain, and every verification (`flask verify-audit`, or 立即校验 on
the home page of the city and analysts) appends a seal (`audit_verified`) with each case's count
of events and head that changed since the last seal. So a case whose events were all deleted
and whose head was emptied is found (its anchor says it had a first event), as is a deleted
case, and a case cut back below what a verification sealed.

**Rows written before the key** (migration 0013 marks them `hash_version` 1) are checked the
old way: plain SHA-256 over the fields it covered then (not task_title). Such a row can be
edited and its plain hashes recomputed undetected, unless a keyed row follows it in its chain
(whose keyed hash covers the old row's hash) or a seal covers it; verification says how many
rows it could check only the old way. A `hash_version` 1 row after a keyed row of its chain
is a break (a downgrade).

**Not detected:** events of a case cut from its end, together with its head moved back, after
the last seal (no global write per step, by design; verify daily to narrow that window); the
whole log put back to an earlier consistent state, the global chain's newest anchors and seals
included (compare the global head verify-audit prints with a copy kept outside the database);
anything done by someone who holds AUDIT_KEY; changes to the business tables themselves.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .. import logs
from ..store import held
from ..store.db import read_only
from ..store.models import AuditEvent, ProcessInstance, User
from .context import Context, unit_of_work
from .errors import Forbidden

GENESIS = "0" * 64
LEGACY, KEYED = 1, 2  # AuditEvent.hash_version
APPEND = AuditEvent.__table__.insert().inline()  # inline: no id read back (store.held)
# every field of a row but its id and hash: all of them are hashed (keyed rows)
FIELDS = ("at", "actor_id", "actor_name", "action", "instance_id", "institution_id", "task_name", "task_title",
          "opinion", "data")
COLUMNS = (*FIELDS, "prev_hash", "hash", "hash_version", "request_id")
KEY = "audit_key"  # the session.info entry install() puts the key in
CASE_OPENED, VERIFIED = "case_opened", "audit_verified"


def _plain(value):
    # A Decimal (exact case data) digests as the number it is, so the event read back from its JSON
    # column digests alike, and events written before numbers were decimals (floats) still verify.
    return float(value) if isinstance(value, Decimal) else str(value)


def _keyed_digest(key: bytes, prev_hash: str, row: Mapping) -> str:
    body = json.dumps([KEYED, prev_hash, row["at"].isoformat(), *(row[name] for name in FIELDS[1:])],
                      ensure_ascii=False, sort_keys=True, default=_plain)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _legacy_digest(prev_hash: str, row: Mapping) -> str:
    """The unkeyed hash of rows written before migration 0013, exactly as it was computed."""
    body = json.dumps([prev_hash, row["at"].isoformat(), row["actor_id"], row["actor_name"], row["action"],
                       row["instance_id"], row["institution_id"], row["task_name"], row["opinion"], row["data"]],
                      ensure_ascii=False, sort_keys=True, default=_plain)
    return hashlib.sha256(body.encode()).hexdigest()


def _key(session: Session) -> bytes:
    try:
        return session.info[KEY]
    except KeyError:
        raise RuntimeError("no audit key on this session: build the context with bootstrap.build_context") from None


def _heads(session: Session) -> dict[int, str]:
    """Chain heads appended in this transaction and not yet written to their instance."""
    return session.info.setdefault("audit_heads", {})


def record(session: Session, at, actor: User | None, action: str, *, instance_id=None, institution_id=None,
           task_name=None, task_title=None, opinion=None, data=None) -> str:
    """Append an event to its chain; returns its hash."""
    key = _key(session)
    heads = _heads(session)
    first = False
    if instance_id is not None:
        last = heads.get(instance_id)
        if last is None:  # usually already in the session, so no statement
            last = session.get(ProcessInstance, instance_id).audit_hash
            first = last is None
    else:
        last = _global_head(session)
    row = dict(at=at, actor_id=actor.id if actor else None, actor_name=actor.display_name if actor else "系统",
               action=action, instance_id=instance_id, institution_id=institution_id, task_name=task_name,
               task_title=task_title, opinion=opinion, data=data or {}, prev_hash=last or GENESIS,
               hash_version=KEYED, request_id=logs.REQUEST_ID.get())
    row["hash"] = _keyed_digest(key, row["prev_hash"], row)
    # A plain INSERT (held in a scheduler batch): the log is written, not read back by the use case.
    held.write(session, APPEND, [{c: row[c] for c in COLUMNS}])
    if instance_id is not None:
        heads[instance_id] = row["hash"]
        if first:  # the case exists from now on: its whole log cannot vanish unseen
            record(session, at, None, CASE_OPENED, institution_id=institution_id,
                   data={"case": instance_id, "first": row["hash"]})
    return row["hash"]


def _global_head(session: Session) -> str | None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    # names audit_event, so what this transaction holds back is written first (store.held)
    return session.execute(select(AuditEvent.hash).where(AuditEvent.instance_id.is_(None))
                           .order_by(AuditEvent.id.desc()).limit(1)).scalar()


def take_head(session: Session, instance_id: int) -> str | None:
    """For the instance's own UPDATE: the new head, now written by the caller."""
    return _heads(session).pop(instance_id, None)


def forget(session: Session, instance_id: int) -> None:
    """After a rolled-back savepoint: the events it appended are gone, so is their head."""
    _heads(session).pop(instance_id, None)


def _write_heads(session: Session) -> None:
    for instance_id, head in list(_heads(session).items()):
        instance = session.get(ProcessInstance, instance_id)
        written = session.execute(update(ProcessInstance).where(
            ProcessInstance.id == instance_id, ProcessInstance.version == instance.version)
            .values(audit_hash=head, version=instance.version + 1))
        if written.rowcount != 1:
            raise StaleDataError(f"process instance {instance_id} was changed by someone else")
    _heads(session).clear()


def install(session_factory: sessionmaker, key: bytes) -> None:
    """Every session signs with `key`; heads not written by a workflow save are written just
    before commit."""
    session_factory.configure(info={**session_factory.kw.get("info", {}), KEY: key})
    event.listen(session_factory, "before_commit", _write_heads)
    event.listen(session_factory, "after_rollback", lambda session: _heads(session).clear())


# --- verification ---------------------------------------------------------------------------------


@dataclass
class Break:
    """The first event of a chain that does not hold."""

    event_id: int  # 0 when nothing is left of the chain
    instance_id: int | None  # the case; None for the global chain
    problem: str  # in Chinese, for operators and staff

    def __str__(self) -> str:
        chain = f"案件{self.instance_id}" if self.instance_id is not None else "全局链"
        where = f"第{self.event_id}条记录" if self.event_id else ""
        return f"{chain}：{where}{self.problem}".replace("：：", "：")


@dataclass
class Report:
    breaks: list[Break] = field(default_factory=list)
    events: int = 0
    legacy: int = 0  # rows checked only the old, unkeyed way
    cases: int = 0
    unsealed: int = 0  # cases begun before anchors and not sealed yet: a wiped log would not show
    global_head: str = GENESIS
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)  # case -> (events, head) as found

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first_broken(self) -> int | None:
        return min(b.event_id for b in self.breaks) if self.breaks else None

    def summary(self) -> str:
        if self.intact:
            text_ = f"审计链校验：完好（{self.cases}个案件，共{self.events}条记录）"
        else:
            text_ = f"审计链校验：发现{len(self.breaks)}处被改动——" + "；".join(str(b) for b in self.breaks[:3])
        if self.legacy:
            text_ += f"。其中{self.legacy}条为启用密钥前的旧记录，只能按旧方式（不含密钥）校验"
        if self.unsealed:
            text_ += f"。{self.unsealed}个案件开始于启用锚点之前，本次校验后已封存"
        return text_


@dataclass
class _Chain:
    prev: str = GENESIS
    count: int = 0
    last_id: int = 0
    keyed: bool = False  # a keyed row was seen: an old-style row after it is a downgrade
    first_hash: str | None = None
    broken: bool = False
    sealed_at: int | None = None  # the count a seal vouches for, and its hash (checked on the way)
    sealed_hash: str | None = None
    seal_id: int = 0


def _rows(session: Session, case_events: bool) -> Iterator[Mapping]:
    table = AuditEvent.__table__
    where = table.c.instance_id.isnot(None) if case_events else table.c.instance_id.is_(None)
    query = select(table).where(where).order_by(table.c.id).execution_options(yield_per=2000)
    yield from session.execute(query).mappings()


def _check_row(key: bytes, chain: _Chain, row: Mapping) -> str | None:
    """What is wrong with the next row of a chain, or None."""
    if row["prev_hash"] != chain.prev:
        return "与前一条记录接不上：其前的记录被删除、插入或改动"
    if row["hash_version"] == KEYED:
        if not hmac.compare_digest(_keyed_digest(key, row["prev_hash"], row), row["hash"]):
            return "被改动（校验值不符）"
        chain.keyed = True
    elif row["hash_version"] == LEGACY:
        if chain.keyed:
            return "标为启用密钥前的旧记录，却排在加密钥的记录之后：被改动"
        if _legacy_digest(row["prev_hash"], row) != row["hash"]:
            return "被改动（旧式校验值不符）"
    else:
        return f"的校验方式（{row['hash_version']}）未知：被改动"
    return None


def verify(session: Session) -> Report:
    """Every chain checked from its start; the first break of each chain reported."""
    key = _key(session)
    report = Report()
    anchors: dict[int, tuple[int, str]] = {}  # case -> (anchor event id, hash of its first event)
    seals: dict[int, tuple[int, int, str]] = {}  # case -> (seal event id, count, head)
    world = _Chain()
    for row in _rows(session, case_events=False):
        report.events += 1
        if world.broken:
            continue
        problem = _check_row(key, world, row)
        if problem:
            world.broken = True
            report.breaks.append(Break(row["id"], None, problem))
            continue
        world.prev, world.last_id = row["hash"], row["id"]
        report.legacy += row["hash_version"] == LEGACY
        if row["hash_version"] != KEYED:
            continue
        if row["action"] == CASE_OPENED:
            anchors.setdefault(row["data"]["case"], (row["id"], row["data"]["first"]))
        elif row["action"] == VERIFIED:
            for case, (count, head) in row["data"].get("sealed", {}).items():
                seals[int(case)] = (row["id"], count, head)
    report.global_head = world.prev

    chains: dict[int, _Chain] = {}
    for case, (seal_id, count, head) in seals.items():
        chains[case] = _Chain(sealed_at=count, sealed_hash=head, seal_id=seal_id)
    for row in _rows(session, case_events=True):
        report.events += 1
        chain = chains.setdefault(row["instance_id"], _Chain())
        if chain.broken:
            continue
        problem = _check_row(key, chain, row)
        if problem:
            chain.broken = True
            report.breaks.append(Break(row["id"], row["instance_id"], problem))
            continue
        report.legacy += row["hash_version"] == LEGACY
        chain.prev, chain.last_id, chain.count = row["hash"], row["id"], chain.count + 1
        if chain.count == 1:
            chain.first_hash = row["hash"]
        if chain.count == chain.sealed_at and row["hash"] != chain.sealed_hash:
            chain.broken = True
            report.breaks.append(Break(row["id"], row["instance_id"],
                                       f"与第{chain.seal_id}条校验记录封存的不符：其前的记录被替换"))

    instances = dict(session.execute(select(ProcessInstance.id, ProcessInstance.audit_hash)).all())
    report.cases = len(instances)
    for case in sorted(set(instances) | set(anchors) | set(chains)):
        chain = chains.get(case, _Chain())
        if chain.broken:
            continue
        problem, at = _case_problem(case, chain, instances, anchors.get(case))
        if problem:
            report.breaks.append(Break(at, case, problem))
        elif case in instances:
            report.heads[case] = (chain.count, chain.prev)
            report.unsealed += case not in anchors and chain.sealed_at is None
    report.breaks.sort(key=lambda b: (b.event_id or 0, b.instance_id or 0))
    return report


def _case_problem(case: int, chain: _Chain, instances: dict, anchor: tuple[int, str] | None
                  ) -> tuple[str | None, int]:
    if case not in instances:
        vouched = anchor[0] if anchor else chain.seal_id
        return (f"记载的案件{case}已不存在：案件被删除", vouched) if (anchor or chain.sealed_at is not None) else (
            f"所属的案件{case}不存在", chain.last_id)
    if anchor is not None and chain.first_hash != anchor[1]:
        return (f"记载案件{case}已开始办理，但其第一条记录" + ("已不存在：全部记录被删除" if chain.count == 0
                                                         else "与之不符：记录被删除后重写"), anchor[0])
    if chain.sealed_at is not None and chain.count < chain.sealed_at:
        return (f"（校验封存）记载案件{case}有{chain.sealed_at}条记录，现只有{chain.count}条：后面的记录被删除",
                chain.seal_id)
    if (instances[case] or GENESIS) != chain.prev:
        if chain.count == 0:
            return "：案件已无任何记录，但其记录头仍指向一条记录：记录被删除", 0
        return "之后的记录被删除，或案件的记录头被改动（与最后一条记录不符）", chain.last_id
    return None, 0


def verify_chain(session: Session) -> int | None:
    """The id of the first event that breaks its chain (changed, removed or inserted), or None
    when every chain holds; 0 when all of a chain is gone and nothing vouches for it by id."""
    return verify(session).first_broken


# --- use cases: verify and seal, and the last result ----------------------------------------------

CHECKERS = ("city", "analyst")
OPERATOR = SimpleNamespace(id=None, display_name="运维人员（flask verify-audit）")  # who runs the command


def check(ctx: Context, user_id: int | None) -> Report:
    """Verify every chain and append the result as a seal to the global chain: each case's count
    and head that changed since the last seal, so a case cut back below them is found later.
    `user_id` None: an operator (flask verify-audit)."""
    with unit_of_work(ctx) as session:
        user = session.get(User, user_id) if user_id is not None else OPERATOR
        if user is None or (user is not OPERATOR and user.role not in CHECKERS):
            raise Forbidden("只有市局和分析员可以校验审计链")
        report = verify(session)
        sealed = _latest_seals(session)
        changed = {str(case): [count, head] for case, (count, head) in report.heads.items()
                   if sealed.get(case) != (count, head)}
        report.global_head = record(session, ctx.clock.now(), user, VERIFIED, data={
            "intact": report.intact, "events": report.events, "legacy": report.legacy, "cases": report.cases,
            "breaks": [[b.event_id, b.instance_id, str(b)] for b in report.breaks[:20]], "sealed": changed})
        return report


def _latest_seals(session: Session) -> dict[int, tuple[int, str]]:
    seals: dict[int, tuple[int, str]] = {}
    for data in session.scalars(select(AuditEvent.data).where(AuditEvent.instance_id.is_(None),
                                                              AuditEvent.action == VERIFIED).order_by(AuditEvent.id)):
        for case, (count, head) in data.get("sealed", {}).items():
            seals[int(case)] = (count, head)
    return seals


@dataclass
class LastCheck:
    at: object  # datetime
    by: str
    intact: bool
    text: str
    genuine: bool  # the record's own keyed hash holds


def last_check(ctx: Context, user_id: int) -> LastCheck | None:
    """The newest verification's result (city and analysts), as recorded in the global chain."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        if user is None or user.role not in CHECKERS:
            raise Forbidden("只有市局和分析员可以查看审计链校验结果")
        row = session.execute(select(AuditEvent.__table__).where(
            AuditEvent.instance_id.is_(None), AuditEvent.action == VERIFIED)
            .order_by(AuditEvent.id.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        genuine = row["hash_version"] == KEYED and hmac.compare_digest(
            _keyed_digest(_key(session), row["prev_hash"], row), row["hash"])
        data = row["data"]
        if not genuine:
            said = f"第{row['id']}条记录（校验结果）本身被改动，请运维人员运行 flask verify-audit"
        elif data.get("intact"):
            said = f"完好（{data.get('cases', 0)}个案件，共{data.get('events', 0)}条记录）"
        else:
            said = "发现被改动的记录——" + "；".join(b[2] for b in data.get("breaks", [])[:3])
        return LastCheck(row["at"], row["actor_name"], genuine and bool(data.get("intact")), said, genuine)
