from __future__ import annotations

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._retry import RetryPolicy
from unit_helpers import FakeClock


def failing(*errors, result="ok"):
    calls = []

    def fn():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    fn.calls = calls
    return fn


def policy(retries=5, **kwargs):
    clock = FakeClock()
    events = []
    kwargs.setdefault("rng", lambda: 0.5)
    p = RetryPolicy(retries, sleep=clock.sleep, clock=clock.time, on_retry=events.append, **kwargs)
    return p, clock, events


RETRYABLE = [
    ClientException(code="Throttling.User", status_code=400, message="flow control"),
    ClientException(code="Throttling", status_code=400),
    ClientException(code="Throttling.Api", status_code=400),
    ServerException(code="ServiceUnavailable", status_code=503),
    ServerException(code="InternalError", status_code=500),
    ServerException(code="InternalError.Dispatch", status_code=500),
    ServerException(code="SomethingElse", status_code=502),
    ThrottlingException(code="Throttling.User", status_code=400, retry_after=1500),
    ConnectionResetError("Connection reset by peer"),
    TimeoutError("Read timed out. (read timeout=30)"),
]
NOT_RETRYABLE = [
    ClientException(code="InvalidParameter", status_code=400),
    ClientException(code="Forbidden.RAM", status_code=403),
    ClientException(code="EntityNotExists.Template", status_code=404),
    ClientException(code="IdempotentParameterMismatch", status_code=400),
    ClientException(code="SignatureDoesNotMatch", status_code=400),
    ValueError("a bug in the caller"),
    ConnectionRefusedError("[Errno 111] Connection refused"),
]


@pytest.mark.parametrize("error", RETRYABLE, ids=lambda e: getattr(e, "code", None) or type(e).__name__)
def test_retryable_errors_are_retried_until_success(error):
    p, clock, events = policy()
    fn = failing(error, error)
    assert p.call(fn, operation="OOS ListTemplates") == "ok"
    assert len(fn.calls) == 3
    assert len(clock.sleeps) == 2
    assert all("OOS ListTemplates" in e for e in events)


@pytest.mark.parametrize("error", NOT_RETRYABLE, ids=lambda e: getattr(e, "code", None) or type(e).__name__)
def test_other_errors_are_not_retried(error):
    p, clock, events = policy()
    fn = failing(error)
    with pytest.raises(type(error)):
        p.call(fn)
    assert len(fn.calls) == 1
    assert clock.sleeps == [] and events == []


def test_gives_up_after_the_retry_count_and_marks_attempts():
    error = ServerException(code="ServiceUnavailable", status_code=503)
    p, clock, _events = policy(retries=3)
    fn = failing(*[error] * 10)
    with pytest.raises(ServerException) as info:
        p.call(fn)
    assert len(fn.calls) == 4
    assert info.value.ecs_ops_attempts == 4


def test_zero_retries_means_one_attempt():
    p, clock, _events = policy(retries=0)
    fn = failing(ServerException(code="ServiceUnavailable", status_code=503))
    with pytest.raises(ServerException):
        p.call(fn)
    assert len(fn.calls) == 1


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    p, _clock, _events = policy(base_delay=1.0, max_delay=8.0, rng=lambda: 1.0)
    assert [p.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    low, _c, _e = policy(base_delay=1.0, max_delay=8.0, rng=lambda: 0.0)
    assert [low.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]


def test_server_retry_after_wins_over_backoff():
    p, clock, _events = policy(rng=lambda: 0.0)
    fn = failing(ThrottlingException(code="Throttling.User", status_code=400, retry_after=3000))
    assert p.call(fn) == "ok"
    assert clock.sleeps == [3.0]


def test_stops_when_the_waiting_budget_is_spent():
    error = ClientException(code="Throttling.User", status_code=400)
    p, clock, _events = policy(retries=100, budget=10.0, base_delay=2.0, max_delay=4.0, rng=lambda: 1.0)
    fn = failing(*[error] * 100)
    with pytest.raises(ClientException):
        p.call(fn)
    assert sum(clock.sleeps) <= 10.0
    assert len(fn.calls) < 10


def test_stops_at_the_callers_deadline():
    error = ClientException(code="Throttling.User", status_code=400)
    p, clock, _events = policy(retries=100, base_delay=1.0, rng=lambda: 1.0)
    fn = failing(*[error] * 100)
    with pytest.raises(ClientException):
        p.call(fn, deadline=5.0)
    assert clock.now <= 5.0


def test_negative_retries_rejected():
    with pytest.raises(ValueError):
        RetryPolicy(-1)
