"""Reading while acting, the module side (``_extensions.stream.PlanStream``): the package states are read in
reading threads and handed to the runner in input order per region; the runner is woken for each full batch
more and at the end of a region; a read that fails for good stops every region and is reported once."""

from __future__ import annotations

import random
import threading
import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.stream import PlanStream
from unit_helpers import ApiError


def make(order, fail_at=None, delay=0.002, batch_size=3, first=None):
    reads, accepted = [], {}
    lock = threading.Lock()

    def read(region, instance_id):
        time.sleep(random.uniform(0, delay))
        with lock:
            reads.append(instance_id)
        if instance_id == fail_at:
            raise ApiError("Forbidden.RAM", 403)
        return None if instance_id.endswith("-0") else {"version": "v1"}

    def plan_one(region, instance_id, installed):
        return dict(instance_id=instance_id, region=region, action="none" if installed is None else "update")

    def accept(entries):
        accepted.update(entries)
        return {i: (e["region"], e["action"]) for i, e in entries.items() if e["action"] != "none"}

    stream = PlanStream(order, lambda covered: (set(first or ()), {}), read, plan_one, accept, batch_size, workers=4)
    return stream, reads, accepted


def drain(stream, limit=10.0):
    taken, problems, end = [], [], time.monotonic() + limit
    while any(stream.reading(r) for r in stream.regions) and time.monotonic() < end:
        stream.wait(0.05)
        work, problem = stream.take()
        taken.extend(work.items())
        if problem:
            problems.append(problem)
    return taken, problems


def test_each_region_is_handed_over_in_input_order_and_the_first_ones_are_not_read_again():
    order = {"a": ["a-%d" % n for n in range(40)], "b": ["b-%d" % n for n in range(25)]}
    stream, reads, accepted = make(order, first={"a-5", "b-7"})
    assert stream.begin({"a-5"}) == {}
    assert all(stream.reading(r) for r in order)       # before the reads start, every region may still bring work
    stream.start()
    taken, problems = drain(stream)
    stream.close()
    assert not problems
    assert sorted(reads) == sorted(i for ids in order.values() for i in ids if i not in ("a-5", "b-7"))
    for region, ids in order.items():
        handed = [i for i, (r, _a) in taken if r == region]
        assert handed == [i for i in ids if i not in ("a-5", "b-7", "%s-0" % region)]   # -0: nothing to do
    assert set(accepted) == set(reads) and stream.progress() == "every package state read"


def test_the_runner_is_woken_for_each_full_batch_not_for_each_read():
    stream, _reads, _accepted = make({"a": ["a-%d" % n for n in range(1, 8)]}, delay=0.0, batch_size=3)
    stream.begin(set())
    wakes = []
    original = stream._wake.set
    stream._wake.set = lambda: (wakes.append(1), original())
    stream.start()
    drain(stream)
    stream.close()
    assert len(wakes) == 3      # after 3 and 6 instances to update, and at the region's end


def test_a_read_that_fails_stops_every_region_and_is_reported_once():
    order = {"a": ["a-%d" % n for n in range(1, 30)], "b": ["b-%d" % n for n in range(1, 200)]}
    stream, reads, _accepted = make(order, fail_at="a-12", delay=0.01)
    stream.begin(set())
    stream.start()
    taken, problems = drain(stream)
    stream.close()
    assert len(problems) == 1 and problems[0].startswith("could not read the package states in a: ")
    assert "Forbidden.RAM" in problems[0]
    handed_a = [i for i, (r, _a) in taken if r == "a"]
    assert handed_a == ["a-%d" % n for n in range(1, 12)]      # everything before the failed read, in order
    assert len(reads) < 29 + 199                                # region b stopped reading too
    assert "11/29 in a" in stream.progress() and "/199 in b" in stream.progress()


def test_closing_before_start_ends_every_region():
    stream, reads, _accepted = make({"a": ["a-1"]})
    stream.close()
    assert not stream.reading("a") and not reads and stream.progress() == "package states read: 0/1 in a"
