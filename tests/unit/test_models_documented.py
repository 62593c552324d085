"""Issue 12: the shipped models speak to the people who read them — every decision and rule
says what it checks and under which article, every lane is named in Chinese with its role kept
as a property (the engine reads the property; the modeler and the case page show the name)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from service.engine.definitions import BPMN_NS, lane_role
from service.usecases.context import ROLES

ROOT = Path(__file__).resolve().parents[2]
DMN = {"d": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
ARTICLE = re.compile(r"第[一二三四五六七八九十]+条")


@pytest.mark.parametrize("path", sorted((ROOT / "dmn").glob("*.dmn")), ids=lambda p: p.name)
def test_every_decision_and_rule_is_documented_with_its_article(path):
    tree = etree.parse(str(path))
    decisions = tree.findall("d:decision", DMN)
    assert decisions
    for decision in decisions:
        assert ARTICLE.search(decision.findtext("d:description", "", DMN)), decision.get("id")
        for rule in decision.iterfind(".//d:rule", DMN):
            assert ARTICLE.search(rule.findtext("d:description", "", DMN)), rule.get("id")


@pytest.mark.parametrize("path", sorted((ROOT / "bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_every_process_is_documented_and_every_lane_named_in_chinese_with_its_role(path):
    tree = etree.parse(str(path))
    for process in tree.iterfind(f"{{{BPMN_NS}}}process"):
        assert ARTICLE.search(process.findtext(f"{{{BPMN_NS}}}documentation", "")), process.get("id")
    lanes = list(tree.iter(f"{{{BPMN_NS}}}lane"))
    assert lanes
    for lane in lanes:
        assert CHINESE.search(lane.get("name", "")), lane.get("id")
        assert lane_role(lane) in ROLES, lane.get("id")
