"""Annual rating (年度评估, Art. 21), with bpmn/annual_rating_round.bpmn (a yearly timer start: every
filed institution is due) and bpmn/annual_rating.bpmn (one institution): the indicators the
system holds are collected and turned into data points by the weights in the model; the county
scores what the data cannot show; dmn/star_rating.dmn gives 1–5 stars; the city confirms or
adjusts with a reason; the stars are public in the directory. Below three stars (Art. 21, 22.6):
rectification (bpmn/rectification.bpmn, the same loop as supervision's), then a re-rating; not
rectified in time, or still below three, is handed over as a revocation on ground 6."""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import func, select

from ..domain.batches import ARCHIVE_CHECKLIST
from ..store.db import read_only
from ..store.models import (
    FILED_STATUSES,
    ArchiveItem,
    Batch,
    Certificate,
    Complaint,
    Inspection,
    Institution,
    Measure,
    Rating,
    SpotCheck,
    User,
)
from ..usecases import access, audit, messages, notifications
from ..usecases.context import Context, unit_of_work
from ..usecases.topics import Topic

PROCESS = "annual_rating"
ENDS_WITH_THE_FILING = (PROCESS,)  # nothing left to rate
MESSAGE = "annual_rating_due"
MANUAL = ("management", "exam_conduct", "question_bank", "assessor_team")  # scored by the county
WEIGHTS = ("points", "late", "complaint", "interview", "criticism", "rectification", "suspension", "removal",
           "problem", "idle", "archive")


def start_ratings(ctx, session, instance, actor, data, inputs):
    """The yearly round: every filed institution filed before the year's end is rated for the year
    before the occurrence (a rating in January 2027 is the rating of 2026)."""
    year = int(str(data.get("occurrence") or ctx.today())[:4]) - 1
    due = session.scalars(select(Institution).where(Institution.status.in_(FILED_STATUSES),
                                                    Institution.valid_from <= date(year, 12, 31))
                          .order_by(Institution.id)).all()
    for institution in due:
        messages.publish(ctx, session, MESSAGE, institution, {"institution_id": institution.id, "year": year},
                         source=instance)
    return {"rated": len(due), "year": year}


def collect_indicators(ctx, session, instance, actor, data, inputs):
    """What the system holds of the year (Art. 15–20), and the data points it is worth by the
    model's weights (input parameters: analysts change them in the model, not here)."""
    institution = session.get(Institution, int(data["institution_id"]))
    year = int(data["year"])
    start, end = datetime.combine(date(year, 1, 1), time()), datetime.combine(date(year + 1, 1, 1), time())
    weights = {name: Decimal(str(inputs[name])) for name in WEIGHTS}

    def count(statement):
        return session.scalar(select(func.count()).select_from(statement.subquery()))

    measures = dict(session.execute(select(Measure.kind, func.count()).where(
        Measure.institution_id == institution.id, Measure.decided_at >= start, Measure.decided_at < end)
        .group_by(Measure.kind)).all())
    found = {
        "batches_certified": count(select(Batch.id).where(Batch.institution_id == institution.id,
                                                          Batch.status == "certified", Batch.created_at >= start,
                                                          Batch.created_at < end)),
        "certificates": count(select(Certificate.id).where(Certificate.institution_id == institution.id,
                                                           Certificate.issued_on >= start.date(),
                                                           Certificate.issued_on < end.date())),
        "results_late": count(select(Batch.id).where(Batch.institution_id == institution.id, Batch.results_late,
                                                     Batch.created_at >= start, Batch.created_at < end)),
        "complaints_substantiated": count(select(Complaint.id).where(
            Complaint.institution_id == institution.id, Complaint.status == "substantiated",
            Complaint.created_at >= start, Complaint.created_at < end)),
        "problems_found": int(session.scalar(select(func.coalesce(func.sum(Inspection.problems), 0)).where(
            Inspection.institution_id == institution.id, Inspection.recorded_at >= start,
            Inspection.recorded_at < end)) or 0) + int(session.scalar(select(
                func.coalesce(func.sum(SpotCheck.problems), 0)).where(
                SpotCheck.institution_id == institution.id, SpotCheck.recorded_at >= start,
                SpotCheck.recorded_at < end)) or 0),
        **{f"measures_{kind}": measures.get(kind, 0) for kind in ("interview", "criticism", "rectification",
                                                                 "suspension", "removal")},
    }
    # Art. 16: a certified batch whose archive misses an item of the checklist
    kept = session.execute(select(ArchiveItem.batch_id, func.count(ArchiveItem.item.distinct())).where(
        ArchiveItem.batch_id.in_(select(Batch.id).where(
            Batch.institution_id == institution.id, Batch.status == "certified", Batch.created_at >= start,
            Batch.created_at < end))).group_by(ArchiveItem.batch_id)).all()
    found["archives_incomplete"] = found["batches_certified"] - sum(
        1 for _, items in kept if items >= len(ARCHIVE_CHECKLIST))
    deductions = (weights["late"] * found["results_late"] + weights["complaint"] * found["complaints_substantiated"]
                  + sum(weights[kind] * found[f"measures_{kind}"] for kind in
                        ("interview", "criticism", "rectification", "suspension", "removal"))
                  + weights["problem"] * found["problems_found"] + weights["archive"] * found["archives_incomplete"]
                  + (weights["idle"] if found["batches_certified"] == 0 else 0))
    points = max(Decimal(0), weights["points"] - deductions)
    row = Rating(institution_id=institution.id, year=year, round=1, instance_id=instance.id,
                 indicators={**found, "data_points": str(points)}, status="scoring")
    session.add(row)
    session.flush()
    return {"rating_id": row.id, "rating_round": 1, "name": institution.name, **found, "data_points": points,
            "suspended_this_year": found["measures_suspension"]}


def total_score(ctx, session, instance, actor, data, inputs):
    """The county's scores and the data points: the table's input, exact (a Decimal)."""
    row = _row(session, data)
    manual = {name: int(data[name]) for name in MANUAL}
    total = Decimal(str(data["data_points"])) + sum(manual.values())
    row.indicators = {**row.indicators, **manual, "county_opinion": data.get("opinion")}
    row.total, row.status = str(total), "confirming"
    return {"total_score": total, "county_opinion": data.get("opinion")}


def record_rating(ctx, session, instance, actor, data, inputs):
    """The city's stars on the record and, as the current rating, in the public directory."""
    row = _row(session, data)
    suggested = int(data["stars"])
    stars = int(data["adjusted_stars"]) if data.get("rating_decision") == "adjust" else suggested
    if not 1 <= stars <= 5:
        raise ValueError(f"record_rating: stars must be 1–5, got {stars!r}")
    row.suggested_stars, row.stars, row.status = suggested, stars, "rated"
    row.confirmed_by, row.confirmed_at = actor.id if actor else None, ctx.clock.now()
    institution = session.get(Institution, row.institution_id)
    institution.stars, institution.stars_year = stars, row.year
    audit.record(session, ctx.clock.now(), actor, "rated", instance_id=instance.id, institution_id=institution.id,
                 data={"year": row.year, "round": row.round, "stars": stars, "suggested": suggested,
                       "total": row.total})
    text = f"{row.year}年度评估{'（整改后复评）' if row.round > 1 else ''}：{stars}星级（总分{row.total}）" + (
        "。三星级以下，须限期整改（第二十一条、第二十二条第六项）" if stars < 3 else "")
    notifications.to_institution(ctx, session, institution.id, notifications.Message("年度评估结果", text, "/ratings"))
    notifications.to_staff(ctx, session, institution.jurisdiction_code, notifications.Message(
        f"年度评估：{institution.name}", text, f"/cases/{instance.id}"))
    return {"final_stars": stars, "below_three": stars < 3}


def open_rating_rectification(ctx, session, instance, actor, data, inputs):
    """Below three stars: a rectification with the deadline the model sets (input `working_days`)."""
    row = _row(session, data)
    due = ctx.current_calendar().working_days_after(ctx.today(), int(inputs["working_days"]))
    return {"rectification_origin": f"rating:{row.id}", "rectification_due": due.isoformat(),
            "rectification_matter": f"{row.year}年度评估为{row.stars}星级（三星级以下），请按评估意见整改："
                                    f"{data.get('opinion') or data.get('county_opinion') or ''}"}


def re_rate(ctx, session, instance, actor, data, inputs):
    """Rectified in time: the county scores again (round 2), on the same data points."""
    first = _row(session, data)
    row = Rating(institution_id=first.institution_id, year=first.year, round=2, instance_id=instance.id,
                 indicators={k: v for k, v in first.indicators.items() if k not in MANUAL}, status="scoring")
    session.add(row)
    session.flush()
    return {"rating_id": row.id, "rating_round": 2}


def propose_revocation(ctx, session, instance, actor, data, inputs):
    """Art. 22.6 年度工作评估为三星级以下且限期内未完成整改: the hand-over to revocation."""
    row = _row(session, data)
    institution = session.get(Institution, row.institution_id)
    why = ("未在期限内完成整改" if data.get("rectified") is False else f"整改后复评仍为{row.stars}星级")
    payload = {"institution_id": institution.id, "ground": "low_rating", "source": "rating",
               "source_ref": f"rating:{row.id}", "facts": f"{row.year}年度评估为三星级以下，{why}。", "evidence": []}
    started = messages.publish(ctx, session, "revocation_proposed", institution, payload, source=instance)
    return {"revocation_cases": [c.id for c in started]}


def _row(session, data) -> Rating:
    return session.get(Rating, int(data["rating_id"]))


def ratings(ctx: Context, user_id: int, year: int | None = None) -> list[Rating]:
    """Ratings a user may see, best first: the city's list by stars, a county's, an institution's history."""
    with unit_of_work(ctx) as session:
        read_only(session)
        user = session.get(User, user_id)
        statement = select(Rating).join(Institution, Institution.id == Rating.institution_id).where(
            access.scope_filter(user, Rating.institution_id, Institution.jurisdiction_code), Rating.status == "rated")
        if year:
            statement = statement.where(Rating.year == year)
        rows = session.scalars(statement.order_by(Rating.year.desc(), Rating.stars.desc(), Rating.round.desc(),
                                                  Institution.name).limit(1000)).all()
        for row in rows:
            row.institution  # noqa: B018 — read after the session closes
        return list(rows)


TOPICS = {
    "start_ratings": Topic.of(start_ratings),
    "collect_indicators": Topic.of(collect_indicators, WEIGHTS),
    "total_score": Topic.of(total_score),
    "record_rating": Topic.of(record_rating),
    "open_rating_rectification": Topic.of(open_rating_rectification, ("working_days",)),
    "re_rate": Topic.of(re_rate),
    "propose_low_rating_revocation": Topic.of(propose_revocation),
}
