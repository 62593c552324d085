"""Filings as lists: an institution's own applications, and the cases staff may see; the
institution's filings in other cities (Art. 7)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..processes import filing, pilot, scope_change
from ..usecases import attachments
from ..usecases.errors import Conflict, Forbidden, Invalid
from . import labels
from .auth import ctx, current_user, login_required

institution = Blueprint("institution", __name__)


@institution.get("/filings")
@login_required
def filings():
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int))
    rows = filing.list_filings(ctx(), current_user().id, status, page=page)
    changes = scope_change.list_scope_changes(ctx(), current_user().id) if page == 1 and not status else []
    return render_template("filings.html", rows=rows, status=status, page=page, statuses=labels.FILING_FILTERS,
                           changes=changes)


@institution.post("/filings")
@login_required
def start():
    try:
        started = filing.start_filing(ctx(), current_user().id)
    except (Conflict, Forbidden) as error:
        flash(error.message, "error")
        return redirect(url_for("institution.filings"))
    flash("备案申请已创建，请填写申请表并上传申报材料", "info")
    return redirect(url_for("work.task", task_id=started.task_id))


@institution.post("/scope-changes")
@login_required
def start_scope_change():
    """申请变更备案范围 (Art. 7): the request form opens prefilled with the scope in force."""
    try:
        started = scope_change.start_scope_change(ctx(), current_user().id)
    except (Conflict, Forbidden) as error:
        flash(error.message, "error")
        return redirect(url_for("institution.filings"))
    flash("变更申请已创建：请在现行备案范围的基础上增加或删除职业（工种）等级，并填写变更理由", "info")
    return redirect(url_for("work.task", task_id=started.task_id))


@institution.get("/filings/<int:filing_id>")
@login_required
def detail(filing_id):
    found = filing.filing_detail(ctx(), current_user().id, filing_id)
    others = pilot.other_city_filings(ctx(), current_user().id, institution_id=found.institution.id)
    return render_template("filing.html", d=found, others=others)


@institution.get("/filings/<int:filing_id>/receipt")
@login_required
def receipt(filing_id):
    found = filing.receipt(ctx(), current_user().id, filing_id)
    return render_template("receipt.html", r=found, levels=labels.LEVEL_NAMES)


OTHER_CITY_FIELDS = ("city", "filing_code", "valid_until", "attachment_id", "attachment_name")


@institution.get("/other-city-filings")
@login_required
def other_city_filings():
    """异地备案 (Art. 7): an institution's filings in other cities and the form to record one;
    staff see those of the institutions in their scope, read-only."""
    user = current_user()
    refusal = pilot.other_city_refusal(ctx(), user.id) if user.role == "institution" else None
    return _other_city_page({}, {}, refusal)


@institution.post("/other-city-filings")
@login_required
def record_other_city_filing():
    """Whatever fails, the page comes back with everything typed and each problem next to its field."""
    user = current_user()
    typed = {key: request.form.get(key, "").strip() for key in OTHER_CITY_FIELDS}
    refusal = pilot.other_city_refusal(ctx(), user.id)
    if refusal:  # said before any file is stored for someone who may not record
        return _other_city_page(typed, {}, refusal, 403)
    errors = {}
    upload = request.files.get("attachment_id__file")
    if upload is not None and upload.filename:  # stored first, so a later error never loses it
        try:
            typed["attachment_id"] = str(attachments.upload_attachment(ctx(), user.id, upload.filename, upload.mimetype,
                                                                  upload.read()))
            typed["attachment_name"] = upload.filename
        except Invalid as invalid:
            errors["attachment_id"] = invalid.errors.get("file", "上传失败")
    try:
        if errors:  # a refused file must not be recorded as "no proof"
            raise Invalid(errors)
        pilot.record_other_city_filing(ctx(), user.id, typed["city"], typed["filing_code"], typed["valid_until"],
                                       typed["attachment_id"] or None)
    except Invalid as invalid:
        flash("登记未成功：请按提示修改标红的项目，已填写的内容均已保留", "error")
        return _other_city_page(typed, {**invalid.errors, **errors}, None, 422)
    except Forbidden as refused:  # the filing ended between opening the page and submitting
        return _other_city_page(typed, {}, refused.message, 403)
    flash(f"已登记{typed['city']}的异地备案（备案编号 {typed['filing_code']}）", "info")
    return redirect(url_for("institution.other_city_filings"))


def _other_city_page(typed: dict, errors: dict, refusal: str | None, status: int = 200):
    rows = pilot.other_city_filings(ctx(), current_user().id)
    return render_template("other_city_filings.html", rows=rows, typed=typed, errors=errors,
                           refusal=refusal), status
