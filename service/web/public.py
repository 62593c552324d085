"""Pages for everyone, no login: the directory of filed institutions, open public notices with
the objection form (Art. 7), and complaints (投诉举报, Art. 19)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from .. import sheets
from ..api.schemas import ComplaintIn, ObjectionIn
from ..processes import complaint as complaints
from ..processes import filing
from ..usecases.errors import Conflict, Invalid
from . import _reference, labels
from .auth import ctx
from .batches import xlsx_download

public = Blueprint("public", __name__)
PER_PAGE = 50
# the API's schemas hold the columns' lengths; the forms are checked against the same
OBJECTION, COMPLAINT = ObjectionIn(), ComplaintIn()


def _check_lengths(schema, typed: dict) -> None:
    """Too long for its column: said next to the field, with everything typed kept (never a database error)."""
    errors = schema.validate({key: value for key, value in typed.items() if key in schema.fields})
    if errors:
        raise Invalid({key: messages[0] for key, messages in errors.items()})


@public.get("/directory")
def directory():
    args = request.args
    search = {key: args.get(key, "").strip() for key in ("q", "occupation", "jurisdiction", "kind")}
    if args.get("export") == "xlsx":
        return _directory_sheet(filing.directory(ctx(), **search, page=1, per_page=DIRECTORY_EXPORT))
    page = max(1, args.get("page", 1, type=int))
    rows = filing.directory(ctx(), **search, page=page, per_page=PER_PAGE)
    return render_template("directory.html", rows=rows, search=search, page=page, per_page=PER_PAGE)


DIRECTORY_EXPORT = 10_000  # a province has about 2,000 institutions
DIRECTORY_COLUMNS = [sheets.Column(key, title, width=width) for key, title, width in (
    ("code", "备案编码", 16), ("name", "机构名称", 30), ("kind", "类型", 16), ("place", "属地", 12),
    ("scope", "备案范围（职业（工种）及等级）", 50), ("valid", "有效期", 24), ("status", "状态", 14),
    ("stars", "年度评估", 14))]


def _directory_sheet(rows):
    """The public directory as people exchange it, in Chinese column names."""
    names = _reference(current_app)
    lines = ([i.filing_code, i.name, labels.KINDS.get(i.kind, i.kind),
              names["jurisdictions"].get(i.jurisdiction_code, ""),
              "、".join(f"{names['occupation_names'].get(s.occupation_code) or s.occupation_code}"
                       f"（{labels.LEVEL_NAMES.get(s.level, s.level)}）" for s in i.scope if s.is_active),
              f"{i.valid_from} 至 {i.valid_until}", labels.INSTITUTION_STATUSES.get(i.status, i.status),
              f"{i.stars}星（{i.stars_year}年度）" if i.stars else ""] for i in rows)
    return xlsx_download(f"评价机构名录-{ctx().today():%Y%m%d}.xlsx",
                         sheets.write(DIRECTORY_COLUMNS, lines, "评价机构名录"))


NOTICES_PER_PAGE = 20


@public.get("/notices")
def notices(typed=None, errors=None, status=200):
    page = max(1, request.args.get("page", 1, type=int))
    return render_template("notices.html", notices=filing.open_notices(ctx(), page, NOTICES_PER_PAGE),
                           page=page, per_page=NOTICES_PER_PAGE, typed=typed or {}, errors=errors or {}), status


@public.post("/notices/<int:notice_id>/objection")
def objection(notice_id):
    typed = {key: request.form.get(key, "") for key in ("name", "contact", "content")}
    try:
        _check_lengths(OBJECTION, typed)
        filing.submit_objection(ctx(), notice_id, **typed)
    except Invalid as invalid:
        return notices({**typed, "notice_id": notice_id}, invalid.errors, 422)
    except Conflict as conflict:
        flash(conflict.message, "error")
        return notices({**typed, "notice_id": notice_id}, {}, 409)
    flash("异议已提交，属地人社部门将调查核实并与您联系", "info")
    return redirect(url_for("public.notices"))


@public.route("/complaint", methods=["GET", "POST"])
def complaint():
    typed = {key: request.form.get(key, "").strip() for key in
             ("jurisdiction_code", "institution_name", "name", "contact", "content")}
    if request.method == "GET":
        return render_template("complaint.html", typed=typed, errors={})
    try:
        _check_lengths(COMPLAINT, typed)
        number = complaints.submit_complaint(ctx(), typed["jurisdiction_code"], None, typed["institution_name"],
                                             typed["name"], typed["contact"], typed["content"])
    except Invalid as invalid:
        return render_template("complaint.html", typed=typed, errors=invalid.errors), 422
    flash(f"投诉举报已受理（编号{number}），属地人社部门将依法调查处理", "info")
    return redirect(url_for("public.complaint"))
