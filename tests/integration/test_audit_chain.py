"""Art. 8.3, 16, 18: the audit log is tamper-evident. Each gap the day-one review found has a
test: a changed step title, an edit hidden by recomputing the hashes, a case's whole log wiped,
and nobody but the tests ever verifying."""
from __future__ import annotations

import hashlib
import json
import re

import pytest
from sqlalchemy import delete, select, update

from service import config
from service.bootstrap import build_context
from service.store.models import AuditEvent, HumanTask, ProcessInstance, Timer
from service.usecases import audit
from service.usecases.audit import GENESIS, verify, verify_chain
from service.usecases.context import unit_of_work
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application


@pytest.fixture
def case(app, ctx):
    """A filing the county has reviewed: a dozen events in the case's chain."""
    make_staff(ctx)
    make_institution(ctx)
    started, _, _ = submit_application(Api(app, "inst1"))
    county = Api(app, "county")
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "材料齐全，同意上报"})
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None
    return started["instance_id"]


def events_of(ctx, instance_id):
    with unit_of_work(ctx) as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                               .order_by(AuditEvent.id)).all()


def plain_sha256(prev_hash, e):
    """What someone without the key can compute: the old unkeyed hash (or any other)."""
    body = json.dumps([prev_hash, e.at.isoformat(), e.actor_id, e.actor_name, e.action, e.instance_id,
                       e.institution_id, e.task_name, e.task_title, e.opinion, e.data],
                      ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def rewrite_chain(ctx, instance_id, change, version=None):
    """Change events, then recompute every hash of the chain after them and the case's head,
    as an attacker with write access but without AUDIT_KEY would."""
    with unit_of_work(ctx) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id)
                               .order_by(AuditEvent.id)).all()
        rows = change(session, rows)
        prev = GENESIS
        for row in rows:
            row.prev_hash, row.hash = prev, plain_sha256(prev, row)
            if version is not None:
                row.hash_version = version
            prev = row.hash
        session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                        .values(audit_hash=prev if rows else None))


def test_a_changed_step_title_breaks_the_chain(ctx, case):
    """The record prints the step's title: renaming 县区初审 must show."""
    target = next(e for e in events_of(ctx, case) if e.task_title == "县区初审")
    with unit_of_work(ctx) as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(task_title="市局审核"))
    with unit_of_work(ctx) as session:
        assert verify_chain(session) == target.id
        assert "被改动" in str(verify(session).breaks[0])


@pytest.mark.parametrize("version", [None, audit.LEGACY])
def test_an_edited_opinion_is_found_even_with_the_chain_recomputed(ctx, case, version):
    target = next(e for e in events_of(ctx, case) if e.opinion == "材料齐全，同意上报")

    def edit(session, rows):
        next(r for r in rows if r.id == target.id).opinion = "材料不全，不予上报"
        return rows

    # as it was (keyed rows) or passed off as rows written before the key (a downgrade)
    rewrite_chain(ctx, case, edit, version)
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is not None
        assert any(b.instance_id == case for b in verify(session).breaks)


def test_a_deleted_event_is_found_even_with_the_chain_recomputed(ctx, case):
    target = events_of(ctx, case)[2]

    def remove(session, rows):
        session.execute(delete(AuditEvent).where(AuditEvent.id == target.id))
        return [r for r in rows if r.id != target.id]

    rewrite_chain(ctx, case, remove)
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is not None


def test_a_case_whose_events_are_all_deleted_and_head_emptied_is_found(ctx, case):
    with unit_of_work(ctx) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.instance_id == case))
        session.execute(update(ProcessInstance).where(ProcessInstance.id == case).values(audit_hash=None))
    with unit_of_work(ctx) as session:
        report = verify(session)
    assert not report.intact
    broken = next(b for b in report.breaks if b.instance_id == case)
    assert "全部记录被删除" in broken.problem
    with unit_of_work(ctx) as session:  # the break names the anchor that vouches for the case
        anchor = session.get(AuditEvent, broken.event_id)
        assert anchor.action == "case_opened" and anchor.data["case"] == case


def test_a_deleted_case_is_found(ctx, case):
    with unit_of_work(ctx) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.instance_id == case))
        session.execute(delete(HumanTask).where(HumanTask.instance_id == case))
        session.execute(delete(Timer).where(Timer.instance_id == case))
        session.execute(update(ProcessInstance).where(ProcessInstance.id == case).values(audit_hash=None))
        session.execute(delete(ProcessInstance).where(ProcessInstance.id == case))
    with unit_of_work(ctx) as session:
        assert any(b.instance_id == case and "已不存在" in b.problem for b in verify(session).breaks)


def test_events_cut_from_the_end_below_a_seal_are_found(ctx, case):
    assert audit.check(ctx, None).intact  # seals each case's count and head
    events = events_of(ctx, case)
    with unit_of_work(ctx) as session:  # the newest two removed, the head moved back to match
        session.execute(delete(AuditEvent).where(AuditEvent.id.in_([e.id for e in events[-2:]])))
        session.execute(update(ProcessInstance).where(ProcessInstance.id == case)
                        .values(audit_hash=events[-3].hash))
    with unit_of_work(ctx) as session:
        report = verify(session)
    assert any(b.instance_id == case and "后面的记录被删除" in b.problem for b in report.breaks)


def test_the_chain_is_signed_with_the_configured_key_not_a_key_in_the_database(ctx, case):
    url = ctx.session_factory.kw["bind"].url.render_as_string(False)
    other = build_context(url, audit_key="another-key-" + "k" * 40)
    try:
        with unit_of_work(other) as session:
            assert verify_chain(session) is not None  # rows signed with the development key
    finally:
        other.session_factory.kw["bind"].dispose()


def as_legacy(rows, start=GENESIS):
    """Rows as the code before migration 0013 wrote them: plain SHA-256, task_title not covered."""
    prev = start
    for row in rows:
        row.hash_version, row.prev_hash = audit.LEGACY, prev
        row.hash = prev = audit._legacy_digest(prev, {c: getattr(row, c) for c in audit.FIELDS})
    return prev


def test_rows_written_before_the_key_are_checked_the_old_way_and_counted(ctx, case):
    """A live database: its rows carry the old unkeyed hash, and no case has an anchor."""
    with unit_of_work(ctx) as session:
        session.execute(delete(AuditEvent).where(AuditEvent.action == "case_opened"))
        as_legacy(session.scalars(select(AuditEvent).where(AuditEvent.instance_id.is_(None)).order_by(AuditEvent.id)))
        rows = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == case).order_by(AuditEvent.id)).all()
        head = as_legacy(rows)
        session.execute(update(ProcessInstance).where(ProcessInstance.id == case).values(audit_hash=head))
        old_ids = [row.id for row in rows]
    with unit_of_work(ctx) as session:
        report = verify(session)
    assert report.intact, [str(b) for b in report.breaks]
    assert report.legacy == report.events and "只能按旧方式（不含密钥）校验" in report.summary()
    assert report.unsealed == 1  # no anchor: a wiped log of this case would not show until sealed

    # the case's next step signs with the key and links to the old rows: an old row edited and
    # its plain hashes recomputed no longer leads to it
    with unit_of_work(ctx) as session:
        audit.record(session, ctx.clock.now(), None, "service", instance_id=case, task_name="x", task_title="系统处理")
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is None
        rows = [session.get(AuditEvent, i) for i in old_ids]
        rows[1].opinion = "改过的意见"
        as_legacy(rows)
    with unit_of_work(ctx) as session:
        assert verify_chain(session) is not None


def test_a_legacy_row_after_a_keyed_one_is_a_downgrade(ctx, case):
    last = events_of(ctx, case)[-1]
    with unit_of_work(ctx) as session:
        row = session.get(AuditEvent, last.id)
        row.hash_version = audit.LEGACY
        row.opinion = "改过的意见"
        row.hash = audit._legacy_digest(row.prev_hash, {c: getattr(row, c) for c in audit.FIELDS})
        session.execute(update(ProcessInstance).where(ProcessInstance.id == case).values(audit_hash=row.hash))
    with unit_of_work(ctx) as session:
        assert verify_chain(session) == last.id
        assert "排在加密钥的记录之后" in verify(session).breaks[0].problem


def test_verify_audit_command_says_intact_or_names_the_first_break_and_exits_non_zero(app, ctx, case):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    assert "审计链校验：完好" in result.output and "全局链头" in result.output
    target = events_of(ctx, case)[3]
    with unit_of_work(ctx) as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(actor_name="他人"))
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"被改动：案件{case}：第{target.id}条记录被改动" in result.output


def test_the_city_sees_the_verification_status_and_can_verify_now(app, ctx, case):
    city, county = Api(app, "city"), Api(app, "county")
    assert "审计链尚未校验" in city.get("/").get_data(as_text=True)
    assert county.post("/audit/verify").status_code == 403
    assert "审计链校验" not in county.get("/").get_data(as_text=True)

    response = city.post("/audit/verify")
    assert response.status_code == 302
    page = city.get("/").get_data(as_text=True)
    assert re.search(r"审计链校验：完好（\d+个案件，共\d+条记录）", page)
    assert "由市局审核员校验" in page

    target = events_of(ctx, case)[1]
    with unit_of_work(ctx) as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(opinion="篡改"))
    app.test_cli_runner().invoke(args=["verify-audit"])  # the nightly run
    page = Api(app, "analyst").get("/").get_data(as_text=True)
    assert f"第{target.id}条记录被改动" in page and "由运维人员" in page


def test_production_refuses_to_start_without_a_strong_audit_key():
    base = {"CLOCK": "system", "ENVIRONMENT": "production", "SECRET_KEY": "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c",
            "DATABASE_URL": "postgresql+psycopg://skill@db:5432/skill_eval"}
    for weak in ("", "short", "a" * 64, config.DEVELOPMENT_AUDIT_KEY):
        with pytest.raises(RuntimeError, match="AUDIT_KEY"):
            config.check({**base, "AUDIT_KEY": weak})
    config.check({**base, "AUDIT_KEY": "3f9c1e7a5b2d48c6a0e4f7b91d3c5e8a27b4f6d0c9e1a3b5"})
    config.check({"CLOCK": "system", "ENVIRONMENT": "development", "AUDIT_KEY": ""})  # derived key
