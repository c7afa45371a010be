"""Fixtures of the reliability suite: one simulator process per session (per xdist worker)."""

from __future__ import annotations

import pytest

from harness import start_sim


@pytest.fixture(scope="session")
def sim_process():
    with start_sim(time_scale=0.01) as sim:
        yield sim


@pytest.fixture
def sim(sim_process):
    """The session's simulator, reset to the default fleet with no faults before each test."""
    sim_process.reset(time_scale=0.01)
    sim_process.clear_faults()
    sim_process.begin()
    return sim_process
