"""Maintenance windows (_window), pure: every instant is given explicitly."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _window as window_mod
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import (
    parse_days,
    parse_duration,
    show_duration,
    window_problems,
    window_state,
)


def at(text):
    """An aware UTC instant from ``YYYY-MM-DD HH:MM``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)


def window(margin="15m", **spec):
    problems, result, margin_seconds = window_problems(dict(dict(timezone="UTC"), **spec), margin)
    assert problems == []
    return result, margin_seconds


def state(now, margin="15m", **spec):
    result, margin_seconds = window(margin, **spec)
    return window_state(result, margin_seconds, at(now))


@pytest.mark.parametrize("text, seconds", [("4h", 14400), ("90m", 5400), ("1h30m", 5400), ("45s", 45),
                                           ("2d", 172800), ("0", 0), (0, 0), ("1H 30M", 5400)])
def test_durations(text, seconds):
    assert parse_duration(text, "d") == (seconds, None)
    assert show_duration(seconds) == (str(text).lower().replace(" ", "") if seconds and text != "90m" else
                                      {0: "0s", 5400: "1h30m"}[seconds])


@pytest.mark.parametrize("text", ["240", 240, "4 hours", "h", "", None, True, "1h30", "-1h"])
def test_durations_need_a_unit(text):
    seconds, problem = parse_duration(text, "window.duration")
    assert problem and "window.duration" in problem


def test_days_names_and_ranges():
    assert parse_days(None) == (list(range(7)), [])
    assert parse_days(["mon-fri"]) == ([0, 1, 2, 3, 4], [])
    assert parse_days(["Fri-Mon", "wednesday"]) == ([0, 2, 4, 5, 6], [])
    assert parse_days(["funday"])[1] == ["window.days: 'funday' is not a day (mon, tue, ... sun, a full name, or a "
                                         "range such as mon-fri)"]
    assert parse_days([])[1]


def test_every_problem_at_once_before_any_call():
    problems, result, _margin = window_problems(
        dict(start="25:00", duration="240", days=["mon", "xyz"], timezone="Mars/Olympus"), "1 hour")
    assert result is None
    text = " | ".join(problems)
    for part in ("window.start must be a local time HH:MM", "window.duration must be a duration with a unit",
                 "'xyz' is not a day", "'Mars/Olympus' is not a known time zone", "window_margin must be"):
        assert part in text, text
    problems = window_problems(dict(start="22:00", duration="30m", timezone="UTC"), "30m")[0]
    assert problems == ["window_margin (30m) must be shorter than window.duration (30m), or no batch could ever start"]
    assert "from 1m to 7d" in window_problems(dict(start="22:00", duration="8d"), "0")[0][0]
    assert "at most 14 hours" in window_problems(dict(start="22:00", duration="1h", timezone="+15:00"), "0")[0][0]


def test_a_window_crossing_midnight_belongs_to_the_day_it_opens():
    spec = dict(start="22:00", duration="4h", days=["mon"])   # 2026-11-30 is a Monday
    inside = state("2026-12-01 01:00", **spec)               # Tuesday 01:00: still Monday's window
    assert inside["open"] and inside["start"] == "2026-11-30T22:00:00Z" and inside["end"] == "2026-12-01T02:00:00Z"
    assert inside["stop_starting_at"] == "2026-12-01T01:45:00Z" and inside["seconds_left"] == 45 * 60
    assert inside["seconds_to_end"] == 3600
    after = state("2026-12-01 23:00", **spec)                # Tuesday 23:00: Tuesday is not a window day
    assert not after["open"] and after["start"] == "2026-12-07T22:00:00Z" and after["seconds_left"] == 0
    before = state("2026-11-30 21:59", **spec)
    assert not before["open"] and before["start"] == "2026-11-30T22:00:00Z"


def test_the_margin_closes_the_window_early_for_new_batches():
    spec = dict(start="22:00", duration="4h")
    edge = state("2026-12-01 01:46", **spec)
    assert not edge["open"] and edge["in_margin"]
    assert edge["current_end_local"] == "2026-12-01 02:00 UTC"
    assert edge["start"] == "2026-12-01T22:00:00Z"            # the next opening
    assert state("2026-12-01 01:44", **spec)["open"]
    assert state("2026-12-01 01:46", margin="0", **spec)["open"]


def test_a_time_zone_moves_the_window():
    shanghai = state("2026-12-01 15:00", start="22:00", duration="4h", timezone="Asia/Shanghai")
    assert shanghai["open"] and shanghai["start"] == "2026-12-01T14:00:00Z"
    assert shanghai["start_local"] == "2026-12-01 22:00 CST" and shanghai["timezone"] == "Asia/Shanghai"
    offset = state("2026-12-01 15:00", start="22:00", duration="4h", timezone="+08:00")
    assert offset["start"] == "2026-12-01T14:00:00Z"


def test_spring_forward_a_start_that_does_not_exist_opens_an_hour_later_on_the_clock():
    spec = dict(start="02:30", duration="2h", timezone="America/New_York")
    night = state("2026-03-08 06:00", **spec)     # 01:00 EST on the night the clocks jump from 02:00 to 03:00
    assert night["start"] == "2026-03-08T07:30:00Z" and night["start_local"] == "2026-03-08 03:30 EDT"
    assert night["end"] == "2026-03-08T09:30:00Z"
    normal = state("2026-03-10 06:00", **spec)
    assert normal["start"] == "2026-03-10T06:30:00Z"     # 02:30 EDT


def test_fall_back_a_start_that_happens_twice_opens_at_the_first_and_lasts_its_elapsed_duration():
    spec = dict(start="01:30", duration="1h", timezone="America/New_York")
    night = state("2026-11-01 05:00", **spec)
    assert night["start"] == "2026-11-01T05:30:00Z" and night["start_local"] == "2026-11-01 01:30 EDT"
    assert night["end"] == "2026-11-01T06:30:00Z" and night["end_local"] == "2026-11-01 01:30 EST"


def test_a_window_over_a_dst_change_lasts_its_elapsed_hours():
    # Berlin, night of 2026-03-29: 02:00 CET becomes 03:00 CEST. A 4h window from 01:00 ends at 06:00 on the clock.
    berlin = state("2026-03-29 01:00", start="01:00", duration="4h", timezone="Europe/Berlin")
    assert berlin["open"] and berlin["start"] == "2026-03-29T00:00:00Z" and berlin["end"] == "2026-03-29T04:00:00Z"
    assert berlin["end_local"] == "2026-03-29 06:00 CEST"


def test_overlapping_openings_count_as_one():
    weekend = state("2026-12-06 10:00", start="00:00", duration="36h", days=["sat", "sun"])
    assert weekend["open"] and weekend["start"] == "2026-12-05T00:00:00Z" and weekend["end"] == "2026-12-07T12:00:00Z"


def test_without_zoneinfo_only_utc_and_offsets(monkeypatch):
    monkeypatch.setattr(window_mod, "ZoneInfo", None)
    assert "needs Python 3.9" in window_problems(dict(start="22:00", duration="1h", timezone="Asia/Shanghai"), "0")[0][0]
    assert window_problems(dict(start="22:00", duration="1h", timezone="UTC+8"), "0")[0] == []
