"""Supervision pages (Art. 17–21): staff open and follow cases, an institution reads the measures
decided on it; everyone sees the criticisms and suspensions and the spot-check plans (一公开)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..domain.supervision import MEASURES, SEVERITIES, SOURCES, VIOLATIONS
from ..processes import rectification, revocation, spot_check, supervision
from ..usecases import attachments, register
from ..usecases.errors import Forbidden, Invalid
from .auth import ctx, current_user, login_required

pages = Blueprint("supervision", __name__)
NAMES = {"sources": SOURCES, "measures": MEASURES, "violations": VIOLATIONS, "severities": SEVERITIES,
         "staff_sources": supervision.STAFF_SOURCES, "rectification_statuses": rectification.STATUS_NAMES,
         "case_statuses": {"investigating": "调查核实中", "no_violation": "未发现违规，已结案",
                           "proposed": "待市局复核",
                           "decided": "处理中", "closed": "已结案"},
         "measure_statuses": {"in_effect": "执行中", "done": "已完成", "escalated": "已升级处理", "lifted": "已解除",
                              "handed_over": "已移交取消备案"}}


@pages.get("/supervision")
@login_required
def index(typed=None, errors=None, status=200):
    user = current_user()
    openers = user.role in supervision.OPENERS
    return render_template(
        "supervision.html", cases=supervision.cases(ctx(), user.id), typed=typed or {}, errors=errors or {},
        institutions=supervision.institutions_to_open(ctx(), user.id) if openers else [], may_open=openers,
        rectifications=rectification.rectifications_of(ctx(), user.id),
        measure_list=supervision.measures_in_scope(ctx(), user.id), **NAMES), status


@pages.post("/supervision")
@login_required
def open_case():
    user = current_user()
    typed = {key: request.form.get(key, "").strip() for key in ("institution_id", "source", "facts")}
    try:
        add_evidence(user.id, typed)
        institution_id = int(typed["institution_id"]) if typed["institution_id"].isdigit() else None
        case_id = supervision.open_case(ctx(), user.id, institution_id, typed["source"], typed["facts"],
                                        typed["evidence"])
    except Invalid as invalid:
        errors = {("evidence" if key == "file" else key): message for key, message in invalid.errors.items()}
        return index(typed, errors, 422)
    except Forbidden as forbidden:
        flash(forbidden.message, "error")
        return redirect(url_for("supervision.index"))
    flash("已立案，属地县区人社部门调查核实", "info")
    return redirect(url_for("supervision.case", case_id=case_id))


def add_evidence(user_id: int, typed: dict) -> None:
    """The evidence a case-opening form carries, into `typed["evidence"]`: files uploaded with an
    earlier, refused post (kept as hidden fields), then each file chosen now, stored as it comes,
    so a later error (a refused file, a missing field) loses none of them."""
    typed["evidence"] = [key for key in request.form.getlist("evidence") if key.isdigit()]
    for upload in request.files.getlist("evidence_file"):
        if upload and upload.filename:
            typed["evidence"].append(str(attachments.upload_attachment(ctx(), user_id, upload.filename,
                                                                       upload.mimetype, upload.read())))


@pages.get("/supervision/<int:case_id>")
@login_required
def case(case_id):
    return render_template("supervision_case.html", d=supervision.case_detail(ctx(), current_user().id, case_id),
                           **NAMES)


@pages.get("/sanctions")
def sanctions():
    """一公开 (Art. 21): criticisms and suspensions decided by the city."""
    return render_template("sanctions.html", rows=supervision.public_measures(ctx()),
                           revoked=revocation.public_revocations(ctx()), grounds=register.GROUNDS, **NAMES)


@pages.get("/spot-checks")
def spot_checks(typed=None, errors=None, status=200):
    """双随机、一公开 (Art. 21): every plan is public; the city and counties draw here."""
    user = current_user()
    return render_template("spot_checks.html", plans=spot_check.plans(ctx()), may_draw=spot_check.may_draw(user),
                           typed=typed or {"exclude_own": "1"}, errors=errors or {}), status


@pages.post("/spot-checks")
@login_required
def draw_spot_checks():
    form = request.form
    typed = {key: form.get(key, "").strip() for key in ("title", "count", "rate", "kind", "occupation_code", "seed")}
    typed["exclude_own"] = form.get("exclude_own", "")
    try:
        numbers = {key: _number(typed[key], key) for key in ("count", "rate")}
        plan_id = spot_check.draw_plan(ctx(), current_user().id, typed["title"], **numbers,
                                       kind=typed["kind"] or None, occupation_code=typed["occupation_code"] or None,
                                       exclude_own=bool(typed["exclude_own"]), seed=typed["seed"] or None)
    except Invalid as invalid:
        return spot_checks(typed, invalid.errors, 422)
    except Forbidden as forbidden:
        flash(forbidden.message, "error")
        return redirect(url_for("supervision.spot_checks"))
    flash("已随机抽取并公开抽查计划，抽中的督查员已收到任务", "info")
    return redirect(url_for("supervision.spot_check_plan", plan_id=plan_id))


def _number(text: str, key: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise Invalid({key: "请填写正整数"})
    return int(text)


@pages.get("/spot-checks/<int:plan_id>")
def spot_check_plan(plan_id):
    view = spot_check.plan_view(ctx(), plan_id)
    return render_template("spot_check_plan.html", v=view, sees_inspectors=spot_check.sees_inspectors(current_user()))
