"""Revocation and rating pages (Art. 21, 22): staff open a case on a ground, an institution applies
to withdraw, each follows its cases; the city prints the notice to the sponsor and the province's
report; the annual ratings by stars."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ..processes import rating, revocation
from ..usecases import register
from ..usecases.errors import Conflict, Forbidden, Invalid
from .auth import ctx, current_user, login_required
from .batches import xlsx_download
from .supervision import add_evidence

pages = Blueprint("revocations", __name__)
STATUSES = {"open": "办理中", "dismissed": "县区不予提出", "not_revoked": "不予取消", "revoked": "已取消备案"}
NAMES = {"grounds": register.GROUNDS, "staff_grounds": revocation.STAFF_GROUNDS, "sources": revocation.SOURCES,
         "statuses": STATUSES}


@pages.get("/revocations")
@login_required
def index(typed=None, errors=None, status=200):
    user = current_user()
    staff = user.role in ("county", "city")
    return render_template("revocations.html", cases=revocation.cases(ctx(), user.id), typed=typed or {},
                           errors=errors or {}, may_open=staff,
                           institutions=revocation.institutions_to_open(ctx(), user.id) if staff else [],
                           **NAMES), status


@pages.post("/revocations")
@login_required
def open_case():
    user = current_user()
    form = request.form
    typed = {key: form.get(key, "").strip() for key in ("institution_id", "ground", "facts", "reason")}
    typed["evidence"] = []
    try:
        if user.role == "institution":
            case_id = revocation.apply_withdrawal(ctx(), user.id, typed["reason"])
        else:
            add_evidence(user.id, typed)
            institution_id = int(typed["institution_id"]) if typed["institution_id"].isdigit() else None
            case_id = revocation.open_case(ctx(), user.id, institution_id, typed["ground"], typed["facts"],
                                           typed["evidence"])
    except Invalid as invalid:
        errors = {("evidence" if key == "file" else key): message for key, message in invalid.errors.items()}
        return index(typed, errors, 422)
    except (Conflict, Forbidden) as refused:
        flash(refused.message, "error")
        return index(typed, {}, 409)
    flash("已提交，由属地县区审查、市人社局决定（第二十二条）", "info")
    return redirect(url_for("revocations.case", case_id=case_id))


@pages.get("/revocations/<int:case_id>")
@login_required
def case(case_id):
    return render_template("revocation.html", v=revocation.case_view(ctx(), current_user().id, case_id), **NAMES)


@pages.get("/revocations/<int:case_id>/notice")
@login_required
def notice(case_id):
    """Art. 22 通报其主管部门或举办单位: the document to print or send."""
    view = revocation.case_view(ctx(), current_user().id, case_id)
    if view.revocation is None or current_user().role not in ("county", "city", "province"):
        abort(404)
    return render_template("revocation_notice.html", v=view, **NAMES)


@pages.get("/revocations/report.xlsx")
@login_required
def report():
    return xlsx_download("取消备案报告.xlsx", revocation.report_sheet(ctx(), current_user().id))


STARS = {1: "一星级", 2: "二星级", 3: "三星级", 4: "四星级", 5: "五星级"}


@pages.get("/ratings")
@login_required
def ratings():
    """Art. 21: the city's list of institutions by stars, a county's, an institution's own history."""
    year = request.args.get("year", type=int)
    return render_template("ratings.html", rows=rating.ratings(ctx(), current_user().id, year), year=year,
                           stars=STARS)
