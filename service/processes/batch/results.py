"""Results (Art. 15.3): the scores graded, the public notice, the late flag, the certificates."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ...domain.levels import LEVELS
from ...store.models import Candidate, Certificate
from ...usecases import audit, messages, notifications, register
from ...usecases.context import Context
from .common import batch_of


def check_batch_scores(ctx: Context, session: Session, data: dict) -> dict[str, str]:
    """Art. 15.3: results are filed for every candidate: each module of the plan scored or marked absent."""
    missing = session.scalar(select(func.count()).where(Candidate.batch_id == int(data["batch_id"]),
                                                        Candidate.scores.is_(None)))
    if missing:
        return {"_": f"还有{missing}人没有成绩，请导入全部参加认定人员的成绩（缺考的填“缺考”）"}
    return {}


def open_results(ctx, session, instance, actor, data, inputs):
    """The exam is over: the institution enters the scores."""
    batch = batch_of(session, data)
    batch.status = "results"
    return {}


def grade_results(ctx, session, instance, actor, data, inputs):
    """Each module's score through dmn/module_pass.dmn (thresholds as data); a candidate passes
    with every module of the plan passed. Absent from a module fails it."""
    batch = batch_of(session, data)
    decision = ctx.definitions(session, instance.definition_id).decisions["module_pass"]
    kinds = {m["kind"] for m in batch.plan.get("modules", [])}

    def passes(kind, score):
        # as the decimal it was written as (59.95 is 59.95, not a binary float): boundaries stay exact
        return score is not None and bool(decision.result({"module": kind, "score": Decimal(str(score))},
                                                          ctx.sandbox))

    passed = 0
    for candidate in session.scalars(select(Candidate).where(Candidate.batch_id == batch.id)):
        candidate.passed = all(passes(kind, (candidate.scores or {}).get(kind)) for kind in kinds)
        passed += candidate.passed
    return {"passed_count": passed, "failed_count": batch.candidate_count - passed}


def publish_results(ctx, session, instance, actor, data, inputs):
    """Art. 15.3: the results on the public site until `closes_at` (at least 7 days, set in the
    model); the filing is due on `due_on` (10 working days after the notice, set in the model)."""
    batch = batch_of(session, data)
    batch.status = "notice"
    batch.notice_closes_at = datetime.fromisoformat(inputs["closes_at"])
    batch.results_due_on = date.fromisoformat(str(inputs["due_on"])[:10])
    return {"results_notice_closes_at": batch.notice_closes_at.isoformat(),
            "results_due_on": batch.results_due_on.isoformat()}


def notice_over(ctx, session, instance, actor, data, inputs):
    batch = batch_of(session, data)
    batch.status = "filing_results"
    notifications.to_institution(ctx, session, batch.institution_id, notifications.Message(
        "结果公示期满", f"认定批次{batch.id}的结果公示期满，请于{batch.results_due_on:%Y年%m月%d日}前报备认定结果"
        "（第十五条第三项：10个工作日内）", f"/batches/{batch.id}"))
    return {}


def flag_results_late(ctx, session, instance, actor, data, inputs):
    """Art. 15.3: the 10th working day after the notice has passed without the results filed. The
    county and the city are told; the lateness stays on the batch for the annual rating (Art. 21)."""
    batch = batch_of(session, data)
    batch.results_late = True
    audit.record(session, ctx.clock.now(), None, "results_late", instance_id=instance.id,
                 institution_id=batch.institution_id, data={"batch_id": batch.id,
                                                            "due_on": batch.results_due_on.isoformat()})
    message = notifications.Message(
        "认定结果逾期未报备", f"{batch.institution.name} 认定批次{batch.id}应于{batch.results_due_on:%Y年%m月%d日}前"
        "报备认定结果，已逾期（第十五条第三项）", f"/batches/{batch.id}")
    notifications.to_staff(ctx, session, batch.jurisdiction_code, message)
    notifications.to_institution(ctx, session, batch.institution_id, message)
    return {"results_late": True}


def hand_over_late_results(ctx, session, instance, actor, data, inputs):
    """Art. 21 数据比对: results filed late are a matter for supervision (the message its cases start on)."""
    batch = batch_of(session, data)
    payload = {"source": "data_check", "source_ref": f"batch:{batch.id}", "institution_id": batch.institution_id,
               "facts": f"认定批次{batch.id}（{batch.title}）应于{batch.results_due_on:%Y-%m-%d}前报备认定结果，"
                        "逾期未报备（第十五条第三项）", "evidence": []}
    started = messages.publish(ctx, session, "supervision_matter", batch.institution, payload, source=instance)
    return {"supervision_cases": [case.id for case in started]}


def issue_certificates(ctx, session, instance, actor, data, inputs):
    """The results are filed: every candidate who passed gets a certificate numbered in this
    transaction (register.next_certificate_numbers); the institution's last certification day is
    kept for the inactivity rule (Art. 22.2)."""
    batch = batch_of(session, data)
    institution = batch.institution
    today = ctx.today()
    passed = session.execute(select(Candidate.name, Candidate.id_number, Candidate.occupation_code, Candidate.level)
                             .where(Candidate.batch_id == batch.id, Candidate.passed).order_by(Candidate.row)).all()
    by_level: dict[str, list] = {}
    for candidate in passed:
        by_level.setdefault(candidate.level, []).append(candidate)
    issued = 0
    for level, people in sorted(by_level.items()):
        digit = LEVELS[level].digit
        if digit is None:  # 学徒工、特级技师、首席技师: the enterprise's own certificate, no national number
            continue
        numbers = register.next_certificate_numbers(session, institution, today.year, digit, len(people))
        # thousands of rows a batch: one multi-row INSERT, not an ORM object each
        session.execute(insert(Certificate), [
            {"number": number, "batch_id": batch.id, "institution_id": institution.id, "name": c.name,
             "id_number": c.id_number, "occupation_code": c.occupation_code, "level": c.level, "issued_on": today}
            for number, c in zip(numbers, people, strict=True)])
        issued += len(people)
    batch.status, batch.results_filed_at, batch.certified_on = "certified", ctx.clock.now(), today
    institution.last_certified_on = max(filter(None, (institution.last_certified_on, batch.last_exam_day)))
    message = notifications.Message(
        "认定结果已报备", f"{institution.name} 认定批次{batch.id}报备认定结果，合格{len(passed)}人，"
        f"核发证书{issued}本（第十五条第三项）", f"/batches/{batch.id}")
    notifications.to_staff(ctx, session, batch.jurisdiction_code, message)
    return {"certificates_issued": issued}
