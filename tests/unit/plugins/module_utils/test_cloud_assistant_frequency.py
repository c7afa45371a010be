"""The Frequency of a scheduled Cloud Assistant invocation (pure): forms, time zones, cron fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils import _window
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import frequency as freq


def test_rate_seconds_and_kind():
    assert freq.rate_seconds("rate(5m)") == 300 and freq.rate_seconds(" rate(2h) ") == 7200
    assert freq.rate_seconds("at(2026-01-01 00:00:00)") is None and freq.rate_seconds("0 */20 * * * ?") is None
    assert [freq.kind(f) for f in ("rate(5m)", "at(2026-01-01 00:00:00)", "0 0 3 * * ?", "")] == [
        "rate", "at", "cron", "cron"]


@pytest.mark.parametrize("frequency, parts", [
    ("rate(5m)", ("rate(5m)", "")),
    ("at(2026-06-06 13:15:30)", ("at(2026-06-06 13:15:30)", "")),
    ("at(2026-06-06 13:15:30 Asia/Shanghai)", ("at(2026-06-06 13:15:30)", "Asia/Shanghai")),
    ("0 15 10 ? * *", ("0 15 10 ? * *", "")),
    ("0 15 10 ? * * 2027", ("0 15 10 ? * * 2027", "")),
    ("0 15 10 ? * * UTC", ("0 15 10 ? * *", "UTC")),
    ("0  0/30 10-11 * * ? 2027 GMT+8:00 ", ("0 0/30 10-11 * * ? 2027", "GMT+8:00")),
])
def test_split_zone_and_back(frequency, parts):
    assert freq.split_zone(frequency) == parts
    assert freq.with_zone(*parts) == " ".join(frequency.split())


@pytest.mark.parametrize("zone, offset", [
    ("UTC", 0), ("GMT+8:00", 8 * 60), ("GMT-7:00", -7 * 60), ("GMT+5:30", 5 * 60 + 30), ("GMT+0:00", 0),
    ("Asia/Shanghai", 8 * 60), ("Etc/GMT+8", -8 * 60),
])
def test_documented_time_zone_forms(zone, offset):
    tzinfo, problem = freq.zone_info(zone)
    assert problem is None
    assert tzinfo.utcoffset(datetime(2026, 1, 15)) == timedelta(minutes=offset)


@pytest.mark.parametrize("zone, message", [
    ("GMT+08:00", "no leading zero in the hour (GMT+8:00)"),
    ("GMT+15:00", "out of range"),
    ("GMT+8", "is not one the API takes"),
    ("CST", "is not one the API takes"),
    ("EST", "is not one the API takes"),           # known to the tz database, but only UTC is taken
    ("Mars/Olympus", "is not a known time zone"),
])
def test_other_time_zones(zone, message):
    tzinfo, problem = freq.zone_info(zone)
    assert tzinfo is None and message in problem


def test_without_zoneinfo_names_are_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(_window, "ZoneInfo", None)
    assert "needs Python 3.9" in freq.zone_info("Asia/Shanghai")[1]
    assert freq.zone_info("GMT+8:00")[1] is None and freq.zone_info("UTC")[1] is None


def test_at_instant():
    utc = timezone.utc
    assert freq.at_instant("at(2026-06-06 13:15:30)") == datetime(2026, 6, 6, 13, 15, 30, tzinfo=utc)
    assert freq.at_instant("at(2026-06-06 13:15:30 Asia/Shanghai)") == datetime(2026, 6, 6, 5, 15, 30, tzinfo=utc)
    assert freq.at_instant("at(2026-06-06 13:15:30 GMT-7:00)") == datetime(2026, 6, 6, 20, 15, 30, tzinfo=utc)
    assert freq.at_instant("at(2026-02-30 00:00:00)") is None and freq.at_instant("rate(5m)") is None
    assert freq.at_instant("at(2026-06-06 13:15:30 Nowhere)") is None


DOCUMENTED = [      # RunCommand's and the cron page's own examples (years moved to the future)
    "rate(5m)", "at(2027-06-06 13:15:30 Asia/Shanghai)", "at(2027-06-06 13:15:30 GMT-7:00)",
    "0 15 10 ? * * 2027 Asia/Shanghai", "0 0/30 10-11 * * ? 2027 GMT+8:00", "0 0/5 14 * 10 ? 2022/2 UTC",
    "0 15 10 ? * *", "0 15 10 * * ?", "0 0 10,14,16 * * ?", "0 0/30 9-17 * * ?", "0 * 14 * * ?", "0 0-5 14 * * ?",
    "0 0/5 14,18 * * ?", "0 0 12 ? * WED", "0 15 10 15 * ?", "0 15 10 L * ?", "0 15 10 ? * 6L", "0 15 10 ? * 6#3",
    "0 10,44 14 ? 3 WED", "0 15 8 ? * * 2027", "0 15 08 ? * * 2027", "0 0 12 LW * ?", "0 0 12 15W * ?",
    "0 0 3 ? * mon-fri", "0 0 22-2 * * ?", "0 0 0 ? JAN-MAR 1,7",
]


@pytest.mark.parametrize("frequency", DOCUMENTED)
def test_documented_frequencies_pass(frequency):
    assert freq.frequency_problems(frequency, 60, 2026) == []


@pytest.mark.parametrize("frequency, message", [
    ("rate(0m)", "between 60 seconds"),
    ("rate(59s)", "between 60 seconds"),
    ("rate(8d)", "between 60 seconds"),
    ("rate(5 m)", "is not rate(N<s|m|h|d>)"),
    ("at(2026-13-01 00:00:00)", "with a real date and time"),
    ("at(tomorrow)", "with a real date and time"),
    ("at(2027-06-06 13:15:30 GMT+08:00)", "no leading zero"),
    ("0 30 2 * *", "or a cron expression"),
    ("0 0 3 * * ? 2027 UTC extra", "or a cron expression"),
    ("60 0 3 * * ?", "second 60 is out of range 0-59"),
    ("0 61 3 * * ?", "minute 61 is out of range 0-59"),
    ("0 0 24 * * ?", "hour 24 is out of range 0-23"),
    ("0 0 3 32 * ?", "day of month 32 is out of range 1-31"),
    ("0 0 3 0 * ?", "day of month 0 is out of range 1-31"),
    ("0 0 3 ? 13 *", "month 13 is out of range 1-12"),
    ("0 0 3 ? FOO *", "'FOO' is not a month (JAN-DEC or 1-12)"),
    ("0 0 3 ? * 8", "day of week 8 is out of range 1-7"),
    ("0 0 3 ? * SUNDAY", "'SUNDAY' is not a day of week"),
    ("0 0 3 ? * 2#6", "#6 must be #1 to #5"),
    ("0 0 3 * * ? 2100", "year 2100 is out of range 1970-2099"),
    ("0 0 3 * * ? 2020", "names no year from 2026 on"),
    ("0 0 008 * * ?", "more than one leading zero"),
    ("0 0 3 ?,1 * *", "? stands alone"),
    ("0 0 3 L ? *", "'?' is not a month"),
    ("0 0 3 * * L#2", "is not a day of week"),
    ("0 0 3 1W * ?", None),
    ("0 0 3 ? * 3W", "is not a day of week"),
    ("0 0/0 3 * * ?", "step /0 must be a number from 1 to 59"),
    ("0 0 3 * ? 1W", "is not a day of week"),
    ("* * * * * ?", "two runs can be 1 second(s) apart"),
    ("0 * * * * ?", None),
    ("0 0 3 * * ? Mars/Olympus", "is not a known time zone"),
    ("0 0 3 * * ? PST", "is not one the API takes"),
])
def test_bad_frequencies(frequency, message):
    problems = freq.frequency_problems(frequency, 60, 2026)
    if message is None:
        assert problems == []
    else:
        assert any(message in p for p in problems), problems


def test_the_interval_is_checked_against_the_timeout():
    assert freq.frequency_problems("0 */5 * * * ?", 300, 2026) == []
    assert "at least the timeout (301 seconds)" in freq.frequency_problems("0 */5 * * * ?", 301, 2026)[0]
    assert freq.frequency_problems("0 0 23,0 * * ?", 3600, 2026) == []     # 23:00 to 00:00 the next day
    assert freq.frequency_problems("0 0 23,0 * * ?", 3601, 2026) != []
    assert freq.frequency_problems("0,10 0 3 * * ?", 10, 2026) == []       # 10 seconds is allowed
    assert freq.frequency_problems("0,9 0 3 * * ?", None, 2026) != []      # 9 is not, whatever the timeout
    assert freq.frequency_problems("rate(5m)", 301, 2026) != []
