"""The words of supervision (Art. 17–21): where a matter comes from, what was violated and how
badly, and the five measures of Art. 20 from the lightest to the heaviest. Keys are stored and
carried by the models; the names are shown."""
from __future__ import annotations

SOURCES = {
    "complaint": "投诉举报（第十九条）",
    "media": "媒体曝光（第十九条）",
    "inspection": "督查发现（第十五条第二项、第十七条）",
    "spot_check": "双随机抽查（第二十一条）",
    "data_check": "数据比对（第二十一条）",
    "staff": "日常督导（第十九条）",
}

# Art. 17's key links and Art. 22's grounds, as the county names what it found
VIOLATIONS = {
    "qualification": "申报资格审核不严",
    "exam_conduct": "考评实施违规（考务、考场纪律、考评人员）",
    "results": "成绩公示、结果报备违规",
    "certificates": "证书核发违规",
    "out_of_scope": "超出备案范围开展认定",
    "quality_control": "内部质量管控缺失",
    "archive": "档案资料不完整、不规范",
    "fees": "违规收费",
    "fraud": "弄虚作假（虚假材料、虚假承诺、虚假证书）",
    "other": "其他违规违纪",
}

SEVERITIES = {"minor": "轻微", "general": "一般", "serious": "严重", "grave": "特别严重"}

# Art. 20, in the regulation's order, which is also their weight
MEASURES = {
    "interview": "约谈",
    "criticism": "通报批评",
    "rectification": "限期整改",
    "suspension": "暂停评价",
    "removal": "移除机构备案",
}
# what the public sees on the institution (Art. 21 一公开): the others stay between bureau and institution
PUBLIC_MEASURES = ("criticism", "suspension")
