"""ecs_cloud_assistant_command against the simulator, through the real SDK."""

from __future__ import annotations

import base64
import collections
import json

import pytest
from alibabacloud_oos20190601 import models as oos_models

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import ecs_cloud_assistant_command as module
from unit_helpers import api_calls, instance_ids as by_name, mutating, sim_args, warnings_of

MISSING = "i-bpmissing0000000001"
SECRET = "s3cr3t-Value-42"


def args(server, **extra):
    return sim_args(server, **dict(dict(poll_interval=0.05, wait_timeout=60), **extra))


def test_exit_codes_on_a_mix_of_instances(sim_server, run_module):
    ids = by_name(sim_server)
    script = 'if [ "$(hostname)" = never ]; then exit 0; fi\ncase {{ACS::InstanceName}} in web-2) exit 3;; esac\necho ok'
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"], ids["web-2"], ids["db"]],
                                              command=script, parameters={}))
    assert rc == 1 and result["failed"] and result["changed"] is True
    assert "did not succeed on 1 of 3" in result["msg"] and ids["web-2"] in result["msg"]
    entries = result["instances"]
    assert list(entries) == [ids["web-1"], ids["web-2"], ids["db"]]
    assert entries[ids["web-1"]]["status"] == "Success" and entries[ids["web-1"]]["exit_code"] == 0
    assert entries[ids["web-1"]]["stdout_lines"] == ["ok"]
    web2 = entries[ids["web-2"]]
    assert web2["status"] == "Failed" and web2["exit_code"] == 3 and web2["error_code"] == "ExitCodeNonzero"
    assert web2["start_time"] and web2["finish_time"] and web2["invoke_id"] == result["invoke_id"]
    assert result["rc"] == 3 and result["summary"]["succeeded"] == 2 and result["summary"]["failed"] == 1
    assert len(api_calls(sim_server, "RunCommand")) == 1

    rc, report_only = run_module(module.main, args(sim_server, instance_ids=[ids["web-2"]],
                                                   command="exit 7", fail_on="none"))
    # Ansible fails any result with a non-zero rc unless failed is given explicitly
    assert rc == 0 and report_only["changed"] and report_only["rc"] == 7 and report_only["failed"] is False
    assert report_only["instances"][ids["web-2"]]["exit_code"] == 7


def test_content_passes_through_untouched(sim_server, run_module):
    ids = by_name(sim_server)
    script = "cat <<'EOF'\nquote ' \" `x` $(echo sub) {{not_a_param}} 中文 ✓\nEOF\necho \"$(echo nested)\""
    _rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command=script))
    entry = result["instances"][ids["web-1"]]
    assert entry["stdout_lines"] == ["quote ' \" `x` $(echo sub) {{not_a_param}} 中文 ✓", "nested"]
    sent = api_calls(sim_server, "RunCommand")[0]["params"]
    assert sent["ContentEncoding"] == "Base64" and base64.b64decode(sent["CommandContent"]).decode() == script
    assert sent["EnableParameter"] in ("false", "False")


@pytest.mark.parametrize("size,truncated,dropped", [(0, False, 0), (24576, False, 0), (30000, True, 30000 - 24576)])
def test_output_sizes(sim_server, run_module, size, truncated, dropped):
    ids = by_name(sim_server)
    command = "head -c %d /dev/zero | tr '\\0' x" % size
    _rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command=command))
    entry = result["instances"][ids["web-1"]]
    assert len(entry["stdout"]) == min(size, 24576) and set(entry["stdout"]) <= {"x"}
    assert entry["output_truncated"] is truncated and entry["dropped_bytes"] == dropped
    assert entry["stdout_lines"] == ([] if size == 0 else [entry["stdout"]])


def test_binary_output_is_replaced_not_fatal(sim_server, run_module):
    ids = by_name(sim_server)
    _rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]],
                                               command="printf 'a\\377\\376b\\n'; printf '\\303'"))
    assert result["instances"][ids["web-1"]]["stdout"] == "a\ufffd\ufffdb\n\ufffd"


def test_execution_timeout(sim_server, run_module):
    ids = by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="echo start; sleep 60",
                                              timeout=10))
    entry = result["instances"][ids["web-1"]]
    assert rc == 1 and entry["status"] == "Timeout" and entry["error_code"] == "ExecutionTimeout"
    assert entry["exit_code"] == -1 and entry["stdout"] == "start\n" and result["rc"] == 1


def test_parameters_and_secret_parameters(sim_server, run_module):
    ids = by_name(sim_server)
    rc, result = run_module(module.main, args(
        sim_server, instance_ids=[ids["web-1"]], command="echo {{Greeting}} {{token}} on {{ACS::InstanceId}}",
        parameters={"greeting": "hello world", "count": 3}, secret_parameters={"token": SECRET}))
    assert rc == 1 and "count" in result["msg"] and api_calls(sim_server) == []

    rc, result = run_module(module.main, args(
        sim_server, instance_ids=[ids["web-1"]], command="echo {{Greeting}} {{token}} on {{ACS::InstanceId}}",
        parameters={"greeting": "hello world"}, secret_parameters={"token": SECRET}), verbosity=4)
    assert rc == 0
    assert result["instances"][ids["web-1"]]["stdout"].startswith("hello world ")
    assert result["instances"][ids["web-1"]]["stdout"].rstrip().endswith("on %s" % ids["web-1"])
    assert SECRET not in json.dumps(result)
    sent = api_calls(sim_server, "RunCommand")[0]["params"]
    assert json.loads(sent["Parameters"]) == {"greeting": "hello world", "token": SECRET}
    assert sent["EnableParameter"] in ("true", "True")


def test_an_oos_secret_reference_is_resolved_by_cloud_assistant_not_the_module(sim_server, run_module):
    sim_server.oos().create_secret_parameter(oos_models.CreateSecretParameterRequest(name="db-pass", value=SECRET))
    ids = by_name(sim_server)
    script = "test \"$(cat <<'EOF'\n{{oos-secret:db-pass}}\nEOF\n)\" = '%s' && echo resolved" % SECRET
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command=script, parameters={}))
    assert rc == 0 and result["instances"][ids["web-1"]]["stdout"] == "resolved\n"
    sent = api_calls(sim_server, "RunCommand")[0]["params"]
    assert "{{oos-secret:db-pass}}" in base64.b64decode(sent["CommandContent"]).decode() and SECRET not in str(sent)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], parameters={},
                                              command="echo {{oos-secret:missing}}"))
    entry = result["instances"][ids["web-1"]]
    assert rc == 1 and (entry["status"], entry["error_code"]) == ("Invalid", "EntityNotExists.SecretParameter")


RELEASE = "1.0 $(touch injected) `touch injected`; echo & \\ \"x\""
TOKEN = "it's \"$(touch injected)\"\n`touch injected`; exit 7 &"


def test_values_are_substituted_verbatim_and_the_documented_quoting_keeps_them_inert(sim_server, run_module):
    ids = by_name(sim_server)
    unquoted = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], working_dir="/srv/unquoted",
                                            command="echo {{release}} >/dev/null; ls", parameters={"release": RELEASE}))
    assert "injected" in unquoted[1]["instances"][ids["web-1"]]["stdout"].split()
    script = ("set -eu\nrelease='{{release}}'\ntoken=$(cat <<'ACS_END_OF_VALUE'\n{{token}}\nACS_END_OF_VALUE\n)\n"
              "printf '%s|' \"$release\" | wc -c\nprintf '%s|' \"$token\" | wc -c\nls")
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], working_dir="/srv/quoted",
                                              command=script, parameters={"release": RELEASE},
                                              secret_parameters={"token": TOKEN}))
    assert rc == 0
    assert result["instances"][ids["web-1"]]["stdout"].split() == [str(len(RELEASE) + 1), str(len(TOKEN) + 1)]


def test_250_instances_are_batched(sim_server_factory, run_module):
    fleet = {"run_scripts": False, "regions": {"cn-beijing": {"instances": [
        {"name": "n", "os_type": "linux", "count": 250}]}}}
    server = sim_server_factory(fleet=fleet)
    ids = [i.id for i in server.sim.instances("cn-beijing")]
    rc, result = run_module(module.main, args(server, region="cn-beijing", instance_ids=ids, command="echo hi"))
    assert rc == 0 and result["summary"]["succeeded"] == 250
    runs = api_calls(server, "RunCommand")
    assert sorted(len([k for k in c["params"] if k.startswith("InstanceId.")]) for c in runs) == [50, 100, 100]
    assert len(result["invoke_ids"]) == 3 and len(set(result["invoke_ids"])) == 3
    assert list(result["instances"]) == ids
    assert all(e["stdout"] == "hi\n" for e in result["instances"].values())
    # Each round lists the run's three invocations with one page; each invocation's results are read once.
    listings = api_calls(server, "DescribeInvocations")
    assert listings and all(c["params"]["Tag.1.Key"] == "ecs-ops-run" and not c["params"].get("NextToken")
                            for c in listings)
    assert {c["params"]["Tag.1.Value"] for c in listings} == {i["run_tag"] for i in result["invocations"]}
    pages = collections.Counter(c["params"]["InvokeId"] for c in api_calls(server, "DescribeInvocationResults"))
    assert pages == {i["invoke_id"]: -(-len(i["instance_ids"]) // 50) for i in result["invocations"]}


def test_mixed_os_auto_type_and_mismatch(sim_server, run_module):
    ids = by_name(sim_server)
    targets = [ids["web-1"], ids["win"]]
    rc, result = run_module(module.main, args(sim_server, instance_ids=targets, command="echo hi", type="RunShellScript"))
    assert rc == 1 and "RunShellScript cannot run on a Windows instance" in result["msg"]
    assert result["instances"][ids["win"]]["status"] == "Unsupported" and mutating(sim_server) == []
    assert result["instances"][ids["win"]]["result"] == "unsupported"

    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["win"]], command="echo bat\r\nexit /b 0",
                                              type="RunBatScript"))
    assert rc == 0 and result["instances"][ids["win"]]["type"] == "RunBatScript"
    assert result["instances"][ids["win"]]["stdout"] == "bat\r\n"


def test_unreachable_fail_and_skip(sim_server, run_module):
    ids = by_name(sim_server)
    sim_server.admin("POST", "instances/%s" % ids["web-3"], {"agent": "offline"})
    targets = [ids["web-1"], ids["noagent"], ids["stopped"], ids["web-3"], MISSING]
    for check_mode in (True, False):
        rc, result = run_module(module.main, args(sim_server, instance_ids=targets, command="echo hi"),
                                check_mode=check_mode)
        assert rc == 1 and result["msg"].startswith("Nothing ran: 4 instance(s)") and "unreachable=skip" in result["msg"]
        for name in ("noagent", "stopped", "web-3"):
            assert ids[name] in result["msg"] and result["instances"][ids[name]]["status"] == "Unreachable"
        assert "not installed" in result["instances"][ids["noagent"]]["reason"]
        assert "offline" in result["instances"][ids["web-3"]]["reason"]
        assert result["instances"][MISSING]["reason"].startswith("the instance does not exist")
        # The one instance that could run it did not: not reported as WouldRun (a check-mode status).
        ready = result["instances"][ids["web-1"]]
        assert (ready["status"], ready["result"]) == ("NotStarted", "planned"), ready
        assert ready["reason"] == "not started: 4 other instance(s) cannot run the command and unreachable=fail"
    assert mutating(sim_server) == []

    rc, result = run_module(module.main, args(sim_server, instance_ids=targets, command="echo hi", unreachable="skip"))
    assert rc == 0 and result["changed"]
    assert result["summary"]["succeeded"] == 1 and result["summary"]["unreachable"] == 4
    assert result["instances"][ids["stopped"]]["status"] == "Unreachable"
    assert result["instances"][ids["stopped"]]["result"] == "unreachable"
    assert "Stopped" in result["instances"][ids["stopped"]]["reason"]
    assert [c["params"]["InstanceId.1"] for c in api_calls(sim_server, "RunCommand")] == [ids["web-1"]]


def test_check_mode_runs_nothing(sim_server, run_module):
    ids = by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"], ids["win"]], command="reboot"),
                            check_mode=True)
    assert rc == 0 and result["changed"] is True
    assert {e["status"] for e in result["instances"].values()} == {"WouldRun"}
    assert [(b["type"], b["instance_ids"]) for b in result["invocations"]] == [
        ("RunShellScript", [ids["web-1"]]), ("RunPowerShellScript", [ids["win"]])]
    assert result["summary"]["planned"] == 2 and "invoke_id" not in result
    assert mutating(sim_server) == [] and api_calls(sim_server)


def test_periodic_invocation_started_then_stopped(sim_server_factory, run_module):
    # 1 simulated second = 20 ms: the script (a real process) runs every 1.2 s, so runs never pile up on a busy
    # machine (at the default 1 ms they came every 60 ms and a stop could wait behind a run that never ended).
    sim_server = sim_server_factory(time_scale=0.02)
    ids = by_name(sim_server)
    rc, started = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="echo tick",
                                               frequency="rate(1m)"))
    entry = started["instances"][ids["web-1"]]
    assert rc == 0 and entry["status"] == "Scheduled" and entry["repeats"] >= 1 and entry["stdout"] == "tick\n"
    assert started["summary"]["scheduled"] == 1 and started["rc"] == 0
    stop = args(sim_server, state="absent", invoke_id=started["invoke_id"])
    rc, checked = run_module(module.main, stop, check_mode=True)
    assert rc == 0 and checked["changed"] and not api_calls(sim_server, "StopInvocation")
    rc, stopped = run_module(module.main, stop)
    assert rc == 0 and stopped["changed"] and stopped["status"] == "Stopped"
    rc, again = run_module(module.main, stop)
    assert rc == 0 and not again["changed"] and again["status"] == "Stopped"
    assert len(api_calls(sim_server, "StopInvocation")) == 1


def test_existing_commands(sim_server, run_module):
    ids = by_name(sim_server)
    ecs = sim_server.ecs()
    from alibabacloud_ecs20140526 import models
    created = ecs.create_command(models.CreateCommandRequest(
        region_id="cn-hangzhou", name="greet", type="RunShellScript", enable_parameter=True,
        command_content=base64.b64encode(b"echo hi {{who}}").decode()))
    command_id = created.body.command_id
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command_id=command_id,
                                              parameters={"who": "there"}))
    assert rc == 0 and result["command_id"] == command_id and result["instances"][ids["web-1"]]["stdout"] == "hi there\n"
    assert api_calls(sim_server, "InvokeCommand") and not api_calls(sim_server, "RunCommand")

    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command_name="greet"))
    assert rc == 1 and "needs a value for parameter(s) who" in result["msg"]

    public = "ACS-ECS-CheckNetwork-for-linux.sh"                # versions 1 to 3 in the simulator
    latest = sim_server.ecs().describe_commands(models.DescribeCommandsRequest(
        region_id="cn-hangzhou", provider="AlibabaCloud", name=public, latest=True)).body.commands.command[0]
    for option in ("command_name", "command_id"):
        rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], **{option: public}))
        assert rc == 0 and result["instances"][ids["web-1"]]["stdout"] == "network check (version 3): ok\n", result
        assert result["command_id"] == latest.command_id
    public_lookups = [c["params"] for c in api_calls(sim_server, "DescribeCommands")
                      if "Provider" in c["params"] and "ansible-collection/" in c["user_agent"]]
    assert public_lookups and all(p["Latest"].lower() == "true" and p["Name"] == public for p in public_lookups)

    before = len(mutating(sim_server))
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["win"]],
                                              command_id="ACS-ECS-CheckNetwork-for-linux.sh"))
    assert rc == 1 and "cannot run on a Windows instance" in result["msg"]
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command_id="c-hznotthere0000"))
    assert rc == 1 and "command_id c-hznotthere0000 does not exist in cn-hangzhou" in result["msg"]
    assert len(mutating(sim_server)) == before


def test_content_limit_of_existing_kept_and_inline_commands(sim_server, run_module):
    """Values that make an existing command too large fail before it runs; what fits runs."""
    ids = by_name(sim_server)
    from alibabacloud_ecs20140526 import models
    script = "echo {{n}}\n" + "#" * 13000                      # 17,348 bytes after Base64
    command_id = sim_server.ecs().create_command(models.CreateCommandRequest(
        region_id="cn-hangzhou", name="large", type="RunShellScript", enable_parameter=True,
        command_content=base64.b64encode(script.encode()).decode())).body.command_id
    before = len(mutating(sim_server))
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command_id=command_id,
                                              parameters={"n": "x" * 820}))
    assert rc == 1 and "command %s and parameter values: 18452 bytes" % command_id in result["msg"]
    assert "18432 (18 KB) a kept command allows" in result["msg"] and len(mutating(sim_server)) == before
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command_id=command_id,
                                              parameters={"n": "x" * 800}))
    assert rc == 0 and result["instances"][ids["web-1"]]["stdout"].startswith("x" * 800), result.get("msg")

    at_18_kb = "#" * 13824                                      # 18,432 bytes after Base64
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command=at_18_kb,
                                              keep_command=True))
    assert rc == 0, result["msg"]
    unkept = "echo {{n}}\n" + "#" * 18000                      # 24,016 bytes after Base64
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command=unkept,
                                              parameters={"n": "x" * 406}))
    assert rc == 0 and result["instances"][ids["web-1"]]["stdout"] == "x" * 406 + "\n", result.get("msg")


def test_client_token_makes_a_retried_task_idempotent(sim_server, run_module):
    ids = by_name(sim_server)
    task = args(sim_server, instance_ids=[ids["web-1"]], command="echo once", client_token="deploy-42")
    _rc, first = run_module(module.main, task)
    _rc, second = run_module(module.main, task)
    assert first["invoke_id"] == second["invoke_id"]
    assert [i["adopted"] for i in first["invocations"] + second["invocations"]] == [False, True]
    assert second["instances"][ids["web-1"]]["stdout"] == "once\n"
    _rc, third = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="echo once"))
    _rc, fourth = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="echo once"))
    assert len({first["invoke_id"], third["invoke_id"], fourth["invoke_id"]}) == 3
    # The re-run found the first invocation by its tag and started nothing; the token stays the second guard.
    starts = api_calls(sim_server, "RunCommand")
    tokens = [c["params"]["ClientToken"] for c in starts]
    assert len(tokens) == 3 and tokens[0].startswith("deploy-42-") and len(set(tokens)) == 3
    assert starts[0]["params"]["Tag.1.Key"] == "ecs-ops-client-token" and starts[0]["params"]["Tag.1.Value"] == tokens[0]
    assert [starts[1]["params"].get("Tag.%d.Key" % n) for n in (1, 2)] == ["ecs-ops-run", None]
    # Every run tags its invocations with its own ecs-ops-run value; the adopted invocation keeps the first one's.
    assert starts[0]["params"]["Tag.2.Key"] == "ecs-ops-run"
    run_tags = [starts[0]["params"]["Tag.2.Value"], starts[1]["params"]["Tag.1.Value"], starts[2]["params"]["Tag.1.Value"]]
    assert first["invocations"][0]["run_tag"] == second["invocations"][0]["run_tag"] == run_tags[0]
    assert run_tags[0].startswith("deploy-42-") and len(set(run_tags)) == 3


def test_throttling_and_a_dropped_answer_do_not_duplicate(sim_server, run_module):
    ids = by_name(sim_server)
    sim_server.admin("POST", "faults", [
        {"action": "RunCommand", "code": "Throttling.User", "count": 2},
        {"action": "RunCommand", "drop": "after", "count": 1},
        {"action": "DescribeInvocationResults", "code": "ServiceUnavailable", "count": 2},
    ])
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="echo hi"), verbosity=3)
    assert rc == 0 and result["instances"][ids["web-1"]]["status"] == "Success"
    assert len(api_calls(sim_server, "RunCommand")) == 4
    assert len(sim_server.admin("GET", "state")["commands"]["invocations"]) == 1
    assert sum(w.startswith("retry: ECS RunCommand") for w in warnings_of(result)) == 3


def test_invocation_not_visible_yet_is_tolerated(sim_server, run_module):
    ids = by_name(sim_server)
    sim_server.admin("POST", "faults", {"action": "DescribeInvocationResults", "code": "InvalidInvokeId.NotFound",
                                        "http_status": 404, "count": 2})
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="echo hi"))
    assert rc == 0 and result["instances"][ids["web-1"]]["stdout"] == "hi\n"
    assert len(api_calls(sim_server, "DescribeInvocationResults")) >= 3


@pytest.mark.parametrize("stop", [False, True])
def test_wait_timeout_reports_what_is_known(sim_server, run_module, stop):
    ids = by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"], ids["web-2"]],
                                              command='case {{ACS::InstanceName}} in web-1) sleep 30;; esac',
                                              parameters={}, wait_timeout=1, stop_on_timeout=stop))
    assert rc == 1 and result["msg"].startswith("Timed out after 1s waiting for 1 instance(s)")
    assert result["invoke_id"] in result["msg"]
    assert result["instances"][ids["web-2"]]["status"] == "Success"
    assert result["instances"][ids["web-1"]]["status"] in ("Running", "Pending")
    assert bool(api_calls(sim_server, "StopInvocation")) is stop


def test_no_log_output_hides_output_and_command(sim_server, run_module):
    ids = by_name(sim_server)
    command = "echo classified-payload-123"
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command=command,
                                              no_log_output=True))
    entry = result["instances"][ids["web-1"]]
    assert rc == 0 and entry["exit_code"] == 0 and entry["stdout"] == "" and entry["stdout_lines"] == []
    assert command not in json.dumps(result)


def test_regions_tags_and_no_wait(sim_server, run_module):
    ids = by_name(sim_server)
    shanghai = [i.id for i in sim_server.sim.instances("cn-shanghai")]
    rc, result = run_module(module.main, args(sim_server, region=None, instance_ids={
        "cn-hangzhou": [ids["web-1"]], "cn-shanghai": shanghai}, command="echo hi"))
    assert rc == 0 and result["summary"]["succeeded"] == 3
    assert sorted(b["region"] for b in result["invocations"]) == ["cn-hangzhou", "cn-shanghai"]
    assert result["instances"][shanghai[0]]["region"] == "cn-shanghai"

    rc, result = run_module(module.main, args(sim_server, instance_tags={"role": "web"}, command="echo hi"))
    assert rc == 0 and list(result["instances"]) == [ids["web-1"], ids["web-2"], ids["web-3"]]

    rc, result = run_module(module.main, args(sim_server, instance_tags={"role": "nothing"}, command="echo hi"))
    assert rc == 1 and "no instance in cn-hangzhou has the tags" in result["msg"]

    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="sleep 1", wait=False))
    assert rc == 0 and result["changed"] and result["instances"][ids["web-1"]]["status"] == "Pending"
    assert result["instances"][ids["web-1"]]["exit_code"] is None


FREQUENCIES = ["rate(5m)", "at(2026-12-24 20:00:00 Asia/Shanghai)", "at(2026-12-24 20:00:00)", "0 */20 * * * ?",
               "0 0 3 ? * MON-FRI Asia/Shanghai", "0 0 12 * * ? 2027"]


@pytest.mark.parametrize("frequency", FREQUENCIES)
def test_every_frequency_form_is_accepted(sim_server, run_module, frequency):
    """rate(...), at(...) and cron expressions pass the input check (check mode: nothing is started)."""
    ids = by_name(sim_server)
    task = args(sim_server, instance_ids=[ids["web-1"]], command="echo tick", frequency=frequency)
    rc, result = run_module(module.main, task, check_mode=True)
    assert rc == 0 and result["changed"], result.get("msg")
    assert mutating(sim_server) == []


@pytest.mark.parametrize("bad,fragment", [
    ({"command": None}, "exactly one of command, command_id and command_name"),
    ({"command_id": "c-x"}, "(got command, command_id)"),
    ({"instance_ids": None}, "exactly one of instance_ids and instance_tags"),
    ({"instance_tags": {"a": "b"}}, "(got both)"),
    ({"instance_ids": ["web-1"]}, "is not an instance id"),
    ({"instance_ids": {"cn-hangzhou": "i-bp1"}}, "must be a list of instance ids"),
    ({"region": None}, "region is required"),
    ({"command": "x" * 20000}, "command: 26668 bytes after Base64 encoding, more than the 24576 (24 KB)"),
    ({"command": "#" * 13825, "keep_command": True}, "command: 18436 bytes after Base64 encoding, more than the 18432"),
    ({"command": "echo {{n}} {{s}}\n" + "#" * 18000, "parameters": {"n": "x" * 300},
      "secret_parameters": {"s": "y" * 100}}, "command and parameter values: 24580 bytes after Base64"),
    ({"command": None, "command_name": "big", "secret_parameters": {"n": "x" * 14000}},
     "parameter values: 18680 bytes after Base64 encoding, more than the 18432 (18 KB) a kept command allows"),
    ({"command": "  "}, "command must not be empty"),
    ({"timeout": 0}, "timeout must be between 10 and 86400 seconds, got 0"),
    ({"timeout": 9}, "timeout must be between 10 and 86400 seconds, got 9"),
    ({"timeout": 86401}, "timeout must be between 10 and 86400 seconds, got 86401"),
    ({"frequency": "rate(10s)"}, "between 60 seconds"),
    ({"repeat_mode": "Period"}, "repeat_mode=Period needs frequency"),
    ({"frequency": "rate(5m)", "repeat_mode": "Once"}, "only used with repeat_mode=Period"),
    ({"frequency": "rate(5 min)"}, "is not rate("),
    ({"frequency": "every day"}, "or a cron expression"),
    ({"frequency": "at(tomorrow)"}, "is not at(YYYY-MM-DD hh:mm:ss [time zone]) with a real date and time"),
    ({"frequency": "0 61 * * * ?"}, "minute 61 is out of range 0-59"),
    ({"frequency": "0 0 3 * * ? GMT+08:00"}, "no leading zero in the hour"),
    ({"parameters": {"bad name": "x"}}, "is not a parameter name"),
    ({"parameters": {"a": "1"}, "secret_parameters": {"A": "2"}}, "given twice"),
    ({"parameters": {"a": [1]}}, "must be a string, number or boolean"),
    ({"command": "echo {{a}} {{b}}", "parameters": {"a": "1"}}, "needs a value for parameter(s) b"),
    ({"client_token": "has space"}, "client_token must be"),
    ({"tags": {"t%d" % n: "v" for n in range(21)}}, "tags: at most 20 tags, got 21"),
    ({"tags": {"t%d" % n: "v" for n in range(20)}, "client_token": "x"},
     "tags: at most 19 tags with client_token (it adds ecs-ops-client-token)"),
    ({"tags": {"ecs-ops-run": "mine"}}, "keys starting with ecs-ops- are reserved"),
    ({"tags": {"acs:x": "1"}}, "is not a tag key"),
    ({"working_dir": "/" * 201}, "working_dir is longer than 200"),
    ({"invoke_id": "t-hz123456"}, "invoke_id is only used with state=absent"),
    ({"state": "absent"}, "state=absent needs invoke_id"),
    ({"state": "absent", "invoke_id": "x-1"}, "is not an invocation id"),
    ({"type": "RunPython"}, "value of type must be one of"),
    ({"wait_timeout": 0, "poll_interval": 0}, "wait_timeout must be >= 1 second; poll_interval must be > 0"),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, bad, fragment):
    base = args(sim_server, instance_ids=["i-bp1abcdef0000001"], command="echo hi")
    rc, result = run_module(module.main, dict(base, **bad))
    assert rc == 1 and result["failed"] and fragment in result["msg"], result["msg"]
    assert api_calls(sim_server) == []


def test_every_problem_is_named_at_once(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, instance_ids=["web-1", "i-bp1abcdef0000001"],
                                              command_name="x", command="y", timeout=-1, tags={"aliyun": "1"}))
    assert rc == 1 and len(result["problems"]) == 4 and api_calls(sim_server) == []


def test_secret_never_in_failure_output(sim_server, run_module):
    ids = by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]],
                                              command="echo {{token}}; exit 2", secret_parameters={"token": SECRET}),
                            verbosity=4)
    assert rc == 1 and result["instances"][ids["web-1"]]["exit_code"] == 2
    assert SECRET not in json.dumps(result) and "********" in result["instances"][ids["web-1"]]["stdout"]


def test_a_failed_start_reports_the_instances_not_started_and_one_invoke_id_only_for_one_invocation(
        sim_server, run_module):
    ids = by_name(sim_server)
    targets = {"cn-hangzhou": [ids["web-1"]], "cn-shanghai": [ids["sh-web-1"]]}
    rc, both = run_module(module.main, args(sim_server, instance_ids=targets, command="echo hi"))
    assert rc == 0 and len(both["invoke_ids"]) == 2 and "invoke_id" not in both
    assert {e["result"] for e in both["instances"].values()} == {"succeeded"}

    sim_server.admin("POST", "faults", {"action": "RunCommand", "code": "InvalidParameter", "message": "no"})
    rc, failed = run_module(module.main, args(sim_server, instance_ids=targets, command="echo hi"))
    assert rc == 1 and failed["invoke_ids"] == []
    for entry in failed["instances"].values():
        assert (entry["status"], entry["result"]) == ("NotStarted", "cancelled"), entry
        assert entry["reason"].startswith("not started: ECS RunCommand failed: InvalidParameter")
    assert failed["summary"]["cancelled"] == 2 and failed["summary"]["planned"] == 0


def test_the_first_look_waits_one_interval_after_the_start(sim_server, run_module):
    """No script has finished when it starts: looking at once only costs a call (P4's minimum)."""
    ids = by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, instance_ids=[ids["web-1"]], command="true",
                                              poll_interval=0.3))
    assert rc == 0, result["msg"]
    (start,) = api_calls(sim_server, "RunCommand")
    first = [c for c in api_calls(sim_server) if c["action"] in ("DescribeInvocations", "DescribeInvocationResults")][0]
    assert first["action"] == "DescribeInvocations" and first["time"] - start["time"] >= 0.29
