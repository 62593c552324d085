"""Scheduled starts (issue 12): a process whose start event carries a timeCycle starts by itself,
once per occurrence, also with two schedulers at once (PostgreSQL), and catches up what it missed."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.bootstrap import build_context
from service.engine.definitions import Bundle, read_bundle
from service.engine.errors import DefinitionError
from service.store.models import HumanTask, ProcessInstance, ScheduledStart
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from service.usecases.schedules import start_due
from tests.conftest import ROOT
from tests.helpers import Api, make_staff

DAILY_CHECK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="definitions_daily_check" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="daily_check" name="每日巡查" isExecutable="true">
    <bpmn:documentation>第十七条：测试用的按日巡查。</bpmn:documentation>
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_city" name="市人社部门"><bpmn:extensionElements><camunda:properties>
        <camunda:property name="role" value="city" /></camunda:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="每天2点">
      <bpmn:timerEventDefinition id="start_timer"><bpmn:timeCycle>CYCLE</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="to_check" sourceRef="start" targetRef="check" />
    <bpmn:userTask id="check" name="巡查" camunda:formKey="initial_review" />
    <bpmn:sequenceFlow id="to_end" sourceRef="check" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def with_schedule(cycle: str = "0 2 * * *") -> Bundle:
    """The shipped bundle with this test's schedule as its only one (the shipped spot-check draw and
    inactivity scan would start beside it)."""
    files = {path: text for path, text in read_bundle(ROOT).files.items() if "timeCycle" not in text}
    files["bpmn/daily_check.bpmn"] = DAILY_CHECK.replace("CYCLE", cycle)
    return Bundle(files)


def started(ctx) -> list[tuple[str, datetime]]:
    with unit_of_work(ctx) as session:
        return [(i.business_key, r.occurrence) for r, i in session.execute(
            select(ScheduledStart, ProcessInstance)
            .join(ProcessInstance, ScheduledStart.instance_id == ProcessInstance.id)
            .order_by(ScheduledStart.occurrence))]


def test_every_day_at_two_starts_one_case_a_day_and_the_city_gets_its_task(ctx, clock):
    clock.set(datetime(2024, 9, 2, 9, 0))
    deploy(ctx, with_schedule(), "analyst")
    assert start_due(ctx) == 0  # deploying does not start the schedule's past (2 Sep, 02:00)
    for day in range(3, 10):
        clock.set(datetime(2024, 9, day, 1, 59))
        assert start_due(ctx) == 0
        clock.set(datetime(2024, 9, day, 2, 0))
        assert start_due(ctx) == 1
        assert start_due(ctx) == 0  # the same occurrence again: nothing
    assert [key for key, _ in started(ctx)] == [f"daily_check:2024-09-{d:02d}T02:00" for d in range(3, 10)]
    with unit_of_work(ctx) as session:
        tasks = session.scalars(select(HumanTask).where(HumanTask.name == "check")).all()
        assert len(tasks) == 7 and {t.role for t in tasks} == {"city"}
        assert tasks[0].subject == "每日巡查（2024-09-03 02:00）"


def test_occurrences_missed_while_no_scheduler_ran_start_once_each_in_order(ctx, clock):
    clock.set(datetime(2024, 9, 2, 9, 0))
    deploy(ctx, with_schedule(), "analyst")
    clock.set(datetime(2024, 9, 5, 8, 0))  # down over three occurrences
    assert start_due(ctx) == 3
    assert [when for _, when in started(ctx)] == [datetime(2024, 9, d, 2, 0) for d in (3, 4, 5)]
    assert start_due(ctx) == 0


def test_two_schedulers_over_a_week_start_exactly_seven(prepared, ctx, clock):
    """Run on PostgreSQL by CI (TEST_DATABASE_URL): each scheduler its own connections, racing for
    the same occurrences day after day."""
    url, _ = prepared
    if not url.startswith("postgresql"):
        pytest.skip("two schedulers racing need a database that writes concurrently: PostgreSQL")
    clock.set(datetime(2024, 9, 2, 9, 0))
    deploy(ctx, with_schedule(), "analyst")
    schedulers = [build_context(url, clock=clock) for _ in range(2)]
    counts = []
    for day in range(7):
        clock.set(datetime(2024, 9, 3, 2, 0) + timedelta(days=day))
        barrier = threading.Barrier(2)

        def run(scheduler, barrier=barrier):
            barrier.wait()
            counts.append(start_due(scheduler))

        threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(counts) == 7
    with unit_of_work(ctx) as session:
        assert session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.process_id == "daily_check")) == 7
    for scheduler in schedulers:
        scheduler.session_factory.kw["bind"].dispose()


@pytest.mark.parametrize(("cycle", "problem"), [
    ("every day", "既不是 ISO 8601 重复区间"),
    ("0 25 * * *", "cron 表达式“0 25 * * *”无效"),
    ("*/5 * * * *", "间隔不到1小时"),
    ("R/2027-13-01T02:00:00/P1Y", "不是 ISO 8601 时间"),
])
def test_a_schedule_that_cannot_be_read_is_refused_at_deploy_naming_the_start_event(ctx, cycle, problem):
    with pytest.raises(DefinitionError) as refused:
        deploy(ctx, with_schedule(cycle), "analyst")
    assert refused.value.file == "bpmn/daily_check.bpmn" and refused.value.element == "start"
    assert problem in str(refused.value)


def test_a_cycle_on_a_waiting_timer_is_refused(ctx):
    files = dict(read_bundle(ROOT).files)
    files["bpmn/renewal.bpmn"] = files["bpmn/renewal.bpmn"].replace("<bpmn:timeDate", "<bpmn:timeCycle", 1).replace(
        "</bpmn:timeDate>", "</bpmn:timeCycle>", 1)
    with pytest.raises(DefinitionError, match="timeCycle（周期）只能用在开始事件上"):
        deploy(ctx, Bundle(files), "analyst")


def test_analysts_and_the_city_see_each_schedule_its_next_start_and_last_cases(app, ctx, clock):
    make_staff(ctx)
    clock.set(datetime(2024, 9, 2, 9, 0))
    deploy(ctx, with_schedule("R/2024-09-03T02:00:00/P1D"), "analyst")
    clock.set(datetime(2024, 9, 3, 9, 0))
    start_due(ctx)
    [case] = started(ctx)
    for name in ("analyst", "city"):
        [row] = Api(app, name).get("/api/admin/schedules").get_json()["items"]
        assert (row["process_id"], row["expression"], row["next_at"]) == (
            "daily_check", "R/2024-09-03T02:00:00/P1D", "2024-09-04T02:00:00")
        assert row["recent"][0]["occurrence"] == "2024-09-03T02:00:00" and row["recent"][0]["instance_id"]
    page = Api(app, "analyst").get("/schedules").get_data(as_text=True)
    assert "每日巡查" in page and "2024-09-04 02:00" in page and "R/2024-09-03T02:00:00/P1D" in page
    assert Api(app, "county").get("/api/admin/schedules").status_code == 403
    assert case[0] == "daily_check:2024-09-03T02:00"
