"""Test helpers: users for each role and an API client that logs in like a browser would."""
from __future__ import annotations

from service.seed import application, demo_credit_code
from service.store.models import Institution
from service.usecases import accounts
from service.usecases.context import unit_of_work

PASSWORD = "secret-pass-1"

__all__ = ["application", "demo_credit_code", "Api", "make_institution", "make_staff"]


def make_institution(ctx, serial=1, name="池州市职业技能培训评价中心", kind="social_org", jurisdiction="341702"):
    with unit_of_work(ctx) as session:
        row = Institution(credit_code=demo_credit_code(serial), name=name, kind=kind,
                          jurisdiction_code=jurisdiction)
        session.add(row)
        session.flush()
        institution_id = row.id
    username = f"inst{serial}"
    accounts.create_user(ctx, username, PASSWORD, f"{name}经办人", "institution", institution_id=institution_id)
    return institution_id, username


def make_staff(ctx):
    accounts.create_user(ctx, "county", PASSWORD, "贵池区审核员", "county", jurisdiction_code="341702")
    accounts.create_user(ctx, "county_dz", PASSWORD, "东至县审核员", "county", jurisdiction_code="341721")
    accounts.create_user(ctx, "city", PASSWORD, "市局审核员", "city")
    accounts.create_user(ctx, "analyst", PASSWORD, "分析员", "analyst")


class Api:
    """A logged-in user: every call sends the CSRF token like the pages do."""

    def __init__(self, app, username):
        self.client = app.test_client()
        response = self.client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        self.user = response.get_json()["user"]
        self.headers = {"X-CSRFToken": response.get_json()["csrf_token"]}

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, json=None, **kwargs):
        return self.client.post(url, json=json if json is not None else {}, headers=self.headers, **kwargs)

    def upload(self, name=b"%PDF-1.4 test", filename="材料.pdf", content_type="application/pdf"):
        import io
        response = self.client.post("/api/attachments", headers=self.headers, content_type="multipart/form-data",
                                    data={"file": (io.BytesIO(name), filename, content_type)})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def open_tasks(self, **params):
        response = self.get("/api/tasks", query_string=params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def only_task(self, name):
        found = [t for t in self.open_tasks() if t["name"] == name]
        assert len(found) == 1, f"expected one open '{name}', got {self.open_tasks()}"
        return found[0]

    def complete(self, task_id, data):
        return self.post(f"/api/tasks/{task_id}/complete", json={"data": data})
