"""Fixtures of the reliability suite: one simulator process per session (per xdist worker), with Alibaba
Cloud's API quotas enforced (``--quotas on``: the published per-API figures), as on a real account."""

from __future__ import annotations

import pytest

from harness import start_sim


@pytest.fixture(scope="session")
def sim_process():
    with start_sim(time_scale=0.01, quotas="on") as sim:
        yield sim


@pytest.fixture
def sim(sim_process):
    """The session's simulator, reset to the default fleet with no faults before each test (a reset also
    refills every quota bucket)."""
    sim_process.reset(time_scale=0.01)
    sim_process.clear_faults()
    sim_process.begin()
    return sim_process
