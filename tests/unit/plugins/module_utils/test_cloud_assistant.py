"""Pure logic of _cloud_assistant: plan, content checks, output decoding, result views."""

from __future__ import annotations

import base64
import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import content as ca
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import invocations as inv


def view(instance_id, os_type="linux", ready=True, exists=True, region="cn-hangzhou", reason=""):
    return dict(instance_id=instance_id, region=region, exists=exists, os_type=os_type if exists else "",
                ready=ready, reason=reason or ("" if ready else "not ready"), name=instance_id)


def views(*items):
    return {v["instance_id"]: v for v in items}


def test_plan_follows_each_os_and_groups_by_region_and_type():
    plan = inv.plan_invocations(views(view("i-l1"), view("i-w1", "windows"), view("i-l2"),
                                      view("i-l3", region="cn-shanghai")))
    assert plan["batches"] == [
        dict(region="cn-hangzhou", type="RunShellScript", instance_ids=["i-l1", "i-l2"]),
        dict(region="cn-hangzhou", type="RunPowerShellScript", instance_ids=["i-w1"]),
        dict(region="cn-shanghai", type="RunShellScript", instance_ids=["i-l3"]),
    ]
    assert plan["types"]["i-w1"] == "RunPowerShellScript"
    assert not plan["skipped"] and not plan["unreachable"] and not plan["mismatched"]


def test_plan_batches_at_the_per_call_limit():
    plan = inv.plan_invocations(views(*[view("i-%04d" % n) for n in range(250)]))
    assert [len(b["instance_ids"]) for b in plan["batches"]] == [100, 100, 50]
    assert plan["batches"][2]["instance_ids"][-1] == "i-0249"
    assert [len(b["instance_ids"]) for b in inv.plan_invocations(views(view("i-1"), view("i-2")), batch_size=1)["batches"]] == [1, 1]


@pytest.mark.parametrize("requested,command_type,bad", [
    ("RunShellScript", None, ["i-w"]),
    ("RunBatScript", None, ["i-l"]),
    (None, "RunPowerShellScript", ["i-l"]),
    ("RunShellScript", "RunShellScript", ["i-w"]),
])
def test_type_mismatch_is_a_problem(requested, command_type, bad):
    plan = inv.plan_invocations(views(view("i-l"), view("i-w", "windows")), requested, command_type)
    assert sorted(plan["mismatched"]) == bad
    assert all(i not in b["instance_ids"] for b in plan["batches"] for i in bad)
    assert "cannot run on a" in plan["mismatched"][bad[0]]


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_not_ready_instances_follow_the_unreachable_policy(policy):
    plan = inv.plan_invocations(views(view("i-ok"), view("i-off", ready=False, reason="offline"),
                                      view("i-gone", exists=False, ready=False, reason="gone")), unreachable=policy)
    parked = plan["skipped"] if policy == "skip" else plan["unreachable"]
    other = plan["unreachable"] if policy == "skip" else plan["skipped"]
    assert parked == {"i-off": "offline", "i-gone": "gone"} and other == {}
    assert plan["batches"] == [dict(region="cn-hangzhou", type="RunShellScript", instance_ids=["i-ok"])]
    assert "i-gone" not in plan["types"] and plan["types"]["i-off"] == "RunShellScript"


def test_a_stopped_windows_instance_with_a_shell_type_is_a_mismatch_not_only_unreachable():
    plan = inv.plan_invocations(views(view("i-w", "windows", ready=False)), "RunShellScript", unreachable="skip")
    assert list(plan["mismatched"]) == ["i-w"] and not plan["skipped"]


def test_encode_and_decode():
    text = "echo 'é' \"$(date)\"\n中文"
    assert base64.b64decode(ca.encode_content(text)).decode() == text
    assert ca.decode_output(base64.b64encode(b"ok\xff\n").decode()) == "ok\ufffd\n"
    assert ca.decode_output("") == "" and ca.decode_output(None) == ""
    assert ca.decode_output("not base64!") == "not base64!"


def test_placeholders_and_parameter_checks():
    assert ca.placeholders("{{a}} {{ B }} {{A}} {{ACS::InstanceId}} {{b}}") == ["a", "B"]
    assert ca.placeholders("{{oos-secret:db-pass}} {{ OOS:image }} {{c}}") == ["c"]
    assert ca.check_parameters({"a": "1", "B": "2"}, ["a", "b"], "command") == []
    problems = ca.check_parameters({"a": "1", "zz": "2"}, ["a", "b"], "command")
    assert problems == ["parameter(s) zz are not used by command (it uses: a, b)",
                        "command needs a value for parameter(s) b (in parameters or secret_parameters)"]
    many = {"p%d" % n: "x" for n in range(11)}
    assert "at most 10 parameters" in ca.check_parameters(many, list(many), "command")[0]


def test_check_content():
    assert ca.check_content("echo {{x}}", False, {}) == []
    assert ca.check_content("echo {{x}}", True, {"x": "1"}) == []
    assert "invalid parameter name(s) a.b" in ca.check_content("echo {{a.b}}", True, {})[0]
    assert ca.check_content("echo '{{oos-secret:db/pass}}'", True, {}) == []
    limit = ca.RUN_CONTENT_LIMIT // 4 * 3
    assert ca.check_content("x" * limit, False, {}) == []
    assert "more than the 24576 (24 KB) a command that is not kept" in ca.check_content("x" * (limit + 1), False, {})[0]
    assert ca.check_content("\n", False, {}) == ["command must not be empty"]


def test_kept_commands_and_parameter_values_have_the_18_kb_limit():
    kept = ca.KEPT_CONTENT_LIMIT // 4 * 3
    assert ca.check_content("x" * kept, False, {}, kept=True) == []
    assert ca.check_content("x" * (kept + 1), False, {}, kept=True) == [
        "command: 18436 bytes after Base64 encoding, more than the 18432 (18 KB) a kept command allows"]
    assert ca.content_size(ca.encode_content("echo {{n}}"), {"n": "é"}) == 16 + len(ca.encode_content('{"n":"é"}'))
    values = {"n": "x" * (kept - 8)}                              # {"n":"..."} is 8 characters more
    assert ca.content_size("", values) == ca.KEPT_CONTENT_LIMIT
    assert ca.content_size_problems("", values, kept=True) == []
    assert ca.content_size_problems("", {"n": values["n"] + "x"}, kept=True)[0].startswith("parameter values: 18436")
    assert ca.content_size_problems("YQ==", values, kept=True, what="command c-1")[0].startswith(
        "command c-1 and parameter values: 18436 bytes")


ROW = {"InvokeId": "t-1", "InstanceId": "i-1", "InvocationStatus": "Failed", "ExitCode": 2,
       "Output": base64.b64encode("fé\nline2\n".encode()).decode(), "Dropped": 5, "ErrorCode": "ExitCodeNonzero",
       "ErrorInfo": "exit code is not zero", "Repeats": 1, "StartTime": "2026-01-01T00:00:00Z",
       "FinishedTime": "2026-01-01T00:00:01Z", "StopTime": ""}


def test_result_view():
    base = inv.base_view(view("i-1"), "RunShellScript", "WouldRun")
    result = inv.result_view(base, ROW)
    assert result["status"] == "Failed" and result["exit_code"] == 2 and result["stdout_lines"] == ["fé", "line2"]
    assert result["output_truncated"] and result["dropped_bytes"] == 5 and result["finish_time"] == "2026-01-01T00:00:01Z"
    assert result["type"] == "RunShellScript" and result["invoke_id"] == "t-1"
    hidden = inv.result_view(base, ROW, hide_output=True)
    assert hidden["stdout"] == "" and hidden["stdout_lines"] == [] and hidden["exit_code"] == 2
    running = inv.result_view(base, dict(ROW, InvocationStatus="Running", ExitCode=0, Repeats=0))
    assert running["exit_code"] is None
    assert inv.result_view(base, None)["status"] == "Pending"


@pytest.mark.parametrize("row,first_run,settled", [
    ({"InvocationStatus": "Success"}, False, True),
    ({"InvocationStatus": "Running"}, False, False),
    ({}, False, False),
    ({"InvocationStatus": "Scheduled", "Repeats": 0}, False, True),
    ({"InvocationStatus": "Scheduled", "Repeats": 0}, True, False),
    ({"InvocationStatus": "Scheduled", "Repeats": 1}, True, True),
    ({"InvocationStatus": "Stopping"}, False, False),
])
def test_is_settled(row, first_run, settled):
    assert inv.is_settled(row, first_run) is settled


def test_summary_and_rc():
    def entry(status, exit_code=None, error_code="", repeats=0):
        return dict(status=status, exit_code=exit_code, error_code=error_code, repeats=repeats,
                    result=inv.outcome(status, error_code, repeats))

    summary, rc = inv.summarise({"a": entry("Success", 0), "b": entry("Unreachable"), "c": entry("Scheduled", 0, "", 1)})
    assert rc == 0 and summary["succeeded"] == 1 and summary["unreachable"] == 1 and summary["scheduled"] == 1
    _summary, rc = inv.summarise({"a": entry("Success", 0), "b": entry("Failed", 4), "c": entry("Failed", 9)})
    assert rc == 4
    summary, rc = inv.summarise({"a": entry("Timeout", -1), "b": entry("Terminated", -1)})
    assert rc == 1 and summary["failed"] == 1 and summary["cancelled"] == 1
    summary, rc = inv.summarise({"a": entry("Scheduled", 3, "ExitCodeNonzero", 1), "b": entry("Unsupported"),
                                "c": entry("Running"), "d": entry("WouldRun"), "e": entry("NotStarted")})
    assert rc == 3 and summary == dict(total=5, succeeded=0, failed=1, cancelled=1, pending=1, scheduled=0,
                                       unreachable=0, unsupported=1, planned=1)


class RecordingEcs:
    """Answers RunCommand and DescribeInvocations (nothing found), keeping every request."""

    def __init__(self):
        self.requests = []

    def call(self, action, params=None, deadline=None, attempts=None):
        self.requests.append((action, dict(params or {})))
        if action == "DescribeInvocations":
            return {"Invocations": {"Invocation": []}}
        return {"InvokeId": "t-%d" % len(self.requests), "CommandId": "c-1"}


def test_secret_values_never_reach_the_client_token_only_their_names():
    """The documented rule: a ClientToken (visible in API logs) hashes the request without secret values."""
    def token(values, secret_names, user_token="deploy-1"):
        api = RecordingEcs()
        batch = dict(region="cn-hangzhou", type="RunShellScript", instance_ids=["i-1"], command_id="")
        assert inv.start_invocations(lambda region: api, [batch], {"CommandContent": "ZWNobw=="},
                                     user_token=user_token, secret_names=secret_names, values=values) is None
        (start,) = [p for action, p in api.requests if action == "RunCommand"]
        return start["ClientToken"]

    base = token({"user": "ops", "pw": "first-secret"}, ["pw"])
    assert token({"user": "ops", "pw": "another-secret"}, ["pw"]) == base
    assert token({"user": "root", "pw": "first-secret"}, ["pw"]) != base
    assert token({"user": "ops", "pw": "first-secret"}, ["pw", "user"]) != base
    assert "first-secret" not in base


class _StoppingApi:
    """DescribeInvocations says Stopping ``stopping`` times after StopInvocation, then Stopped."""

    def __init__(self, stopping):
        self.stopping, self.calls = stopping, []

    def call(self, action, params, deadline=None):
        self.calls.append(action)
        if action == "StopInvocation":
            return {}
        status = "Stopping" if self.calls.count("DescribeInvocations") <= self.stopping else "Stopped"
        return {"Invocations": {"Invocation": [{"InvokeId": params["InvokeId"], "InvocationStatus": status}]}}


def test_stop_invocations_waits_until_stopped_and_keeps_its_deadline():
    one = [dict(invoke_id="t-abcd1234", region="cn-hangzhou")]
    api = _StoppingApi(stopping=2)
    assert inv.stop_invocations(lambda _region: api, one) == ({"t-abcd1234": "Stopping"}, None)
    assert api.calls == ["StopInvocation"]
    assert inv.stop_invocations(lambda _region: api, one, wait_timeout=5, poll_interval=0.05) == (
        {"t-abcd1234": "Stopped"}, None)
    stuck = _StoppingApi(stopping=10 ** 6)
    started = time.monotonic()
    stopped, error = inv.stop_invocations(lambda _region: stuck, one, wait_timeout=0.3, poll_interval=0.05)
    assert stopped == {"t-abcd1234": "Stopping"} and error is None and time.monotonic() - started < 2
