"""HTML pages. This increment has the printable filing receipt; the inbox pages come next."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, session

from ..domain.levels import LEVELS
from ..usecases import filing
from ..usecases.errors import NotFound

pages = Blueprint("pages", __name__, template_folder="templates")
KINDS = {"enterprise": "企业", "school": "技工院校", "social_org": "社会培训评价组织"}


@pages.get("/filings/<int:filing_id>/receipt")
def receipt(filing_id):
    if "user_id" not in session:
        return render_template("message.html", message="请先登录后查看备案回执"), 401
    try:
        found = filing.receipt(current_app.extensions["context"], session["user_id"], filing_id)
    except NotFound as error:
        return render_template("message.html", message=error.message), 404
    return render_template("receipt.html", r=found, kinds=KINDS, levels=LEVELS)
