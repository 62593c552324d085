"""The HTML pages through Flask's test client: who sees which page, what a failed submit keeps,
and the inbox's filters. The browser walk-through is in tests/e2e."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import text

from service.processes import complaint
from tests.helpers import PASSWORD, Api, application, make_institution, make_staff


class Page:
    """A user with a browser's cookie jar, posting forms with the CSRF token the page gave."""

    def __init__(self, app, username=None):
        self.client = app.test_client()
        if username:
            response = self.form("/login", {"username": username, "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)

    def token(self, url="/login") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', self.get(url).get_data(as_text=True)).group(1)

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def text(self, url) -> str:
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def form(self, url, data, page="/login", **kwargs):
        return self.client.post(url, data={"csrf_token": self.token(page), **data}, **kwargs)


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    make_institution(ctx)
    make_institution(ctx, serial=2, name="东至县职业培训学校", jurisdiction="341721")
    return {name: Api(app, name) for name in ("inst1", "inst2", "county", "county_dz", "city")}


def submitted(people):
    """inst1's application submitted through the API; returns (started, county's task)."""
    institution = people["inst1"]
    started = institution.post("/api/filings").get_json()
    attachment = institution.upload()
    data = application("52341702MJ0000001D", "池州市职业技能培训评价中心", attachment_id=attachment)
    assert institution.complete(started["task_id"], data).status_code == 200
    return started, people["county"].only_task("initial_review")


def test_pages_ask_for_login_and_return_to_the_page_asked_for(app, people):
    response = Page(app).get("/inbox")
    assert response.status_code == 302 and "/login?next=/inbox" in response.headers["Location"]
    page = Page(app)
    response = page.form("/login?next=/inbox", {"username": "county", "password": PASSWORD})
    assert response.headers["Location"] == "/inbox"


def test_login_never_sends_the_user_to_another_site(app, people):
    page = Page(app)
    response = page.form("/login?next=//evil.example/x", {"username": "county", "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_wrong_password_keeps_the_username_and_says_so(app, people):
    response = Page(app).form("/login", {"username": "county", "password": "wrong"})
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert "用户名或密码错误" in body and 'value="county"' in body


def test_forms_without_the_csrf_token_are_refused(app, people):
    page = Page(app, "inst1")
    assert page.client.post("/filings").status_code == 400
    assert page.client.post("/complaint", data={"content": "x" * 20}).status_code == 400


def test_pages_carry_security_headers_and_no_inline_script(app, people):
    response = Page(app).get("/directory")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "onclick" not in response.get_data(as_text=True)
    cookie = Page(app).form("/login", {"username": "county", "password": PASSWORD}).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_inbox_shows_my_jurisdiction_only_with_counts_per_filter(app, people, clock):
    submitted(people)
    county = Page(app, "county").text("/inbox")
    assert "池州市职业技能培训评价中心 备案申请" in county and "县区初审" in county
    other = Page(app, "county_dz").text("/inbox")
    assert "池州市职业技能培训评价中心" not in other and "没有符合条件的待办事项" in other


def test_inbox_counts_deadlines_in_working_days_and_filters_overdue(app, people, ctx, clock):
    # Art. 19 complaint handled within 10 working days: from Mon 2 Sep 2024 that is Sat 14 Sep,
    # a make-up working day before the Mid-Autumn holiday (15–17 Sep).
    complaint.submit_complaint(ctx, "341702", None, "某评价机构", "赵六", "13900000000",
                               "该机构在认定考试中替考，考场无监控录像。")
    page = Page(app, "county")
    clock.set(datetime(2024, 9, 10, 9, 0))
    assert "剩余4个工作日" in page.text("/inbox")
    clock.set(datetime(2024, 9, 13, 9, 0))
    assert "某评价机构" in page.text("/inbox?due=soon")
    clock.set(datetime(2024, 9, 18, 9, 0))
    overdue = page.text("/inbox?due=overdue")
    assert "某评价机构" in overdue and "已逾期1个工作日" in overdue
    assert "某评价机构" not in page.text("/inbox?due=soon")
    assert re.search(r"已逾期</span><span class=\"badge\">1<", page.text("/inbox"))


def test_field_error_keeps_everything_typed(app, people):
    institution = Page(app, "inst1")
    response = institution.form("/filings", {}, page="/filings")
    task_url = response.headers["Location"]
    typed = {"action": "complete", "name": "池州市职业技能培训评价中心", "credit_code": "52341702MJ0000001X",
             "kind": "social_org", "jurisdiction": "341702", "address": "长江中路1号", "contact_phone": "138",
             "scope-0-occupation_code": "6-31-01-03", "scope-0-level": "4", "scope-0-assessors": "六",
             "office_area_m2": "八十"}
    response = institution.form(task_url, typed, page=task_url)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "校验码" in body or "信用代码" in body  # the credit code's check character is wrong
    for value in ("52341702MJ0000001X", "长江中路1号", "138", "六", "八十"):
        assert f'value="{value}"' in body  # what was typed, even what does not parse, comes back
    for material in ("material_filing_form", "material_licence", "material_plan", "material_experts",
                     "material_assets"):  # each missing material is named at its own field
        field = re.search(rf'<label class="label" for="{material}">.*?</div>\s*</div>', body, re.S)
        assert field and "此项必填" in field.group(0), material


def test_draft_is_kept_without_validation(app, people):
    institution = Page(app, "inst1")
    task_url = institution.form("/filings", {}, page="/filings").headers["Location"]
    response = institution.form(task_url, {"action": "draft", "address": "草稿地址", "contact_phone": "1"},
                                page=task_url)
    assert response.status_code == 302
    body = institution.text(task_url)
    assert 'value="草稿地址"' in body and 'value="1"' in body


def test_task_completed_by_a_colleague_a_second_earlier_is_a_clear_conflict(app, people, ctx):
    _, task = submitted(people)
    from service.usecases import accounts
    accounts.create_user(ctx, "county2", PASSWORD, "贵池区审核员二", "county", jurisdiction_code="341702")
    mine, colleague = Page(app, "county"), Page(app, "county2")
    url = f"/tasks/{task['id']}"
    token = mine.token(url)
    assert colleague.form(url, {"action": "complete", "decision": "forward", "opinion": "同意上报"},
                          page=url).status_code == 302
    response = mine.client.post(url, data={"csrf_token": token, "action": "complete", "decision": "reject",
                                           "opinion": "我的意见"})
    assert response.status_code == 409
    assert "已由贵池区审核员二于" in response.get_data(as_text=True)


def test_another_jurisdiction_cannot_reach_pages_by_url(app, people):
    started, task = submitted(people)
    other = Page(app, "county_dz")
    for url in (f"/tasks/{task['id']}", f"/cases/{started['instance_id']}", f"/filings/{started['filing_id']}",
                f"/cases/{started['instance_id']}/diagram.bpmn", f"/cases/{started['instance_id']}/record"):
        assert other.get(url).status_code == 404, url
    assert Page(app, "inst2").get(f"/filings/{started['filing_id']}").status_code == 404
    response = other.form(f"/tasks/{task['id']}/claim", {}, page="/inbox")
    assert "已签收" not in other.text("/inbox")
    assert response.status_code == 404


def test_claim_and_unclaim_from_the_inbox(app, people):
    _, task = submitted(people)
    page = Page(app, "county")
    page.form(f"/tasks/{task['id']}/claim", {"back": "/inbox"}, page="/inbox")
    assert "取消签收" in page.text("/inbox") and "我签收的" in page.text("/inbox?mine=1")
    page.form(f"/tasks/{task['id']}/unclaim", {"back": "/inbox"}, page="/inbox")
    assert "未签收" in page.text("/inbox")


def test_a_review_page_returns_a_case_one_way_its_decision(app, people):
    _, task = submitted(people)
    page = Page(app, "county")
    url = f"/tasks/{task['id']}"
    html = page.text(url)
    assert 'value="correction"' in html and "退回补正" in html
    assert "return-form" not in html and "退回到" not in html  # no second 退回 beside the decision
    assert page.form(f"{url}/return", {"to": "submit_application", "return_opinion": "材料不全"},
                     page=url).status_code == 404
    page.form(url, {"action": "complete", "decision": "correction", "opinion": "材料不全"}, page=url)
    assert people["inst1"].only_task("submit_application")


def test_objection_page_keeps_what_was_typed_when_content_is_too_short(app, people, clock):
    submitted(people)
    county, city = people["county"], people["city"]
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    city.complete(city.only_task("city_review")["id"], {"decision": "approve", "opinion": "同意", "approved_scope": [
        {"occupation_code": "6-31-01-03", "level": "4", "assessors": 6}]})
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    public = Page(app)
    notice_id = re.search(r'id="notice-(\d+)"', public.text("/notices")).group(1)
    url = f"/notices/{notice_id}/objection"
    response = public.form(url, {"name": "王五", "contact": "139", "content": "短"}, page="/notices")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "不少于10个字" in body and 'value="王五"' in body and ">短</textarea>" in body
    response = public.form(url, {"name": "王五", "contact": "139", "content": "场地面积不足六十平方米，请核实。"},
                           page="/notices")
    assert response.status_code == 302
    assert county.only_task("investigate_objection")


def test_complaint_form_opens_a_case_for_the_county(app, people):
    public = Page(app)
    response = public.form("/complaint", {"jurisdiction_code": "341702", "institution_name": "某评价机构",
                                          "name": "赵六", "contact": "13900000000", "content": ""},
                           page="/complaint")
    assert response.status_code == 422 and 'value="赵六"' in response.get_data(as_text=True)
    response = public.form("/complaint", {"jurisdiction_code": "341702", "institution_name": "某评价机构",
                                          "name": "赵六", "contact": "13900000000",
                                          "content": "该机构在认定考试中替考，考场无监控录像。"}, page="/complaint")
    assert response.status_code == 302
    assert "某评价机构" in Page(app, "county").text("/inbox")
    assert "某评价机构" not in Page(app, "county_dz").text("/inbox")


def test_public_directory_lists_filed_institutions_only(app, people):
    submitted(people)
    body = Page(app).text("/directory")
    assert "池州市职业技能培训评价中心" not in body and "没有符合条件的已备案机构" in body


def test_task_due_in_a_year_without_holiday_data_opens_without_a_deadline_and_says_why(app, people, ctx, clock):
    # 10 working days from 21 Dec 2026 reach into 2027, whose arrangement is not published yet:
    # the complaint is not lost, and no weekends-only deadline is made up.
    clock.set(datetime(2026, 12, 21, 9, 0))
    complaint.submit_complaint(ctx, "341702", None, "某评价机构", "赵六", "13900000000",
                               "该机构在认定考试中替考，考场无监控录像。")
    [task] = people["county"].open_tasks()
    assert task["due_at"] is None
    assert "期限未定：2027年的法定节假日安排尚未录入" in Page(app, "county").text("/inbox")


def test_institution_is_told_when_staff_hand_it_a_correction_and_when_rejected(app, people):
    _, task = submitted(people)
    institution = Page(app, "inst1")
    assert "暂无消息" in institution.text("/messages")  # its own application tells it nothing
    people["county"].complete(task["id"], {"decision": "correction", "opinion": "请补充场地租赁协议"})
    body = institution.text("/messages")  # one message, with the county's reasons (issue 11.4)
    assert "备案申请待补正：县区初审退回" in body and "退回理由：请补充场地租赁协议" in body
    assert 'id="unread">1<' in body
    assert "暂无消息" in Page(app, "inst2").text("/messages")
    institution.form("/messages/read", {}, page="/messages")
    assert 'id="unread"' not in institution.text("/messages")

    again = application("52341702MJ0000001D", "池州市职业技能培训评价中心", attachment_id=people["inst1"].upload())
    assert people["inst1"].complete(people["inst1"].only_task("submit_application")["id"], again).status_code == 200
    people["county"].complete(people["county"].only_task("initial_review")["id"],
                              {"decision": "reject", "opinion": "场地不符合第八条要求"})
    body = institution.text("/messages")
    assert "备案申请未通过" in body and "理由：场地不符合第八条要求" in body


def test_staff_are_told_of_what_the_public_and_the_scheduler_bring_not_of_a_colleagues_hand_over(
        app, ctx, clock, people):
    from service.usecases.timers import fire_due_timers
    submitted(people)
    county, city = people["county"], people["city"]
    county.complete(county.only_task("initial_review")["id"], {"decision": "forward", "opinion": "同意上报"})
    task = city.only_task("city_review")
    scope = city.get(f"/api/tasks/{task['id']}").get_json()["data"]["scope"]
    city.complete(task["id"], {"decision": "approve", "opinion": "同意备案", "approved_scope": scope})
    pages = {name: Page(app, name) for name in ("county", "county_dz", "city")}
    assert all("暂无消息" in page.text("/messages") for page in pages.values())  # their inbox shows those

    clock.set(datetime(2024, 9, 27, 10, 0))
    county.complete(county.only_task("publish_notice")["id"], {"opinion": "同意公示"})
    public = Page(app)
    notice_id = re.search(r'/notices/(\d+)/objection', public.text("/notices")).group(1)
    objection = public.form(f"/notices/{notice_id}/objection", {
        "name": "王五", "contact": "13900000000", "content": "该机构理论考试场地实际不足60平方米，与申报不符。"},
        page="/notices")
    assert objection.status_code == 302, objection.get_data(as_text=True)
    assert "待您办理：异议调查" in pages["county"].text("/messages")
    assert "暂无消息" in pages["county_dz"].text("/messages")  # another county's case
    county.complete(county.only_task("investigate_objection")["id"],
                    {"finding": "dismissed", "opinion": "经核查，异议不成立"})

    clock.set(datetime(2024, 10, 11, 0, 0))
    assert fire_due_timers(ctx).fired == 1
    assert "待您办理：赋码并出具备案回执" in pages["city"].text("/messages")


def test_pages_answer_while_a_scheduler_batch_holds_the_write_lock(app, ctx, people):
    """On SQLite a scheduler batch holds the database's write lock for its whole transaction.
    Pages that only read must not queue behind it (they would wait for the 30 s busy timeout and
    then fail)."""
    engine = ctx.session_factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never wait for writers")
    _, task = submitted(people)
    pages = {name: Page(app, name) for name in ("county", "inst1")}
    filing_id = people["inst1"].get("/api/filings").get_json()["items"][0]["id"]
    with engine.connect() as scheduler:
        scheduler.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock, held until rollback
        for name, url in (("county", "/"), ("county", "/inbox"), ("county", f"/tasks/{task['id']}"),
                          ("county", f"/cases/{task['instance_id']}"), ("county", "/filings"),
                          ("county", f"/filings/{filing_id}"), ("county", "/messages"), ("inst1", "/filings"),
                          ("inst1", "/other-city-filings"), (None, "/directory"), (None, "/notices"),
                          ("county", "/lists/done"), ("county", "/lists/cases"), ("county", "/lists/overdue")):
            response = (pages[name] if name else Page(app)).get(url)
            assert response.status_code == 200, (url, response.status_code)
        scheduler.rollback()


def test_refusals_are_explained_in_chinese(app, people):
    response = Page(app).get("/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)
    response = Page(app, "inst1").client.post("/filings")  # no CSRF token: an expired or forged form
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)


def test_analyst_home_warns_of_next_year_without_holiday_data(app, people, ctx, clock):
    clock.set(datetime(2026, 11, 28, 9, 0))
    body = Page(app, "analyst").text("/")
    assert "2026年：已录入" in body and "2027年：未录入" in body
    assert "<td>tests</td>" in body  # the version the test run deployed


def test_a_refused_file_is_named_even_when_saving_a_draft(app, people):
    import io
    institution = Page(app, "inst1")
    task_url = institution.form("/filings", {}, page="/filings").headers["Location"]
    response = institution.client.post(task_url, content_type="multipart/form-data", data={
        "csrf_token": institution.token(task_url), "action": "draft", "address": "草稿地址",
        "material_plan__file": (io.BytesIO(b"MZ not a pdf"), "方案.pdf", "application/pdf")})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "文件内容与文件类型不符" in body and 'value="草稿地址"' in body
    assert 'value="草稿地址"' in institution.text(task_url)  # the rest was saved
