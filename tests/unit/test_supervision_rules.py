"""dmn/supervision_measure.dmn (Art. 20, 根据问题严重程度): every rule fired by a case, read from
the shipped file, so an analyst's edit that changes a suggestion shows here."""
from __future__ import annotations

import pytest

from service.engine.dmn import parse_decisions
from service.engine.sandbox import Sandbox
from tests.conftest import ROOT

(TABLE,) = parse_decisions((ROOT / "dmn" / "supervision_measure.dmn").read_bytes(), "dmn/supervision_measure.dmn")


@pytest.mark.parametrize(("violation", "severity", "prior", "measure"), [
    ("fraud", "grave", 0, "removal"),          # rule_fraud_heavy
    ("fraud", "serious", 0, "removal"),        # rule_fraud_heavy
    ("fraud", "minor", 0, "suspension"),       # rule_fraud: false materials are never an interview
    ("exam_conduct", "grave", 0, "removal"),   # rule_grave
    ("archive", "serious", 3, "suspension"),   # rule_serious
    ("fees", "general", 0, "rectification"),   # rule_general
    ("archive", "minor", 1, "criticism"),      # rule_minor_repeat
    ("archive", "minor", 0, "interview"),      # rule_minor
])
def test_the_measure_follows_the_kind_the_severity_and_the_record(violation, severity, prior, measure):
    result = TABLE.evaluate({"violation": violation, "severity": severity, "prior_measures": prior}, Sandbox({}))
    assert result == {"measure": measure}


def test_every_rule_is_fired_by_a_case_above():
    fired = set()
    for violation, severity, prior in (("fraud", "grave", 0), ("fraud", "minor", 0), ("exam_conduct", "grave", 0),
                                       ("archive", "serious", 3), ("fees", "general", 0), ("archive", "minor", 1),
                                       ("archive", "minor", 0)):
        _, ids = TABLE._hits({"violation": violation, "severity": severity, "prior_measures": prior}, Sandbox({}))
        fired.add(ids[0])  # FIRST: the first matching rule is the hit
    assert fired == {rule.id for rule in TABLE.rules}
