"""Building the benchmark's data set: a few hundred real filings driven through the use
cases, then multiplied with INSERT … SELECT into (by default) 10,000 instances. Also the few
measuring helpers the benchmarks share (percentiles, the SQL statement counter, profile paths).

Only the public use cases and the tables are used; nothing in service/ is patched.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select, text

from service.bootstrap import build_context
from service.clock import FixedClock
from service.domain.codes import CITY_SERIAL_MAX, credit_code_check_char, format_filing_code
from service.engine.definitions import read_bundle
from service.processes import filing
from service.reference import load_reference_data
from service.seed import application
from service.store.migrate import upgrade
from service.store.models import (
    Filing,
    HumanTask,
    Institution,
    Jurisdiction,
    Notice,
    Occupation,
    ProcessInstance,
    Timer,
    User,
)
from service.usecases import accounts, attachments, tasks
from service.usecases.context import Context, unit_of_work
from service.usecases.definitions import deploy
from service.usecases.timers import fire_due_timers

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-2024"
BENCH_COUNTY = "341702"  # 贵池区: the county whose user is benchmarked
BENCH_COUNTY_SHARE = 0.16  # the other six jurisdictions share the rest equally

# Where an instance stands, and the share of the instances there (the notice period's count
# is the number of timers to fire, so it is given in absolute terms; see plan_counts).
STAGES = ("institution", "county_review", "city_review", "publish_notice", "notice_period", "completed")
SHARES = {"institution": 0.15, "county_review": 0.25, "city_review": 0.15, "publish_notice": 0.15,
          "completed": 0.20}

# The clock the data is built with; the benchmark runs at BENCH_NOW (all notices still open)
# and fires the timers as of TIMERS_AS_OF (every notice closed).
T_SUBMIT = datetime(2024, 9, 2, 8, 0)
T_COUNTY = datetime(2024, 9, 3, 8, 0)
T_CITY = datetime(2024, 9, 4, 8, 0)
T_PUBLISH_EARLY = datetime(2024, 9, 5, 9, 0)   # for the completed ones
T_OBJECTION = datetime(2024, 9, 6, 10, 0)
T_CLOSE_EARLY = datetime(2024, 9, 14, 0, 0)    # after every early notice closed
T_ASSIGN = datetime(2024, 9, 14, 9, 0)
T_PUBLISH_LATE = datetime(2024, 9, 18, 9, 0)   # for the ones left in their notice period
BENCH_NOW = datetime(2024, 9, 19, 9, 0)
TIMERS_AS_OF = datetime(2024, 10, 31, 0, 0)
# Only with build(..., waiting=N) (the scheduler benchmark): a seventh stage, "notice_later",
# published on the five working days after T_PUBLISH_LATE, so its notices close (and its timers
# fall due) at the end of 2024-09-26 … 2024-10-08. At SCHEDULER_NOW, the first scheduler pass
# after the T_PUBLISH_LATE notices closed (end of 2024-09-25, 5 working days), those are due and
# every notice_later timer still waits.
LATER_STAGE = "notice_later"
T_PUBLISH_LATER = tuple(datetime(2024, 9, day, 9, 0) for day in (19, 20, 23, 24, 25))
SCHEDULER_NOW = datetime(2024, 9, 26, 0, 0, 15)


@dataclass
class Seed:
    """One real filing driven through the use cases."""
    jurisdiction: str
    stage: str
    variant: int
    institution_id: int = 0
    user_id: int = 0
    name: str = ""
    credit_code: str = ""
    kind: str = ""
    scope: list = field(default_factory=list)
    filing_id: int = 0
    instance_id: int = 0


def prepare_database(url: str) -> None:
    """A fresh schema: the SQLite file is new; a PostgreSQL database is emptied first."""
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def credit_code(serial: int, jurisdiction: str) -> str:
    division = jurisdiction if jurisdiction.isdigit() else jurisdiction[:6]
    first17 = f"52{division}MJ{serial:07d}"
    assert len(first17) == 17
    return first17 + credit_code_check_char(first17)


def _log(message: str) -> None:
    print(f"  [data] {message}", flush=True)


class Builder:
    def __init__(self, url: str, seeds_per_cell: int, rng: random.Random, later_notices: bool = False,
                 audit_key: str | None = None):
        self.url = url
        self.seeds_per_cell = seeds_per_cell
        self.stages = STAGES + ((LATER_STAGE,) if later_notices else ())
        self.rng = rng
        self.clock = FixedClock(T_SUBMIT)
        # audit_key: the key the servers will sign with (load_test.py); None, the development one
        self.ctx: Context = build_context(url, clock=self.clock, audit_key=audit_key)
        self.seeds: list[Seed] = []
        self.county_users: dict[str, int] = {}
        self.city_user = 0

    # ----------------------------------------------------------------- reference, users
    def setup(self) -> None:
        with unit_of_work(self.ctx) as session:
            load_reference_data(session, self.ctx.bureau)
        deploy(self.ctx, read_bundle(ROOT), "bench")
        with unit_of_work(self.ctx) as session:
            self.jurisdictions = [j.code for j in session.scalars(select(Jurisdiction).order_by(Jurisdiction.code))]
            # Fileable occupations (细类, not 准入类), skilled trades first, each used by one seed only
            # so the city-wide quota of Art. 7 never refuses an approval while seeding.
            codes = session.scalars(select(Occupation.code).where(
                Occupation.level == 4, Occupation.access_type.is_(False)).order_by(Occupation.code)).all()
        skilled = [c for c in codes if c[0] in "64"] + [c for c in codes if c[0] not in "64"]
        self.occupations = iter(skilled)
        self.county_users[BENCH_COUNTY] = accounts.create_user(
            self.ctx, "county", PASSWORD, "贵池区审核员", "county", jurisdiction_code=BENCH_COUNTY)
        for code in self.jurisdictions:
            if code != BENCH_COUNTY:
                self.county_users[code] = accounts.create_user(
                    self.ctx, f"county_{code}", PASSWORD, f"{code}审核员", "county", jurisdiction_code=code)
        self.city_user = accounts.create_user(self.ctx, "city", PASSWORD, "市局审核员", "city")

    def create_institutions(self) -> None:
        """One institution and one institution user per seed (one password hash shared: the
        seed users never log in, and Argon2 for each would only cost time)."""
        password_hash = accounts.hasher.hash(PASSWORD)
        kinds = ("social_org", "enterprise", "school")
        serial = 0
        for code in self.jurisdictions:
            for stage in self.stages:
                for variant in range(self.seeds_per_cell):
                    serial += 1
                    kind = kinds[serial % 3]
                    if stage == "institution" and variant % 4 == 3:
                        kind = "social_org"  # its Art. 8 site conditions are the ones left unmet below
                    scope_size = 1 + serial % 3
                    levels = ("4", "3", "5")
                    seed = Seed(code, stage, variant, kind=kind,
                                name=f"池州基准评价机构{serial:05d}号", credit_code=credit_code(serial, code),
                                scope=[(next(self.occupations), levels[k]) for k in range(scope_size)])
                    self.seeds.append(seed)
        with unit_of_work(self.ctx) as session:
            for n, seed in enumerate(self.seeds, start=1):
                row = Institution(credit_code=seed.credit_code, name=seed.name, kind=seed.kind,
                                  jurisdiction_code=seed.jurisdiction, contact_phone="13800000000")
                session.add(row)
                session.flush()
                user = User(username=f"bench_inst{n}", password_hash=password_hash,
                            display_name=f"{seed.name}经办人", role="institution", institution_id=row.id)
                session.add(user)
                session.flush()
                seed.institution_id, seed.user_id = row.id, user.id

    # ----------------------------------------------------------------- driving the filings
    def _tick(self, seconds: int = 20) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def _open_task(self, seed: Seed, name: str) -> int:
        with unit_of_work(self.ctx) as session:
            found = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == seed.instance_id,
                                                               HumanTask.state == "open",
                                                               HumanTask.name == name)).all()
        assert len(found) == 1, f"{seed}: expected one open {name}, got {found}"
        return found[0]

    def _complete(self, seed: Seed, user_id: int, name: str, data: dict) -> None:
        task_id = self._open_task(seed, name)
        if name == "city_review" and data.get("decision") == "approve":
            data = {**data, "approved_scope": tasks.open_task(self.ctx, user_id, task_id).data["scope"]}
        tasks.complete(self.ctx, user_id, task_id, data)
        self._tick()

    def _application(self, seed: Seed, attachment: int, **facts) -> dict:
        return application(seed.credit_code, seed.name, seed.kind, jurisdiction=seed.jurisdiction,
                           scope=seed.scope, attachment_id=attachment,
                           address=f"池州市{seed.jurisdiction}长江路{seed.variant + 1}号", **facts)

    def _submit(self, seed: Seed, **facts) -> None:
        attachment = attachments.upload_attachment(self.ctx, seed.user_id, "备案材料.pdf", "application/pdf",
                                              b"%PDF-1.4 bench")
        self._complete(seed, seed.user_id, "submit_application", self._application(seed, attachment, **facts))

    def drive(self) -> None:
        started = time.perf_counter()
        county = lambda seed: self.county_users[seed.jurisdiction]  # noqa: E731

        self.clock.set(T_SUBMIT)
        for seed in self.seeds:
            began = filing.start_filing(self.ctx, seed.user_id)
            seed.filing_id, seed.instance_id = began.filing_id, began.instance_id
            self._tick()
            if seed.stage == "institution" and seed.variant % 4 == 3:
                # Art. 8 not met: the application comes back with the unmet conditions
                self._submit(seed, office_area_m2=30, theory_seats=20)
            elif seed.stage != "institution" or seed.variant % 4 == 1:
                self._submit(seed)
        _log(f"{len(self.seeds)} filings started and submitted ({time.perf_counter() - started:.1f} s)")

        self.clock.set(T_COUNTY)
        for seed in self.seeds:
            if seed.stage == "institution":
                if seed.variant % 4 == 1:  # sent back for correction: the institution has it again
                    self._complete(seed, county(seed), "initial_review",
                                   {"decision": "correction", "opinion": "请补充场地租赁协议"})
                continue
            if seed.variant % 3 == 0:  # corrected once, then submitted again
                self._complete(seed, county(seed), "initial_review",
                               {"decision": "correction", "opinion": "请补充考评人员证书"})
                self._submit(seed)
            if seed.stage == "county_review":
                continue
            if seed.stage == "completed" and seed.variant % 3 == 0:
                self._complete(seed, county(seed), "initial_review",
                               {"decision": "reject", "opinion": "机构不具备独立法人资格"})
                continue
            self._complete(seed, county(seed), "initial_review", {"decision": "forward", "opinion": "同意上报"})

        self.clock.set(T_CITY)
        for seed in self.seeds:
            if seed.stage in ("institution", "county_review") or (seed.stage == "completed" and seed.variant % 3 == 0):
                continue
            if seed.variant % 4 == 2:  # the city returns it once, the county forwards it again
                self._complete(seed, self.city_user, "city_review", {"decision": "return", "opinion": "请核实场地"})
                self._complete(seed, county(seed), "initial_review",
                               {"decision": "forward", "opinion": "已核实，同意上报"})
            if seed.stage == "city_review":
                continue
            self._complete(seed, self.city_user, "city_review", {"decision": "approve", "opinion": "同意备案"})
        _log(f"county and city reviews done ({time.perf_counter() - started:.1f} s)")

        filed = [s for s in self.seeds if s.stage == "completed" and s.variant % 3 != 0]
        self.clock.set(T_PUBLISH_EARLY)
        for seed in filed:
            self._complete(seed, county(seed), "publish_notice", {"opinion": "同意公示", "notice_text": "公示"})
        self.clock.set(T_OBJECTION)
        for seed in filed:
            if seed.variant % 3 == 2:  # an objection, investigated and dismissed
                with unit_of_work(self.ctx) as session:
                    notice_id = session.scalar(select(Notice.id).where(Notice.filing_id == seed.filing_id))
                filing.submit_objection(self.ctx, notice_id, "王五", "13900000000",
                                        "该机构理论考试场地实际不足60平方米，与申报不符。")
                self._tick()
                self._complete(seed, county(seed), "investigate_objection",
                               {"finding": "dismissed", "opinion": "经现场核查，异议不属实"})
        self.clock.set(T_CLOSE_EARLY)
        fired = fire_due_timers(self.ctx)
        assert fired.fired == len(filed) and fired.failed == 0, fired
        self.clock.set(T_ASSIGN)
        for seed in filed:
            self._complete(seed, self.city_user, "assign_code", {"opinion": "同意赋码，出具备案回执"})

        self.clock.set(T_PUBLISH_LATE)
        for seed in self.seeds:
            if seed.stage == "notice_period":
                self._complete(seed, county(seed), "publish_notice", {"opinion": "同意公示", "notice_text": "公示"})
        later = [s for s in self.seeds if s.stage == LATER_STAGE]
        for day, published in enumerate(T_PUBLISH_LATER):
            self.clock.set(published)
            for seed in later[day::len(T_PUBLISH_LATER)]:
                self._complete(seed, county(seed), "publish_notice", {"opinion": "同意公示", "notice_text": "公示"})
        _log(f"notices, objections, timers and receipts done ({time.perf_counter() - started:.1f} s)")

    # ----------------------------------------------------------------- multiplying
    def later_count(self, waiting: int, timers: int) -> int:
        """How many notice_later instances make `waiting` waiting timers in all: the `timers` due
        ones, the notice_later ones and those already waiting outside the notices (the pilot and
        renewal timers of the filed seeds, which are not copied)."""
        notice_seeds = [s.instance_id for s in self.seeds if s.stage in ("notice_period", LATER_STAGE)]
        with unit_of_work(self.ctx) as session:
            others = session.scalar(select(func.count()).select_from(Timer).where(
                Timer.state == "waiting", Timer.instance_id.not_in(notice_seeds)))
        return waiting - timers - others

    def plan_counts(self, instances: int, timers: int, later: int = 0) -> dict[tuple[str, str], int]:
        """How many instances each (jurisdiction, stage) cell gets in the end: `instances` in the
        six stages (`timers` of them in their notice period), plus `later` notice_later ones."""
        rest = instances - timers
        per_stage = {stage: rest * share / sum(SHARES.values()) for stage, share in SHARES.items()}
        per_stage = _round_keeping_total(per_stage, rest)
        per_stage["notice_period"] = timers
        if LATER_STAGE in self.stages:
            per_stage[LATER_STAGE] = later
        others = [j for j in self.jurisdictions if j != BENCH_COUNTY]
        weights = {BENCH_COUNTY: BENCH_COUNTY_SHARE, **{j: (1 - BENCH_COUNTY_SHARE) / len(others) for j in others}}
        counts = {}
        for stage, total in per_stage.items():
            split = _round_keeping_total({j: total * w for j, w in weights.items()}, total)
            for j, n in split.items():
                counts[(j, stage)] = n
        return counts

    def multiply(self, instances: int, timers: int, later: int = 0) -> None:
        started = time.perf_counter()
        counts = self.plan_counts(instances, timers, later)
        by_cell = defaultdict(list)
        for seed in self.seeds:
            by_cell[(seed.jurisdiction, seed.stage)].append(seed)
        for cell, wanted in counts.items():
            if wanted < len(by_cell[cell]):
                raise SystemExit(f"cell {cell} wants {wanted} instances but has {len(by_cell[cell])} seeds: "
                                 "raise --instances (or --waiting) or lower --seeds-per-cell")

        with unit_of_work(self.ctx) as session:
            details = {}
            for seed in self.seeds:
                inst = session.get(Institution, seed.institution_id)
                fil = session.get(Filing, seed.filing_id)
                notice_id = session.scalar(select(Notice.id).where(Notice.filing_id == seed.filing_id))
                details[seed.instance_id] = (inst.filing_code, fil.receipt_number, notice_id)
            next_id = {table: (session.scalar(select(func.max(column))) or 0) + 1 for table, column in
                       (("institution", Institution.id), ("filing", Filing.id), ("notice", Notice.id),
                        ("process_instance", ProcessInstance.id))}
            serial_filing_code = 0

        rows = []
        serial = 1_000_000
        for cell, wanted in sorted(counts.items()):
            seeds = by_cell[cell]
            for copy_no in range(wanted - len(seeds)):
                seed = seeds[copy_no % len(seeds)]
                serial += 1
                old_code, old_receipt, old_notice = details[seed.instance_id]
                new = {k: next_id[k] + 0 for k in next_id}
                for k in ("institution", "filing", "process_instance"):
                    next_id[k] += 1
                if old_notice is not None:
                    next_id["notice"] += 1
                name = f"{seed.name[:-1]}-{serial - 1_000_000:05d}号"
                pairs = [(seed.credit_code, credit_code(serial, seed.jurisdiction)), (seed.name, name),
                         (f'"filing_id":{seed.filing_id},', f'"filing_id":{new["filing"]},'),
                         (f'"institution_id":{seed.institution_id},', f'"institution_id":{new["institution"]},')]
                filing_code = receipt = None
                if old_notice is not None:
                    pairs.append((f'"notice_id":{old_notice},', f'"notice_id":{new["notice"]},'))
                if old_code is not None:
                    serial_filing_code += 1
                    # more codes than one city's range holds: synthetic city parts from 20 on, all distinct
                    city, sequence = divmod(serial_filing_code, CITY_SERIAL_MAX)
                    filing_code = format_filing_code(seed.kind, sequence + 1, "34", f"{20 + city:02d}")
                    pairs.append((old_code, filing_code))
                if old_receipt is not None:
                    receipt = f"{self.ctx.bureau.receipt_prefix}2024{new['filing']:07d}"
                    pairs.append((old_receipt, receipt))
                pairs += [(f"\x01none{i}\x01", "") for i in range(len(pairs), 7)]
                row = {"seed_instance_id": seed.instance_id, "seed_filing_id": seed.filing_id,
                       "seed_institution_id": seed.institution_id,
                       "new_instance_id": new["process_instance"], "new_filing_id": new["filing"],
                       "new_institution_id": new["institution"],
                       "new_notice_id": new["notice"] if old_notice is not None else None,
                       "credit_code": pairs[0][1], "name": name, "old_name": seed.name,
                       "filing_code": filing_code, "receipt_number": receipt}
                for i, (old, repl) in enumerate(pairs, start=1):
                    row[f"o{i}"], row[f"n{i}"] = old, repl
                rows.append(row)

        pair_columns = ", ".join(f"o{i} TEXT, n{i} TEXT" for i in range(1, 8))
        state_expr = "p.state"
        for i in range(1, 8):
            state_expr = f"replace({state_expr}, m.o{i}, m.n{i})"
        statements = [
            """INSERT INTO institution (id, credit_code, name, kind, jurisdiction_code, address, legal_representative,
                    contact_name, contact_phone, status, filing_code, valid_from, valid_until, pilot_until,
                    is_province_wide)
                SELECT m.new_institution_id, m.credit_code, m.name, i.kind, i.jurisdiction_code, i.address,
                    i.legal_representative, i.contact_name, i.contact_phone, i.status, m.filing_code, i.valid_from,
                    i.valid_until, i.pilot_until, i.is_province_wide
                FROM bench_copy m JOIN institution i ON i.id = m.seed_institution_id ORDER BY m.new_institution_id""",
            """INSERT INTO scope_item (institution_id, occupation_code, level, is_active)
                SELECT m.new_institution_id, s.occupation_code, s.level, s.is_active
                FROM bench_copy m JOIN scope_item s ON s.institution_id = m.seed_institution_id
                ORDER BY m.new_institution_id, s.id""",
            """INSERT INTO filing (id, institution_id, jurisdiction_code, status, requested_scope, approved_scope,
                    submitted_at, decided_at, receipt_number, filing_code, rejection_reason)
                SELECT m.new_filing_id, m.new_institution_id, f.jurisdiction_code, f.status, f.requested_scope,
                    f.approved_scope, f.submitted_at, f.decided_at, m.receipt_number, m.filing_code,
                    f.rejection_reason
                FROM bench_copy m JOIN filing f ON f.id = m.seed_filing_id ORDER BY m.new_filing_id""",
            """INSERT INTO notice (id, filing_id, jurisdiction_code, title, text, opens_at, closes_at)
                SELECT m.new_notice_id, m.new_filing_id, n.jurisdiction_code, replace(n.title, m.old_name, m.name),
                    n.text, n.opens_at, n.closes_at
                FROM bench_copy m JOIN notice n ON n.filing_id = m.seed_filing_id ORDER BY m.new_notice_id""",
            f"""INSERT INTO process_instance (id, process_id, definition_id, business_key, institution_id,
                    jurisdiction_code, status, state, version, started_at, ended_at)
                SELECT m.new_instance_id, p.process_id, p.definition_id, 'filing:' || m.new_filing_id,
                    m.new_institution_id, p.jurisdiction_code, p.status, {state_expr}, p.version, p.started_at,
                    p.ended_at
                FROM bench_copy m JOIN process_instance p ON p.id = m.seed_instance_id ORDER BY m.new_instance_id""",
            """INSERT INTO human_task (instance_id, spiff_task_id, process_id, name, title, subject, role, form_key,
                    jurisdiction_code, institution_id, state, claimed_by, due_at, created_at, completed_at,
                    completed_by)
                SELECT m.new_instance_id, t.spiff_task_id, t.process_id, t.name, t.title,
                    replace(t.subject, m.old_name, m.name), t.role, t.form_key, t.jurisdiction_code,
                    m.new_institution_id, t.state, t.claimed_by, t.due_at, t.created_at, t.completed_at,
                    t.completed_by
                FROM bench_copy m JOIN human_task t ON t.instance_id = m.seed_instance_id
                ORDER BY m.new_instance_id, t.id""",
            """INSERT INTO timer (instance_id, spiff_task_id, name, due_at, state, attempts, last_error)
                SELECT m.new_instance_id, t.spiff_task_id, t.name, t.due_at, t.state, t.attempts, t.last_error
                FROM bench_copy m JOIN timer t ON t.instance_id = m.seed_instance_id
                ORDER BY m.new_instance_id, t.id""",
        ]
        with unit_of_work(self.ctx) as session:
            session.execute(text(f"""CREATE TABLE bench_copy (seed_instance_id INTEGER, seed_filing_id INTEGER,
                seed_institution_id INTEGER, new_instance_id INTEGER, new_filing_id INTEGER,
                new_institution_id INTEGER, new_notice_id INTEGER, credit_code TEXT, name TEXT, old_name TEXT,
                filing_code TEXT, receipt_number TEXT, {pair_columns})"""))
            if rows:
                columns = list(rows[0])
                session.execute(text(f"INSERT INTO bench_copy ({', '.join(columns)}) "
                                     f"VALUES ({', '.join(':' + c for c in columns)})"), rows)
            for statement in statements:
                session.execute(text(statement))
            session.execute(text("DROP TABLE bench_copy"))
            if session.get_bind().dialect.name == "postgresql":
                for table in ("institution", "filing", "notice", "process_instance"):
                    session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"(SELECT max(id) FROM {table}))"))
        with self.ctx.session_factory() as session:  # fresh planner statistics, as a live database has
            session.execute(text("ANALYZE"))
            session.commit()
        _log(f"{len(rows)} copies inserted with INSERT … SELECT ({time.perf_counter() - started:.1f} s)")
        self.check(rows)

    def check(self, rows) -> None:
        """The copies are what they claim to be: ids in their state point at their own rows."""
        sample = self.rng.sample(rows, min(200, len(rows)))
        with unit_of_work(self.ctx) as session:
            for row in sample:
                instance = session.get(ProcessInstance, row["new_instance_id"])
                assert f'"filing_id":{row["new_filing_id"]},' in instance.state, row
                assert f'"institution_id":{row["new_institution_id"]},' in instance.state, row
                assert row["credit_code"] in instance.state and row["name"] in instance.state, row
                assert instance.business_key == f"filing:{row['new_filing_id']}"
                if row["new_notice_id"]:
                    assert f'"notice_id":{row["new_notice_id"]},' in instance.state, row
            duplicates = session.scalar(text("SELECT count(*) FROM (SELECT credit_code FROM institution "
                                             "GROUP BY credit_code HAVING count(*) > 1) d"))
            assert duplicates == 0


def _round_keeping_total(values: dict, total: int) -> dict:
    """Largest-remainder rounding: the parts add up to `total` exactly."""
    floors = {k: int(v) for k, v in values.items()}
    short = total - sum(floors.values())
    for k in sorted(values, key=lambda k: values[k] - floors[k], reverse=True)[:short]:
        floors[k] += 1
    return floors


def open_chains(ctx: Context) -> int:
    """Give every instance without an audit trail (the copies) the first event of its chain and
    the global chain its anchor, as the case's start would have (usecases/audit.py), signed with
    the context's key; returns how many. Without it, a copy's first step opens its chain, and
    opening appends an anchor under the global chain's lock: every copy's first completion or
    fired timer would queue on that one lock, which a real case only takes when it starts. The
    event is a `start` by the system whose data says it is a copy. Hashes use the service's own
    digest (a private helper), so `audit.verify` checks them like any other."""
    from sqlalchemy import bindparam, insert, update

    from service.store.models import AuditEvent
    from service.usecases import audit
    with unit_of_work(ctx) as session:
        key = session.info[audit.KEY]
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.institution_id, ProcessInstance.process_id,
                                      ProcessInstance.started_at).where(ProcessInstance.audit_hash.is_(None))
                               .order_by(ProcessInstance.id)).all()
        prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.instance_id.is_(None))
                              .order_by(AuditEvent.id.desc()).limit(1)) or audit.GENESIS
        events, anchors, heads = [], [], []
        for instance_id, institution_id, process_id, at in rows:
            common = dict(at=at, actor_id=None, actor_name="系统", institution_id=institution_id, task_name=None,
                          task_title=None, opinion=None, hash_version=audit.KEYED, request_id=None)
            first = dict(common, action="start", instance_id=instance_id, prev_hash=audit.GENESIS,
                         data={"process": process_id, "bench_copy": True})
            first["hash"] = audit._keyed_digest(key, audit.GENESIS, first)
            opened = dict(common, action=audit.CASE_OPENED, instance_id=None, prev_hash=prev,
                          data={"case": instance_id, "first": first["hash"]})
            opened["hash"] = prev = audit._keyed_digest(key, prev, opened)
            events.append(first)
            anchors.append(opened)
            heads.append({"instance": instance_id, "head": first["hash"]})
        if rows:
            session.execute(insert(AuditEvent), events)
            session.execute(insert(AuditEvent), anchors)  # in this order: the global chain runs by id
            session.execute(update(ProcessInstance.__table__).where(
                ProcessInstance.__table__.c.id == bindparam("instance")).values(audit_hash=bindparam("head")), heads)
    return len(rows)


def describe(ctx: Context) -> dict:
    """Where the instances stand, by jurisdiction: the mix the benchmark ran on."""
    with unit_of_work(ctx) as session:
        instances = session.execute(select(ProcessInstance.jurisdiction_code, ProcessInstance.status,
                                           func.count()).group_by(ProcessInstance.jurisdiction_code,
                                                                  ProcessInstance.status)).all()
        open_tasks = session.execute(select(HumanTask.jurisdiction_code, HumanTask.name, func.count())
                                     .where(HumanTask.state == "open")
                                     .group_by(HumanTask.jurisdiction_code, HumanTask.name)).all()
        waiting = session.execute(select(ProcessInstance.jurisdiction_code, func.count()).join(
            Timer, Timer.instance_id == ProcessInstance.id).where(Timer.state == "waiting")
            .group_by(ProcessInstance.jurisdiction_code)).all()
        totals = {table: session.scalar(text(f"SELECT count(*) FROM {table}")) for table in
                  ("process_instance", "human_task", "timer", "filing", "institution", "notice", "scope_item",
                   "audit_event")}
    stages = Counter()
    by_jurisdiction = Counter()
    for code, status, n in instances:
        by_jurisdiction[code] += n
        if status == "completed":
            stages["completed"] += n
    for _code, name, n in open_tasks:
        stages[f"open {name}"] += n
    for _code, n in waiting:
        stages["notice period (timer waiting)"] += n
    return {"stages": dict(stages), "by_jurisdiction": dict(by_jurisdiction), "tables": totals}


def build(url: str, instances: int, timers: int, seeds_per_cell: int, seed: int = 42, waiting: int = 0,
          audit_key: str | None = None) -> Builder:
    """`instances` in the six stages, `timers` of them waiting in their notice period, due at
    TIMERS_AS_OF (and at SCHEDULER_NOW). With `waiting`, notice_later instances are added on top,
    so that exactly `waiting` timers wait in all and only the `timers` are due at SCHEDULER_NOW."""
    prepare_database(url)
    builder = Builder(url, seeds_per_cell, random.Random(seed), later_notices=waiting > 0, audit_key=audit_key)
    builder.setup()
    builder.create_institutions()
    builder.drive()
    builder.multiply(instances, timers, builder.later_count(waiting, timers) if waiting else 0)
    builder.ctx.session_factory.kw["bind"].dispose()
    return builder


# ---------------------------------------------------------------------------- measuring
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values_s: list[float]) -> dict:
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "min": min(ms), "median": statistics.median(ms), "mean": statistics.fmean(ms),
            "p95": percentile(ms, 95), "p99": percentile(ms, 99), "max": max(ms)}


class StatementCounter:
    """Counts what reaches the database driver (SQLAlchemy `before_cursor_execute`), and while
    `timing` is on, the time each kind of statement takes in the driver (until `after_cursor_execute`)."""

    def __init__(self, engine):
        self.count = 0
        self.recording: list[str] | None = None
        self.timing = False
        self.times: dict[str, list[float]] = {}
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._seen)
        event.listen(engine, "after_cursor_execute", self._done)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        if self.recording is not None:
            self.recording.append(" ".join(statement.split()))
        self._started = time.perf_counter()

    def _done(self, conn, cursor, statement, parameters, context, executemany):
        if self.timing:
            key = " ".join(statement.split())[:70]
            self.times.setdefault(key, []).append(time.perf_counter() - self._started)

    def reset(self) -> None:
        self.count = 0


def short_path(file: str) -> str:
    """A profile entry's file, relative to site-packages or to the repository."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1]
    if file.startswith(str(ROOT)):
        return file[len(str(ROOT)) + 1:]
    if "/lib/python3" in file:
        return "stdlib/" + file.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return file


def component(file: str) -> str:
    if file.startswith("~") or file.startswith("<"):
        return "builtins and C code (sqlite3/psycopg driver calls, json, dict…)"
    head = file.split("/", 1)[0]
    if head == "stdlib":
        return "stdlib/" + file.split("/")[1].removesuffix(".py")
    if head in ("service", "bench"):
        return "/".join(file.split("/")[:2])
    return head


WORK: list[Path] = []  # the run's temp folders, for run_cleaning_up() to remove


def run_cleaning_up(main, argv=None) -> int:
    """main(argv), with the temp folders removed even when the run stops early (unless --keep)."""
    try:
        return main(argv)
    finally:
        if "--keep" not in (argv if argv is not None else sys.argv[1:]):
            for folder in WORK:
                shutil.rmtree(folder, ignore_errors=True)


def finish(results: dict, checks: dict, began: float, build_seconds: float, json_path: str | None) -> None:
    """The last line of a run's report, and its figures written as JSON if asked."""
    total = time.perf_counter() - began
    print(f"  ({'all targets met' if all(checks.values()) else 'some targets missed'}; whole run {total:.0f} s, "
          f"data build {build_seconds:.0f} s)")
    results["run_seconds"] = total
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
