# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: maintenance windows, pure.

A window opens at a local wall-clock time (``start``, ``HH:MM``) on some days of the week in a time zone and
stays open for ``duration`` of elapsed time, so a window may cross midnight (it belongs to the day it opens)
and lasts the same number of real hours on the nights the clocks change. A start that does not exist on a day
(the clocks jump over it) opens the window at the instant it would have been, which the clock shows one hour
later; a start that happens twice (the clocks go back) opens it at the first. Every function takes the
current time as an argument: the modules pass the real UTC time, the tests any instant they like.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # Python < 3.9: only UTC and fixed offsets
    ZoneInfo = None
    ZoneInfoNotFoundError = KeyError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DURATION = 7 * 86400
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_START_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_OFFSET_RE = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


def parse_duration(value, name):
    """(seconds, problem or None) of a duration such as ``4h``, ``90m``, ``1h30m``, ``45s``, ``2d`` or ``0``."""
    if isinstance(value, bool) or value is None:
        return 0, "%s must be a duration such as 4h, 90m or 1h30m, got %r" % (name, value)
    if isinstance(value, int) and value == 0:
        return 0, None
    text = str(value).strip().lower().replace(" ", "")
    if text == "0":
        return 0, None
    match = _DURATION_RE.match(text)
    if not text or not match or isinstance(value, (int, float)):
        return 0, "%s must be a duration with a unit such as 4h, 90m, 1h30m or 45s, got %r" % (name, value)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds, None


def show_duration(seconds):
    """``4h``, ``1h30m``, ``45s``, ``0s``: the shortest form of a whole number of seconds."""
    seconds = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts) or "0s"


def parse_timezone(value):
    """(tzinfo, problem or None) for ``UTC``, a fixed offset (``+08:00``, ``UTC-5``) or an IANA name."""
    text = str(value or "").strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc, None
    match = _OFFSET_RE.match(text.upper())
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None, "window.timezone offset %r is out of range (at most 14 hours)" % text
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta), None
    zone, problem = iana_zone(text)
    if problem:
        return None, "window.timezone %r %s; or give UTC or an offset such as +08:00" % (text, problem)
    return zone, None


def iana_zone(name):
    """(ZoneInfo, None) for an IANA time zone name such as ``Asia/Shanghai``, else (None, why not)."""
    if ZoneInfo is None:
        return None, "needs Python 3.9 or later (zoneinfo)"
    try:
        return ZoneInfo(name), None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None, ("is not a known time zone: give an IANA name such as Asia/Shanghai (if it is one, this host "
                      "has no time zone database: install the tzdata package)")


def parse_days(values):
    """(sorted weekday numbers, Monday = 0, problems) from names, three-letter names and ranges like mon-fri."""
    if values is None:
        return list(range(7)), []
    if not isinstance(values, (list, tuple)) or not values:
        return [], ["window.days must be a non-empty list of days such as [mon, tue] or [mon-fri]"]
    found, problems = set(), []
    for value in values:
        text = str(value).strip().lower()
        first, _dash, last = text.partition("-")
        a, b = _day_number(first), _day_number(last) if last else _day_number(first)
        if a is None or b is None:
            problems.append("window.days: %r is not a day (mon, tue, ... sun, a full name, or a range such as "
                            "mon-fri)" % value)
            continue
        day = a
        while True:
            found.add(day)
            if day == b:
                break
            day = (day + 1) % 7
    return sorted(found), problems


def _day_number(text):
    for names in (DAYS, DAY_NAMES):
        if text in names:
            return names.index(text)
    return None


class Window:
    """A validated maintenance window."""

    def __init__(self, hour, minute, duration, days, tz, tz_name):
        self.hour, self.minute = hour, minute
        self.duration = duration          # seconds of elapsed time
        self.days = days                  # weekday numbers the window opens on, Monday = 0
        self.tz, self.tz_name = tz, tz_name

    def opens_on(self, day):
        """The UTC instant the window opens on local date ``day``."""
        local = datetime(day.year, day.month, day.day, self.hour, self.minute, tzinfo=self.tz)
        return local.astimezone(timezone.utc)

    def occurrences(self, now):
        """(start, end) in UTC of every opening from a little before ``now`` to eight days after, in order."""
        today = now.astimezone(self.tz).date()
        back = self.duration // 86400 + 2
        result = []
        for offset in range(-back, 9):
            day = today + timedelta(days=offset)
            if day.weekday() in self.days:
                start = self.opens_on(day)
                result.append((start, start + timedelta(seconds=self.duration)))
        return result

    def local(self, moment):
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z").strip()


def window_problems(spec, margin):
    """(problems, Window or None, margin seconds) for the ``window`` option and ``window_margin``."""
    margin_seconds, margin_problem = parse_duration(margin, "window_margin")
    problems = [margin_problem] if margin_problem else []
    if spec is None:
        return problems, None, margin_seconds
    match = _START_RE.match(str(spec.get("start") or "").strip())
    if not match:
        problems.append("window.start must be a local time HH:MM (00:00 to 23:59), got %r" % spec.get("start"))
    duration, problem = parse_duration(spec.get("duration"), "window.duration")
    if problem:
        problems.append(problem)
    elif not 60 <= duration <= MAX_DURATION:
        problems.append("window.duration must be from 1m to 7d, got %s" % spec.get("duration"))
    elif not margin_problem and margin_seconds >= duration:
        problems.append("window_margin (%s) must be shorter than window.duration (%s), or no batch could ever "
                        "start" % (show_duration(margin_seconds), show_duration(duration)))
    days, day_problems = parse_days(spec.get("days"))
    problems.extend(day_problems)
    tz, tz_problem = parse_timezone(spec.get("timezone") or "UTC")
    if tz_problem:
        problems.append(tz_problem)
    if problems:
        return problems, None, margin_seconds
    window = Window(int(match.group(1)), int(match.group(2)), duration, days, tz, spec.get("timezone") or "UTC")
    return [], window, margin_seconds


def window_state(window, margin, now):
    """Where ``now`` (an aware datetime) stands in the window: a dict with ``open`` (batches may start now:
    inside an opening and more than ``margin`` seconds before its end), ``start``/``end`` (UTC ISO) of the
    opening ``now`` is in, else of the next one, ``stop_starting_at`` (``end`` minus the margin), the same
    three in local time, and ``seconds_left`` until ``stop_starting_at`` (0 when not open). Openings that
    overlap count as one."""
    now = now.astimezone(timezone.utc)
    spans = window.occurrences(now)
    merged = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    current = next((s for s in merged if s[0] <= now < s[1]), None)
    # Inside an opening but within its margin: the next opening is the one that matters.
    if current is not None and now >= current[1] - timedelta(seconds=margin):
        upcoming = next((s for s in merged if s[0] > now), None)
        inside_margin = True
    else:
        upcoming = current or next((s for s in merged if s[0] > now), None)
        inside_margin = False
    start, end = upcoming
    stop = end - timedelta(seconds=margin)
    is_open = current is not None and not inside_margin
    return dict(
        open=is_open, in_margin=inside_margin, start=_iso(start), end=_iso(end), stop_starting_at=_iso(stop),
        start_local=window.local(start), end_local=window.local(end), stop_starting_at_local=window.local(stop),
        timezone=window.tz_name, margin=show_duration(margin),
        seconds_left=max(0.0, (stop - now).total_seconds()) if is_open else 0.0,
        seconds_to_end=max(0.0, (end - now).total_seconds()) if is_open else 0.0,
        current_end_local=window.local(current[1]) if current else "",
    )


def _iso(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_api_time(text):
    """An API time (``2026-11-29T03:41:28Z``, with fractions of a second, or ``2026-11-20T02:00Z``) as an aware UTC
    datetime; None for an empty or unreadable value."""
    value = str(text or "").strip()
    if value.endswith("Z"):
        value = value[:-1]
    for layout in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def utc_now():
    """The real current time, aware, in UTC: what every window is judged against."""
    return datetime.now(timezone.utc)
