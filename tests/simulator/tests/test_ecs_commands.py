"""Cloud Assistant command actions through the real ECS SDK: shapes, validation and idempotency."""

import base64
import json

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from conftest import error_of, instance_ids, invocation, run

INVOCATION_FIELDS = {"InvokeId", "CommandId", "CommandName", "CommandType", "CommandContent", "CommandDescription",
                     "Parameters", "RepeatMode", "Frequency", "Timed", "Timeout", "Username", "WorkingDir",
                     "ContainerId", "ContainerName", "Launcher", "TerminationMode", "CreationTime",
                     "InvocationStatus", "InvokeStatus", "Tags", "InvokeInstances"}
INVOKE_INSTANCE_FIELDS = {"InstanceId", "InvocationStatus", "InstanceInvokeStatus", "ExitCode", "Output", "Dropped",
                          "ErrorCode", "ErrorInfo", "Repeats", "CreationTime", "StartTime", "FinishTime", "StopTime",
                          "UpdateTime", "Timed"}
RESULT_FIELDS = {"InvokeId", "CommandId", "InstanceId", "InvocationStatus", "InvokeRecordStatus", "ExitCode", "Output",
                 "Dropped", "ErrorCode", "ErrorInfo", "Repeats", "StartTime", "FinishedTime", "StopTime", "Username"}
COMMAND_FIELDS = {"CommandId", "Name", "Type", "CommandContent", "Description", "WorkingDir", "Timeout",
                  "EnableParameter", "ParameterNames", "InvokeTimes", "CreationTime", "Provider", "Category",
                  "Latest", "Tags"}


@pytest.mark.parametrize("signing", [None, "v2"])
def test_run_command_and_describe_shapes(sim_server, signing):
    body = run(sim_server, "echo hello", signing=signing)
    assert body.command_id.startswith("c-hz") and body.invoke_id.startswith("t-hz")
    inv = invocation(sim_server, body.invoke_id).to_map()
    assert INVOCATION_FIELDS <= inv.keys()
    assert (inv["InvocationStatus"], inv["InvokeStatus"], inv["RepeatMode"]) == ("Success", "Finished", "Once")
    assert base64.b64decode(inv["CommandContent"]) == b"echo hello"
    assert (inv["Username"], inv["WorkingDir"], inv["Timeout"], inv["Parameters"]) == ("root", "/root", 60, "{}")
    item = inv["InvokeInstances"]["InvokeInstance"][0]
    assert INVOKE_INSTANCE_FIELDS <= item.keys()
    assert (item["ExitCode"], base64.b64decode(item["Output"]), item["Repeats"]) == (0, b"hello\n", 1)
    assert item["StartTime"] <= item["FinishTime"] and item["StopTime"] == ""
    results = sim_server.ecs().describe_invocation_results(m.DescribeInvocationResultsRequest(
        region_id="cn-hangzhou", invoke_id=body.invoke_id, content_encoding="PlainText")).body.to_map()
    page = results["Invocation"]
    assert (page["TotalCount"], page["PageSize"]) == (1, 10)
    row = page["InvocationResults"]["InvocationResult"][0]
    assert RESULT_FIELDS <= row.keys()
    assert (row["Output"], row["InvokeRecordStatus"], row["FinishedTime"] != "") == ("hello\n", "Finished", True)


def test_create_describe_invoke_delete(sim_server):
    client = sim_server.ecs()
    script = "echo {{name}} from {{ACS::InstanceName}}"
    created = client.create_command(m.CreateCommandRequest(
        region_id="cn-hangzhou", name="greet", type="RunShellScript", enable_parameter=True, timeout=30,
        command_content=_b64(script), tag=[m.CreateCommandRequestTag(key="k", value="v")]))
    cid = created.body.command_id
    listed = client.describe_commands(m.DescribeCommandsRequest(
        region_id="cn-hangzhou", command_id=cid, content_encoding="PlainText")).body.to_map()
    cmd = listed["Commands"]["Command"][0]
    assert COMMAND_FIELDS <= cmd.keys()
    assert (cmd["CommandContent"], cmd["ParameterNames"], cmd["Timeout"]) == (script, {"ParameterName": ["name"]}, 30)
    assert cmd["Tags"] == {"Tag": [{"TagKey": "k", "TagValue": "v"}]}
    invoked = client.invoke_command(m.InvokeCommandRequest(
        region_id="cn-hangzhou", command_id=cid, instance_id=instance_ids(sim_server, "web"),
        parameters={"name": "Jack"}))
    inv = invocation(sim_server, invoked.body.invoke_id, content_encoding="PlainText")
    outputs = sorted(i.output for i in inv.invoke_instances.invoke_instance)
    assert outputs == ["Jack from web-1\n", "Jack from web-2\n", "Jack from web-3\n"]
    assert json.loads(inv.parameters) == {"name": "Jack"} and inv.timeout == 30
    described = client.describe_commands(m.DescribeCommandsRequest(region_id="cn-hangzhou", name="greet")).body
    assert described.commands.command[0].invoke_times == 1
    client.delete_command(m.DeleteCommandRequest(region_id="cn-hangzhou", command_id=cid))
    assert client.describe_commands(m.DescribeCommandsRequest(region_id="cn-hangzhou")).body.total_count == 0
    assert error_of(lambda: client.delete_command(m.DeleteCommandRequest(region_id="cn-hangzhou", command_id=cid))) \
        == ("InvalidCmdId.NotFound", 404)
    assert error_of(lambda: client.invoke_command(m.InvokeCommandRequest(
        region_id="cn-hangzhou", command_id=cid, instance_id=instance_ids(sim_server, "web")))) \
        == ("InvalidCmdId.NotFound", 404)


def test_public_commands(sim_server):
    client = sim_server.ecs()
    public = client.describe_commands(m.DescribeCommandsRequest(region_id="cn-hangzhou", provider="AlibabaCloud")).body
    names = [c.name for c in public.commands.command]
    assert "ACS-ECS-InstallCloudMonitor-for-linux.sh" in names and len(names) >= 3
    assert {c.provider for c in public.commands.command} == {"AlibabaCloud"}
    assert client.describe_commands(m.DescribeCommandsRequest(region_id="cn-hangzhou")).body.total_count == 0
    invoked = client.invoke_command(m.InvokeCommandRequest(
        region_id="cn-hangzhou", command_id="ACS-ECS-InstallCloudMonitor-for-linux.sh",
        instance_id=instance_ids(sim_server, "web-1")))
    inv = invocation(sim_server, invoked.body.invoke_id, content_encoding="PlainText")
    iid = instance_ids(sim_server, "web-1")[0]
    assert inv.invoke_instances.invoke_instance[0].output == f"CloudMonitor agent installed in cn-hangzhou on {iid}\n"
    assert error_of(lambda: client.delete_command(m.DeleteCommandRequest(
        region_id="cn-hangzhou", command_id="ACS-ECS-CheckNetwork-for-linux.sh"))) == ("Operation.Forbidden", 403)


def test_public_commands_have_versions_and_latest_picks_the_newest(sim_server):
    client = sim_server.ecs()
    name = "ACS-ECS-CheckNetwork-for-linux.sh"

    def describe(**kw):
        return client.describe_commands(m.DescribeCommandsRequest(
            region_id="cn-hangzhou", provider="AlibabaCloud", name=name, content_encoding="PlainText", **kw)).body

    every = describe().commands.command
    assert sorted((c.version, c.latest) for c in every) == [(1, False), (2, False), (3, True)]
    assert len({c.command_id for c in every}) == 3 and {c.name for c in every} == {name}
    assert all(c.command_id.startswith("c-") for c in every)
    latest = describe(latest=True).commands.command
    assert [(c.version, c.latest, c.command_content) for c in latest] == [
        (3, True, 'echo "network check (version 3): ok"\n')]
    oldest = next(c for c in every if c.version == 1)
    assert describe(command_id=oldest.command_id).commands.command[0].version == 1

    def output(command_id):
        invoked = client.invoke_command(m.InvokeCommandRequest(
            region_id="cn-hangzhou", command_id=command_id, instance_id=instance_ids(sim_server, "web-1")))
        inv = invocation(sim_server, invoked.body.invoke_id, content_encoding="PlainText")
        return inv.invoke_instances.invoke_instance[0].output
    assert output(oldest.command_id) == "network check (version 1): ok\n"
    assert output(name) == "network check (version 3): ok\n"

    client.create_command(m.CreateCommandRequest(region_id="cn-hangzhou", name="mine", type="RunShellScript",
                                                 command_content=_b64("echo mine")))
    private = client.describe_commands(m.DescribeCommandsRequest(region_id="cn-hangzhou", latest=True)).body
    assert [(c.name, c.version, c.latest) for c in private.commands.command] == [("mine", 1, True)]


def _b64(text):
    return base64.b64encode(text.encode()).decode()


VALIDATION_CASES = [
    ("bad type", {"type": "RunPythonScript"}, ("InvalidCmdType.NotFound", 404)),
    ("unknown instance", {"instance_id": ["i-bpdoesnotexist"]}, ("InvalidInstance.NotFound", 404)),
    ("stopped", {"prefix": "stopped"}, ("InvalidInstance.NotMatch", 400)),
    ("no agent", {"prefix": "noagent"}, ("InvalidInstance.NoClient", 400)),
    ("os mismatch", {"prefix": "win"}, ("InvalidInstance.NotMatch", 400)),
    ("params disabled", {"parameters": {"a": "b"}}, ("Parameter.Disabled", 400)),
    ("missing value", {"content": "echo {{who}}", "enable_parameter": True}, ("Parameter.MissingValue", 400)),
    ("undefined param", {"content": "echo {{who}}", "enable_parameter": True, "parameters": {"who": "x", "x": "y"}},
     ("Parameter.NotMatched", 403)),
    ("bad base64", {"content": "not base64!!", "content_encoding": "Base64"}, ("CmdContent.DecodeError", 400)),
    ("too big", {"content": "#" * 20000}, ("CmdContent.ExceedLimit", 403)),
    ("no frequency", {"repeat_mode": "Period"}, ("MissingParam.Frequency", 400)),
    ("bad frequency", {"frequency": "every minute"}, ("InvalidParam.Frequency", 400)),
    ("rate too short", {"frequency": "rate(30s)"}, ("InvalidParam.Frequency", 400)),
    ("bad repeat mode", {"repeat_mode": "Sometimes"}, ("InvalidRepeatMode.NotFound", 404)),
    ("timeout", {"timeout": 86401}, ("InvalidTimeout.ExceedLimit", 403)),
    ("timeout under 10", {"timeout": 9}, ("InvalidTimeout.ExceedLimit", 403)),
    ("dry run", {"repeat_mode": "DryRun"}, ("DryRunOperation", 400)),
    ("no targets", {"instance_id": []}, ("MissingParam.InstanceId", 400)),
    ("both targets", {"resource_tag": [m.RunCommandRequestResourceTag(key="env", value="dev")]},
     ("InvalidResourceTag.ConflictWithInstanceIds", 400)),
    ("too many", {"instance_id": [f"i-{n}" for n in range(101)]}, ("InstanceIds.ExceedLimit", 403)),
    ("no region", {"region_id": None}, ("MissingParameter", 400)),
]


@pytest.mark.parametrize("case, args, expected", VALIDATION_CASES, ids=[c[0] for c in VALIDATION_CASES])
def test_run_command_validation(sim_server, case, args, expected):
    args = dict(args)
    prefix = args.pop("prefix", "web-1")
    content = args.pop("content", "echo hi")
    request = {"instance_id": instance_ids(sim_server, prefix), "type": "RunShellScript", "command_content": content,
               "region_id": "cn-hangzhou", **args}
    assert error_of(lambda: sim_server.ecs().run_command(m.RunCommandRequest(**request))) == expected
    assert sim_server.admin("GET", "state")["commands"]["invocations"] == {}, case


def test_timeout_is_at_least_10_seconds_for_every_command_action(sim_server):
    client = sim_server.ecs()
    web_1 = instance_ids(sim_server, "web-1")

    def create(seconds):
        return client.create_command(m.CreateCommandRequest(
            region_id="cn-hangzhou", name="t", type="RunShellScript", command_content=_b64("true"), timeout=seconds))

    def invoke(command_id, seconds):
        return client.invoke_command(m.InvokeCommandRequest(
            region_id="cn-hangzhou", command_id=command_id, instance_id=web_1, timeout=seconds))

    for seconds in (0, 9):
        assert error_of(lambda: create(seconds)) == ("InvalidTimeout.ExceedLimit", 403)
        assert error_of(lambda: run(sim_server, timeout=seconds)) == ("InvalidTimeout.ExceedLimit", 403)
    command_id = create(10).body.command_id
    assert error_of(lambda: invoke(command_id, 9)) == ("InvalidTimeout.ExceedLimit", 403)
    assert sim_server.admin("GET", "state")["commands"]["invocations"] == {}
    assert invocation(sim_server, invoke(command_id, 10).body.invoke_id).timeout == 10
    assert invocation(sim_server, run(sim_server, timeout=10).invoke_id).timeout == 10


def test_instance_limit(sim_server_factory):
    server = sim_server_factory(fleet={"run_scripts": False, "regions": {"cn-hangzhou": {"instances": [
        {"name": "n", "os_type": "linux", "count": 101}]}}})
    ids = [i.id for i in server.sim.instances()]
    assert error_of(lambda: run(server, instance_id=ids)) == ("InstanceIds.ExceedLimit", 403)
    assert run(server, instance_id=ids[:100]).invoke_id


def test_resource_tag_targets(sim_server):
    body = run(sim_server, instance_id=None, resource_tag=[m.RunCommandRequestResourceTag(key="role", value="web")])
    inv = invocation(sim_server, body.invoke_id)
    targets = sorted(i.instance_id for i in inv.invoke_instances.invoke_instance)
    assert targets == sorted(instance_ids(sim_server, "web"))
    assert error_of(lambda: run(sim_server, instance_id=None, resource_tag=[
        m.RunCommandRequestResourceTag(key="role", value="nobody")])) == ("InvalidResourceTag.InstanceNotFound", 400)


def test_client_token_idempotency(sim_server):
    first = run(sim_server, client_token="token-1")
    again = run(sim_server, client_token="token-1")
    assert (first.command_id, first.invoke_id) == (again.command_id, again.invoke_id)
    assert len(sim_server.admin("GET", "state")["commands"]["invocations"]) == 1
    assert error_of(lambda: run(sim_server, "echo other", client_token="token-1")) \
        == ("IdempotentParameterMismatch", 403)
    assert run(sim_server, client_token="token-2").invoke_id != first.invoke_id


def test_keep_command(sim_server):
    kept = run(sim_server, keep_command=True)
    dropped = run(sim_server)
    for body in (kept, dropped):
        invocation(sim_server, body.invoke_id)
    listed = sim_server.ecs().describe_commands(m.DescribeCommandsRequest(region_id="cn-hangzhou")).body
    assert [c.command_id for c in listed.commands.command] == [kept.command_id]


def test_base64_content_and_windows_defaults(sim_server):
    body = run(sim_server, _b64("Write-Output 'hi'\r\n"), prefix="win", type="RunPowerShellScript",
               content_encoding="Base64")
    inv = invocation(sim_server, body.invoke_id, content_encoding="PlainText")
    assert (inv.username, inv.working_dir, inv.command_content) == ("System", "C:\\Windows\\system32",
                                                                    "Write-Output 'hi'\r\n")
    assert inv.invoke_instances.invoke_instance[0].output == "hi\r\n"


def _exceeds(call):
    """The message of the CmdContent.ExceedLimit error ``call()`` raises."""
    with pytest.raises(ClientException) as info:
        call()
    assert (info.value.code, info.value.status_code) == ("CmdContent.ExceedLimit", 403)
    return info.value.message


def test_content_limit_is_18_kb_when_kept_and_24_kb_otherwise(sim_server):
    client = sim_server.ecs()
    at_18_kb, over_18_kb = "#" * 13824, "#" * 13825          # 18,432 and 18,436 characters of Base64
    assert run(sim_server, over_18_kb).invoke_id
    assert "18 KB" in _exceeds(lambda: run(sim_server, over_18_kb, keep_command=True))
    assert run(sim_server, at_18_kb, keep_command=True).invoke_id

    def create(content):
        return client.create_command(m.CreateCommandRequest(
            region_id="cn-hangzhou", name="big", type="RunShellScript", command_content=_b64(content)))
    assert "18 KB" in _exceeds(lambda: create(over_18_kb))
    assert create(at_18_kb).body.command_id
    assert "24 KB" in _exceeds(lambda: run(sim_server, "#" * 18433))


def test_parameter_values_count_toward_the_content_limit(sim_server):
    client = sim_server.ecs()
    script = "echo {{name}}\n" + "#" * 13000                 # 17,352 characters of Base64
    command_id = client.create_command(m.CreateCommandRequest(
        region_id="cn-hangzhou", name="params", type="RunShellScript", enable_parameter=True,
        command_content=_b64(script))).body.command_id

    def invoke(value):
        return client.invoke_command(m.InvokeCommandRequest(
            region_id="cn-hangzhou", command_id=command_id, instance_id=instance_ids(sim_server, "web-1"),
            parameters={"name": value}))
    # {"name":"<value>"} as Base64 takes 1,080 characters with a value of 799 and 1,084 with 800
    assert "18 KB" in _exceeds(lambda: invoke("x" * 800))
    assert invoke("x" * 799).body.invoke_id
    unkept = "echo {{name}}\n" + "#" * 18000                 # 24,020 characters of Base64
    assert "24 KB" in _exceeds(lambda: run(sim_server, unkept, enable_parameter=True, parameters={"name": "x" * 407}))
    assert run(sim_server, unkept, enable_parameter=True, parameters={"name": "x" * 406}).invoke_id
