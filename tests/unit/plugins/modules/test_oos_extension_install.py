"""oos_extension_install against the simulator, through the real SDK."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_extension_install as module
from unit_helpers import instance_ids as ids_by_name, mutating, sim_args, warnings_of

NODE = "ACS-Extension-node-1853370294850618"
BT = "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618"
IIS = "ACS-Extension-IIS-1853370294850618"
FAST = dict(poll_interval=0.1, wait_timeout=120)


def args(server, **extra):
    return sim_args(server, **dict(dict(**FAST), **extra))


def installed(server, instance_id, name=NODE):
    return (server.sim.instance(instance_id).packages.get(name) or {}).get("version")


def test_install_then_no_change(sim_server, run_module):
    ids = ids_by_name(sim_server)
    web = [ids["web-1"], ids["web-2"]]
    rc, result = run_module(module.main, args(sim_server, name="node", instance_ids=web + [web[0]],
                                              parameters=dict(version="v20.18.1")))
    assert rc == 0, result["msg"]
    assert result["changed"] is True
    assert result["extension"]["name"] == NODE and result["extension"]["version"] == "v27"
    assert list(result["instances"]) == web
    for instance_id in web:
        entry = result["instances"][instance_id]
        assert entry["action"] == "install" and entry["result"] == "succeeded", entry
        assert entry["previous_version"] == "" and entry["new_version"] == "v27"
        assert "v20.18.1" in entry["output"] and entry["execution_id"].startswith("exec-")
        assert installed(sim_server, instance_id) == "v27"
    assert len(result["executions"]) == 1 and result["executions"][0]["status"] == "Success"
    assert result["summary"]["succeeded"] == 2 and result["summary"]["to_install"] == 2
    assert result["diff"] == {"before": {i: "absent" for i in web}, "after": {i: "v27" for i in web}}
    assert any("duplicate" in w for w in warnings_of(result))

    starts = len([c for c in sim_server.calls() if c["action"] == "StartExecution"])
    rc, again = run_module(module.main, args(sim_server, name="node", instance_ids=web,
                                             parameters=dict(version="v20.18.1")))
    assert rc == 0 and again["changed"] is False
    assert {e["result"] for e in again["instances"].values()} == {"unchanged"}
    assert len([c for c in sim_server.calls() if c["action"] == "StartExecution"]) == starts


def test_check_mode_plans_without_mutating(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name="Node.js", instance_ids=[ids["web-1"]]),
                            check_mode=True)
    assert rc == 0 and result["changed"] is True
    entry = result["instances"][ids["web-1"]]
    assert entry["action"] == "install" and entry["result"] == "planned" and entry["new_version"] == "v27"
    assert mutating(sim_server) == []
    assert installed(sim_server, ids["web-1"]) is None


def test_two_regions_and_unreachable_instances_skipped(sim_server, run_module):
    ids = ids_by_name(sim_server)
    targets = {"cn-hangzhou": [ids["web-1"], ids["win"], ids["noagent"], ids["stopped"]],
               "cn-shanghai": [ids["sh-web-1"]]}
    rc, result = run_module(module.main, args(sim_server, name=NODE, instance_ids=targets, unreachable="skip"))
    assert rc == 0, result["msg"]
    instances = result["instances"]
    assert list(instances) == targets["cn-hangzhou"] + targets["cn-shanghai"]
    assert instances[ids["sh-web-1"]]["result"] == "succeeded" and instances[ids["sh-web-1"]]["region"] == "cn-shanghai"
    assert "supports only" in instances[ids["win"]]["message"]
    assert "not installed" in instances[ids["noagent"]]["message"]
    assert "Stopped" in instances[ids["stopped"]]["message"]
    # The OS is "unsupported"; a missing agent or a stopped instance is "unreachable": one vocabulary everywhere.
    assert [instances[i]["result"] for i in (ids["win"], ids["noagent"], ids["stopped"])] == [
        "unsupported", "unreachable", "unreachable"]
    assert sorted(e["region"] for e in result["executions"]) == ["cn-hangzhou", "cn-shanghai"]
    summary = result["summary"]
    assert (summary["unsupported"], summary["unreachable"], summary["succeeded"]) == (1, 2, 2)
    assert "skipped" not in summary


def test_parameter_drift_is_reported_and_reinstalled_when_asked(sim_server, run_module):
    """nginx installed with port 80; asked with port 8080: unchanged with a warning and the drift, then
    reinstalled with reinstall_on_drift; a third run has nothing left."""
    ids = ids_by_name(sim_server)
    nginx = "ACS-Extension-nginx-1853370294850618"
    task = args(sim_server, name="nginx", instance_ids=[ids["web-1"]])
    rc, first = run_module(module.main, dict(task, parameters={"port": 80}))
    assert rc == 0, first["msg"]
    rc, drifted = run_module(module.main, dict(task, parameters={"port": 8080}))
    entry = drifted["instances"][ids["web-1"]]
    assert rc == 0 and not drifted["changed"] and entry["result"] == "unchanged"
    assert entry["drift"] == {"port": {"installed": 80, "wanted": 8080}} and drifted["summary"]["drifted"] == 1
    assert any("other parameters than asked" in w for w in warnings_of(drifted))
    rc, fixed = run_module(module.main, dict(task, parameters={"port": 8080}, reinstall_on_drift=True))
    assert rc == 0 and fixed["changed"] and fixed["instances"][ids["web-1"]]["action"] == "update"
    assert sim_server.sim.instance(ids["web-1"]).packages[nginx]["parameters"]["port"] == 8080
    rc, again = run_module(module.main, dict(task, parameters={"port": 8080}, reinstall_on_drift=True))
    assert rc == 0 and not again["changed"] and not again["instances"][ids["web-1"]]["drift"]


def test_unreachable_fail_stops_before_any_change(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name=IIS, instance_ids=[ids["win"], ids["web-1"]]))
    assert rc == 1
    assert ids["web-1"] in result["msg"] and "supports only Windows" in result["msg"]
    assert result["instances"][ids["win"]]["action"] == "install"
    assert mutating(sim_server) == []


def test_latest_updates_after_a_new_version_and_absent_uninstalls(sim_server_factory, run_module):
    fleet = {"regions": {"cn-hangzhou": {"instances": [
        {"name": "old", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "packages": {NODE: {"version": "v19"}}},
        {"name": "new", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit"}]}}}
    server = sim_server_factory(fleet=fleet)
    ids = ids_by_name(server)
    both = [ids["old"], ids["new"]]

    rc, present = run_module(module.main, args(server, name=NODE, instance_ids=both), check_mode=True)
    assert present["instances"][ids["old"]]["action"] == "none"
    assert present["instances"][ids["new"]]["action"] == "install"

    rc, latest = run_module(module.main, args(server, name=NODE, state="latest", instance_ids=both))
    assert rc == 0, latest["msg"]
    old = latest["instances"][ids["old"]]
    assert old["action"] == "update" and old["previous_version"] == "v19" and old["new_version"] == "v27"
    assert installed(server, ids["old"]) == "v27"
    assert latest["diff"]["before"][ids["old"]] == "v19"

    server.admin("POST", "templates/publish", {"name": NODE})
    rc, newer = run_module(module.main, args(server, name=NODE, state="latest", instance_ids=both))
    assert rc == 0 and newer["changed"] and newer["extension"]["version"] == "v28"
    assert {e["action"] for e in newer["instances"].values()} == {"update"}
    rc, again = run_module(module.main, args(server, name=NODE, state="latest", instance_ids=both))
    assert again["changed"] is False

    rc, absent = run_module(module.main, args(server, name=NODE, state="absent", instance_ids=both))
    assert rc == 0 and absent["changed"]
    assert {e["result"] for e in absent["instances"].values()} == {"succeeded"}
    assert installed(server, ids["old"]) is None and installed(server, ids["new"]) is None
    rc, gone = run_module(module.main, args(server, name=NODE, state="absent", instance_ids=both))
    assert gone["changed"] is False


def test_version_pin_and_force(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, pinned = run_module(module.main, args(sim_server, name=NODE, version="v19", instance_ids=[ids["web-1"]],
                                              parameters=dict(version="v16.20.2")))
    assert rc == 0, pinned["msg"]
    assert installed(sim_server, ids["web-1"]) == "v19"
    rc, forced = run_module(module.main, args(sim_server, name=NODE, version="v19", force=True,
                                              instance_ids=[ids["web-1"]], parameters=dict(version="v18.20.5")))
    assert rc == 0 and forced["instances"][ids["web-1"]]["action"] == "update"
    assert sim_server.sim.instance(ids["web-1"]).packages[NODE]["parameters"] == {"version": "v18.20.5"}


def test_failures_are_reported_per_instance(sim_server_factory, run_module):
    fleet = {"regions": {"cn-hangzhou": {"instances": [
        {"name": "ok", "count": 3, "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit"},
        {"name": "bad", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "fail": ["install"]}]}}}
    server = sim_server_factory(fleet=fleet)
    ids = ids_by_name(server)
    order = [ids["bad"], ids["ok-1"], ids["ok-2"], ids["ok-3"]]

    rc, strict = run_module(module.main, args(server, name=NODE, instance_ids=order,
                                              rate_control=dict(concurrency=1, max_errors=0)))
    assert rc == 1 and "failed" in strict["msg"] and ids["bad"] in strict["msg"]
    results = {i: e["result"] for i, e in strict["instances"].items()}
    assert results[ids["bad"]] == "failed"
    assert all(results[i] == "failed" for i in order[1:])      # never reached: max_errors 0 stopped the batch
    assert "exited with code 1" in strict["instances"][ids["bad"]]["message"]
    assert "before reaching the instance" in strict["instances"][ids["ok-1"]]["message"]

    rc, tolerant = run_module(module.main, args(server, name=NODE, instance_ids=order,
                                                rate_control=dict(concurrency=2, max_errors="50%")))
    assert rc == 1
    results = {i: e["result"] for i, e in tolerant["instances"].items()}
    assert results == {ids["bad"]: "failed", ids["ok-1"]: "succeeded", ids["ok-2"]: "succeeded", ids["ok-3"]: "succeeded"}
    assert tolerant["summary"]["succeeded"] == 3 and tolerant["summary"]["failed"] == 1
    # A re-run after a failure starts a new execution (the finished one is not adopted) for what is left.
    server.admin("PATCH", "instances/%s" % ids["bad"], {"fail": []})
    rc, retry = run_module(module.main, args(server, name=NODE, instance_ids=order,
                                             rate_control=dict(concurrency=2, max_errors="50%")))
    assert rc == 0, retry["msg"]
    assert retry["instances"][ids["bad"]]["result"] == "succeeded"
    assert retry["executions"][0]["adopted"] is False


def test_retry_of_the_same_plan_starts_a_new_execution_after_a_failed_one(sim_server_factory, run_module):
    fleet = {"regions": {"cn-hangzhou": {"instances": [
        {"name": "bad", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "fail": ["install"]}]}}}
    server = sim_server_factory(fleet=fleet)
    bad = ids_by_name(server)["bad"]
    rc, first = run_module(module.main, args(server, name=NODE, instance_ids=[bad]))
    assert rc == 1
    server.admin("PATCH", "instances/%s" % bad, {"fail": []})
    rc, second = run_module(module.main, args(server, name=NODE, instance_ids=[bad]))
    assert rc == 0, second["msg"]
    assert second["executions"][0]["execution_id"] != first["executions"][0]["execution_id"]
    assert second["executions"][0]["client_token"] != first["executions"][0]["client_token"]


def test_wait_false_then_a_rerun_adopts_the_running_execution(sim_server_factory, run_module):
    server = sim_server_factory(time_scale=0.05)
    ids = ids_by_name(server)
    rc, started = run_module(module.main, args(server, name=NODE, instance_ids=[ids["web-1"]], wait=False))
    assert rc == 0 and started["changed"]
    assert started["instances"][ids["web-1"]]["result"] == "pending"
    assert started["executions"][0]["status"] in ("Started", "Running")
    # Past the execution's first simulated second (status Started): only then does a replay look adopted.
    server.admin("POST", "clock", {"advance": 2})
    rc, resumed = run_module(module.main, args(server, name=NODE, instance_ids=[ids["web-1"]]))
    assert rc == 0, resumed["msg"]
    assert resumed["executions"][0]["execution_id"] == started["executions"][0]["execution_id"]
    assert resumed["executions"][0]["adopted"] is True
    assert resumed["instances"][ids["web-1"]]["result"] == "succeeded"
    assert resumed["instances"][ids["web-1"]]["adopted"] is True
    assert len([c for c in server.calls() if c["action"] == "StartExecution"]) == 1
    assert len(server.sim.components["executions"].all("cn-hangzhou")) == 2   # the parent and its one child


def test_timeout_reports_and_cancels(sim_server_factory, run_module):
    server = sim_server_factory(time_scale=1.0)
    ids = ids_by_name(server)
    rc, result = run_module(module.main, args(server, name=NODE, instance_ids=[ids["web-1"]], wait_timeout=1,
                                              poll_interval=0.2, cancel_on_timeout=True))
    assert rc == 1 and "Timed out" in result["msg"] and "cancelled" in result["msg"]
    assert result["timed_out"] is True
    assert result["instances"][ids["web-1"]]["result"] == "cancelled"
    execution_id = result["executions"][0]["execution_id"]
    assert server.sim.components["executions"].get(execution_id).status == "Cancelled"


def test_secret_parameters_never_appear_in_the_result(sim_server, run_module, capsys):
    ids = ids_by_name(sim_server)
    secret = "Sup3r-S3cret-Pw"
    rc, result = run_module(module.main, args(sim_server, name="BT Panel", instance_ids=[ids["web-1"]],
                                              parameters=dict(username="ops_admin", port="8899"),
                                              secret_parameters=dict(password=secret)))
    assert rc == 0, result["msg"]
    entry = result["instances"][ids["web-1"]]
    assert entry["configuration"]["password"] == "********"
    assert entry["configuration"]["publicUrl"].endswith(entry["configuration"]["publicUrl"].split("/")[-1])
    assert ":8899/" in entry["configuration"]["publicUrl"]
    assert secret not in str(result)
    state = sim_server.sim.instance(ids["web-1"]).packages[BT]
    assert state["parameters"] == {"username": "ops_admin", "port": 8899, "password": secret}


def test_an_oos_secret_reference_is_passed_as_is(sim_server, run_module):
    """A reference is not checked against the parameter's rules (its value is unknown here: this one is longer
    than the 32 characters a BT Panel password may have); the execution and the result hold only the
    reference, and OOS resolves it for the package (the simulator checks the stored value)."""
    from alibabacloud_oos20190601 import models as oos_models
    ids = ids_by_name(sim_server)
    value = "Kms-Kept-Pass-42"
    sim_server.oos().create_secret_parameter(oos_models.CreateSecretParameterRequest(
        region_id="cn-hangzhou", name="bt-panel-admin-password", value=value))
    reference = "{{oos-secret:bt-panel-admin-password}}"
    rc, result = run_module(module.main, args(sim_server, name="BT Panel", instance_ids=[ids["web-1"]],
                                              parameters=dict(username="ops_admin", port="8899"),
                                              secret_parameters=dict(password=reference)))
    assert rc == 0, result["msg"]
    assert result["instances"][ids["web-1"]]["result"] == "succeeded"
    start = [c for c in sim_server.calls() if c["action"] == "StartExecution"][0]
    assert reference in start["params"]["Parameters"] and value not in str(start["params"])
    assert start["params"]["Tags"] == '{"ecs-ops-secret-parameters":"password"}'
    assert value not in str(result)
    stored = sim_server.sim.instance(ids["web-1"]).packages[BT]["parameters"]
    assert stored["password"] == reference


@pytest.mark.parametrize("extra, fragments", [
    (dict(name="node", instance_ids=["web-1"]), ["instance_ids[0]"]),
    (dict(name="node", instance_ids=[]), ["must not be empty"]),
    (dict(name="node", instance_ids="i-bp1"), ["instance_ids must be a list"]),
    (dict(name="node", instance_ids={"cn-hangzhou": "i-bpabcdef"}), ["must be a list of instance ids"]),
    (dict(name="node", instance_ids=[{"instance_id": "i-bpabcdef", "zone": "x"}]), ["unknown key"]),
    (dict(name="node", version="27", instance_ids=["i-bpabcdef"]), ["version must look like"]),
    (dict(name="node", state="absent", force=True, instance_ids=["i-bpabcdef"]), ["force cannot"]),
    (dict(name="node", batch_size=51, instance_ids=["i-bpabcdef"]), ["batch_size"]),
    (dict(name="node", batch_size=0, instance_ids=["i-bpabcdef"]), ["batch_size"]),
    (dict(name="node", max_concurrent_executions=0, instance_ids=["i-bpabcdef"]), ["max_concurrent_executions"]),
    (dict(name="node", wait_timeout=0, instance_ids=["i-bpabcdef"]), ["wait_timeout"]),
    (dict(name="node", poll_interval=0, instance_ids=["i-bpabcdef"]), ["poll_interval"]),
    (dict(name="node", rate_control=dict(concurrency=0), instance_ids=["i-bpabcdef"]), ["rate_control.concurrency"]),
    (dict(name="node", rate_control=dict(max_errors="150%"), instance_ids=["i-bpabcdef"]), ["rate_control.max_errors"]),
    (dict(name="node", rate_control=dict(concurrency=True), instance_ids=["i-bpabcdef"]), ["rate_control.concurrency"]),
    (dict(name="node", client_token="has space", instance_ids=["i-bpabcdef"]), ["client_token"]),
    (dict(name="node", description="x" * 201, instance_ids=["i-bpabcdef"]), ["description"]),
    (dict(name="node", tags={"k%d" % n: "v" for n in range(21)}, instance_ids=["i-bpabcdef"]), ["tags"]),
    (dict(name="node", parameters={"a": 1}, secret_parameters={"a": 2}, instance_ids=["i-bpabcdef"]),
     ["both set a"]),
    (dict(name=" ", instance_ids=["i-bpabcdef"]), ["name must not be empty"]),
    (dict(name="node", region="Hangzhou", instance_ids=["i-bpabcdef"]), ["region"]),
    (dict(name="node", region=None, instance_ids=["i-bpabcdef"]), ["no region given"]),
    (dict(name="node", instance_ids={"cn-hangzhou": ["i-bpabcdef"], "cn-shanghai": ["i-bpabcdef"]}),
     ["listed in both"]),
])
def test_bad_input_fails_before_any_call(sim_server, run_module, extra, fragments):
    rc, result = run_module(module.main, args(sim_server, **extra))
    assert rc == 1
    for fragment in fragments:
        assert fragment in result["msg"], result["msg"]
    assert sim_server.calls() == []


@pytest.mark.parametrize("parameters, fragments", [
    (dict(nodeVersion="v1"), ["no such parameter (it takes: version)"]),
    (dict(version="v0.1"), ["not one of the allowed values"]),
    (dict(version=["v22.13.1"]), ["must be a String"]),
])
def test_parameters_are_checked_against_the_template(sim_server, run_module, parameters, fragments):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name=NODE, instance_ids=[ids["web-1"]],
                                              parameters=parameters))
    assert rc == 1
    for fragment in fragments:
        assert fragment in result["msg"], result["msg"]
    assert mutating(sim_server) == []


def test_bt_panel_parameter_problems_are_all_named_and_secret_values_hidden(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name=BT, instance_ids=[ids["web-1"]],
                                              parameters=dict(username="a b", port=70000, extra=1),
                                              secret_parameters=dict(password="short")))
    assert rc == 1
    for fragment in ("parameters.username", "parameters.port", "parameters.extra", "parameters.password"):
        assert fragment in result["msg"]
    assert "short" not in result["msg"]
    assert mutating(sim_server) == []


@pytest.mark.parametrize("name, fragment", [
    ("no-such-extension", "no extension is called"),
    ("ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL", "not an extension"),
])
def test_unknown_names_fail_with_candidates(sim_server, run_module, name, fragment):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name=name, instance_ids=[ids["web-1"]]))
    assert rc == 1 and fragment in result["msg"], result["msg"]
    assert mutating(sim_server) == []


@pytest.mark.parametrize("typo, wanted", [("ngnix", "nginx"), ("dokcer ce", "DockerCE"), ("Node.sj", "node")])
def test_a_typo_suggests_the_extension_meant(sim_server, run_module, typo, wanted):
    rc, result = run_module(module.main, args(sim_server, name=typo, instance_ids=["i-bpabcdef"]))
    assert rc == 1 and "did you mean" in result["msg"]
    assert "ACS-Extension-%s-1853370294850618" % wanted in result["candidates"], result["candidates"]
    assert mutating(sim_server) == []


def test_search_words_suggest_candidates(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name="database", instance_ids=[ids["web-1"]]))
    assert rc == 1 and "candidates" in result["msg"]
    assert sorted(result["candidates"]) == ["ACS-Extension-mysql-1853370294850618",
                                            "ACS-Extension-redis-1853370294850618"]


def test_unknown_version(sim_server, run_module):
    ids = ids_by_name(sim_server)
    rc, result = run_module(module.main, args(sim_server, name=NODE, version="v99", instance_ids=[ids["web-1"]]))
    assert rc == 1 and "has no version v99" in result["msg"]


def test_batches_of_fifty_run_concurrently(sim_server_factory, run_module):
    fleet = {"regions": {"cn-hangzhou": {"instances": [
        {"name": "n", "count": 120, "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit"}]}}}
    server = sim_server_factory(fleet=fleet)
    ids = [i.id for i in server.sim.instances()]
    rc, result = run_module(module.main, args(server, name=NODE, instance_ids=ids, batch_size=50,
                                              rate_control=dict(concurrency=25)))
    assert rc == 0, result["msg"]
    assert [len(e["instance_ids"]) for e in result["executions"]] == [50, 50, 20]
    assert result["summary"]["succeeded"] == 120
    assert all(installed(server, i) == "v27" for i in ids)


def test_throttling_is_retried(sim_server, run_module):
    ids = ids_by_name(sim_server)
    sim_server.admin("POST", "faults", {"action": "*", "code": "Throttling.User", "http_status": 400, "rate": 0.3,
                                        "seed": 7})
    rc, result = run_module(module.main, args(sim_server, name=NODE, instance_ids=[ids["web-1"], ids["web-2"]],
                                              api_retries=20))
    assert rc == 0, result["msg"]
    assert result["summary"]["succeeded"] == 2
    assert len([c for c in sim_server.calls() if c["action"] == "StartExecution" and not c.get("error_code")]) == 1


def test_a_lost_answer_to_start_execution_does_not_start_a_second_execution(sim_server, run_module):
    ids = ids_by_name(sim_server)
    sim_server.admin("POST", "faults", {"action": "StartExecution", "drop": "after", "count": 1})
    rc, result = run_module(module.main, args(sim_server, name=NODE, instance_ids=[ids["web-1"]]))
    assert rc == 0, result["msg"]
    starts = [c for c in sim_server.calls() if c["action"] == "StartExecution"]
    assert len(starts) == 2 and starts[0]["dropped"]
    parents = [e for e in sim_server.sim.components["executions"].all("cn-hangzhou") if not e.parent_id]
    assert len(parents) == 1
    assert result["executions"][0]["execution_id"] == parents[0].id
