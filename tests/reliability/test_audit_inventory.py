"""R-audit-inv: the ``ecs`` inventory plugin when the API hangs: a clear error within ``read_timeout``, never a
partial inventory, and never minutes of retries of hanging calls.

- ``DescribeCloudAssistantStatus`` hangs in every region after ``DescribeInstances`` answered: the inventory fails
  within ``read_timeout`` (and a few seconds of ansible-inventory's own), naming the deadline; no host at all;
- ``DescribeRegions`` hangs (no ``regions``): the same;
- throttling that outlasts the retry budget is covered by test_inventory.py; here the budget is long (the default
  ``api_retries``, the API asking for 4 s between attempts) and the deadline short: the deadline ends it.

Evidence: the exit code, stderr, the wall time and ``--list`` (no host).
"""

from __future__ import annotations

import time

import pytest

from harness import names_to_ids
from test_inventory import FLEET, REGIONS, inventory, plain_text

SLACK = 15          # ansible-inventory's start-up and the plugin's parsing, beyond read_timeout


@pytest.fixture
def fleet(sim):
    sim.reset(FLEET, time_scale=0.01)
    sim.begin()
    return names_to_ids(sim)


def timed(sim, config):
    started = time.monotonic()
    rc, data, err = inventory(sim, config)
    return rc, data, plain_text(err), time.monotonic() - started


@pytest.mark.parametrize("action, config", [
    ("DescribeCloudAssistantStatus", REGIONS),
    ("DescribeRegions", ""),
])
def test_a_hanging_api_fails_the_inventory_within_read_timeout(sim, fleet, action, config):
    sim.faults({"action": action, "product": "ecs", "latency_ms": 120000, "count": 40})
    rc, data, err, seconds = timed(sim, config + "read_timeout: 8\napi_timeout: 20\n")
    assert rc != 0 and data is None, err
    assert "within read_timeout (8 s)" in err and action in err, err
    assert seconds < 8 + SLACK, "the inventory took %.0f s for a read_timeout of 8 s" % seconds


def test_a_throttling_storm_longer_than_read_timeout_ends_there(sim, fleet):
    sim.faults({"action": "DescribeInstances", "product": "ecs", "code": "Throttling.User", "retry_after_ms": 4000})
    rc, data, err, seconds = timed(sim, REGIONS + "read_timeout: 6\n")
    assert rc != 0 and data is None, err
    assert "Throttling.User" in err and "when the next would end after read_timeout (6 s)" in err, err
    assert "no host is added from a partial read" in err
    assert seconds < 6 + SLACK, "the inventory took %.0f s for a read_timeout of 6 s" % seconds


def test_read_timeout_is_checked_before_any_call(sim, fleet):
    mark = sim.mark()
    rc, _data, err, _seconds = timed(sim, REGIONS + "read_timeout: 0\n")
    assert rc != 0 and "read_timeout must be at least 1" in err, err
    assert sim.calls(mark) == []
