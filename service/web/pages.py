"""HTML pages. This increment has the printable filing receipt; the inbox pages come next."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, session

from ..domain.levels import LEVELS
from ..usecases import filing, tasks
from ..usecases.errors import NotFound

pages = Blueprint("pages", __name__, template_folder="templates")
KINDS = {"enterprise": "企业", "school": "技工院校", "social_org": "社会培训评价组织"}
ROLES = {"institution": "评价机构", "county": "县区人社部门", "city": "市人社局", "province": "省中心",
         "inspector": "督查员", "analyst": "分析员"}
ACTIONS = {"start": "发起", "complete": "办理", "return": "退回", "claim": "签收", "unclaim": "取消签收",
           "draft": "暂存", "decision": "规则判定", "service": "系统处理", "objection": "收到异议",
           "reported_to_province": "上报省中心"}


@pages.get("/")
def index():
    context = current_app.extensions["context"]
    return render_template("index.html", filed=filing.directory_size(context),
                           notices=len(filing.open_notices(context)))


@pages.get("/filings/<int:filing_id>/receipt")
def receipt(filing_id):
    if "user_id" not in session:
        return render_template("message.html", message="请先登录后查看备案回执"), 401
    try:
        found = filing.receipt(current_app.extensions["context"], session["user_id"], filing_id)
    except NotFound as error:
        return render_template("message.html", message=error.message), 404
    return render_template("receipt.html", r=found, kinds=KINDS, levels=LEVELS)


@pages.get("/cases/<int:instance_id>/record")
def record(instance_id):
    """The printable record of a case (Art. 16, 18: every step recorded and traceable)."""
    if "user_id" not in session:
        return render_template("message.html", message="请先登录后查看办理记录"), 401
    context = current_app.extensions["context"]
    try:
        found = tasks.timeline(context, session["user_id"], instance_id)
    except NotFound as error:
        return render_template("message.html", message=error.message), 404
    return render_template("record.html", t=found, actions=ACTIONS, roles=ROLES)
