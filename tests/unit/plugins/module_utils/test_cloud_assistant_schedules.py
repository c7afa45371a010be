"""Schedules (pure parts): the view of a tagged invocation, the lookup's queries, what differs, the plan."""

from __future__ import annotations

import base64
import json

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import schedules as sch
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import Redactor

SECRET = "hunter2"


def raw(invoke_id="t-1", status="Scheduled", digest="d1", frequency="0 30 2 * * ?", mode="Period",
        created="2026-01-01T00:00:00Z", instances=("i-1", "i-2"), parameters=None, content="echo hi", secret_names="",
        name="nightly", **item):
    tags = [dict(TagKey=sch.NAME_TAG, TagValue=name), dict(TagKey=sch.SPEC_TAG, TagValue=digest)]
    if secret_names:
        tags.append(dict(TagKey="ecs-ops-secret-parameters", TagValue=secret_names))
    return dict(InvokeId=invoke_id, InvocationStatus=status, RepeatMode=mode, Frequency=frequency,
                CreationTime=created, CommandId="c-1", CommandName="ecs-ops-schedule-" + name,
                CommandType="RunShellScript", CommandContent=base64.b64encode(content.encode()).decode(),
                Parameters=json.dumps(parameters or {}), Username="root", Timeout=60, WorkingDir="/root",
                Tags=dict(Tag=tags),
                InvokeInstances=dict(InvokeInstance=[dict(dict(InstanceId=i, InvocationStatus=status, Repeats=0),
                                                          **item) for i in instances]))


def view(**kwargs):
    return sch.schedule_view(raw(**kwargs), Redactor())


def desired(**overrides):
    return dict(dict(command="echo hi", command_id=None, repeat_mode="Period", frequency="0 30 2 * * ?", values={},
                     secret_names=[], wanted=["i-1", "i-2"], ignored=[]), **overrides)


def test_the_view_of_a_tagged_invocation():
    seen = view(Repeats=3, StartTime="2026-01-02T02:30:00Z", ExitCode=1, ErrorCode="ExitCodeNonzero")
    assert (seen["name"], seen["invoke_id"], seen["active"], seen["spec_digest"]) == ("nightly", "t-1", True, "d1")
    assert seen["command"] == "echo hi" and seen["instance_ids"] == ["i-1", "i-2"] and seen["runs"] == 6
    assert seen["last_run"] == "2026-01-02T02:30:00Z" and seen["failed_instances"] == ["i-1", "i-2"]
    assert seen["instances"][0]["result"] == "failed" and seen["instances"][0]["exit_code"] == 1
    assert seen["timezone"] == "" and seen["next_run"] == ""
    assert view(frequency="0 30 2 * * ? Asia/Shanghai")["timezone"] == "Asia/Shanghai"
    assert view(status="Stopped")["active"] is False


def test_secret_values_are_masked_and_remembered():
    found = []
    redactor = Redactor(on_secret=found.append)
    seen = sch.schedule_view(raw(parameters={"days": "7", "token": SECRET}, secret_names="token"), redactor)
    assert seen["parameters"] == {"days": "7", "token": "********"} and seen["secret_parameter_names"] == ["token"]
    assert found == [SECRET] and SECRET not in json.dumps(sch.public(seen))
    assert seen["_values"]["token"] == SECRET


@pytest.mark.parametrize("kwargs, expected", [
    (dict(frequency="rate(1h)"), "2026-01-01T01:00:00Z"),                           # never ran: one period on
    (dict(frequency="rate(1h)", StartTime="2026-01-01T05:00:07Z", Repeats=5), "2026-01-01T06:00:00Z"),
    (dict(frequency="rate(1h)", status="Stopped"), ""),
    (dict(frequency="at(2026-06-06 13:15:30 GMT+8:00)"), "2026-06-06T05:15:30Z"),
    (dict(frequency="at(2026-06-06 13:15:30)", Repeats=1, StartTime="2026-06-06T13:15:30Z"), ""),
    (dict(frequency="0 30 2 * * ? UTC"), ""),
    (dict(frequency="", mode="EveryReboot"), ""),
])
def test_next_run(kwargs, expected):
    assert view(**kwargs)["next_run"] == expected


class FakeApi:
    def __init__(self, pages):
        self.pages = pages
        self.calls = []

    def call(self, action, params):
        self.calls.append((action, dict(params)))
        return {"Invocations": {"Invocation": self.pages.get(params["Timed"], [])}, "NextToken": ""}


def test_the_lookup_asks_for_what_will_run_and_rechecks_the_name():
    api = FakeApi({True: [raw("t-2", created="2026-01-02T00:00:00Z"), raw("t-1"), raw("t-9", name="other")],
                   False: [raw("t-0", status="Success", created="2025-12-31T00:00:00Z"), raw("t-1")]})
    found = sch.find_schedules(api, Redactor(), "nightly")
    assert [v["invoke_id"] for v in found] == ["t-1", "t-2"]
    assert api.calls == [("DescribeInvocations", {"Tag": [dict(Key=sch.NAME_TAG, Value="nightly")], "Timed": True,
                                                  "MaxResults": 50})]
    api.calls = []
    found = sch.find_schedules(api, Redactor(), "nightly", ended=True)
    assert [v["invoke_id"] for v in found] == ["t-0", "t-1", "t-2"] and [c[1]["Timed"] for c in api.calls] == [
        True, False]
    assert [v["invoke_id"] for v in sch.find_schedules(api, Redactor())] == ["t-1", "t-9", "t-2"]
    assert api.calls[-1][1]["Tag"] == [dict(Key=sch.NAME_TAG)]


@pytest.mark.parametrize("kwargs, wanted, found", [
    (dict(), desired(), []),
    (dict(content="echo bye"), desired(), ["command"]),
    (dict(), desired(command=None, command_id="c-2"), ["command"]),
    (dict(frequency="0 30 3 * * ?"), desired(), ["frequency"]),
    (dict(frequency=" 0 30 2  * * ?"), desired(), []),
    (dict(mode="EveryReboot", frequency=""), desired(), ["repeat_mode"]),
    (dict(parameters={"days": "7"}), desired(values={"days": "7"}), []),
    (dict(parameters={"days": "8"}), desired(values={"days": "7"}), ["parameters"]),
    (dict(parameters={"days": "7", "t": "old"}), desired(values={"days": "7", "t": "new"}, secret_names=["t"]),
     ["secret_parameters"]),
    (dict(instances=("i-1",)), desired(), ["instance_ids"]),
    (dict(instances=("i-1", "i-2", "i-3")), desired(), ["instance_ids"]),
    (dict(instances=("i-1",)), desired(ignored=["i-2"]), []),
    (dict(instances=("i-1", "i-2")), desired(wanted=["i-1", "i-2"], ignored=["i-2"]), []),
])
def test_live_differences(kwargs, wanted, found):
    assert sch.live_differences(view(**kwargs), wanted) == found


def test_unreadable_parameters_are_not_judged():
    seen = sch.schedule_view(dict(raw(), Parameters="not json"), Redactor())
    assert seen["_values"] is None and seen["parameters"] == "not json"
    assert sch.live_differences(seen, desired(values={"days": "7"})) == []


def _plan(found, state="present", digest="d1", differences=lambda v: [], one_shot=False):
    return sch.plan_schedule(found, state, digest, differences, one_shot)


def test_plan():
    young, old = view(invoke_id="t-2", created="2026-01-02T00:00:00Z"), view(invoke_id="t-1")
    stopped = view(invoke_id="t-0", status="Stopped")
    created = _plan([stopped])
    assert (created["start"], created["stop"], created["keep"], created["reason"]) == (True, [], None, "create")
    kept = _plan([old, stopped])
    assert (kept["start"], kept["stop"], kept["keep"]["invoke_id"], kept["reason"]) == (False, [], "t-1", "up to date")
    dedup = _plan([old, young])
    assert dedup["keep"]["invoke_id"] == "t-1" and [v["invoke_id"] for v in dedup["stop"]] == ["t-2"]
    assert "1 other invocation(s)" in dedup["reason"]
    other = _plan([old, young], digest="d2")
    assert other["start"] and [v["invoke_id"] for v in other["stop"]] == ["t-1", "t-2"]
    assert other["differences"] == ["spec"] and "the specification differs" in other["reason"]
    moved = _plan([old], differences=lambda v: ["frequency"])
    assert moved["start"] and moved["differences"] == ["frequency"] and "frequency differs" in moved["reason"]
    gone = _plan([old, young, stopped], state="absent")
    assert [v["invoke_id"] for v in gone["stop"]] == ["t-1", "t-2"] and not gone["start"]
    assert _plan([stopped], state="absent")["stop"] == []


def test_a_one_shot_that_ran_is_done_but_one_stopped_is_not():
    ran = view(invoke_id="t-1", status="Success", frequency="at(2026-01-01 00:00:00)")
    done = _plan([ran], one_shot=True)
    assert (done["start"], done["keep"]["invoke_id"], done["reason"]) == (False, "t-1", "ran already (Success)")
    assert _plan([ran], one_shot=False)["start"] is True
    assert _plan([ran], digest="d2", one_shot=True)["start"] is True
    cancelled = view(invoke_id="t-1", status="Stopped", frequency="at(2026-01-01 00:00:00)")
    assert _plan([cancelled], one_shot=True)["start"] is True


def test_the_digest_and_what_is_one_shot():
    spec = dict(command="echo", parameters={"a": "1"}, secret_names=["t"])
    assert sch.spec_digest(spec) == sch.spec_digest(dict(reversed(list(spec.items()))))
    assert len(sch.spec_digest(spec)) == 32 and sch.spec_digest(spec) != sch.spec_digest(dict(spec, command="x"))
    assert sch.is_one_shot("Period", "at(2026-01-01 00:00:00)") and sch.is_one_shot("NextRebootOnly", "")
    assert not sch.is_one_shot("Period", "rate(5m)") and not sch.is_one_shot("EveryReboot", "")
