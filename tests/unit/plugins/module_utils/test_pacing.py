"""Client-side pacing: unpaced until throttled; then the pace is cut (halved before the quota is measured, a share of
the measured quota after) and probes upwards; every thread of the task shares one pace and holds while the quota has
no room; a deadline bounds every wait. The model tests run a task's threads against a quota (quota_model)."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _pacing
from quota_model import MinuteWindow, Run, TokenBucket, together
from unit_helpers import FakeClock


def pacer(rate=None):
    clock = FakeClock(start=100.0)
    return _pacing.Pacer(rate, clock=clock.time, sleep=clock.sleep), clock


def new_pacer(clock, sleep):
    return _pacing.Pacer(clock=clock, sleep=sleep)


def test_unpaced_until_the_first_throttle():
    p, clock = pacer()
    for _round in range(50):
        assert p.wait()
    assert clock.sleeps == [] and p.rate is None


def test_a_first_throttle_halves_the_reached_rate_and_holds_until_retry_after():
    p, clock = pacer()
    for _round in range(40):            # 40 calls in 2 s: 20 a second reached
        p.wait()
        clock.sleep(0.05)
    p.throttled(retry_after=3, sent=clock.now - 0.01)
    assert p.rate == pytest.approx(10, rel=0.1) and p.measured is None
    held_from = clock.now
    p.wait()
    assert clock.now - held_from == pytest.approx(3)
    p.wait()
    assert clock.now - held_from == pytest.approx(3 + 1 / p.rate, rel=0.01)


def test_the_second_event_measures_the_quota_from_the_successes_between_the_two():
    p, clock = pacer(rate=50.0)
    p.throttled(sent=clock.now)
    for _round in range(40):            # 40 calls got through in the next 8 s: the quota lets 5 a second through
        clock.sleep(0.2)
        p.succeeded()
    p.throttled(sent=clock.now)
    assert p.measured == pytest.approx(5.0) and p.rate == pytest.approx(5.0 * _pacing.MARGIN)


def test_answers_of_calls_sent_before_the_cut_are_one_event():
    p, clock = pacer(rate=40.0)
    sent = [p.wait() for _round in range(16)]   # 16 calls in flight, all throttled
    clock.sleep(0.01)
    p.throttled(sent=sent[0])
    cut = p.rate
    assert cut < 40.0
    for instant in sent[1:]:
        p.throttled(sent=instant)
    assert p.rate == cut and p.throttles == 16
    clock.sleep(1)
    p.throttled(sent=p.wait())          # a call sent after the cut: a new event
    assert p.rate == pytest.approx(cut / 2, rel=0.05)


def test_without_the_sending_instant_the_hold_is_one_event():
    p, _clock = pacer(rate=40.0)
    for _round in range(16):
        p.throttled()
    assert p.rate == 20.0


def test_the_pace_never_halves_below_the_floor():
    p, clock = pacer(rate=1.2)
    p.throttled()
    clock.sleep(5)
    p.throttled()
    assert p.rate == _pacing.FLOOR


def test_throttled_again_too_soon_to_measure_keeps_the_pace_and_doubles_the_hold():
    p, clock = pacer(rate=50.0)
    p.throttled(sent=clock.now)
    for _round in range(10):
        clock.sleep(0.5)
        p.succeeded()
    p.throttled(sent=clock.now)         # measured: 2 a second
    rate = p.rate
    holds = []
    for _round in range(3):             # a spent minute window: throttled at once, again and again
        sent = p.wait()
        p.throttled(sent=sent)
        holds.append(p.reserve()[0] - clock.now)
    assert p.rate == rate and holds == pytest.approx([2 / rate, 4 / rate, 8 / rate])


def test_a_thread_asleep_on_a_turn_at_the_old_pace_takes_a_new_turn():
    p, clock = pacer(rate=10.0)
    p.wait()
    start, turn = p.reserve()           # another thread's turn, 0.1 s from now
    p.throttled(retry_after=2, sent=clock.now)
    clock.sleep(start - clock.now)
    assert p.go(turn) is False          # the cut came while it slept
    start, turn = p.reserve()
    assert start - clock.now >= 1.9 and p.go(turn) is True


def test_successes_probe_upwards_by_a_share_of_the_measured_quota_each_second():
    p, clock = pacer(rate=10.0)
    p.measured = 10.0
    start = clock.now
    while clock.now - start < 10:
        p.wait()
        p.succeeded()
    assert p.rate == pytest.approx(10 + 10 * _pacing.GROWTH * 10, rel=0.1)


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
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= 19 / 50.0   # 20 calls at 50 a second, whatever the threads


def test_a_thread_cut_while_asleep_waits_for_the_hold():
    """Real threads: one sleeps on its turn at 5 calls a second when another's call is throttled with a 0.5 s
    retry-after; it goes after the hold, not at its old turn."""
    p = _pacing.Pacer(rate=5.0)
    p.wait()
    went = []
    sleeper = threading.Thread(target=lambda: went.append(p.wait()))
    sleeper.start()
    time.sleep(0.05)
    cut = time.monotonic()
    p.throttled(retry_after=0.5, sent=cut)
    sleeper.join(5)
    assert went and went[0] - cut >= 0.45


# --- a task's 16 threads against a quota (quota_model): the pace, not one thread, decides -------------------
@pytest.mark.parametrize("server, calls, slowest", [
    (TokenBucket(300, 60), 3000, 1.0),      # the simulator's model, OOS's 300/60: the burst, then 5 a second
    (TokenBucket(20, 1), 3000, 1.15),       # ListInstancePatchStates: 20 a second, a burst of 20
    (TokenBucket(3000, 60), 6000, 1.0),     # 50 a second
    (MinuteWindow(300, 60), 3000, 1.15),    # Alibaba's documented model: 300 calls in each minute
])
def test_sixteen_threads_keep_the_quota_busy_and_are_rarely_throttled(server, calls, slowest):
    run = Run(new_pacer, server, latency=0.01).run(calls)
    bound = calls / server.rate if isinstance(server, TokenBucket) else calls / (server.calls / server.seconds)
    assert run.done_at <= slowest * bound           # the calls divided by the quota, or about
    assert run.share <= 0.05                        # throttled calls, of all calls


def test_without_pacing_the_same_threads_are_mostly_throttled():
    """The model shows what the pacing is for: unpaced threads that retry each throttled call on its own."""
    run = Run(_Unpaced, TokenBucket(300, 60), latency=0.01).run(3000)
    assert run.share > 0.5


class _Unpaced:
    def __init__(self, clock, sleep):
        self.clock, self.sleep = clock, sleep

    def reserve(self, deadline=None):
        return self.clock(), 0

    @staticmethod
    def go(turn):
        return True

    def succeeded(self):
        pass

    def throttled(self, retry_after=None, sent=None):
        pass


def test_two_tasks_share_one_quota():
    """Two tasks of the same account (each its own pacer) on one API: both finish, the quota stays busy, few
    calls are throttled, and neither takes the quota for itself."""
    shared = TokenBucket(300, 60)
    first, second = together([Run(new_pacer, shared), Run(new_pacer, shared)], 1500)
    total = first.ok + second.ok
    assert max(first.done_at, second.done_at) <= 1.15 * total / shared.rate
    assert (first.throttled + second.throttled) / float(total + first.throttled + second.throttled) <= 0.05
    assert min(first.done_at, second.done_at) >= 0.5 * max(first.done_at, second.done_at)


class _Freed(TokenBucket):
    """A quota half spent by another client until ``until``, whole after (the other job ended)."""

    def __init__(self, calls, seconds, until):
        super().__init__(calls, seconds)
        self.full, self.until = self.rate, until
        self.rate = self.full / 2

    def take(self, now):
        if now >= self.until:
            self.rate = self.full
        return super().take(now)


def test_the_pace_recovers_when_the_quota_has_room_again():
    server = _Freed(10, 1, until=60.0)               # 5 a second for us, then 10
    run = Run(new_pacer, server, latency=0.01).run(2000)
    assert 4 <= run.pacer.measured <= 11
    assert run.pacer.rate >= 8.0                     # back near the whole quota
    assert run.done_at <= 60 + (2000 - 60 * 5) / 10.0 * 1.25
    assert run.share <= 0.05


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
