from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import PagingError, dig, list_all, paginate
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for
from unit_helpers import FakeClock


def pages(bodies):
    calls = []

    def call(params):
        calls.append(params)
        return bodies[len(calls) - 1]

    call.calls = calls
    return call


def test_oos_plain_arrays_over_three_pages():
    call = pages([
        {"Templates": [{"n": 1}, {"n": 2}], "NextToken": "a"},
        {"Templates": [{"n": 3}], "NextToken": "b"},
        {"Templates": [{"n": 4}], "NextToken": ""},
    ])
    assert [t["n"] for t in list_all(call, {"TemplateType": "Package"}, ("Templates",), page_size=2)] == [1, 2, 3, 4]
    assert [c.get("NextToken") for c in call.calls] == [None, "a", "b"]
    assert all(c["TemplateType"] == "Package" and c["MaxResults"] == 2 for c in call.calls)


def test_ecs_wrapped_lists():
    call = pages([
        {"Instances": {"Instance": [{"InstanceId": "i-1"}]}, "NextToken": "t"},
        {"Instances": {"Instance": [{"InstanceId": "i-2"}]}},
    ])
    assert [i["InstanceId"] for i in list_all(call, {}, ("Instances", "Instance"))] == ["i-1", "i-2"]


def test_token_nested_inside_the_response():
    path = ("Invocation", "InvocationResults", "InvocationResult")
    call = pages([
        {"Invocation": {"InvocationResults": {"InvocationResult": [1, 2]}, "NextToken": "x"}},
        {"Invocation": {"InvocationResults": {"InvocationResult": [3]}, "NextToken": ""}},
    ])
    assert list_all(call, {}, path, token_path=("Invocation", "NextToken")) == [1, 2, 3]


def test_missing_list_is_empty_and_limit_stops_early():
    assert list_all(pages([{"RequestId": "x"}]), {}, ("Executions",)) == []
    call = pages([{"X": [1, 2, 3], "NextToken": "more"}])
    assert list_all(call, {}, ("X",), limit=2) == [1, 2]
    assert len(call.calls) == 1


def test_repeated_token_is_an_error_not_a_loop():
    call = pages([{"X": [1], "NextToken": "same"}, {"X": [2], "NextToken": "same"}])
    with pytest.raises(PagingError, match="same NextToken"):
        list_all(call, {}, ("X",))


def test_non_list_is_an_error():
    with pytest.raises(PagingError):
        list(paginate(pages([{"X": {"a": 1}}]), {}, ("X",)))


def test_dig():
    assert dig({"a": {"b": [1]}}, ("a", "b")) == [1]
    assert dig({"a": None}, ("a", "b")) is None


def test_wait_returns_when_done_with_growing_intervals():
    clock = FakeClock(start=100.0)
    values = iter(["Running", "Running", "Running", "Success"])
    result = wait_for(lambda: next(values), lambda v: v == "Success", timeout=60, interval=2, backoff=2,
                      max_interval=5, sleep=clock.sleep, clock=clock.time)
    assert result.done and result.value == "Success" and result.polls == 4
    assert clock.sleeps == [2, 4, 5]


def test_wait_times_out_at_the_deadline_with_the_last_value():
    clock = FakeClock(start=100.0)
    counter = iter(range(1000))
    result = wait_for(lambda: next(counter), lambda v: False, timeout=10, interval=3, backoff=1,
                      sleep=clock.sleep, clock=clock.time)
    assert result.timed_out and not result.done
    assert clock.now == pytest.approx(110.0)
    assert result.value == result.polls - 1
    assert max(clock.sleeps) <= 3


def test_adaptive_interval_and_initial_delay():
    clock = FakeClock(start=100.0)
    values = iter([1, 2, 3])
    result = wait_for(lambda: next(values), lambda v: v == 3, timeout=100, interval=10, initial_delay=1,
                      next_interval=lambda value, default: 0.5, sleep=clock.sleep, clock=clock.time)
    assert result.done
    assert clock.sleeps == [1, 0.5, 0.5]


def test_zero_timeout_polls_once():
    clock = FakeClock(start=100.0)
    result = wait_for(lambda: "x", lambda v: False, timeout=0, sleep=clock.sleep, clock=clock.time)
    assert result.polls == 1 and result.timed_out and clock.sleeps == []
