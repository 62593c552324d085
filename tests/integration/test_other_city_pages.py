"""The 异地备案 page (Art. 7: 异地开展认定服务须经拟开展认定地市级人社部门备案) through Flask's test
client: an institution records the filing it obtained in another city and sees only its own;
what fails comes back with each problem next to its field; who may not record is told why."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from service.processes import pilot
from service.store.models import Attachment, Filing, Institution, OtherCityFiling, User
from service.usecases.context import unit_of_work
from tests.helpers import make_institution, make_staff
from tests.integration.test_web_pages import Page

URL = "/other-city-filings"
NAME = "池州市职业技能培训评价中心"
OTHER = "东至县职业培训学校"


def filed(ctx, serial, name, jurisdiction="341702", status="filed"):
    institution_id, username = make_institution(ctx, serial=serial, name=name, jurisdiction=jurisdiction)
    with unit_of_work(ctx) as session:
        session.get(Institution, institution_id).status = status
    return institution_id


@pytest.fixture
def people(app, ctx):
    make_staff(ctx)
    return {"own": filed(ctx, 1, NAME), "other": filed(ctx, 2, OTHER, jurisdiction="341721"),
            "draft": filed(ctx, 3, "尚未备案的培训学校", status="draft")}


def recorded(ctx, institution_id=None) -> list[tuple]:
    with unit_of_work(ctx) as session:
        statement = select(OtherCityFiling.city, OtherCityFiling.filing_code, OtherCityFiling.attachment_id)
        if institution_id is not None:
            statement = statement.where(OtherCityFiling.institution_id == institution_id)
        return [tuple(row) for row in session.execute(statement.order_by(OtherCityFiling.id))]


def field(body: str, name: str) -> str:
    """The markup of one field of the form, from its <div class="field"> to the next one."""
    found = re.search(rf'<div class="field[^"]*">\s*<label class="label" for="{name}">'
                      r'.*?(?=<div class="field|</fieldset>)', body, re.S)
    assert found, name
    return found.group(0)


def user_id(ctx, username):
    with unit_of_work(ctx) as session:
        return session.scalar(select(User.id).where(User.username == username))


def test_page_lists_only_the_institutions_own_other_city_filings(app, ctx, people):
    pilot.record_other_city_filing(ctx, user_id(ctx, "inst1"), "安庆市", "AQ2025-0012", "2027-06-30")
    pilot.record_other_city_filing(ctx, user_id(ctx, "inst2"), "铜陵市", "TL2025-0456", "2027-01-31")
    own = Page(app, "inst1").text(URL)
    assert "<h1>异地备案</h1>" in own and 'id="other-city-form"' in own
    assert "安庆市" in own and "AQ2025-0012" in own and "2027-06-30" in own
    assert "铜陵市" not in own and "TL2025-0456" not in own
    other = Page(app, "inst2").text(URL)
    assert "TL2025-0456" in other and "AQ2025-0012" not in other


def test_institution_finds_the_page_from_its_navigation_and_home(app, ctx, people):
    institution = Page(app, "inst1")
    assert f'href="{URL}"' in institution.text("/filings") and f'href="{URL}"' in institution.text("/")
    county = Page(app, "county")
    assert f'href="{URL}"' not in county.text("/filings") and f'href="{URL}"' not in county.text("/")


def test_recording_with_a_proof_file_redirects_and_lists_it_with_a_download_link(app, ctx, people):
    institution = Page(app, "inst1")
    response = institution.form(URL, {"city": " 安庆市 ", "filing_code": "AQ2025-0012", "valid_until": "2027-06-30",
                                      "attachment_id__file": (io.BytesIO(b"%PDF-1.4 anqing"), "安庆市备案回执.pdf",
                                                              "application/pdf")},
                                page=URL, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == URL
    [(city, code, attachment_id)] = recorded(ctx, people["own"])
    assert (city, code) == ("安庆市", "AQ2025-0012") and attachment_id is not None
    body = institution.text(URL)
    assert "已登记安庆市的异地备案（备案编号 AQ2025-0012）" in body
    assert f'<a href="/api/attachments/{attachment_id}">安庆市备案回执.pdf</a>' in body
    assert institution.get(f"/api/attachments/{attachment_id}").data == b"%PDF-1.4 anqing"
    assert 'value="AQ2025-0012"' not in body  # the form is empty again after a success


def test_failed_record_keeps_what_was_typed_and_puts_each_error_next_to_its_field(app, ctx, people):
    institution = Page(app, "inst1")
    response = institution.form(URL, {"city": "", "filing_code": "AQ2025-0012", "valid_until": "2027/06/30",
                                      "attachment_id__file": (io.BytesIO(b"%PDF-1.4 anqing"), "安庆市备案回执.pdf",
                                                              "application/pdf")},
                                page=URL, content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "登记未成功：请按提示修改标红的项目，已填写的内容均已保留" in body
    assert 'class="field has-error"' in field(body, "city") and "请填写开展认定服务的地市" in field(body, "city")
    assert "日期格式应为YYYY-MM-DD" in field(body, "valid_until")
    assert 'value="2027/06/30"' in field(body, "valid_until")  # kept even though it does not parse
    assert 'value="AQ2025-0012"' in field(body, "filing_code") and "has-error" not in field(body, "filing_code")
    assert "安庆市备案回执.pdf" in field(body, "attachment_id")  # the uploaded file is kept, not asked again
    assert recorded(ctx) == []

    kept = re.search(r'name="attachment_id" value="(\d+)"', body).group(1)
    response = institution.form(URL, {"city": "安庆市", "filing_code": "AQ2025-0012", "valid_until": "2027-06-30",
                                      "attachment_id": kept, "attachment_name": "安庆市备案回执.pdf"}, page=URL)
    assert response.status_code == 302
    assert recorded(ctx, people["own"]) == [("安庆市", "AQ2025-0012", int(kept))]


def test_a_refused_file_is_named_and_nothing_is_recorded_without_it(app, ctx, people):
    typed = {"city": "安庆市", "filing_code": "AQ2025-0012", "valid_until": "2027-06-30",
             "attachment_id__file": (io.BytesIO(b"MZ not a pdf"), "回执.pdf", "application/pdf")}
    response = Page(app, "inst1").form(URL, typed, page=URL, content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "文件内容与文件类型不符" in field(body, "attachment_id") and 'value="安庆市"' in field(body, "city")
    assert recorded(ctx) == []


def test_institution_not_filed_is_told_it_cannot_record(app, ctx, people):
    page = Page(app, "inst3")
    body = page.text(URL)
    assert "本机构尚未在本市备案或备案已终止，不能登记异地备案" in body and 'id="other-city-form"' not in body
    response = page.form(URL, {"city": "安庆市", "filing_code": "AQ2025-0012", "valid_until": "2027-06-30",
                               "attachment_id__file": (io.BytesIO(b"%PDF-1.4 x"), "回执.pdf", "application/pdf")},
                         page=URL, content_type="multipart/form-data")
    assert response.status_code == 403 and "尚未在本市备案" in response.get_data(as_text=True)
    assert recorded(ctx) == []
    with unit_of_work(ctx) as session:  # refused before its file was stored
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_staff_cannot_record_but_see_the_filings_of_their_scope_read_only(app, ctx, people):
    pilot.record_other_city_filing(ctx, user_id(ctx, "inst1"), "安庆市", "AQ2025-0012", "2027-06-30")
    pilot.record_other_city_filing(ctx, user_id(ctx, "inst2"), "铜陵市", "TL2025-0456", "2027-01-31")
    for username in ("county", "city"):
        page = Page(app, username)
        response = page.form(URL, {"city": "芜湖市", "filing_code": "WH-1", "valid_until": "2027-06-30"}, page=URL)
        assert response.status_code == 403, username
        assert "只有评价机构用户可以登记本机构的异地备案" in response.get_data(as_text=True)
    assert [city for city, _, _ in recorded(ctx)] == ["安庆市", "铜陵市"]
    county = Page(app, "county").text(URL)
    assert 'id="other-city-form"' not in county and NAME in county and "AQ2025-0012" in county
    assert "TL2025-0456" not in county  # 东至县's institution is outside 贵池区's scope
    assert "TL2025-0456" in Page(app, "city").text(URL)


def test_filing_detail_shows_staff_the_institutions_other_city_filings(app, ctx, people, clock):
    pilot.record_other_city_filing(ctx, user_id(ctx, "inst1"), "安庆市", "AQ2025-0012", "2027-06-30")
    with unit_of_work(ctx) as session:
        row = Filing(institution_id=people["own"], jurisdiction_code="341702", status="filed",
                     requested_scope=[], submitted_at=clock.now())
        session.add(row)
        session.flush()
        filing_id = row.id
    body = Page(app, "county").text(f"/filings/{filing_id}")
    assert "<h2>异地备案</h2>" in body and "安庆市" in body and "AQ2025-0012" in body
    assert Page(app, "county_dz").get(f"/filings/{filing_id}").status_code == 404
