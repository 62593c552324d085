"""The scheduler: two scheduler processes at once fire each timer exactly once (FOR UPDATE
SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), and a timer that still fails after its
retries becomes an incident the city and the analysts see and retry, never lost silently."""
from __future__ import annotations

import json
import multiprocessing
import traceback
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import event, select, update

from service.processes import filing
from service.store.models import AuditEvent, HumanTask, Institution, Notice, Objection, ProcessInstance, Timer, User
from service.usecases import accounts, attachments, notifications, tasks
from service.usecases.audit import verify_chain
from service.usecases.context import unit_of_work
from service.usecases.timers import MAX_ATTEMPTS, fire_due_timers
from tests.helpers import PASSWORD, Api, application, demo_credit_code, make_institution, make_staff

PUBLISHED = datetime(2024, 9, 27, 10, 0)  # 5 working days across National Day: closes 2024-10-11 00:00
CLOSED = datetime(2024, 10, 11, 0, 0)
FILINGS = 40
NAV_LINK = '<a href="/incidents">异常任务</a>'
BATCH = 4  # small batches, so the two schedulers take turns and on PostgreSQL skip each other's locks


def _filings_in_notice(ctx, clock, count: int) -> list[int]:
    """`count` enterprises (no quota, Art. 7) filed through the use cases, each in its public notice.
    The institution users share one password hash: they never log in, and Argon2 each would only cost time."""
    make_staff(ctx)
    password_hash = accounts.hasher.hash(PASSWORD)
    with unit_of_work(ctx) as session:
        staff = {u.username: u.id for u in session.scalars(select(User))}
        seeds = []
        for serial in range(1, count + 1):
            row = Institution(credit_code=demo_credit_code(serial), name=f"池州第{serial}电气有限公司",
                              kind="enterprise", jurisdiction_code="341702")
            session.add(row)
            session.flush()
            user = User(username=f"inst{serial}", password_hash=password_hash, display_name=f"{row.name}经办人",
                        role="institution", institution_id=row.id)
            session.add(user)
            session.flush()
            seeds.append((user.id, row.name, row.credit_code))
    county, city = staff["county"], staff["city"]
    clock.set(PUBLISHED)

    def open_task(instance_id, name):
        with unit_of_work(ctx) as session:
            return session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                              HumanTask.name == name, HumanTask.state == "open")).one()

    instance_ids = []
    for user_id, name, credit_code in seeds:
        started = filing.start_filing(ctx, user_id)
        attachment = attachments.upload_attachment(ctx, user_id, "备案材料.pdf", "application/pdf", b"%PDF-1.4 test")
        tasks.complete(ctx, user_id, started.task_id, application(credit_code, name, "enterprise",
                                                                  attachment_id=attachment))
        tasks.complete(ctx, county, open_task(started.instance_id, "initial_review"),
                       {"decision": "forward", "opinion": "材料齐全，同意上报"})
        review = open_task(started.instance_id, "city_review")
        scope = tasks.open_task(ctx, city, review).data["scope"]
        tasks.complete(ctx, city, review, {"decision": "approve", "opinion": "同意备案", "approved_scope": scope})
        tasks.complete(ctx, county, open_task(started.instance_id, "publish_notice"), {"opinion": "同意公示"})
        instance_ids.append(started.instance_id)
    return instance_ids


def _scheduler_process(url: str, now: datetime, barrier, results) -> None:
    """One scheduler, in its own OS process with its own context (as `flask scheduler` runs)."""
    from service.bootstrap import build_context
    from service.clock import FixedClock
    from service.store.db import read_only
    try:
        ctx = build_context(url, clock=FixedClock(now))
        with ctx.session_factory() as session:  # compile the models before the start line
            read_only(session)
            ctx.definitions(session, ctx.latest_version_id(session))
        barrier.wait(timeout=120)
        result = fire_due_timers(ctx, batch=BATCH)
        ctx.session_factory.kw["bind"].dispose()
        results.put(("done", result.fired, result.failed))
    except BaseException:  # noqa: BLE001 - the parent reports it
        results.put(("error", traceback.format_exc(), 0))


def test_two_schedulers_at_once_fire_each_timer_exactly_once(ctx, clock):
    instance_ids = _filings_in_notice(ctx, clock, FILINGS)
    with unit_of_work(ctx) as session:
        assert session.scalar(select(Timer.id).where(Timer.state == "waiting").limit(1)) is not None
        assert len(session.scalars(select(Timer).where(Timer.state == "waiting", Timer.due_at <= CLOSED)).all()) \
            == FILINGS
    url = ctx.session_factory.kw["bind"].url.render_as_string(False)
    ctx.session_factory.kw["bind"].dispose()  # nothing of this process holds a connection while they run

    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    processes = [spawn.Process(target=_scheduler_process, args=(url, CLOSED + timedelta(hours=9), barrier, results))
                 for _ in range(2)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all(kind == "done" for kind, *_ in outcomes), [o[1] for o in outcomes if o[0] != "done"]
    fired = [n for _, n, _ in outcomes]
    assert sum(fired) == FILINGS, fired
    assert [failed for *_, failed in outcomes] == [0, 0]

    with unit_of_work(ctx) as session:
        # every timer row fired once: a second firing would have counted a second attempt
        assert Counter(session.execute(select(Timer.state, Timer.attempts)).all()) == {("fired", 1): FILINGS}
        # every case stepped once: one objection count, one assign_code task, one version step each
        counted = Counter(session.scalars(select(AuditEvent.instance_id).where(
            AuditEvent.action == "service", AuditEvent.task_name == "count_objections")))
        assert counted == Counter(instance_ids)
        assigned = Counter(session.scalars(select(HumanTask.instance_id).where(HumanTask.name == "assign_code")))
        assert assigned == Counter(instance_ids)
        assert verify_chain(session) is None
    city = accounts.authenticate(ctx, "city", PASSWORD)
    rows, total = tasks.inbox(ctx, city.id, tasks.InboxQuery(step="assign_code", per_page=100))
    assert total == FILINGS and {t.instance_id for t in rows} == set(instance_ids)


def _damage(state: str) -> str:
    """The case loses the notice it waits on (as a bad manual repair of its data would)."""
    def walk(node):
        if isinstance(node, dict):
            return {k: (None if k == "notice_id" else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return json.dumps(walk(json.loads(state)), ensure_ascii=False)


def test_notices_closing_together_count_their_objections_in_one_read(ctx, clock):
    """Art. 7: a notice with an objection still open goes to investigation, the others on to
    赋码; a batch counts the open objections once, not once per notice."""
    first, second = _filings_in_notice(ctx, clock, 2)
    with unit_of_work(ctx) as session:
        key = session.scalar(select(ProcessInstance.business_key).where(ProcessInstance.id == first))
        notice = session.scalar(select(Notice.id).where(Notice.filing_id == int(key.split(":")[1])))
        session.add(Objection(notice_id=notice, name="王五", contact="13900000000",  # open, not yet seen by the case
                              content="场地面积与申报不符，请核实。", created_at=PUBLISHED))
    engine = ctx.session_factory.kw["bind"]
    reads = []
    listener = lambda conn, cursor, statement, *rest: "FROM objection" in statement and reads.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        clock.set(CLOSED)
        assert fire_due_timers(ctx).fired == 2
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(reads) == 1
    with unit_of_work(ctx) as session:
        opened = dict(session.execute(select(HumanTask.instance_id, HumanTask.name)
                                      .where(HumanTask.state == "open")).all())
    assert opened == {first: "investigate_objection", second: "assign_code"}


def test_a_timer_failing_after_its_retries_is_an_incident_staff_see_and_retry(app, ctx, clock):
    from tests.integration.test_filing_api import forward_and_approve, submit_application
    from tests.integration.test_web_pages import Page
    make_staff(ctx)
    make_institution(ctx)
    people = {name: Api(app, name) for name in ("inst1", "county", "city", "analyst")}
    started, _, _ = submit_application(people["inst1"])
    forward_and_approve(people)
    clock.set(PUBLISHED)
    people["county"].complete(people["county"].only_task("publish_notice")["id"], {"opinion": "同意公示"})
    instance_id = started["instance_id"]
    with unit_of_work(ctx) as session:
        intact = session.get(ProcessInstance, instance_id).state
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                        .values(state=_damage(intact)))

    clock.set(CLOSED)
    for attempt in range(1, MAX_ATTEMPTS + 1):  # each retry waits longer: 2, 4, 8, 16 minutes
        result = fire_due_timers(ctx)
        assert (result.fired, result.failed) == (0, 1)
        assert fire_due_timers(ctx).failed == 0  # not again before its backoff has passed
        clock.advance(timedelta(minutes=2 ** attempt, seconds=1))
    with unit_of_work(ctx) as session:
        timer = session.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        assert (timer.state, timer.attempts) == ("failed", MAX_ATTEMPTS) and timer.last_error
    assert fire_due_timers(ctx, as_of=clock.now() + timedelta(days=30)).failed == 0  # failed: no longer tried
    assert people["city"].open_tasks() == []

    # the city and the analysts see it, through the API and on /incidents; others may not
    for name in ("analyst", "city"):
        items = people[name].get("/api/admin/incidents").get_json()["items"]
        assert [(i["id"], i["instance_id"], i["process_id"], i["name"], i["title"], i["attempts"], i["state"])
                for i in items] == [(timer.id, instance_id, "filing", timer.name, "公示期内", MAX_ATTEMPTS,
                                     "failed")]  # the notice's event gateway waits on the timer
        assert items[0]["subject"].startswith("池州市职业技能培训评价中心") and items[0]["last_error"]
        assert items[0]["due_at"].startswith("2024-10-11T00:")
        html = Page(app, name).text("/incidents")
        assert NAV_LINK in html and "公示期内" in html and "池州市职业技能培训评价中心" in html and "重试" in html
    for name in ("county", "inst1"):
        assert people[name].get("/api/admin/incidents").status_code == 403
        assert people[name].post(f"/api/admin/incidents/{timer.id}/retry").status_code == 403
        page = Page(app, name)
        assert page.get("/incidents").status_code == 403
        assert NAV_LINK not in page.text("/messages")  # no link in the navigation either

    # the analysts were told, with a link to the incidents
    analyst_id = people["analyst"].user["id"]
    told = [m for m in notifications.recent(ctx, analyst_id) if "公示期内" in m.title]
    assert len(told) == 1 and told[0].link == "/incidents" and "池州市职业技能培训评价中心" in told[0].body
    assert "定时任务异常" in Page(app, "analyst").text("/messages")

    # the cause is fixed, an analyst retries from the page; the next pass fires it and the case moves on
    with unit_of_work(ctx) as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id).values(state=intact))
    analyst = Page(app, "analyst")
    response = analyst.form(f"/incidents/{timer.id}/retry", {}, page="/incidents")
    assert response.status_code == 302 and response.headers["Location"] == "/incidents"
    html = analyst.text("/incidents")
    assert "已重新安排“公示期内”" in html and "没有异常任务" in html
    with unit_of_work(ctx) as session:
        again = session.get(Timer, timer.id)
        assert (again.state, again.attempts, again.due_at) == ("waiting", 0, clock.now())
    assert people["city"].post(f"/api/admin/incidents/{timer.id}/retry").status_code == 409  # not failed now
    assert fire_due_timers(ctx).fired == 1
    assert people["city"].only_task("assign_code")
    assert people["analyst"].get("/api/admin/incidents").get_json()["items"] == []

    timeline = people["city"].get(f"/api/cases/{instance_id}/timeline").get_json()["events"]
    actions = [(e["action"], e["actor_name"]) for e in timeline]
    assert ("timer_failed", "系统") in actions and ("timer_retried", "分析员") in actions
    retried = next(n for n, e in enumerate(timeline) if e["action"] == "timer_retried")
    assert timeline[retried]["data"]["attempts"] == MAX_ATTEMPTS and timeline[retried]["data"]["last_error"]
    assert [e["task_name"] for e in timeline[retried + 1:]] == ["count_objections"]  # then it fired, once
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None
