"""Operators' commands, run the way an operator runs them."""
from service.seed import demo_credit_code


def test_institution_and_its_user_are_registered_and_a_wrong_credit_code_is_named(app):
    runner = app.test_cli_runner()
    good = demo_credit_code(7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    refused = runner.invoke(args=["create-institution", "池州测试机构", "--credit-code", bad, "--kind", "social_org",
                                  "--jurisdiction", "341702"])
    assert refused.exit_code != 0 and "校验码错误" in refused.output
    created = runner.invoke(args=["create-institution", "池州测试机构", "--credit-code", good, "--kind", "social_org",
                                  "--jurisdiction", "341702"])
    assert created.exit_code == 0, created.output
    institution_id = created.output.split()[1]
    again = runner.invoke(args=["create-institution", "重复机构", "--credit-code", good, "--kind", "social_org",
                                "--jurisdiction", "341702"])
    assert again.exit_code != 0 and "已登记" in again.output
    user = runner.invoke(args=["create-user", "clerk", "--role", "institution", "--name", "经办人",
                               "--institution", institution_id, "--password", "a-long-password"])
    assert user.exit_code == 0, user.output
    login = app.test_client().post("/api/login", json={"username": "clerk", "password": "a-long-password"})
    assert login.get_json()["user"]["institution_id"] == int(institution_id)


def test_fire_timers_command_reports_what_it_did(app):
    result = app.test_cli_runner().invoke(args=["fire-timers", "--as-of", "2024-10-11T00:00:00"])
    assert result.exit_code == 0 and result.output.strip() == "scheduled starts 0, fired 0, failed 0"


def test_deploy_command_refuses_a_broken_folder_naming_the_file(app, tmp_path):
    (tmp_path / "bpmn").mkdir()
    (tmp_path / "bpmn" / "filing.bpmn").write_text("<definitions", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["deploy", "--root", str(tmp_path)])
    assert result.exit_code != 0 and "bpmn/filing.bpmn" in result.output and "well-formed" in result.output


def test_operators_deactivate_a_user_or_set_a_password_and_their_sessions_end(app, ctx):
    from tests.helpers import PASSWORD, Api, make_staff
    make_staff(ctx)
    county, city = Api(app, "county"), Api(app, "city")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deactivate-user", "county"])
    assert result.exit_code == 0, result.output
    assert county.get("/api/tasks").status_code == 401
    result = runner.invoke(args=["set-password", "city", "--password", "a-new-password-1"])
    assert result.exit_code == 0, result.output
    assert city.get("/api/tasks").status_code == 401
    assert app.test_client().post("/api/login", json={"username": "city", "password": PASSWORD}).status_code == 401
    assert runner.invoke(args=["deactivate-user", "nobody"]).exit_code != 0
