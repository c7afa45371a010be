"""Client-side pacing: unpaced until throttled, then half the reached rate, climbing back additively; every thread
of the task holds while the quota has no room; a deadline bounds every wait."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _pacing
from unit_helpers import FakeClock


def pacer(rate=None):
    clock = FakeClock(start=100.0)
    return _pacing.Pacer(rate, clock=clock.time, sleep=clock.sleep), clock


def test_unpaced_until_the_first_throttle():
    p, clock = pacer()
    for _round in range(50):
        assert p.wait()
    assert clock.sleeps == [] and p.rate is None


def test_a_throttle_halves_the_reached_rate_and_holds_until_retry_after():
    p, clock = pacer()
    for _round in range(40):            # 40 calls in 2 s: 20 a second reached
        p.wait()
        clock.sleep(0.05)
    p.throttled(retry_after=3)
    assert p.rate == pytest.approx(10, rel=0.1)
    held_from = clock.now
    p.wait()
    assert clock.now - held_from == pytest.approx(3)
    p.wait()
    assert clock.now - held_from == pytest.approx(3 + 1 / p.rate, rel=0.01)


def test_successes_climb_back_about_one_call_a_second_per_second():
    p, clock = pacer(rate=10.0)
    start = clock.now
    while clock.now - start < 10:
        p.wait()
        p.succeeded()
    assert 18 <= p.rate <= 22


def test_the_pace_never_falls_below_the_floor():
    p, clock = pacer(rate=1.2)
    p.throttled()
    clock.sleep(5)
    p.throttled()
    assert p.rate == _pacing.FLOOR


def test_sixteen_threads_throttled_at_once_halve_the_pace_once():
    p, _clock = pacer(rate=40.0)
    for _round in range(16):
        p.throttled()
    assert p.rate == 20.0 and p.throttles == 16


def test_a_wait_that_would_pass_the_deadline_does_not_happen():
    p, clock = pacer()
    p.throttled(retry_after=30)
    assert p.wait(deadline=clock.now + 5) is False
    assert clock.sleeps == []


def test_threads_share_one_pace():
    pacers = _pacing.Pacers(rate=50.0)
    shared = pacers.get("ecs", "cn-hangzhou", "DescribeInstances")
    assert pacers.get("ecs", "cn-hangzhou", "DescribeInstances") is shared
    assert pacers.get("ecs", "cn-shanghai", "DescribeInstances") is not shared
    threads = [threading.Thread(target=lambda: [shared.wait() for _round in range(5)]) for _round in range(4)]
    import time
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 19 / 50.0   # 20 calls at 50 a second, whatever the threads


def test_a_module_call_is_paced_after_a_throttle(sim_server):
    """Through the real SDK: the simulator throttles twice; the client records it and paces that API only."""
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import Clients
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import resolve_credential_source
    from unit_helpers import sim_args, connection_params

    params = connection_params(**sim_args(sim_server))
    clients = Clients(params, resolve_credential_source(params))
    sim_server.admin("POST", "faults", {"action": "DescribeRegions", "code": "Throttling.User", "count": 2})
    clients.ecs("cn-hangzhou").call("DescribeRegions")
    clients.ecs("cn-hangzhou").call("DescribeInstances")
    assert clients.pacers.throttles() == {("ecs", "cn-hangzhou", "DescribeRegions"): 2}
    assert clients.pacers.get("ecs", "cn-hangzhou", "DescribeRegions").rate is not None
    assert clients.pacers.get("ecs", "cn-hangzhou", "DescribeInstances").rate is None
