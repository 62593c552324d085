"""Batch pages (Art. 15): the institution's batches with their candidates imported from Excel, the
staff's view of the batches in their scope, the city's assessor registry; and for the public the
results in notice and the certificate lookup."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for

from .. import sheets
from ..processes import batch as batches
from ..processes import inspection
from ..processes.batch import archive
from ..processes.batch.objections import objections_of
from ..processes.batch.views import CERTIFICATE_TABLE
from ..usecases import assessors, imports
from ..usecases.errors import Conflict, Forbidden, Invalid, NotFound, SheetRejected
from . import labels
from .auth import ctx, current_user, login_required

pages = Blueprint("batches", __name__)


def xlsx_download(filename: str, content: bytes):
    """An Excel file to save, its Chinese name kept (RFC 5987)."""
    return current_app.response_class(content, mimetype=imports.XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@pages.get("/batches")
@login_required
def index():
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int))
    rows = batches.list_batches(ctx(), current_user().id, status, page=page)
    return render_template("batches.html", rows=rows, status=status, page=page, statuses=labels.BATCH_STATUSES)


@pages.post("/batches")
@login_required
def start():
    try:
        started = batches.start_batch(ctx(), current_user().id)
    except (Conflict, Forbidden) as error:
        flash(error.message, "error")
        return redirect(url_for("batches.index"))
    flash("认定批次已创建：先导入参加认定人员名单，再填报批次计划", "info")
    return redirect(url_for("batches.detail", batch_id=started.batch_id))


@pages.get("/batches/<int:batch_id>")
@login_required
def detail(batch_id):
    return _detail_page(batch_id)


def _detail_page(batch_id: int, rejected: SheetRejected | None = None, what: str = "", status: int = 200,
                 typed_scores: dict | None = None, score_errors: dict | None = None):
    query = request.args.get("q", "")
    page = max(1, request.args.get("page", 1, type=int))
    user = current_user()
    found = batches.batch_detail(ctx(), user.id, batch_id, query, page)
    return render_template("batch.html", d=found, q=query, rejected=rejected, what=what,
                           modules=labels.MODULES, categories=labels.CATEGORY_NAMES,
                           checklist=archive.checklist(ctx(), user.id, batch_id), media=labels.MEDIA,
                           inspections=inspection.inspections_of(ctx(), user.id, batch_id),
                           objections=objections_of(ctx(), user.id, batch_id),
                           score_kinds=[k for k in labels.MODULES if k in {m["kind"] for m in
                                                                          found.batch.plan.get("modules", [])}],
                           typed_scores=typed_scores or {}, score_errors=score_errors or {},
                           inspectors=inspection.inspectors(ctx()) if user.role in inspection.APPOINTERS else []
                           ), status


@pages.post("/batches/<int:batch_id>/<any(candidates, scores):what>")
@login_required
def import_sheet(batch_id, what):
    """Whatever is wrong comes back on the page, row by row, with the user's own file marked."""
    upload = request.files.get("file")
    action = batches.import_candidates if what == "candidates" else batches.import_scores
    try:
        if upload is None or not upload.filename:
            raise Invalid({"file": "请选择要导入的 Excel 文件"})
        count = action(ctx(), current_user().id, batch_id, upload.filename, upload.read())
    except SheetRejected as rejected:
        flash(rejected.message, "error")
        return _detail_page(batch_id, rejected, what, 422)
    except Invalid as invalid:
        flash(invalid.errors.get("file", invalid.message), "error")
        return _detail_page(batch_id, None, what, 422)
    except (Conflict, Forbidden) as refused:
        flash(refused.message, "error")
        return _detail_page(batch_id, None, what, 409)
    flash(f"已导入{count}人的{'名单' if what == 'candidates' else '成绩'}", "info")
    return redirect(url_for("batches.detail", batch_id=batch_id))


@pages.post("/batches/<int:batch_id>/scores/entries")
@login_required
def enter_scores(batch_id):
    """Scores typed in the page: all of this page's or none; what was typed comes back with the errors."""
    entries: dict[int, dict] = {}
    typed: dict[str, str] = {}
    for key, value in request.form.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "score" and parts[1].isdigit() and len(entries) <= 1000:
            entries.setdefault(int(parts[1]), {})[parts[2]] = value[:20]
            typed[f"{parts[1]}/{parts[2]}"] = value[:20]
    try:
        count = batches.enter_scores(ctx(), current_user().id, batch_id, entries)
    except Invalid as invalid:
        flash(invalid.message, "error")
        return _detail_page(batch_id, status=422, typed_scores=typed, score_errors=invalid.errors)
    except (Conflict, Forbidden) as refused:
        flash(refused.message, "error")
        return _detail_page(batch_id, status=409)
    flash(f"已保存{count}人的成绩", "info")
    return redirect(url_for("batches.detail", batch_id=batch_id, q=request.args.get("q", ""),
                            page=request.args.get("page", 1, type=int)))


@pages.get("/batches/<int:batch_id>/<any(candidates, scores):what>/template")
@login_required
def template(batch_id, what):
    user_id = current_user().id
    if what == "candidates":
        return xlsx_download("参加认定人员导入模板.xlsx", batches.candidate_template(ctx(), user_id, batch_id))
    return xlsx_download(f"成绩导入-批次{batch_id}.xlsx", batches.score_template(ctx(), user_id, batch_id))


@pages.get("/batches/<int:batch_id>/certificates")
@login_required
def certificates(batch_id):
    """The certificate list, to print."""
    found, rows = batches.certificate_list(ctx(), current_user().id, batch_id)
    return render_template("certificates.html", b=found, rows=rows, columns=CERTIFICATE_TABLE)


@pages.get("/batches/<int:batch_id>/export/<any(signup, results, certificates):table>")
@login_required
def export(batch_id, table):
    return xlsx_download(*batches.export(ctx(), current_user().id, batch_id, table))


@pages.post("/batches/<int:batch_id>/archive")
@login_required
def archive_file(batch_id):
    """Art. 16: a document for the archive, or where its paper original is kept."""
    item, upload = request.form.get("item", ""), request.files.get("file")
    try:
        if upload is not None and upload.filename:
            archive.archive_file(ctx(), current_user().id, batch_id, item, upload.filename, upload.stream)
        else:
            archive.archive_paper(ctx(), current_user().id, batch_id, item, request.form.get("place", ""))
    except Invalid as invalid:
        flash("归档未成功：" + "；".join(invalid.errors.values()), "error")
    except (Conflict, Forbidden) as refused:
        flash(refused.message, "error")
    else:
        flash(f"已归档：{labels.ARCHIVE_CHECKLIST[item][0]}", "info")
    return redirect(url_for("batches.detail", batch_id=batch_id) + "#archive")


@pages.post("/batches/<int:batch_id>/inspections")
@login_required
def assign_inspector(batch_id):
    """Art. 15.2: the county or the city sends an inspector to the batch."""
    try:
        chosen = request.form.get("inspector_id", type=int) or 0
        inspection.assign_inspector(ctx(), current_user().id, batch_id, chosen)
        flash("已选派督查员，督查任务已进入其待办事项", "info")
    except Invalid as invalid:
        flash("；".join(invalid.errors.values()), "error")
    except (Conflict, Forbidden) as refused:
        flash(refused.message, "error")
    return redirect(url_for("batches.detail", batch_id=batch_id) + "#inspections")


@pages.get("/archive/<int:archive_id>")
@login_required
def archive_download(archive_id):
    row, stream = archive.open_archive_file(ctx(), current_user().id, archive_id)
    return send_file(stream, mimetype=row.content_type, as_attachment=True, download_name=row.filename)


@pages.post("/archive/<int:archive_id>/delete")
@login_required
def archive_delete(archive_id):
    batch_id = request.form.get("batch_id", type=int)
    try:
        archive.delete_archive(ctx(), current_user().id, archive_id)
        flash("已删除", "info")
    except (Conflict, Forbidden, NotFound) as refused:
        flash(refused.message, "error")
    return redirect(url_for("batches.detail", batch_id=batch_id) + "#archive" if batch_id else url_for("batches.index"))


@pages.get("/assessors")
@login_required
def assessor_registry():
    return _registry_page()


def _registry_page(rejected: SheetRejected | None = None, status: int = 200):
    query = request.args.get("q", "")
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = assessors.list_assessors(ctx(), current_user().id, query, page)
    return render_template("assessors.html", rows=rows, total=total, q=query, page=page, rejected=rejected,
                           may_import=current_user().role in assessors.KEEPERS), status


@pages.post("/assessors")
@login_required
def import_assessors():
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Invalid({"file": "请选择要导入的 Excel 文件"})
        done = assessors.import_assessors(ctx(), current_user().id, upload.filename, upload.read())
    except SheetRejected as rejected:
        flash(rejected.message, "error")
        return _registry_page(rejected, 422)
    except Invalid as invalid:
        flash(invalid.errors.get("file", invalid.message), "error")
        return _registry_page(None, 422)
    flash(f"考评员名册已导入：新增{done.added}条，更新{done.updated}条", "info")
    return redirect(url_for("batches.assessor_registry"))


@pages.get("/assessors/template")
@login_required
def assessor_template():
    return xlsx_download("考评员名册导入模板.xlsx", sheets.template(assessors.COLUMNS, "考评员名册"))


# --- public ---------------------------------------------------------------------------------------

@pages.get("/results")
def results():
    """Art. 15.3: results in their public notice (at least 7 days)."""
    return render_template("results.html", rows=batches.batches_in_notice(ctx()))


@pages.get("/results/<int:batch_id>")
def result(batch_id, typed=None, errors=None, status=200):
    found, rows = batches.results_in_notice(ctx(), batch_id)
    return render_template("result.html", b=found, rows=rows, typed=typed or {}, errors=errors or {}), status


@pages.post("/results/<int:batch_id>/objection")
def result_objection(batch_id):
    """Whatever is refused, the page comes back with what was typed."""
    typed = {key: request.form.get(key, "")[:4000] for key in ("name", "contact", "content")}
    try:
        batches.submit_result_objection(ctx(), batch_id, **typed)
    except Invalid as invalid:
        return result(batch_id, typed, invalid.errors, 422)
    except Conflict as conflict:
        flash(conflict.message, "error")
        return redirect(url_for("batches.results"))
    flash("异议已提交，属地人社部门将调查核实并与您联系", "info")
    return redirect(url_for("batches.result", batch_id=batch_id))


@pages.get("/certificates")
def certificate():
    """The public checks a certificate by number and name; what they typed stays in the form."""
    number, name = request.args.get("number", "").strip()[:22], request.args.get("name", "").strip()[:50]
    found, missing, status = None, None, 200
    if number or name:
        try:
            found = batches.look_up_certificate(ctx(), number, name)
        except NotFound as error:
            missing, status = error.message, 404
    return render_template("certificate.html", number=number, name=name, found=found, missing=missing), status
