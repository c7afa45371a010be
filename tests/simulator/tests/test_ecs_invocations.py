"""Cloud Assistant behaviour: real script runs, outputs, timeouts, agents, schedules and stopping."""

import base64
import time

from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from conftest import instance_ids, invocation, run, wait_for

from alicloud_sim.ecs.models import DEFAULT_FLEET


def _items(inv):
    return {i.instance_id: i for i in inv.invoke_instances.invoke_instance}


def _results(server, invoke_id, **kw):
    body = server.ecs().describe_invocation_results(m.DescribeInvocationResultsRequest(
        region_id="cn-hangzhou", invoke_id=invoke_id, **kw)).body
    return body.invocation


def test_exit_codes_on_a_mix(sim_server):
    script = 'echo "on {{ACS::InstanceName}}"\ncase "{{ACS::InstanceName}}" in web-2) exit 3;; esac\n'
    body = run(sim_server, script, prefix="web", enable_parameter=True)
    inv = invocation(sim_server, body.invoke_id, content_encoding="PlainText")
    assert (inv.invocation_status, inv.invoke_status) == ("PartialFailed", "PartialFailed")
    by_name = {sim_server.sim.instance(i).name: item for i, item in _items(inv).items()}
    assert (by_name["web-1"].invocation_status, by_name["web-1"].exit_code, by_name["web-1"].error_code) == \
        ("Success", 0, "")
    failed = by_name["web-2"]
    assert (failed.invocation_status, failed.exit_code, failed.error_code) == ("Failed", 3, "ExitCodeNonzero")
    assert failed.output == "on web-2\n" and failed.instance_invoke_status == "Finished"
    assert failed.error_info


def test_all_failed_is_failed(sim_server):
    inv = invocation(sim_server, run(sim_server, "exit 1", prefix="web").invoke_id)
    assert (inv.invocation_status, inv.invoke_status) == ("Failed", "Failed")


def test_unicode_output_is_capped(sim_server):
    script = "printf 'héllo ✓\\n'; head -c 30000 /dev/zero | tr '\\0' 'a'"
    inv = invocation(sim_server, run(sim_server, script).invoke_id)
    item = inv.invoke_instances.invoke_instance[0]
    data = base64.b64decode(item.output)
    assert len(data) == 24576 and item.dropped == len("héllo ✓\n".encode()) + 30000 - 24576
    assert data.decode().startswith("héllo ✓\n")


def test_binary_and_empty_output(sim_server):
    binary = invocation(sim_server, run(sim_server, r"printf '\000\377\376ok'").invoke_id)
    assert base64.b64decode(binary.invoke_instances.invoke_instance[0].output) == b"\x00\xff\xfeok"
    plain = _results(sim_server, binary.invoke_id, content_encoding="PlainText")
    assert plain.invocation_results.invocation_result[0].output == "\x00\ufffd\ufffdok"
    empty = invocation(sim_server, run(sim_server, "true").invoke_id)
    item = empty.invoke_instances.invoke_instance[0]
    assert (item.output, item.dropped, item.invocation_status) == ("", 0, "Success")


def test_stderr_is_merged(sim_server):
    inv = invocation(sim_server, run(sim_server, "echo out; echo err >&2").invoke_id, content_encoding="PlainText")
    assert inv.invoke_instances.invoke_instance[0].output == "out\nerr\n"


def test_timeout_kills_the_script(sim_server):
    started = time.monotonic()
    inv = invocation(sim_server, run(sim_server, "echo started; sleep 60", timeout=10).invoke_id,
                     content_encoding="PlainText", within=30)
    item = inv.invoke_instances.invoke_instance[0]
    assert 10 <= time.monotonic() - started < 30
    assert (item.invocation_status, item.error_code, item.exit_code, item.output) == \
        ("Timeout", "ExecutionTimeout", -1, "started\n")
    assert inv.invocation_status == "Failed"
    result = _results(sim_server, inv.invoke_id).invocation_results.invocation_result[0]
    assert result.invoke_record_status == "Failed"


def test_parameters_and_builtins(sim_server):
    script = "echo '{{ greeting }}' {{ACS::InstanceId}} {{ACS::RegionId}} {{ACS::InvokeId}} {{ACS::CommandId}} " \
             "{{ACS::AccountId}} {{ACS::InstanceName}}"
    body = run(sim_server, script, enable_parameter=True, parameters={"Greeting": "hi there"})
    inv = invocation(sim_server, body.invoke_id, content_encoding="PlainText")
    iid = instance_ids(sim_server, "web-1")[0]
    words = inv.invoke_instances.invoke_instance[0].output.split()
    assert words[:2] == ["hi", "there"] and words[2:6] == [iid, "cn-hangzhou", body.invoke_id, body.command_id]
    assert words[6].isdigit() and words[7] == "web-1"
    literal = invocation(sim_server, run(sim_server, "echo '{{x}}'").invoke_id, content_encoding="PlainText")
    assert literal.invoke_instances.invoke_instance[0].output == "{{x}}\n"


def test_working_dir_is_a_per_instance_scratch_directory(sim_server):
    first = run(sim_server, "echo data > note.txt; pwd", working_dir="/opt/app")
    inv = invocation(sim_server, first.invoke_id, content_encoding="PlainText")
    assert inv.invoke_instances.invoke_instance[0].output.rstrip().endswith("/opt/app")
    again = invocation(sim_server, run(sim_server, "cat /dev/null; cat note.txt", working_dir="/opt/app").invoke_id,
                       content_encoding="PlainText")
    assert again.invoke_instances.invoke_instance[0].output == "data\n"
    other = invocation(sim_server, run(sim_server, "cat note.txt", prefix="web-2", working_dir="/opt/app").invoke_id)
    assert other.invoke_instances.invoke_instance[0].invocation_status == "Failed"


def test_windows_is_simulated(sim_server):
    script = "Write-Output 'step 1'\r\necho step 2\r\nexit 5\r\nWrite-Output 'never'\r\n"
    inv = invocation(sim_server, run(sim_server, script, prefix="win", type="RunPowerShellScript").invoke_id,
                     content_encoding="PlainText")
    item = inv.invoke_instances.invoke_instance[0]
    assert (item.invocation_status, item.exit_code, item.output) == ("Failed", 5, "step 1\r\nstep 2\r\n")
    ok = invocation(sim_server, run(sim_server, "echo done", prefix="win", type="RunBatScript").invoke_id)
    assert ok.invocation_status == "Success"


def test_injected_command_failure(sim_server):
    iid = instance_ids(sim_server, "web-2")[0]
    sim_server.admin("PATCH", f"instances/{iid}", {"fail": ["command"]})
    inv = invocation(sim_server, run(sim_server, "echo ok", prefix="web").invoke_id)
    items = _items(inv)
    assert (items[iid].invocation_status, items[iid].exit_code, items[iid].error_code) == \
        ("Failed", 1, "ExitCodeNonzero")
    assert inv.invocation_status == "PartialFailed"


def test_offline_agent_aborts_after_delivery_timeout(sim_server):
    iid = instance_ids(sim_server, "web-1")[0]
    sim_server.admin("PATCH", f"instances/{iid}", {"agent": "offline"})
    body = run(sim_server, "echo hi")
    inv = invocation(sim_server, body.invoke_id, statuses={"Pending"})
    assert inv.invoke_instances.invoke_instance[0].invocation_status == "Pending"
    sim_server.admin("POST", "clock", {"advance": 61})
    item = invocation(sim_server, body.invoke_id).invoke_instances.invoke_instance[0]
    assert (item.invocation_status, item.error_code) == ("Aborted", "ClientNotRunning")


def test_agent_back_online_delivers(sim_server):
    iid = instance_ids(sim_server, "web-1")[0]
    sim_server.admin("PATCH", f"instances/{iid}", {"agent": "offline"})
    body = run(sim_server, "echo late")
    sim_server.admin("PATCH", f"instances/{iid}", {"agent": "online"})
    assert invocation(sim_server, body.invoke_id).invocation_status == "Success"


def test_instance_stopped_or_released_while_running(sim_server):
    web1, web2 = instance_ids(sim_server, "web-1")[0], instance_ids(sim_server, "web-2")[0]
    body = run(sim_server, "sleep 30", prefix="web")
    wait_for(lambda: invocation(sim_server, body.invoke_id, statuses={"Running"}))
    wait_for(lambda: all(i.invocation_status == "Running"
                         for i in invocation(sim_server, body.invoke_id, statuses={"Running"})
                         .invoke_instances.invoke_instance))
    sim_server.admin("PATCH", f"instances/{web1}", {"status": "Stopped"})
    sim_server.admin("PATCH", f"instances/{web2}", {"released": True})
    sim_server.ecs().stop_invocation(m.StopInvocationRequest(region_id="cn-hangzhou", invoke_id=body.invoke_id))
    items = _items(invocation(sim_server, body.invoke_id))
    assert (items[web1].invocation_status, items[web1].error_code) == ("Failed", "InstanceNotRunning")
    assert (items[web2].invocation_status, items[web2].error_code) == ("Failed", "InstanceReleased")


def test_stop_invocation_terminates_running_script(sim_server):
    body = run(sim_server, "echo begin; sleep 30")
    wait_for(lambda: invocation(sim_server, body.invoke_id, statuses={"Running"}))
    started = time.monotonic()
    sim_server.ecs().stop_invocation(m.StopInvocationRequest(region_id="cn-hangzhou", invoke_id=body.invoke_id))
    inv = invocation(sim_server, body.invoke_id)
    item = inv.invoke_instances.invoke_instance[0]
    assert time.monotonic() - started < 5
    assert (inv.invocation_status, inv.invoke_status) == ("Stopped", "Stopped")
    assert (item.invocation_status, item.instance_invoke_status) == ("Terminated", "Stopped")
    assert item.stop_time and item.exit_code == -1
    try:
        sim_server.ecs().stop_invocation(m.StopInvocationRequest(region_id="cn-hangzhou", invoke_id="t-nothing"))
    except ClientException as err:
        assert (err.code, err.status_code) == ("InvalidInvokeId.NotFound", 404)
    else:
        raise AssertionError("StopInvocation accepted an unknown InvokeId")


def test_stop_before_delivery_cancels(sim_server):
    iid = instance_ids(sim_server, "web-1")[0]
    sim_server.admin("PATCH", f"instances/{iid}", {"agent": "offline"})
    body = run(sim_server, "echo never")
    sim_server.ecs().stop_invocation(m.StopInvocationRequest(region_id="cn-hangzhou", invoke_id=body.invoke_id,
                                                             instance_id=[iid]))
    item = invocation(sim_server, body.invoke_id).invoke_instances.invoke_instance[0]
    assert item.invocation_status == "Cancelled"


def test_periodic_invocation_repeats_until_stopped(sim_server_factory):
    # Real time here, so that runs happen only when the test moves the clock.
    sim_server = sim_server_factory(time_scale=1.0, fleet={**DEFAULT_FLEET, "durations": {"delivery": 0.01}})
    body = run(sim_server, "echo tick", frequency="rate(1m)", timeout=30)
    inv = invocation(sim_server, body.invoke_id, statuses={"Scheduled"})
    assert inv.repeat_mode == "Period" and inv.frequency == "rate(1m)" and inv.timed is True
    sim_server.admin("POST", "clock", {"advance": 60})
    wait_for(lambda: invocation(sim_server, body.invoke_id, statuses={"Scheduled"})
             .invoke_instances.invoke_instance[0].repeats >= 2)
    sim_server.admin("POST", "clock", {"advance": 60})
    wait_for(lambda: invocation(sim_server, body.invoke_id, statuses={"Scheduled"})
             .invoke_instances.invoke_instance[0].repeats >= 3)
    history = _results(sim_server, body.invoke_id, include_history=True, content_encoding="PlainText")
    rows = history.invocation_results.invocation_result
    assert len(rows) >= 3 and {r.output for r in rows} == {"tick\n"} and rows[0].repeats > rows[-1].repeats
    latest = _results(sim_server, body.invoke_id).invocation_results.invocation_result
    assert len(latest) == 1 and latest[0].invoke_record_status == "Running"
    sim_server.ecs().stop_invocation(m.StopInvocationRequest(region_id="cn-hangzhou", invoke_id=body.invoke_id))
    stopped = invocation(sim_server, body.invoke_id, statuses={"Stopped"})
    assert stopped.invoke_instances.invoke_instance[0].invocation_status == "Cancelled"
    repeats = stopped.invoke_instances.invoke_instance[0].repeats
    sim_server.admin("POST", "clock", {"advance": 600})
    assert invocation(sim_server, body.invoke_id).invoke_instances.invoke_instance[0].repeats == repeats


def test_reboot_triggered_stays_scheduled(sim_server):
    body = run(sim_server, "echo boot", repeat_mode="EveryReboot")
    sim_server.admin("POST", "clock", {"advance": 3600})
    assert invocation(sim_server, body.invoke_id, statuses={"Scheduled"}).invocation_status == "Scheduled"


def test_describe_invocations_filters_and_paging(sim_server):
    ids = [run(sim_server, f"echo {n}").invoke_id for n in range(5)]
    failing = run(sim_server, "exit 2").invoke_id
    invocation(sim_server, failing)
    client = sim_server.ecs()
    seen, token = [], None
    while True:
        body = client.describe_invocations(m.DescribeInvocationsRequest(
            region_id="cn-hangzhou", max_results=2, next_token=token)).body
        seen += [i.invoke_id for i in body.invocations.invocation]
        token = body.next_token
        if not token:
            break
    assert seen == [failing] + ids[::-1]
    failed = client.describe_invocations(m.DescribeInvocationsRequest(region_id="cn-hangzhou", invoke_status="Failed"))
    assert [i.invoke_id for i in failed.body.invocations.invocation] == [failing]
    without = client.describe_invocations(m.DescribeInvocationsRequest(region_id="cn-hangzhou", include_output=True))
    outputs = [i.output for inv in without.body.invocations.invocation for i in inv.invoke_instances.invoke_instance]
    assert set(outputs) == {""}
    legacy = client.describe_invocations(m.DescribeInvocationsRequest(region_id="cn-hangzhou", page_number=2,
                                                                      page_size=4)).body
    assert (legacy.total_count, len(legacy.invocations.invocation)) == (6, 2)
    by_instance = client.describe_invocations(m.DescribeInvocationsRequest(
        region_id="cn-hangzhou", instance_id=instance_ids(sim_server, "web-2")[0])).body
    assert by_instance.total_count == 0
    assert client.describe_invocation_results(m.DescribeInvocationResultsRequest(
        region_id="cn-hangzhou", invoke_record_status="Finished", max_results=50)).body.invocation.total_count >= 1
    try:
        client.describe_invocation_results(m.DescribeInvocationResultsRequest(region_id="cn-hangzhou",
                                                                              invoke_id="t-nothing"))
    except ClientException as err:
        assert (err.code, err.status_code) == ("InvalidInvokeId.NotFound", 404)
    else:
        raise AssertionError("DescribeInvocationResults accepted an unknown InvokeId")


def test_describe_invocations_filters_by_tag_and_lists_each_instance(sim_server):
    """What ecs_cloud_assistant_command's wait relies on (reference 3.3): RunCommand keeps its Tag.N on the
    invocation; DescribeInvocations with Tag.N lists only the invocations with all those tags (a key alone
    matches any value), each with Tags.Tag[] and InvokeInstances.InvokeInstance[] (per-instance status, exit code,
    repeats; Output only with IncludeOutput and an InvokeId or InstanceId), paged by MaxResults/NextToken."""
    def tagged(value, prefix="web"):
        tags = [m.RunCommandRequestTag(key="ecs-ops-run", value=value), m.RunCommandRequestTag(key="team", value="ops")]
        return run(sim_server, "echo {{ACS::InstanceName}}", prefix=prefix, enable_parameter=True, tag=tags).invoke_id

    first, second, other = tagged("run-a"), tagged("run-a", prefix="db"), tagged("run-b")
    untagged = run(sim_server, "echo plain").invoke_id
    for invoke_id in (first, second, other, untagged):
        invocation(sim_server, invoke_id)
    client = sim_server.ecs()

    def listing(*tags, **kw):
        body = client.describe_invocations(m.DescribeInvocationsRequest(
            region_id="cn-hangzhou", tag=[m.DescribeInvocationsRequestTag(key=k, value=v) for k, v in tags],
            **kw)).body
        return body, {i.invoke_id: i for i in body.invocations.invocation}

    _body, found = listing(("ecs-ops-run", "run-a"), max_results=50)
    assert set(found) == {first, second}
    item = found[first]
    assert {(t.tag_key, t.tag_value) for t in item.tags.tag} == {("ecs-ops-run", "run-a"), ("team", "ops")}
    rows = item.invoke_instances.invoke_instance
    assert sorted(r.instance_id for r in rows) == sorted(instance_ids(sim_server, "web"))
    assert {(r.invocation_status, r.exit_code, r.repeats, r.output) for r in rows} == {("Success", 0, 1, "")}
    assert all(r.finish_time and r.start_time for r in rows)
    assert set(listing(("ecs-ops-run", None))[1]) == {first, second, other}
    assert set(listing(("ecs-ops-run", "run-a"), ("team", "ops"))[1]) == {first, second}
    assert listing(("ecs-ops-run", "run-a"), ("team", "dev"))[1] == {}
    page, found = listing(("ecs-ops-run", "run-a"), max_results=1)
    assert len(found) == 1 and page.next_token
    rest = client.describe_invocations(m.DescribeInvocationsRequest(
        region_id="cn-hangzhou", tag=[m.DescribeInvocationsRequestTag(key="ecs-ops-run", value="run-a")],
        max_results=1, next_token=page.next_token)).body
    assert {i.invoke_id for i in rest.invocations.invocation} | set(found) == {first, second} and not rest.next_token
    _body, with_output = listing(("ecs-ops-run", "run-a"), invoke_id=first, include_output=True)
    assert {base64.b64decode(r.output).decode() for r in with_output[first].invoke_instances.invoke_instance} == {
        "%s\n" % sim_server.sim.instance(i).name for i in instance_ids(sim_server, "web")}


def test_fan_out_without_running_scripts(sim_server_factory):
    server = sim_server_factory(fleet={"run_scripts": False, "regions": {"cn-hangzhou": {"instances": [
        {"name": "n", "os_type": "linux", "count": 1000}]}}})
    ids = [i.id for i in server.sim.instances()]
    started = time.monotonic()
    invokes = [run(server, "echo simulated", instance_id=ids[n:n + 100]).invoke_id for n in range(0, 1000, 100)]
    for invoke_id in invokes:
        inv = invocation(server, invoke_id, content_encoding="PlainText")
        assert inv.invocation_status == "Success" and len(inv.invoke_instances.invoke_instance) == 100
        assert {i.output for i in inv.invoke_instances.invoke_instance} == {"simulated\n"}
    assert time.monotonic() - started < 20
