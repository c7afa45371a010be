"""OOS encryption parameters and ``{{oos-secret:NAME}}`` references, through the typed SDK clients."""

import json
import time

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_oos20190601 import models as m
from conftest import error_of, instance_ids, invocation, run, wait_for

from oos_support import BAOTA, NODE, PACKAGE_TEMPLATE, PATCH_TEMPLATE, REGION

SECRET = "Sim-Secret-7f3a9c"          # a BT Panel password: 8 to 32 characters
PARAMETER_FIELDS = {"Id", "Name", "Type", "Description", "KeyId", "ParameterVersion", "ShareType", "Tags",
                    "ResourceGroupId", "CreatedBy", "CreatedDate", "UpdatedBy", "UpdatedDate"}


def create(oos, name, value, region=REGION, **kw):
    return oos.create_secret_parameter(m.CreateSecretParameterRequest(
        region_id=region, name=name, value=value, **kw)).body.parameter


def get(oos, name, **kw):
    return oos.get_secret_parameter(m.GetSecretParameterRequest(region_id=REGION, name=name, **kw)).body.parameter


def listed(oos, **kw):
    return oos.list_secret_parameters(m.ListSecretParametersRequest(region_id=REGION, **kw)).body


@pytest.mark.parametrize("signing", [None, "v2"])
def test_create_get_update_delete(sim_server, signing):
    oos = sim_server.oos(**({"signature_algorithm": signing} if signing else {}))
    made = create(oos, "db-password", "first-value", description="the db", tags={"team": "db"}, key_id="key-1")
    assert PARAMETER_FIELDS <= made.to_map().keys() and "Value" not in made.to_map()
    assert (made.type, made.parameter_version, made.share_type, made.tags) == ("Secret", 1, "Private", {"team": "db"})
    assert made.id.startswith("p-") and made.created_by.startswith("root(")
    assert get(oos, "db-password").value is None
    assert get(oos, "db-password", with_decryption=True).value == "first-value"
    updated = oos.update_secret_parameter(m.UpdateSecretParameterRequest(
        region_id=REGION, name="db-password", value="second-value")).body.parameter
    assert (updated.parameter_version, updated.description, updated.tags) == (2, "the db", {"team": "db"})
    assert get(oos, "db-password", with_decryption=True).value == "second-value"
    old = get(oos, "db-password", with_decryption=True, parameter_version=1)
    assert (old.value, old.parameter_version) == ("first-value", 1)
    oos.delete_secret_parameter(m.DeleteSecretParameterRequest(region_id=REGION, name="db-password"))
    assert error_of(lambda: get(oos, "db-password")) == ("EntityNotExists.SecretParameter", 404)


def test_errors(sim_server):
    oos = sim_server.oos()
    create(oos, "taken", "v")
    assert error_of(lambda: create(oos, "taken", "v")) == ("EntityAlreadyExists.SecretParameter", 400)
    for name in ("OOS-name", "acs_name", "has space", "a" * 181, "has/slash"):
        assert error_of(lambda n=name: create(oos, n, "v")) == ("InvalidParameter", 400), name
    assert error_of(lambda: create(oos, "long", "x" * 4097)) == ("InvalidParameter", 400)
    assert error_of(lambda: create(oos, "empty", "")) == ("MissingParameter", 400)
    assert error_of(lambda: get(oos, "taken", parameter_version=2)) == ("EntityNotExists.SecretParameter", 404)
    for call in (lambda: oos.update_secret_parameter(m.UpdateSecretParameterRequest(name="nope", value="v")),
                 lambda: oos.delete_secret_parameter(m.DeleteSecretParameterRequest(name="nope"))):
        assert error_of(call) == ("EntityNotExists.SecretParameter", 404)
    create(oos, "a" * 180, "x" * 4096)


def test_list_filters_sorting_paging_and_regions(sim_server):
    oos = sim_server.oos()
    for n in range(12):
        create(oos, f"app-{n:02d}", "v", tags={"env": "prod" if n % 2 else "dev"})
    create(oos, "other", "v", region="cn-shanghai")
    first = listed(oos, max_results=10, sort_field="Name", sort_order="Ascending")
    assert [p.name for p in first.parameters] == [f"app-{n:02d}" for n in range(10)] and first.next_token
    rest = listed(oos, max_results=10, sort_field="Name", sort_order="Ascending", next_token=first.next_token)
    assert [p.name for p in rest.parameters] == ["app-10", "app-11"] and rest.next_token == ""
    assert all(PARAMETER_FIELDS <= p.to_map().keys() and "Value" not in p.to_map() for p in first.parameters)
    assert [p.name for p in listed(oos, name="-1").parameters] == ["app-11", "app-10"]
    assert len(listed(oos, tags={"env": "prod"}).parameters) == 6
    assert error_of(lambda: listed(oos, max_results=5)) == ("InvalidParameter", 400)
    shanghai = oos.list_secret_parameters(m.ListSecretParametersRequest(region_id="cn-shanghai")).body
    assert [p.name for p in shanghai.parameters] == ["other"]


def test_admin_state_shows_no_value(sim_server):
    create(sim_server.oos(), "shown", SECRET, description="listed without its value")
    state = sim_server.admin("GET", "state")
    assert state["secret_parameters"] == {REGION: {"shown": {
        "version": 1, "description": "listed without its value", "key_id": "", "tags": {}}}}
    assert SECRET not in json.dumps(state)


# --- executions ----------------------------------------------------------------------------------
def start(oos, template, parameters, **kw):
    request = m.StartExecutionRequest(region_id=REGION, template_name=template, parameters=json.dumps(parameters),
                                      mode="Automatic", safety_check="Skip", **kw)
    return oos.start_execution(request).body.execution.execution_id


def install(oos, ids, package_parameters, package=BAOTA, **kw):
    return start(oos, PACKAGE_TEMPLATE, dict(
        action="install", packageName=package, parameters=package_parameters,
        rateControl={"Mode": "Concurrency", "Concurrency": 10, "MaxErrors": "100%"},
        targets={"Type": "ResourceIds", "ResourceIds": ids, "RegionId": REGION}), **kw)


def finish(oos, exe_id, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        exe = oos.list_executions(m.ListExecutionsRequest(region_id=REGION, execution_id=exe_id)).body.executions[0]
        if exe.status in ("Success", "Failed", "Cancelled"):
            return exe
        assert time.monotonic() < deadline, f"{exe_id} stuck in {exe.status}"
        time.sleep(0.01)


def children(oos, exe_id):
    rows = oos.list_executions(m.ListExecutionsRequest(region_id=REGION, parent_execution_id=exe_id)).body.executions
    return {row.parameters["instanceId"]: row for row in rows}


def everything(server, oos, exe_id, ids):
    """Every record an API or the admin state shows about an execution and its instances, as one text."""
    parts = [oos.list_executions(m.ListExecutionsRequest(
        region_id=REGION, execution_id=exe_id)).body.to_map()]
    execution_ids = [exe_id] + [c.execution_id for c in children(oos, exe_id).values()]
    for one in execution_ids:
        parts.append(oos.list_executions(m.ListExecutionsRequest(region_id=REGION, parent_execution_id=one)).body.to_map())
        parts.append(oos.list_task_executions(m.ListTaskExecutionsRequest(
            region_id=REGION, execution_id=one, include_child_task_execution=True)).body.to_map())
        parts.append(oos.list_execution_logs(m.ListExecutionLogsRequest(region_id=REGION, execution_id=one)).body.to_map())
    for iid in ids:
        parts.append(oos.list_instance_package_states(m.ListInstancePackageStatesRequest(
            region_id=REGION, instance_id=iid)).body.to_map())
    parts.append(server.admin("GET", "state"))
    return json.dumps(parts)


def test_a_package_parameter_reference_is_resolved_but_never_stored(sim_server):
    oos, ids = sim_server.oos(), instance_ids(sim_server, "web")[:2]
    create(oos, "bt-password", SECRET)
    reference = "{{oos-secret:bt-password}}"
    exe = finish(oos, install(oos, ids, {"username": "ops", "password": reference}))
    assert exe.status == "Success" and exe.parameters["parameters"]["password"] == reference
    assert {c.parameters["parameters"]["password"] for c in children(oos, exe.execution_id).values()} == {reference}
    state = oos.list_instance_package_states(m.ListInstancePackageStatesRequest(
        region_id=REGION, instance_id=ids[0])).body.package_states[0]
    assert json.loads(state.parameters)["password"] == reference
    assert json.loads(state.configuration_info)["password"] == reference
    assert SECRET not in everything(sim_server, oos, exe.execution_id, ids)


def test_the_stored_value_is_what_the_package_checks(sim_server):
    """The reference itself (26 characters) fits the 8-32 rule; the stored value (5) does not, and the
    message names the parameter by its reference, never by its value."""
    oos, ids = sim_server.oos(), instance_ids(sim_server, "web-1")
    create(oos, "bt-short", "short")
    create(oos, "node-version", "v99-secret-version")
    short = children(oos, finish(oos, install(oos, ids, {"password": "{{oos-secret:bt-short}}"})).execution_id)
    assert short[ids[0]].status == "Failed"
    assert 'parameter "password" length must be between 8 and 32' in short[ids[0]].status_message
    wrong = finish(oos, install(oos, ids, {"version": "{{ oos-secret:node-version }}"}, package=NODE))
    message = children(oos, wrong.execution_id)[ids[0]].status_message
    assert "{{ oos-secret:node-version }} is not one of the allowed values" in message.replace("'", "")
    assert "v99-secret-version" not in everything(sim_server, oos, wrong.execution_id, ids)


def test_an_unknown_reference_fails_that_instance_only(sim_server):
    oos = sim_server.oos()
    web1, web2 = instance_ids(sim_server, "web")[:2]
    exe_id = start(oos, PACKAGE_TEMPLATE, dict(
        action="install", packageName=BAOTA, parameters={"password": "{{oos-secret:bt-missing}}"},
        targets={"Type": "ResourceIds", "ResourceIds": [web1], "RegionId": REGION}))
    exe = finish(oos, exe_id)
    child = children(oos, exe_id)[web1]
    assert exe.status == "Failed" and child.status == "Failed"
    assert child.status_message == ("EntityNotExists.SecretParameter: the encryption parameter bt-missing "
                                    "(referenced as {{oos-secret:bt-missing}}) does not exist in region cn-hangzhou.")
    tasks = oos.list_task_executions(m.ListTaskExecutionsRequest(region_id=REGION, execution_id=child.execution_id))
    assert [(t.task_name, t.status) for t in tasks.body.task_executions] == [
        ("checkInstanceReady", "Success"), ("getPackage", "Failed")]
    plain = finish(oos, install(oos, [web2], {"password": SECRET, "username": "{{oos:panel-user}}"}))
    assert "EntityNotExists.Parameter: the OOS parameter panel-user" in children(
        oos, plain.execution_id)[web2].status_message


def test_a_patch_run_resolves_its_parameters_per_instance(sim_server):
    oos, ids = sim_server.oos(), instance_ids(sim_server, "web")[:1]
    params = dict(action="scan", OOSAssumeRole="{{oos-secret:patch-role}}",
                  targets={"Type": "ResourceIds", "ResourceIds": ids, "RegionId": REGION})
    failed = finish(oos, start(oos, PATCH_TEMPLATE, params))
    child = children(oos, failed.execution_id)[ids[0]]
    tasks = oos.list_task_executions(m.ListTaskExecutionsRequest(region_id=REGION, execution_id=child.execution_id))
    assert [(t.task_name, t.status) for t in tasks.body.task_executions] == [
        ("checkInstanceReady", "Success"), ("scanPatches", "Failed")]
    assert "patch-role (referenced as {{oos-secret:patch-role}})" in child.status_message
    create(oos, "patch-role", "OOSServiceRole")
    done = finish(oos, start(oos, PATCH_TEMPLATE, params))
    assert done.status == "Success" and done.ram_role == "{{oos-secret:patch-role}}"


@pytest.mark.parametrize("inherit, expected", [(None, {"team": "ops"}), (False, {})])
def test_child_execution_tags(sim_server_factory, inherit, expected):
    fleet = {"regions": {REGION: {"instances": [{"id": "i-child1", "os_type": "linux"}]}}}
    if inherit is not None:
        fleet["child_execution_tags"] = inherit
    oos = sim_server_factory(fleet=fleet).oos()
    exe = finish(oos, install(oos, ["i-child1"], {}, package=NODE, tags={"team": "ops"}))
    assert exe.tags == {"team": "ops"} and children(oos, exe.execution_id)["i-child1"].tags == expected


# --- Cloud Assistant ---------------------------------------------------------------------------
def output_of(server, body, **kw):
    inv = invocation(server, body.invoke_id, content_encoding="PlainText", **kw)
    return inv, inv.invoke_instances.invoke_instance[0]


def test_a_command_resolves_references_in_its_content_and_parameters(sim_server):
    create(sim_server.oos(), "api-token", SECRET)
    script = 'echo "content {{oos-secret:api-token}} parameter {{token}} id {{ACS::InstanceName}}"'
    body = run(sim_server, script, enable_parameter=True, parameters={"token": "{{ oos-secret:api-token }}"})
    inv, item = output_of(sim_server, body)
    assert (item.invocation_status, item.output) == ("Success", f"content {SECRET} parameter {SECRET} id web-1\n")
    assert inv.command_content == script and json.loads(inv.parameters) == {"token": "{{ oos-secret:api-token }}"}
    assert SECRET not in json.dumps(sim_server.admin("GET", "state"))


def test_references_are_not_custom_parameters(sim_server):
    client = sim_server.ecs()
    created = client.create_command(ecs_models.CreateCommandRequest(
        region_id=REGION, name="uses-secret", type="RunShellScript", enable_parameter=True,
        command_content="ZWNobyB7e29vcy1zZWNyZXQ6YX19IHt7b29zOmJ9fSB7e25hbWV9fQ=="))  # echo {{oos-secret:a}} {{oos:b}} {{name}}
    cmd = client.describe_commands(ecs_models.DescribeCommandsRequest(
        region_id=REGION, command_id=created.body.command_id)).body.commands.command[0]
    assert cmd.parameter_names.parameter_name == ["name"]


def test_without_enable_parameter_a_reference_is_plain_text(sim_server):
    create(sim_server.oos(), "api-token", SECRET)
    _, item = output_of(sim_server, run(sim_server, "echo '{{oos-secret:api-token}}'"))
    assert item.output == "{{oos-secret:api-token}}\n"


@pytest.mark.parametrize("reference, code", [
    ("{{oos-secret:missing}}", "EntityNotExists.SecretParameter"),
    ("{{oos:plain-parameter}}", "EntityNotExists.Parameter"),
])
def test_an_unknown_reference_makes_the_instance_invalid(sim_server, reference, code):
    body = run(sim_server, f"echo {reference}", prefix="web", enable_parameter=True)
    inv, _ = output_of(sim_server, body)
    items = inv.invoke_instances.invoke_instance
    assert inv.invocation_status == "Failed" and len(items) == 3
    for item in items:
        assert (item.invocation_status, item.error_code, item.output) == ("Invalid", code, "")
        assert reference in item.error_info and "does not exist in region cn-hangzhou" in item.error_info


def test_a_simulated_windows_script_and_each_periodic_run_use_the_current_value(sim_server):
    oos = sim_server.oos()
    create(oos, "win-token", "first-token")
    body = run(sim_server, "Write-Output {{oos-secret:win-token}}", prefix="win", type="RunPowerShellScript",
               enable_parameter=True)
    assert output_of(sim_server, body)[1].output == "first-token\r\n"
    periodic = run(sim_server, "echo {{oos-secret:win-token}}", enable_parameter=True, frequency="rate(60s)",
                   repeat_mode="Period", timeout=10)

    def runs(count):
        item = invocation(sim_server, periodic.invoke_id, statuses={"Scheduled"},
                          content_encoding="PlainText").invoke_instances.invoke_instance[0]
        return item if item.repeats >= count else None
    assert wait_for(lambda: runs(1)).output == "first-token\n"
    oos.update_secret_parameter(m.UpdateSecretParameterRequest(region_id=REGION, name="win-token", value="new-token"))
    sim_server.admin("POST", "clock", {"advance": 61})
    assert wait_for(lambda: runs(2)).output == "new-token\n"
