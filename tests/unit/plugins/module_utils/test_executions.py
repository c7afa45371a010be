"""OOS execution helpers: the ClientToken chain, waiting, and batches with a bound on running executions."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _executions as ex
from unit_helpers import FakeClock


class ApiError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code
        self.data = {"Code": code}


class FakeOos:
    """StartExecution answers from a token table; ListExecutions from a status table."""

    def __init__(self, tokens=None, retried=()):
        self.tokens = dict(tokens or {})      # token -> (execution id, status) or "mismatch"
        self.statuses = {}                    # execution id -> list of statuses to return in turn
        self.retried = set(retried)           # tokens whose StartExecution needs two attempts
        self.calls = []

    def call(self, action, params=None, deadline=None, attempts=None):
        self.calls.append((action, dict(params or {})))
        if action == "StartExecution":
            token = params["ClientToken"]
            if attempts is not None:
                attempts.extend(["StartExecution"] * (2 if token in self.retried else 1))
            known = self.tokens.get(token)
            if known == "mismatch":
                raise ApiError("IdempotentParameterMismatch")
            if known is None:
                known = ("exec-%d" % (len(self.tokens) + 1), "Started")
                self.tokens[token] = known
            return {"Execution": {"ExecutionId": known[0], "Status": known[1]}}
        if action == "ListExecutions":
            queue = self.statuses.get(params["ExecutionId"])
            if queue is None:
                return {"Executions": []}
            status = queue.pop(0) if len(queue) > 1 else queue[0]
            return {"Executions": [{"ExecutionId": params["ExecutionId"], "Status": status}]}
        return {}


def token(content, generation=0, user=None):
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token
    return client_token(content if generation == 0 else {"plan": content, "generation": generation}, user)


PLAN = {"batch": ["i-a"]}


def test_a_new_plan_starts_a_new_execution():
    api = FakeOos()
    view = ex.start_execution(api, "T", {"p": 1}, PLAN)
    assert view["execution_id"] == "exec-1" and view["adopted"] is False and view["client_token"] == token(PLAN)
    sent = api.calls[0][1]
    assert sent["Mode"] == "Automatic" and sent["SafetyCheck"] == "Skip" and sent["Parameters"] == '{"p":1}'


def test_a_running_execution_of_an_earlier_attempt_is_adopted():
    api = FakeOos({token(PLAN): ("exec-old", "Running")})
    view = ex.start_execution(api, "T", {}, PLAN)
    assert view["execution_id"] == "exec-old" and view["adopted"] is True
    assert len(api.calls) == 1


def test_finished_executions_of_earlier_runs_move_along_the_chain():
    api = FakeOos({token(PLAN): ("exec-1", "Failed"), token(PLAN, 1): ("exec-2", "Success")})
    view = ex.start_execution(api, "T", {}, PLAN)
    assert view["client_token"] == token(PLAN, 2) and view["adopted"] is False
    assert [c[1]["ClientToken"] for c in api.calls] == [token(PLAN), token(PLAN, 1), token(PLAN, 2)]


def test_a_finished_execution_seen_after_a_retry_is_this_runs_own():
    api = FakeOos({token(PLAN): ("exec-mine", "Success")}, retried={token(PLAN)})
    view = ex.start_execution(api, "T", {}, PLAN)
    assert view["execution_id"] == "exec-mine" and len(api.calls) == 1


def test_a_token_used_with_other_values_moves_along_the_chain():
    api = FakeOos({token(PLAN, user="mine"): "mismatch"})
    view = ex.start_execution(api, "T", {}, PLAN, user_token="mine")
    assert view["client_token"] == token(PLAN, 1, user="mine") and view["client_token"].startswith("mine-")


def test_the_chain_is_bounded():
    api = FakeOos({token(PLAN, n): ("exec-%d" % n, "Success") for n in range(ex.MAX_TOKEN_GENERATIONS)})
    with pytest.raises(ex.ExecutionError, match="pass a new client_token"):
        ex.start_execution(api, "T", {}, PLAN)


def test_other_errors_are_raised():
    class Broken(FakeOos):
        def call(self, action, params=None, deadline=None, attempts=None):
            raise ApiError("InvalidParameter.Required")
    with pytest.raises(ApiError):
        ex.start_execution(Broken(), "T", {}, PLAN)


def test_views_parse_json_strings():
    view = ex.execution_view({"ExecutionId": "exec-1", "Status": "Success", "Outputs": '{"a": [1]}',
                              "Parameters": '{"instanceId": "i-x"}', "CurrentTasks": [{"TaskName": "t"}]})
    assert view["done"] and view["outputs"] == {"a": [1]} and ex.instance_of(view) == "i-x"
    assert view["current_tasks"] == [dict(task_name="t", task_action="", task_execution_id="")]
    assert ex.parse_json("not json") == "not json" and ex.parse_json("") == {} and ex.parse_json(None, []) == []


def test_wait_polls_only_unfinished_executions_until_done():
    api = FakeOos()
    api.statuses = {"exec-1": ["Running", "Success"], "exec-2": ["Running", "Running", "Failed"]}
    clock = FakeClock()
    views, timed_out = ex.wait_executions(api, ["exec-1", "exec-2"], 60, 1, sleep=clock.sleep, clock=clock.time)
    assert not timed_out and views["exec-1"]["status"] == "Success" and views["exec-2"]["status"] == "Failed"
    polled = [c[1]["ExecutionId"] for c in api.calls]
    assert polled.count("exec-1") == 2 and polled.count("exec-2") == 3


def test_wait_stops_at_the_deadline_and_at_a_custom_condition():
    api = FakeOos()
    api.statuses = {"exec-1": ["Running"], "exec-2": ["Waiting"]}
    clock = FakeClock()
    views, timed_out = ex.wait_executions(api, ["exec-1"], 10, 1, sleep=clock.sleep, clock=clock.time)
    assert timed_out and views["exec-1"]["status"] == "Running" and clock.now == pytest.approx(10)
    views, timed_out = ex.wait_executions(api, ["exec-2"], 10, 1, is_done=lambda v: v["status"] == "Waiting",
                                          sleep=clock.sleep, clock=clock.time)
    assert not timed_out


def test_run_batches_keeps_at_most_n_running():
    class Oos(FakeOos):
        def call(self, action, params=None, deadline=None, attempts=None):
            body = super().call(action, params, deadline, attempts)
            if action == "StartExecution":
                self.statuses.setdefault(body["Execution"]["ExecutionId"], ["Running", "Success"])
                running = [e for e, q in self.statuses.items() if q[0] == "Running"]
                self.peak = max(getattr(self, "peak", 0), len(running))
            return body

    api = Oos()
    clock = FakeClock()
    batches = [ex.Batch("cn-hangzhou", {"n": n}, {"n": n}, ["i-%d" % n]) for n in range(5)]
    timed_out = ex.run_batches(lambda region: api, "T", batches, 2, 100, 1, sleep=clock.sleep, clock=clock.time)
    assert not timed_out and all(b.execution["status"] == "Success" for b in batches)
    assert api.peak <= 2
    assert all(b.execution["client_token"] for b in batches)


def test_run_batches_stops_starting_after_a_failed_start():
    class Oos(FakeOos):
        def call(self, action, params=None, deadline=None, attempts=None):
            if action == "StartExecution" and params["Parameters"] == '{"n":1}':
                raise ApiError("InvalidParameter.Type")
            body = super().call(action, params, deadline, attempts)
            if action == "StartExecution":
                self.statuses[body["Execution"]["ExecutionId"]] = ["Success"]
            return body

    clock = FakeClock()
    batches = [ex.Batch("r", {"n": n}, {"n": n}) for n in range(4)]
    api = Oos()
    ex.run_batches(lambda region: api, "T", batches, 2, 100, 1, sleep=clock.sleep, clock=clock.time)
    assert batches[0].started and batches[0].execution["status"] == "Success" and batches[1].error and not batches[1].started
    assert not batches[2].started and not batches[3].started


class ListingOos(FakeOos):
    """Also answers a ListExecutions listing (no ExecutionId): ``unrelated`` newer executions first,
    then every started execution except ``hidden`` ones, each with its StartDate."""

    def __init__(self, unrelated=0, hidden=()):
        super().__init__()
        self.unrelated = unrelated
        self.hidden = set(hidden)

    def call(self, action, params=None, deadline=None, attempts=None):
        if action == "ListExecutions" and "ExecutionId" not in params:
            self.calls.append((action, dict(params)))
            rows = [{"ExecutionId": "other-%d" % n, "Status": "Success"} for n in range(self.unrelated)]
            for execution_id, queue in self.statuses.items():
                if execution_id not in self.hidden:
                    status = queue.pop(0) if len(queue) > 1 else queue[0]
                    rows.append({"ExecutionId": execution_id, "Status": status, "StartDate": "2026-11-21T10:00:00Z"})
            start = int(params.get("NextToken") or 0)
            more = start + params["MaxResults"] < len(rows)
            return {"Executions": rows[start:start + params["MaxResults"]],
                    "NextToken": str(start + params["MaxResults"]) if more else ""}
        body = super().call(action, params, deadline, attempts)
        if action == "StartExecution":
            self.statuses.setdefault(body["Execution"]["ExecutionId"], ["Running", "Success"])
            body["Execution"]["StartDate"] = "2026-11-21T10:00:00Z"
        return body


def started_views(api, count):
    return [ex.start_execution(api, "T", {"n": n}, {"n": n}) for n in range(count)]


def test_run_batches_reads_the_executions_of_a_region_with_one_listing_per_poll():
    api = ListingOos()
    clock = FakeClock()
    batches = [ex.Batch("cn-hangzhou", {"n": n}, {"n": n}, ["i-%d" % n]) for n in range(3)]
    ex.run_batches(lambda region: api, "T", batches, 3, 100, 1, sleep=clock.sleep, clock=clock.time)
    assert all(b.execution["status"] == "Success" and b.execution["client_token"] for b in batches)
    polls = [p for a, p in api.calls if a == "ListExecutions"]
    assert len(polls) == 2 and all("ExecutionId" not in p for p in polls)
    assert polls[0]["TemplateName"] == "T" and polls[0]["StartDateAfter"] == "2026-11-21T09:59:59Z"


def test_read_executions_reads_what_the_listing_does_not_show_one_by_one():
    api = ListingOos(hidden={"exec-2"})
    views = started_views(api, 3)
    del api.statuses["exec-3"]                        # exec-3 no longer exists
    found = ex.read_executions(api, "T", views)
    assert found["exec-1"]["status"] == "Running" and found["exec-2"]["status"] == "Running"
    assert found["exec-3"] is None and list(found) == ["exec-1", "exec-2", "exec-3"]
    singles = [p["ExecutionId"] for a, p in api.calls if a == "ListExecutions" and "ExecutionId" in p]
    assert sorted(singles) == ["exec-2", "exec-3"]


def test_the_listing_reads_one_page_more_than_the_executions_fill():
    api = ListingOos(unrelated=250)
    views = started_views(api, 2)
    found = ex.read_executions(api, "T", views)
    listings = [p for a, p in api.calls if a == "ListExecutions" and "ExecutionId" not in p]
    singles = [p["ExecutionId"] for a, p in api.calls if a == "ListExecutions" and "ExecutionId" in p]
    assert len(listings) == 2 and sorted(singles) == ["exec-1", "exec-2"] and all(found.values())


def test_one_execution_or_an_unknown_start_is_read_on_its_own():
    api = ListingOos()
    views = started_views(api, 2)
    ex.read_executions(api, "T", views[:1])
    ex.read_executions(api, "T", [views[0], dict(views[1], start_date="", create_date="")])
    assert all("ExecutionId" in p for a, p in api.calls if a == "ListExecutions")
    assert ex.listed_since([{"start_date": "2026-01-01T00:00:00Z"}, {"create_date": "2025-12-31T23:59:30Z"}]) \
        == "2025-12-31T23:59:29Z"
