"""Supervision and sanctions (Art. 17–20), through the API as each role works it: a case per
matter, the county investigates and proposes, the city decides, each of the five measures takes
its effect; rectification's deadline counts State Council working days; a suspension stops
batches and shows on the directory until the city lifts it."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from service.store.models import AuditEvent, Complaint, Institution, Measure, Rectification, SupervisionCase
from service.usecases.context import unit_of_work
from service.usecases.timers import fire_due_timers
from tests.batches import to_the_scores
from tests.supervision import ELSEWHERE_FACTS, decide, investigate, open_case, propose, to_decision


def _case(ctx, case_id) -> SupervisionCase:
    with unit_of_work(ctx) as session:
        row = session.get(SupervisionCase, case_id)
        session.expunge(row)
        return row


def _measures(ctx):
    with unit_of_work(ctx) as session:
        rows = session.scalars(select(Measure).order_by(Measure.id)).all()
        session.expunge_all()
        return rows


def _status(ctx, institution_id):
    with unit_of_work(ctx) as session:
        return session.get(Institution, institution_id).status


def test_who_may_open_a_case_and_what_it_must_say(batch_people):
    people, institution_id = batch_people, batch_people["inst1"].user["institution_id"]
    other_county = people["county_dz"].post("/api/supervision", json={
        "institution_id": institution_id, "source": "media", "facts": ELSEWHERE_FACTS})
    assert other_county.status_code == 422 and "本辖区" in other_county.get_json()["errors"]["institution_id"]
    assert people["inst1"].post("/api/supervision", json={
        "institution_id": institution_id, "source": "media", "facts": ELSEWHERE_FACTS}).status_code == 403
    bad = people["county"].post("/api/supervision", json={"institution_id": institution_id, "source": "complaint",
                                                            "facts": "太短"})
    errors = bad.get_json()["errors"]
    assert bad.status_code == 422 and "媒体曝光" in errors["source"] and "不少于10个字" in errors["facts"]
    stranger = people["county_dz"].upload()
    foreign = people["county"].post("/api/supervision", json={
        "institution_id": institution_id, "source": "media", "facts": ELSEWHERE_FACTS, "evidence": [str(stranger)]})
    assert foreign.status_code == 422 and "本人上传" in foreign.get_json()["errors"]["evidence"]

    case_id = open_case(people)
    assert people["county_dz"].open_tasks() == [] and people["city"].open_tasks() == []
    task = people["county"].only_task("investigate_case")
    shown = people["county"].get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert shown["facts"] == ELSEWHERE_FACTS and shown["source_name"].startswith("媒体曝光")
    assert shown["prior_measures"] == 0 and shown["case_id"] == case_id
    # the institution does not see an investigation about it
    assert people["inst1"].get("/api/supervision").get_json()["items"] == []
    assert [c["id"] for c in people["city"].get("/api/supervision").get_json()["items"]] == [case_id]
    assert people["county_dz"].get("/api/supervision").get_json()["items"] == []


def test_no_violation_closes_the_case(batch_people, ctx):
    case_id = open_case(batch_people)
    county = batch_people["county"]
    task = county.only_task("investigate_case")
    missing = county.complete(task["id"], {"investigation": "violated", "findings": "经调阅资料核实存在问题。"})
    assert missing.status_code == 422 and {"violation", "severity"} <= set(missing.get_json()["errors"])
    assert county.complete(task["id"], {"investigation": "no_violation",
                                        "findings": "经调阅考场视频和签到表，未发现替考。"}).status_code == 200
    assert _case(ctx, case_id).status == "no_violation" and _measures(ctx) == []
    assert county.open_tasks() == []


def test_the_table_suggests_and_another_measure_needs_a_reason_and_the_county_cannot_decide(batch_people, ctx):
    case_id = open_case(batch_people)
    investigate(batch_people, "exam_conduct", "general")
    county, city = batch_people["county"], batch_people["city"]
    task = county.only_task("propose_measure")
    data = county.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert data["suggested_measure"] == "rectification" and data["suggested_measure_name"] == "限期整改"
    no_reason = county.complete(task["id"], {"measure": "interview", "opinion": "建议约谈。"})
    assert no_reason.status_code == 422 and "限期整改" in no_reason.get_json()["errors"]["reason"]
    assert county.complete(task["id"], {"measure": "interview", "reason": "初次违规且已主动纠正",
                                        "opinion": "建议约谈。"}).status_code == 200
    assert _case(ctx, case_id).status == "proposed" and _measures(ctx) == []
    # Art. 20: only the city decides — the county has no such task and cannot reach the city's
    decision = city.only_task("decide_measure")
    assert county.complete(decision["id"], {"city_decision": "agree", "opinion": "同意。"}).status_code == 404
    assert county.get(f"/api/tasks/{decision['id']}").status_code == 404

    same = city.complete(decision["id"], {"city_decision": "change", "decided_measure": "interview",
                                          "decision_reason": "无", "opinion": "改为约谈。"})
    assert same.status_code == 422 and "认可" in same.get_json()["errors"]["decided_measure"]
    back = city.complete(decision["id"], {"city_decision": "return", "decision_reason": "违规情节认定不清",
                                          "opinion": "退回县区补充调查。"})
    assert back.status_code == 200
    again = county.only_task("propose_measure")
    kept = county.get(f"/api/tasks/{again['id']}").get_json()["data"]
    assert (kept["measure"], kept["reason"]) == ("interview", "初次违规且已主动纠正")  # the county's own, kept
    assert (kept["decision_reason"], kept["previous_opinion"]) == ("违规情节认定不清", "退回县区补充调查。")
    assert county.complete(again["id"], {"measure": "interview", "reason": "初次违规且已主动纠正",
                                         "opinion": "补充调查后仍建议约谈。"}).status_code == 200
    decide(batch_people, city_decision="change", decided_measure="criticism",
           decision_reason="替考性质恶劣，须公开通报")
    [measure] = _measures(ctx)
    assert (measure.kind, measure.proposed_kind, measure.reason, measure.status) == (
        "criticism", "interview", "替考性质恶劣，须公开通报", "done")
    assert _case(ctx, case_id).status == "closed"


def test_interview_is_recorded_with_its_minutes(batch_people, app, ctx):
    case_id = to_decision(batch_people, "interview", severity="minor")
    county = batch_people["county"]
    task = county.only_task("record_interview")
    no_record = county.complete(task["id"], {"interview_date": "2025-09-30", "attendees": "机构负责人、县区科长",
                                             "minutes": "指出替考问题，机构承诺加强考场管理。"})
    assert no_record.status_code == 422 and "interview_record" in no_record.get_json()["errors"]
    record = county.upload()
    assert county.complete(task["id"], {"interview_date": "2025-09-30", "attendees": "机构负责人、县区科长",
                                        "minutes": "指出替考问题，机构承诺加强考场管理。",
                                        "interview_record": str(record)}).status_code == 200
    [measure] = _measures(ctx)
    assert measure.kind == "interview" and measure.status == "done"
    assert measure.details["attendees"] == "机构负责人、县区科长" and measure.details["interview_record"] == str(record)
    assert _case(ctx, case_id).status == "closed"
    # the record is the institution's to read, and its county's and the city's; not another county's
    institution_id = batch_people["inst1"].user["institution_id"]
    own = batch_people["inst1"].get(f"/api/institutions/{institution_id}/measures").get_json()["items"]
    assert [m["kind"] for m in own] == ["interview"]
    assert batch_people["county_dz"].get(f"/api/institutions/{institution_id}/measures").status_code == 404
    # an interview is not published
    assert batch_people["inst1"].get("/api/public/measures").get_json()["items"] == []
    from tests.integration.test_web_pages import Page
    assert "处理记录" not in Page(app, "county_dz").text("/supervision")  # another county: not its record
    record = Page(app, "county").text("/supervision")
    assert "处理记录" in record and "约谈" in record and "已完成" in record


def test_criticism_is_published(batch_people, app, ctx):
    to_decision(batch_people, "criticism", reason="情节一般但影响较大")
    published = app.test_client().get("/api/public/measures").get_json()["items"]
    assert [(m["institution"], m["kind"]) for m in published] == [("池州市职业技能培训评价中心", "criticism")]
    assert "替考" in published[0]["matter"]
    page = app.test_client().get("/sanctions").get_data(as_text=True)
    assert "通报批评" in page and "池州市职业技能培训评价中心" in page


def test_rectification_deadline_passing_on_its_working_day_escalates_to_the_city(batch_people, ctx, clock):
    """Decided Fri 26 Sep 2025 with 5 working days: the make-up Sunday 28 Sep, 29 and 30 Sep, then
    (National Day 1–8 Oct) 9 and 10 Oct — due the end of Fri 10 Oct."""
    to_decision(batch_people, "rectification", deadline_days=5)
    [measure] = _measures(ctx)
    assert measure.deadline == date(2025, 10, 10)
    institution = batch_people["inst1"]
    task = institution.only_task("submit_rectification")
    assert task["due_at"].startswith("2025-10-11T00:00")
    clock.set(datetime(2025, 10, 10, 23, 59))
    fire_due_timers(ctx)
    assert institution.only_task("submit_rectification")  # still open on its last day
    clock.set(datetime(2025, 10, 11, 0, 0, 1))
    fire_due_timers(ctx)
    assert institution.open_tasks() == []
    escalation = batch_people["city"].only_task("decide_escalation")
    shown = batch_people["city"].get(f"/api/tasks/{escalation['id']}").get_json()["data"]
    assert shown["rectification_status_name"] == "逾期未整改" and shown["rectified"] is False
    with unit_of_work(ctx) as session:
        assert session.scalars(select(Rectification.status)).one() == "overdue"
    # the city's next measure: a second rectification, then it is on the record as escalated
    city, again = batch_people["city"], {"next_measure": "rectification", "opinion": "再限期整改。"}
    missing = city.complete(escalation["id"], again)
    assert missing.status_code == 422 and "二选一" in missing.get_json()["errors"]["deadline_days"]
    past = city.complete(escalation["id"], {**again, "deadline_date": "2025-10-11"})
    assert past.status_code == 422 and "晚于今天" in past.get_json()["errors"]["deadline_date"]
    assert city.complete(escalation["id"], {**again, "deadline_date": "2025-10-31"}).status_code == 200
    first, second = _measures(ctx)
    assert (first.status, second.kind, second.deadline) == ("escalated", "rectification", date(2025, 10, 31))
    assert institution.only_task("submit_rectification")["due_at"].startswith("2025-11-01T00:00")


def test_rectification_reported_and_verified_closes_the_case(batch_people, ctx):
    case_id = to_decision(batch_people, "rectification", deadline_date="2025-10-20")
    institution, county = batch_people["inst1"], batch_people["county"]
    task = institution.only_task("submit_rectification")
    shown = institution.get(f"/api/tasks/{task['id']}").get_json()["data"]
    assert shown["rectification_due"] == "2025-10-20" and "替考" in shown["rectification_matter"]
    short = institution.complete(task["id"], {"report": "已整改"})
    assert short.status_code == 422 and {"report", "rectification_evidence_1"} <= set(short.get_json()["errors"])
    evidence = institution.upload()
    assert institution.complete(task["id"], {"report": "已更换考场监控设备，对考评人员进行培训并建立双人核验制度。",
                                             "rectification_evidence_1": str(evidence)}).status_code == 200
    verify = county.only_task("verify_rectification")
    accepted = county.complete(verify["id"], {"verdict": "accepted", "verification": "现场核查，整改到位。"})
    assert accepted.status_code == 200
    with unit_of_work(ctx) as session:
        row = session.scalars(select(Rectification)).one()
        assert (row.status, row.evidence, row.verified_by) == ("accepted", [str(evidence)], county.user["id"])
    [measure] = _measures(ctx)
    assert measure.status == "done" and _case(ctx, case_id).status == "closed"
    # the institution sees the case once a measure is decided, never the bureaus' deliberation
    assert [c["id"] for c in institution.get("/api/supervision").get_json()["items"]] == [case_id]
    assert institution.get(f"/api/cases/{task['instance_id']}/timeline").status_code == 404
    assert institution.get(f"/supervision/{case_id}").status_code == 200
    assert batch_people["county_dz"].get(f"/supervision/{case_id}").status_code == 404


def test_rectification_not_accepted_goes_to_the_city(batch_people, ctx):
    to_decision(batch_people, "rectification", deadline_days=10)
    institution, county = batch_people["inst1"], batch_people["county"]
    evidence = institution.upload()
    institution.complete(institution.only_task("submit_rectification")["id"], {
        "report": "已对考评人员进行了培训，正在更换监控设备。", "rectification_evidence_1": str(evidence)})
    county.complete(county.only_task("verify_rectification")["id"], {"verdict": "rejected",
                                                                     "verification": "监控设备仍未更换。"})
    escalation = batch_people["city"].only_task("decide_escalation")
    assert batch_people["city"].complete(escalation["id"], {"next_measure": "close",
                                                            "opinion": "已约谈，不再处理。"}).status_code == 200
    assert [m.status for m in _measures(ctx)] == ["done"]


def test_suspension_stops_batches_and_shows_on_the_directory_until_the_city_lifts_it(batch_people, app, ctx, clock):
    people, institution_id = batch_people, batch_people["inst1"].user["institution_id"]
    batch_id = to_the_scores(people, ctx, clock)  # 17 Oct 2025: the institution is to enter scores
    to_decision(people, "suspension", severity="serious", suspend_from="2025-10-20")
    assert _status(ctx, institution_id) == "filed"  # from Monday 20 Oct
    clock.set(datetime(2025, 10, 20, 0, 0, 1))
    fire_due_timers(ctx)
    assert _status(ctx, institution_id) == "suspended"
    [measure] = _measures(ctx)
    assert (measure.kind, measure.status_before, measure.effective_from) == ("suspension", "filed", date(2025, 10, 20))

    institution = people["inst1"]
    refused = institution.post("/api/batches")
    assert refused.status_code == 409 and "暂停评价" in refused.get_json()["message"]
    scores = institution.only_task("enter_results")
    held = institution.complete(scores["id"], {})
    assert held.status_code == 409 and "自2025-10-20起暂停评价" in held.get_json()["message"]
    from tests.integration.test_web_pages import Page
    assert "暂停评价" in Page(app, "inst1").text(f"/tasks/{scores['id']}")
    directory = app.test_client().get("/directory").get_data(as_text=True)
    assert "暂停" in directory
    assert [m["kind"] for m in app.test_client().get("/api/public/measures").get_json()["items"]] == ["suspension"]

    county, city = people["county"], people["city"]
    verify = county.only_task("verify_suspension")
    county.complete(verify["id"], {"suspension_verdict": "not_rectified", "verification": "考场监控仍未更换到位。"})
    city.complete(city.only_task("lift_decision")["id"], {"lift_decision": "keep", "opinion": "继续暂停。"})
    assert _status(ctx, institution_id) == "suspended"
    again = county.only_task("verify_suspension")
    county.complete(again["id"], {"suspension_verdict": "rectified", "verification": "监控已更换，考评人员已培训。"})
    city.complete(city.only_task("lift_decision")["id"], {"lift_decision": "lift", "opinion": "解除暂停。"})
    assert _status(ctx, institution_id) == "filed"
    assert [m.status for m in _measures(ctx)] == ["lifted"]
    assert institution.post("/api/batches").status_code == 201
    assert "暂停评价（第二十条）" not in Page(app, "inst1").text(f"/tasks/{scores['id']}")
    assert batch_id in [b["id"] for b in institution.get("/api/batches").get_json()["items"]]


def test_removal_is_handed_over_to_revocation(batch_people, ctx):
    to_decision(batch_people, "removal", violation="fraud", severity="grave")
    [measure] = _measures(ctx)
    assert (measure.kind, measure.status) == ("removal", "handed_over")
    with unit_of_work(ctx) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "revocation_proposed")).one()
    assert event.data["ground"] == "other" and event.institution_id == batch_people["inst1"].user["institution_id"]


def test_a_substantiated_complaint_opens_a_case_instead_of_closing_with_measures(batch_people, app, ctx):
    institution_id = batch_people["inst1"].user["institution_id"]
    public = app.test_client()
    sent = public.post("/api/public/complaints", json={
        "jurisdiction_code": "341702", "institution_id": institution_id, "name": "张三", "contact": "13800000000",
        "content": "该机构在考试中组织替考，我亲眼所见，时间是9月20日上午。"})
    assert sent.status_code == 201
    county = batch_people["county"]
    task = county.only_task("handle_complaint")
    assert county.complete(task["id"], {"finding": "substantiated",
                                        "opinion": "经调查核实，情况属实。"}).status_code == 200
    with unit_of_work(ctx) as session:
        complaint = session.scalars(select(Complaint)).one()
        case = session.scalars(select(SupervisionCase)).one()
        assert (complaint.status, complaint.measures) == ("substantiated", None)
        assert (case.source, case.source_ref) == ("complaint", f"complaint:{complaint.id}")
    opened = county.only_task("investigate_case")
    facts = county.get(f"/api/tasks/{opened['id']}").get_json()["data"]["facts"]
    assert "情况属实" in facts and "张三" not in facts and "13800000000" not in facts


def test_an_unsubstantiated_complaint_opens_nothing(batch_people, app, ctx):
    public = app.test_client()
    public.post("/api/public/complaints", json={
        "jurisdiction_code": "341702", "institution_id": batch_people["inst1"].user["institution_id"],
        "name": "张三", "contact": "13800000000", "content": "该机构在考试中组织替考，我亲眼所见。"})
    county = batch_people["county"]
    county.complete(county.only_task("handle_complaint")["id"], {"finding": "unsubstantiated",
                                                                 "opinion": "经调查核实，情况不属实。"})
    with unit_of_work(ctx) as session:
        assert session.scalars(select(SupervisionCase)).all() == []


def test_an_earlier_measure_weighs_on_the_suggestion(batch_people, ctx):
    """A minor matter is an interview the first time, a public criticism within two years of another."""
    to_decision(batch_people, "interview", severity="minor")
    county = batch_people["county"]
    county.complete(county.only_task("record_interview")["id"], {
        "interview_date": "2025-09-26", "attendees": "机构负责人", "minutes": "指出问题，机构承诺整改。",
        "interview_record": str(county.upload())})
    open_case(batch_people)
    investigate(batch_people, "archive", "minor")
    data = county.get(f"/api/tasks/{county.only_task('propose_measure')['id']}").get_json()["data"]
    assert (data["prior_measures"], data["suggested_measure"]) == (1, "criticism")
    propose(batch_people, "criticism")


def test_a_pilot_passed_during_a_suspension_is_lifted_to_filed(batch_people, ctx, clock):
    """Art. 7 and 20: suspended in the pilot year, the pilot passed meanwhile — the lift gives 已备案."""
    from service.usecases import register
    institution_id = batch_people["inst1"].user["institution_id"]
    with unit_of_work(ctx) as session:
        session.get(Institution, institution_id).status = "filed_pilot"
    to_decision(batch_people, "suspension", severity="serious")
    fire_due_timers(ctx)
    assert _status(ctx, institution_id) == "suspended"
    with unit_of_work(ctx) as session:
        register.pilot_passed(session, session.get(Institution, institution_id))
    county, city = batch_people["county"], batch_people["city"]
    county.complete(county.only_task("verify_suspension")["id"], {"suspension_verdict": "rectified",
                                                                  "verification": "已整改到位，建议解除。"})
    city.complete(city.only_task("lift_decision")["id"], {"lift_decision": "lift", "opinion": "解除暂停。"})
    assert _status(ctx, institution_id) == "filed"
