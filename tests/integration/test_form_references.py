"""SSRF: a form's `$ref` to a URL (or a file) was fetched by the web worker when a task was
submitted. Deploys refuse any reference that leads out of the form; validation never fetches,
even for a version stored before (its submit is refused with a clear message instead)."""
from __future__ import annotations

import json
import re
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
from sqlalchemy import select

from service.engine.definitions import Bundle, read_bundle
from service.engine.errors import DefinitionError
from service.store.models import DefinitionVersion
from service.usecases.context import unit_of_work
from service.usecases.definitions import deploy
from tests.conftest import ROOT
from tests.helpers import Api, make_institution, make_staff
from tests.integration.test_filing_api import submit_application


@pytest.fixture
def listener():
    """A local HTTP server that records every request it gets."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            requests.append(self.path)
            body = b'{"type": "object"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/x", requests
    server.shutdown()
    server.server_close()
    thread.join()


def with_reference(form: str, where: tuple[str, ...], ref: str) -> Bundle:
    files = dict(read_bundle(ROOT).files)
    schema = json.loads(files[f"forms/{form}.json"])
    target = schema
    for key in where:
        target = target[key]
    target["$ref"] = ref
    files[f"forms/{form}.json"] = json.dumps(schema, ensure_ascii=False, indent=2)
    return Bundle(files)


def test_the_library_default_would_fetch_it(listener):
    """The hole itself: jsonschema without a registry fetches a $ref it does not hold."""
    url, requests = listener
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        list(jsonschema.Draft202012Validator({"$ref": url}).iter_errors({}))
    assert requests == ["/x"]


@pytest.mark.parametrize("ref", ["{url}", "file:///etc/passwd", "other.json#/a", "//127.0.0.1/x"])
def test_a_form_referring_out_of_itself_is_refused_at_deploy(ctx, listener, ref):
    url, requests = listener
    ref = ref.format(url=url)
    with pytest.raises(DefinitionError) as refused:
        deploy(ctx, with_reference("initial_review", ("properties", "opinion"), ref), "analyst")
    assert refused.value.file == "forms/initial_review.json"
    assert refused.value.element == "/properties/opinion/$ref"
    assert ref in refused.value.problem and "只能引用本表单内的定义" in refused.value.problem
    assert requests == []
    with unit_of_work(ctx) as session:
        assert len(session.scalars(select(DefinitionVersion)).all()) == 1  # nothing stored


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("$ref", "#/$defs/nowhere", "不存在"),
    ("$dynamicRef", "http://127.0.0.1:9/x", "只能引用本表单内的定义"),
    ("$id", "http://127.0.0.1:9/base", "不能使用 $id"),
    ("$schema", "http://127.0.0.1:9/meta", "只能是 https://json-schema.org/draft/2020-12/schema"),
])
def test_other_ways_out_of_a_form_are_refused_naming_the_pointer(ctx, key, value, problem):
    files = dict(read_bundle(ROOT).files)
    schema = json.loads(files["forms/initial_review.json"])
    schema["properties"]["opinion"][key] = value
    files["forms/initial_review.json"] = json.dumps(schema, ensure_ascii=False)
    with pytest.raises(DefinitionError, match=re.escape(problem)) as refused:
        deploy(ctx, Bundle(files), "analyst")
    assert refused.value.element == f"/properties/opinion/{key}"


def test_a_local_reference_still_works(ctx):
    files = dict(read_bundle(ROOT).files)
    schema = json.loads(files["forms/initial_review.json"])
    schema["$defs"] = {"text": {"type": "string", "maxLength": 2000}}
    schema["properties"]["opinion"]["$ref"] = "#/$defs/text"
    files["forms/initial_review.json"] = json.dumps(schema, ensure_ascii=False)
    version_id, is_new = deploy(ctx, Bundle(files), "analyst")
    assert is_new


def test_a_stored_version_with_a_url_reference_never_fetches_it_and_the_submit_says_why(app, ctx, listener):
    url, requests = listener
    bundle = with_reference("initial_review", (), url)  # followed by every submit of the county's review
    with unit_of_work(ctx) as session:  # stored before deploys refused it: inserted as it was
        session.add(DefinitionVersion(hash=bundle.hash, files=bundle.files, deployed_at=ctx.clock.now(),
                                      deployed_by="old", activation=1_000_000))
    make_staff(ctx)
    make_institution(ctx)
    institution, county = Api(app, "inst1"), Api(app, "county")
    _, _, submitted = submit_application(institution)  # the case opens on the stored version
    assert submitted.status_code == 200, submitted.get_json()
    task = county.only_task("initial_review")
    assert county.get(f"/api/tasks/{task['id']}").status_code == 200  # the task still opens

    response = county.complete(task["id"], {"decision": "forward", "opinion": "材料齐全，同意上报"})
    assert response.status_code == 422
    said = response.get_json()["errors"]["_"]
    assert "不会去读取外部网址或文件" in said and url in said

    page = county.client.get(f"/tasks/{task['id']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    posted = county.client.post(f"/tasks/{task['id']}", data={
        "csrf_token": token, "action": "complete", "decision": "forward", "opinion": "材料齐全，同意上报"})
    assert posted.status_code == 422  # the form again, saying why; not a 500
    assert "不会去读取外部网址或文件" in posted.get_data(as_text=True)
    assert requests == []  # no connection was ever made
    assert county.only_task("initial_review")["id"] == task["id"]  # nothing moved on
