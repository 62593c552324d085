"""Test helpers for supervision (Art. 17–20): bring a case to the city's decision."""
from __future__ import annotations

ELSEWHERE_FACTS = "某媒体报道该机构在2025年第1批认定中存在替考现象，涉及考生3人。"


def open_case(people, facts=ELSEWHERE_FACTS, source="media") -> int:
    """The county opens a case on inst1 (a media report); the case's id."""
    response = people["county"].post("/api/supervision", json={
        "institution_id": people["inst1"].user["institution_id"], "source": source, "facts": facts})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def investigate(people, violation="exam_conduct", severity="general"):
    county = people["county"]
    task = county.only_task("investigate_case")
    done = county.complete(task["id"], {"investigation": "violated", "violation": violation, "severity": severity,
                                        "findings": "经调阅考场视频和签到表，核实存在替考行为。"})
    assert done.status_code == 200, done.get_json()


def propose(people, measure, reason=""):
    county = people["county"]
    task = county.only_task("propose_measure")
    done = county.complete(task["id"], {"measure": measure, "reason": reason,
                                        "opinion": "情况属实，建议按所选措施处理，请市局复核。"})
    assert done.status_code == 200, done.get_json()


def decide(people, **extra):
    city = people["city"]
    task = city.only_task("decide_measure")
    done = city.complete(task["id"], {"city_decision": "agree", "opinion": "复核认可县区处理意见。", **extra})
    assert done.status_code == 200, done.get_json()


def to_decision(people, measure, violation="exam_conduct", severity="general", reason="", **decision):
    """A case opened, investigated, proposed with `measure` and agreed by the city; the case's id."""
    case_id = open_case(people)
    investigate(people, violation, severity)
    propose(people, measure, reason)
    decide(people, **decision)
    return case_id
