"""Rules of a certification batch (评价批次, Art. 12, 13, 15.1) that need no database: who may be a
candidate of which kind of institution, how early a plan is filed, which modules need assessors."""
from __future__ import annotations

import re
from datetime import date

from .calendar import WorkingCalendar
from .levels import LEVELS

# Art. 15.1: 评价机构提前10个工作日将具体认定批次计划报属地人力资源社会保障部门备案
PLAN_NOTICE_WORKING_DAYS = 10

# Art. 13: whom an enterprise certifies. The last needs the commissioning unit named.
ENTERPRISE_CATEGORIES = {
    "own_staff": "本企业在岗职工",
    "dispatched": "劳务派遣人员",
    "outsourced": "业务外包人员",
    "partner_student": "校企合作院校学生（培训学员）",
    "commissioned": "受其他企业委托",
}
# Art. 12: a school certifies its own students (学员).
SCHOOL_CATEGORIES = {"own_student": "本校学生（学员）"}
CATEGORY_NAMES = {**ENTERPRISE_CATEGORIES, **SCHOOL_CATEGORIES}
_CATEGORY_BY_NAME = {name: code for code, name in CATEGORY_NAMES.items()} | {code: code for code in CATEGORY_NAMES}

# 申报条件: the applicable condition of the occupation's national standard, written "<level digit>-<n>"
# (四级 condition (2) is 4-2), or "<level code>-<n>" for the enterprise-only levels.
BASIS = re.compile(r"^(?P<level>[1-5]|apprentice|special|chief)-(?P<n>\d{1,2})$")

MODULES = {"theory": "理论知识考试", "practical": "操作技能考核", "review": "综合评审"}
ASSESSED_MODULES = ("practical", "review")  # marked by assessors; a theory exam is invigilated


def earliest_exam_day(calendar: WorkingCalendar, filed_on: date) -> date:
    """Art. 15.1: the first exam day may be the 10th working day after the day the plan is filed,
    not earlier; the filing day never counts (as for the notice period)."""
    return calendar.working_days_after(filed_on, PLAN_NOTICE_WORKING_DAYS)


def category_of(kind: str, text: str) -> tuple[str | None, str]:
    """The category code of a candidate of this kind of institution, or the problem with it."""
    text = (text or "").strip()
    if kind == "social_org":
        return None, ""  # Art. 14: a social organisation certifies the public; no category
    allowed = ENTERPRISE_CATEGORIES if kind == "enterprise" else SCHOOL_CATEGORIES
    code = _CATEGORY_BY_NAME.get(text)
    if not text:
        return None, f"请填写人员类别：{'、'.join(allowed.values())}"
    if code not in allowed:
        article = "第十三条：企业" if kind == "enterprise" else "第十二条：技工院校"
        return None, f"{article}可认定的人员类别为{'、'.join(allowed.values())}，不含“{text}”"
    return code, ""


def basis_problem(basis: str, level: str) -> str:
    """申报条件 must be a condition of the level applied for."""
    found = BASIS.match(basis or "")
    if not found:
        return "申报条件应写成“等级-条件序号”，如四级条件（2）写 4-2"
    if found["level"] != level:
        name = LEVELS[level].name if level in LEVELS else level
        return f"申报条件 {basis} 不是{name}的条件"
    return ""


# Art. 16: 评价机构要逐批次妥善保管评价档案资料（纸质材料保存至少3年，电子、影像材料至少保存5年）. The
# paper list as the article gives it; the electronic archive holds their electronic copies and the
# site's photos and video. Each item: its name and what it is kept as.
ARCHIVE_CHECKLIST = {
    "application_forms": ("个人申报审核表", "paper"),
    "signup_sheet": ("报名汇总表", "paper"),
    "plan": ("批次认定计划（考务方案）", "paper"),
    "marking_records": ("阅卷评分及考评记录表", "paper"),
    "invigilation_records": ("监考记录表", "paper"),
    "supervision_records": ("内部督导记录表", "paper"),
    "score_review": ("成绩审核表", "paper"),
    "results_roster": ("评价结果汇总表及花名册", "paper"),
    "certificate_application": ("证书核发申领表", "paper"),
    "photos": ("评价现场照片", "electronic"),
    "video": ("视频监控资料", "video"),
}
RETENTION_YEARS = {"paper": 3, "electronic": 5, "video": 5}
MEDIA = {"paper": "纸质原件", "electronic": "电子文档", "video": "影像资料"}
