"""OOS execution primitives: the ClientToken chain and execution views (the runner: test_runner.py)."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos import executions as ex


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


class Pages:
    """ListExecutions(ParentExecutionId) in pages of two children, and DescribeInstances in pages of two."""

    def __init__(self, items, path):
        self.items, self.path, self.calls = items, path, []

    def call(self, action, params=None, deadline=None, attempts=None):
        self.calls.append((action, dict(params or {})))
        start = int(params.get("NextToken") or 0)
        body = {"NextToken": str(start + 2) if start + 2 < len(self.items) else ""}
        node = body
        for key in self.path[:-1]:
            node = node.setdefault(key, {})
        node[self.path[-1]] = self.items[start:start + 2]
        return body


CHILD = {"ExecutionId": "exec-c1", "Status": "Failed", "StatusMessage": "no space left", "StatusReason": "",
         "Parameters": {"instanceId": "i-1", "action": "install", "parameters": {"big": "x" * 1000}},
         "Outputs": '{"commandOutput": "..."}', "Counters": {"Total": 3}, "Tags": {"a": "b"}, "CurrentTasks": []}


def test_brief_child_views_keep_what_a_run_reports_per_instance():
    api = Pages([CHILD, dict(CHILD, ExecutionId="exec-c2", Status="Success", StatusMessage="",
                             Parameters='{"instanceId": "i-2"}'), dict(CHILD, ExecutionId="exec-c3")], ("Executions",))
    brief = ex.child_executions(api, "exec-p", brief=True)
    assert [ex.instance_of(c) for c in brief] == ["i-1", "i-2", "i-1"] and len(api.calls) == 2
    assert brief[0] == dict(execution_id="exec-c1", status="Failed", done=True, status_message="no space left",
                            status_reason="", parameters={"instanceId": "i-1"})
    full = ex.child_executions(api, "exec-p")
    assert set(brief[0]) < set(full[0]) and all(brief[0][k] == full[0][k] for k in brief[0] if k != "parameters")


def test_instance_reads_keep_only_the_fields_the_view_needs():
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _fleet

    raw = [{"InstanceId": "i-%d" % n, "Status": "Running", "InstanceName": "web", "ZoneId": "cn-hangzhou-h",
            "OSType": "linux", "OSNameEn": "Alibaba Cloud Linux 3", "OSName": "Alibaba Cloud Linux 3",
            "Tags": {"Tag": [{"TagKey": "env", "TagValue": "prod"}]}, "VpcAttributes": {"big": "x" * 1000}}
           for n in range(3)]
    api = Pages(raw, ("Instances", "Instance"))
    slim = _fleet.describe_instances(api, None, fields=_fleet.VIEW_FIELDS)
    assert [i["InstanceId"] for i in slim] == ["i-0", "i-1", "i-2"] and "VpcAttributes" not in slim[0]
    full = _fleet.describe_instances(Pages(raw, ("Instances", "Instance")), None)
    assert full == raw
    agent = {"CloudAssistantStatus": "true", "CloudAssistantVersion": "2.2"}
    assert _fleet.instance_view("i-0", "cn-hangzhou", slim[0], agent) == _fleet.instance_view(
        "i-0", "cn-hangzhou", raw[0], agent)


class Reads(dict):
    """A DescribeInstances item that records every key read from it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def test_the_view_reads_no_field_that_the_slim_read_drops():
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _fleet

    item = Reads(InstanceId="i-0", Status="Running")
    _fleet.instance_view("i-0", "cn-hangzhou", item, {})
    assert item.read and item.read <= set(_fleet.VIEW_FIELDS), item.read - set(_fleet.VIEW_FIELDS)
