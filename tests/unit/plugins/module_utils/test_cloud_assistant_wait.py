"""wait_for_results: a round lists the run's invocations by their ecs-ops-run tag and reads the results of an
invocation once, when it settled; what cannot be listed is read in full every round, as before."""

from __future__ import annotations

import base64
import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import invocations as inv

from unit_helpers import ApiError

POLL = 0.01


class FakeEcs:
    """The invocations of one region. An instance runs until the region has answered ``runs_for`` listings
    (or results reads, for invocations without a run tag), then succeeds with the output ``out <id>``.
    ``hidden``: invoke ids the listing leaves out for the first ``hidden_for`` listings (None: always), and
    DescribeInvocationResults does not know while they are hidden. ``fail``: action -> errors to raise in turn."""

    def __init__(self, invocations, runs_for=2, page=50, hidden=(), hidden_for=None, fail=None, periodic=False):
        self.invocations = invocations          # [(invoke id, run tag, [instance ids])]
        self.runs_for, self.page, self.periodic = runs_for, page, periodic
        self.hidden, self.hidden_for = set(hidden), hidden_for
        self.fail = {k: list(v) for k, v in (fail or {}).items()}
        self.calls = []
        self.looks = 0

    def status(self):
        if self.looks < self.runs_for:
            return dict(InvocationStatus="Scheduled" if self.periodic else "Running", Repeats=0)
        return dict(InvocationStatus="Scheduled" if self.periodic else "Success", ExitCode=0, Repeats=1)

    def visible(self, invoke_id):
        return invoke_id not in self.hidden or (self.hidden_for is not None and self.looks > self.hidden_for)

    def call(self, action, params=None, deadline=None, attempts=None):
        params = dict(params or {})
        self.calls.append((action, params, deadline))
        if self.fail.get(action):
            raise self.fail[action].pop(0)
        if action == "DescribeInvocations":
            self.looks += 1
            (tag,) = params["Tag"]
            found = [dict(InvokeId=i, Tags={"Tag": [dict(TagKey=inv.RUN_TAG, TagValue=run)]},
                          InvokeInstances={"InvokeInstance": [dict(self.status(), InstanceId=x) for x in ids]})
                     for i, run, ids in self.invocations if run == tag["Value"] and self.visible(i)]
            return self.paged(params, found, "Invocations", "Invocation")
        assert action == "DescribeInvocationResults" and params["ContentEncoding"] == "Base64"
        (ids,) = [ids for i, run, ids in self.invocations if i == params["InvokeId"]]
        if not self.visible(params["InvokeId"]):
            raise ApiError("InvalidInvokeId.NotFound", 404)
        if not [run for i, run, _ids in self.invocations if i == params["InvokeId"]][0]:
            self.looks += 1
        rows = [dict(self.status(), InvokeId=params["InvokeId"], InstanceId=x,
                     Output=base64.b64encode(("out %s" % x).encode()).decode()) for x in ids]
        return {"Invocation": self.paged(params, rows, "InvocationResults", "InvocationResult")}

    def paged(self, params, items, outer, inner):
        size = min(int(params["MaxResults"]), self.page)
        start = int(params.get("NextToken") or 0)
        chunk = items[start:start + size]
        return {outer: {inner: chunk}, "NextToken": str(start + size) if start + size < len(items) else ""}

    def actions(self, action=None):
        return [a for a, _p, _d in self.calls if action in (None, a)]


def batch(invoke_id, ids, run_tag="run-1", region="r1"):
    return dict(region=region, type="RunShellScript", instance_ids=ids, invoke_id=invoke_id, command_id="c-1",
                run_tag=run_tag)


def ids(prefix, count):
    return ["i-%s%03d" % (prefix, n) for n in range(count)]


def wait(apis, batches, wait_timeout=30.0, first_run=False):
    return inv.wait_for_results(lambda region: apis[region], batches, wait_timeout, POLL, first_run)


def test_a_round_is_one_listing_per_region_and_results_are_read_once_when_settled():
    one = FakeEcs([("t-1", "run-1", ids("a", 60)), ("t-2", "run-1", ids("b", 10)), ("t-x", "run-1", ids("x", 1))],
                  runs_for=3)
    two = FakeEcs([("t-3", "run-1", ids("c", 5))], runs_for=1)
    batches = [batch("t-1", ids("a", 60)), batch("t-2", ids("b", 10)), batch("t-3", ids("c", 5), region="r2")]
    rows, timed_out, error, passing = wait({"r1": one, "r2": two}, batches)
    assert (timed_out, error, passing) == (False, None, [])
    assert set(rows) == set(ids("a", 60) + ids("b", 10) + ids("c", 5))
    assert all(base64.b64decode(row["Output"]).decode() == "out %s" % i for i, row in rows.items())
    # r1: three rounds until both settled, then 60 instances in 2 pages + 10 in 1; r2: one round, one page.
    assert one.actions() == ["DescribeInvocations"] * 3 + ["DescribeInvocationResults"] * 3
    assert two.actions() == ["DescribeInvocations", "DescribeInvocationResults"]
    listing = [p for a, p, _d in one.calls if a == "DescribeInvocations"][0]
    assert listing == {"Tag": [{"Key": inv.RUN_TAG, "Value": "run-1"}], "MaxResults": 50}
    assert all(deadline is not None for api in (one, two) for _a, _p, deadline in api.calls)


def test_invocations_with_another_run_tag_are_listed_by_theirs():
    """An invocation adopted from a run with another plan (another instance set) keeps the tag it was started with."""
    api = FakeEcs([("t-1", "run-1", ["i-1"]), ("t-2", "run-0", ["i-2"])], runs_for=1)
    rows, _timed_out, error, _passing = wait({"r1": api}, [batch("t-1", ["i-1"]), batch("t-2", ["i-2"], "run-0")])
    assert error is None and set(rows) == {"i-1", "i-2"}
    assert sorted(p["Tag"][0]["Value"] for a, p, _d in api.calls if a == "DescribeInvocations") == ["run-0", "run-1"]
    assert sorted(p["InvokeId"] for a, p, _d in api.calls if a == "DescribeInvocationResults") == ["t-1", "t-2"]


def test_paging_a_listing_stops_once_every_invocation_was_seen():
    others = [("t-o%d" % n, "run-1", ["i-o%d" % n]) for n in range(5)]
    api = FakeEcs([("t-1", "run-1", ["i-1"]), ("t-2", "run-1", ["i-2"])] + others, page=1)
    assert set(inv.list_run(api, "run-1", {"t-1", "t-2"}, deadline=None)) == {"t-1", "t-2"}
    assert api.actions() == ["DescribeInvocations"] * 2
    assert [p.get("NextToken") for _a, p, _d in api.calls] == [None, "1"]
    assert inv.list_run(api, "run-1", {"t-o4"}, deadline=None) and len(api.calls) == 2 + 7


def test_invocations_without_a_run_tag_are_read_in_full_every_round():
    """Adopted from a run that tagged nothing: the reads of before, a results read per invocation and round."""
    api = FakeEcs([("t-1", "", ids("a", 3))], runs_for=3)
    rows, timed_out, error, _passing = wait({"r1": api}, [batch("t-1", ids("a", 3), run_tag="")])
    assert (timed_out, error) == (False, None) and rows["i-a000"]["InvocationStatus"] == "Success"
    assert api.actions() == ["DescribeInvocationResults"] * 3


def test_an_invocation_not_listed_yet_is_waited_for_within_the_grace():
    api = FakeEcs([("t-1", "run-1", ["i-1"])], runs_for=4, hidden=["t-1"], hidden_for=2)
    rows, timed_out, error, _passing = wait({"r1": api}, [batch("t-1", ["i-1"])])
    assert (timed_out, error) == (False, None) and rows["i-1"]["InvocationStatus"] == "Success"
    assert api.actions().count("DescribeInvocationResults") == 1


def test_an_invocation_never_listed_is_read_in_full_after_the_grace_and_its_absence_ends_the_wait(monkeypatch):
    monkeypatch.setattr(inv, "INVISIBLE_GRACE", 0.05)
    api = FakeEcs([("t-1", "run-1", ["i-1"])], hidden=["t-1"])
    _rows, timed_out, error, _passing = wait({"r1": api}, [batch("t-1", ["i-1"])])
    assert not timed_out and error.code == "InvalidInvokeId.NotFound"
    assert api.actions()[-1] == "DescribeInvocationResults"


def test_a_retryable_error_never_ends_the_wait_and_others_do_with_what_was_listed():
    throttled = [ApiError("Throttling.User")] * 2
    api = FakeEcs([("t-1", "run-1", ["i-1"])], runs_for=2,
                  fail=dict(DescribeInvocations=throttled, DescribeInvocationResults=[ApiError("ServiceUnavailable", 503)]))
    rows, timed_out, error, passing = wait({"r1": api}, [batch("t-1", ["i-1"])])
    assert (timed_out, error) == (False, None) and len(passing) == 3
    assert base64.b64decode(rows["i-1"]["Output"]) == b"out i-1"

    api = FakeEcs([("t-1", "run-1", ["i-1", "i-2"])], runs_for=10 ** 6)
    rows, timed_out, error, _passing = wait({"r1": FailingAfter(api, 1)}, [batch("t-1", ["i-1", "i-2"])])
    assert error.code == "Forbidden.RAM" and not timed_out
    assert [rows[i]["InvocationStatus"] for i in ("i-1", "i-2")] == ["Running"] * 2 and "Output" not in rows["i-1"]


class FailingAfter:
    """``api``, whose DescribeInvocations fails with Forbidden.RAM after ``answers`` answers."""

    def __init__(self, api, answers):
        self.api, self.answers = api, answers

    def call(self, action, params=None, deadline=None, attempts=None):
        if action == "DescribeInvocations":
            if self.answers == 0:
                raise ApiError("Forbidden.RAM", 403)
            self.answers -= 1
        return self.api.call(action, params, deadline, attempts)


def test_the_last_round_before_the_deadline_reads_every_unsettled_invocation_in_full():
    """A timed-out task still reports the output of the instances that finished (as the per-round reads did)."""
    api = FakeEcs([("t-1", "run-1", ["i-1"])], runs_for=10 ** 6)
    rows, timed_out, error, _passing = wait({"r1": api}, [batch("t-1", ["i-1"])], wait_timeout=0.05)
    assert timed_out and error is None and api.actions()[-1] == "DescribeInvocationResults"
    assert "Output" in rows["i-1"] and api.actions().count("DescribeInvocationResults") == 1


def test_no_call_starts_after_the_deadline():
    """The client refuses a call that would start after its deadline, so the wait starts none: a round that began
    before the deadline and ended after it is the last one."""
    api = FakeEcs([("t-1", "run-1", ["i-1"])], runs_for=10 ** 6)
    slow = api.call

    def call(action, params=None, deadline=None, attempts=None):
        assert time.monotonic() < deadline, "a call started after the deadline"
        if action == "DescribeInvocations":
            time.sleep(0.3)
        return slow(action, params, deadline, attempts)

    api.call = call
    rows, timed_out, error, passing = wait({"r1": api}, [batch("t-1", ["i-1"])], wait_timeout=0.2)
    assert timed_out and (error, passing) == (None, []) and api.actions() == ["DescribeInvocations"]
    assert rows["i-1"]["InvocationStatus"] == "Running"


@pytest.mark.parametrize("first_run", [False, True])
def test_a_periodic_invocation_settles_when_scheduled_or_after_its_first_run(first_run):
    api = FakeEcs([("t-1", "run-1", ["i-1"])], runs_for=2, periodic=True)
    rows, timed_out, error, _passing = wait({"r1": api}, [batch("t-1", ["i-1"])], first_run=first_run)
    assert (timed_out, error) == (False, None)
    assert api.actions() == ["DescribeInvocations"] * (2 if first_run else 1) + ["DescribeInvocationResults"]
    assert (rows["i-1"]["InvocationStatus"], rows["i-1"]["Repeats"]) == ("Scheduled", 1 if first_run else 0)


def test_the_interval_stays_at_poll_interval_for_the_first_minute_then_grows(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(inv.time, "monotonic", lambda: now[0])
    wait_state = inv._Wait(lambda region: None, [], 600, 3.0, False, lambda text, every=None: None)
    seen = []
    for at in (0, 10, 59, 60, 70, 80, 90, 100, 110):
        now[0] = 100.0 + at
        wait_state.poll()
        seen.append(wait_state.next_interval(None, None))
    assert seen == [3.0, 3.0, 3.0, 4.5, 6.75, 10.125, 15.1875, 18.0, 18.0]


class Starts:
    """RunCommand answers with a new invoke id; DescribeInvocations finds the invocations of ``earlier``."""

    def __init__(self, earlier=None):
        self.earlier = dict(earlier or {})     # ClientToken -> DescribeInvocations item
        self.requests = []

    def call(self, action, params=None, deadline=None, attempts=None):
        self.requests.append((action, dict(params or {})))
        if action == "DescribeInvocations":
            found = self.earlier.get(params["Tag"][0]["Value"])
            return {"Invocations": {"Invocation": [found] if found else []}}
        return {"InvokeId": "t-%d" % len(self.requests), "CommandId": "c-1"}

    def starts(self):
        return [p for a, p in self.requests if a == "RunCommand"]


def plan(*regions):
    return [dict(region=r, type="RunShellScript", instance_ids=["i-%s-%d" % (r, n)], command_id="") for n, r in
            enumerate(regions)]


def tags(request):
    return {t["Key"]: t["Value"] for t in request["Tag"]}


def test_every_start_of_a_run_carries_one_run_tag_after_the_user_tags():
    api = Starts()
    batches = plan("r1", "r1", "r2")
    common = {"CommandContent": "ZWNobw==", "Tag": [dict(Key="team", Value="ops")]}
    assert inv.start_invocations(lambda region: api, batches, common) is None
    starts = api.starts()
    assert [list(tags(s)) for s in starts] == [["team", inv.RUN_TAG]] * 3
    assert len({tags(s)[inv.RUN_TAG] for s in starts}) == 1 and {b["run_tag"] for b in batches} == {
        tags(starts[0])[inv.RUN_TAG]}
    again = Starts()
    inv.start_invocations(lambda region: again, plan("r1", "r1", "r2"), common)
    assert tags(again.starts()[0])[inv.RUN_TAG] != batches[0]["run_tag"], "without client_token each run differs"


def test_with_twenty_user_tags_there_is_no_room_for_the_run_tag_and_the_wait_reads_in_full():
    """A resource takes 20 tags: the user's come first, the run tag only where it fits (no playbook that worked
    with 20 tags breaks); such an invocation has no run tag, which the wait reads in full every round."""
    api = Starts()
    batches = plan("r1")
    full = [dict(Key="t%d" % n, Value="v") for n in range(20)]
    assert inv.start_invocations(lambda region: api, batches, {"CommandContent": "ZWNobw==", "Tag": full}) is None
    assert list(tags(api.starts()[0])) == ["t%d" % n for n in range(20)] and batches[0]["run_tag"] == ""
    api = Starts()
    batches = plan("r1")
    assert inv.start_invocations(lambda region: api, batches, {"CommandContent": "ZWNobw==", "Tag": full[:19]},
                                 user_token="deploy-1") is None
    assert inv.TOKEN_TAG in tags(api.starts()[0]) and inv.RUN_TAG not in tags(api.starts()[0])
    assert len(api.starts()[0]["Tag"]) == 20 and batches[0]["run_tag"] == ""


def test_a_retried_run_with_a_token_has_the_same_run_tag_and_adopts_what_carries_another_or_none():
    first = Starts()
    batches = plan("r1", "r2")
    inv.start_invocations(lambda region: first, batches, {"CommandContent": "ZWNobw=="}, user_token="deploy-1")
    run_tag = batches[0]["run_tag"]
    assert run_tag.startswith("deploy-1-") and [tags(s) for s in first.starts()] == [
        {inv.TOKEN_TAG: s["ClientToken"], inv.RUN_TAG: run_tag} for s in first.starts()]

    token_1, token_2 = (s["ClientToken"] for s in first.starts())
    older = dict(InvokeId="t-old", Tags={"Tag": [dict(TagKey=inv.TOKEN_TAG, TagValue=token_1)]})
    retried = Starts({token_1: older})
    again = plan("r1", "r2")
    inv.start_invocations(lambda region: retried, again, {"CommandContent": "ZWNobw=="}, user_token="deploy-1")
    assert [(b["adopted"], b["run_tag"]) for b in again] == [(True, ""), (False, run_tag)]
    assert again[0]["invoke_id"] == "t-old" and [s["ClientToken"] for s in retried.starts()] == [token_2]
