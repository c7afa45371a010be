"""Client-side pacing: unpaced until throttled, then half the reached rate, climbing back additively; every thread
of the task holds while the quota has no room; a deadline bounds every wait."""

from __future__ import annotations

import threading

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _pacing
from quota_model import MinuteWindow, RandomFaults, Run, TokenBucket, together
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


# --- a task's 16 threads against a quota (quota_model: virtual time, no real thread or sleep) -------------------
def model_pacer(clock, sleep):
    return _pacing.Pacer(clock=clock, sleep=sleep)


class _Unpaced:
    """Threads that retry each throttled call on their own (what the pacing replaced)."""

    def __init__(self, clock, sleep):
        self.clock, self.sleep = clock, sleep

    def reserve(self, deadline=None):
        return self.clock()

    def succeeded(self):
        pass

    def throttled(self, retry_after=None):
        pass


@pytest.mark.parametrize("calls_a_second", [20, 50])
def test_sixteen_threads_share_one_budget_keep_the_quota_busy_and_are_rarely_throttled(calls_a_second):
    quota = TokenBucket(calls_a_second, 1)
    run = Run(model_pacer, quota, latency=0.01).run(100 * calls_a_second)
    assert run.done_at <= 1.15 * 100                # the calls divided by the quota, or nearly
    assert run.share <= 0.05                        # throttled calls, of all calls
    unpaced = Run(_Unpaced, TokenBucket(calls_a_second, 1), latency=0.01).run(100 * calls_a_second)
    assert unpaced.share > 0.3                      # without the shared pace, a third or more are refused


def test_the_pace_recovers_when_the_quota_has_room_again():
    """Another job spends half of a 40 calls/s quota for a minute, then stops: the pace climbs back."""
    quota = _Freed(40, 1, until=60.0)
    run = Run(model_pacer, quota, latency=0.01).run(60 * 20 + 60 * 40)
    assert run.pacer.rate >= 30
    assert run.done_at <= 60 + 60 * 1.3
    assert run.share <= 0.05


def test_random_throttling_without_a_quota_does_not_stall_the_task():
    """R1 injects Throttling.User on a fifth of all calls at random, with no quota behind it: the pace must not
    collapse (a pacer that 'measured' the quota from the successes slowed to 0.01 calls a second there)."""
    run = Run(model_pacer, RandomFaults(0.2), latency=0.2).run(1000)
    assert run.done_at <= 300 and run.pacer.rate >= 2


def test_two_tasks_share_one_quota_and_both_keep_it_busy():
    """Two tasks with a pacer each against one 50 calls/s quota: neither starves, the quota stays busy."""
    quota = TokenBucket(50, 1)
    first, second = together([Run(model_pacer, quota, latency=0.01), Run(model_pacer, quota, latency=0.01)], 5000)
    assert max(first.done_at, second.done_at) <= 1.15 * 10000 / 50.0
    assert first.share <= 0.05 and second.share <= 0.05


@pytest.mark.parametrize("quota", [TokenBucket(300, 60), MinuteWindow(300, 60)], ids=["token bucket", "minute windows"])
def test_at_the_published_oos_figure_the_wall_stays_quota_bound(quota):
    """The known limit (docs/architecture.md, "Pacing"): at 5 calls a second many calls are throttled, but a
    refused call takes no token, so the task still finishes at about the calls divided by the quota."""
    run = Run(model_pacer, quota, latency=0.01).run(1500)
    assert run.done_at <= 1.15 * 1500 / 5.0


class _Freed(TokenBucket):
    """A quota of which another client spends half until ``until``."""

    def __init__(self, calls, seconds, until):
        super().__init__(calls, seconds)
        self.full, self.until = self.rate, until
        self.rate = self.full / 2

    def take(self, now):
        if now >= self.until:
            self.rate = self.full
        return super().take(now)
