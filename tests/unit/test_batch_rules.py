"""The rules of a batch that need no database (Art. 12, 13, 15.1)."""
from __future__ import annotations

from datetime import date

import pytest

from service.domain.batches import basis_problem, category_of, earliest_exam_day
from service.domain.calendar import WorkingCalendar


@pytest.mark.parametrize("filed_on, earliest", [
    (date(2025, 9, 26), date(2025, 10, 16)),  # across National Day: Sep 28 and Oct 11 worked, Oct 1–8 not
    (date(2025, 9, 22), date(2025, 10, 11)),  # Sep 23–30 make 7 (Sunday 28th worked), Oct 9, 10, Sat 11th worked
    (date(2025, 12, 1), date(2025, 12, 15)),  # an ordinary fortnight
])
def test_the_first_exam_day_is_the_tenth_working_day_after_the_plan_is_filed(filed_on, earliest):
    assert earliest_exam_day(WorkingCalendar(), filed_on) == earliest


def test_an_enterprise_names_whom_it_certifies_and_a_commissioning_is_one_of_them():
    assert category_of("enterprise", "本企业在岗职工") == ("own_staff", "")
    assert category_of("enterprise", "受其他企业委托") == ("commissioned", "")
    code, problem = category_of("enterprise", "社会人员")
    assert code is None and problem.startswith("第十三条：企业可认定的人员类别为")
    assert "请填写人员类别" in category_of("enterprise", "")[1]


def test_a_school_certifies_its_own_students_and_a_social_organisation_the_public():
    assert category_of("school", "本校学生（学员）") == ("own_student", "")
    assert category_of("school", "本企业在岗职工")[1].startswith("第十二条：技工院校")
    assert category_of("social_org", "随便写") == (None, "")


def test_the_basis_is_a_condition_of_the_level_applied_for():
    assert basis_problem("4-2", "4") == ""
    assert basis_problem("special-1", "special") == ""
    assert "不是三级/高级工的条件" in basis_problem("4-2", "3")
    assert "4-2" in basis_problem("第二条", "4")
