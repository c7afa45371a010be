# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the ``Frequency`` of a periodic Cloud Assistant invocation (pure).

Three forms, as RunCommand, InvokeCommand and ModifyInvocationAttribute document them:

- ``rate(<n><s|m|h|d>)``: every period, 60 seconds to 7 days and not shorter than the timeout; the first run is
  one period after the invocation was created, and the next run is computed from the creation time;
- ``at(yyyy-MM-dd HH:mm:ss [time zone])``: once; without a time zone, UTC;
- ``<seconds> <minutes> <hours> <day of month> <month> <day of week> [year] [time zone]``: a cron expression
  with the fields of Cloud Assistant's cron page (day of week 1-7 is Monday to Sunday, at most one leading zero,
  a year from the current one to 2099); without a time zone, the instance's system time zone.

A time zone is an IANA name (``Asia/Shanghai``), an offset from GMT with no leading zero in the hour
(``GMT+8:00``, ``GMT-7:00``) or ``UTC``, the only abbreviation taken. The interval between two runs must be at
least the timeout and at least 10 seconds.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import iana_zone

RATE_RE = re.compile(r"^rate\((\d+)([smhd])\)$")
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
AT_RE = re.compile(r"^at\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?: (\S+))?\)$")
GMT_RE = re.compile(r"^GMT([+-])(\d{1,2}):(\d{2})$")
YEAR_RE = re.compile(r"^[0-9*,/-]+$")
MIN_RATE = 60
MAX_RATE = 7 * 86400
MIN_INTERVAL = 10
MAX_YEAR = 2099
ZONE_FORMS = "an IANA name such as Asia/Shanghai, an offset such as GMT+8:00 (no leading zero in the hour) or UTC"

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# name, lowest, highest, names (of 1..n), the special items the field takes beside * , - /: ? alone, L (last),
# LW (last weekday), nW (the weekday nearest day n), nL (the last weekday n of the month), n#k (its k-th)
CRON_FIELDS = (("second", 0, 59, (), ()), ("minute", 0, 59, (), ()), ("hour", 0, 23, (), ()),
               ("day of month", 1, 31, (), ("?", "L", "LW", "nW")), ("month", 1, 12, MONTHS, ()),
               ("day of week", 1, 7, WEEKDAYS, ("?", "L", "nL", "n#")), ("year", 1970, MAX_YEAR, (), ()))


def rate_seconds(frequency):
    """The period of a ``rate(N<unit>)`` frequency in seconds, or None for ``at()``/cron."""
    match = RATE_RE.match((frequency or "").strip())
    return int(match.group(1)) * RATE_UNITS[match.group(2)] if match else None


def kind(frequency):
    """``rate``, ``at`` or ``cron`` (anything else)."""
    text = (frequency or "").strip()
    if text.startswith("rate("):
        return "rate"
    return "at" if text.startswith("at(") else "cron"


def split_zone(frequency):
    """(the frequency without its time zone, the time zone or ''). A rate has none."""
    text = " ".join((frequency or "").split())
    match = AT_RE.match(text)
    if match:
        return "at(%s)" % match.group(1), match.group(2) or ""
    if kind(text) != "cron":
        return text, ""
    fields = text.split(" ")
    if len(fields) == 8 or (len(fields) == 7 and not YEAR_RE.match(fields[6])):
        return " ".join(fields[:-1]), fields[-1]
    return text, ""


def with_zone(frequency, zone):
    """``frequency`` (without a time zone) in ``zone``: ``at(... zone)``, or the zone after a cron expression."""
    if not zone:
        return frequency
    if frequency.startswith("at("):
        return frequency[:-1] + " " + zone + ")"
    return frequency + " " + zone


def zone_info(zone):
    """(tzinfo, problem or None) for a time zone of a Frequency."""
    if zone == "UTC":
        return timezone.utc, None
    match = GMT_RE.match(zone)
    if match:
        sign, hours, minutes = match.groups()
        if len(hours) > 1 and hours.startswith("0"):
            return None, "time zone %s: no leading zero in the hour (GMT%s%d:%s)" % (zone, sign, int(hours), minutes)
        if int(hours) > 14 or int(minutes) > 59:
            return None, "time zone %s is out of range (at most 14 hours)" % zone
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta), None
    if "/" not in zone:
        return None, "time zone %r is not one the API takes: %s" % (zone, ZONE_FORMS)
    tzinfo, problem = iana_zone(zone)
    return tzinfo, problem and "time zone %r %s" % (zone, problem)


def at_instant(frequency):
    """The instant (aware, UTC) an ``at()`` frequency names, or None (not an at(), or not a valid one)."""
    expression, zone = split_zone(frequency)
    match = AT_RE.match(expression)
    if not match:
        return None
    tzinfo, problem = zone_info(zone) if zone else (timezone.utc, None)
    if problem:
        return None
    try:
        local = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=tzinfo).astimezone(timezone.utc)


def frequency_problems(frequency, timeout=None, year=None):
    """The problems of a ``Frequency`` (time zone included), for a task of ``timeout`` seconds; ``year`` is the
    current year (a cron year field naming only earlier years never runs)."""
    text = " ".join((frequency or "").split())
    form = kind(text)
    if form == "rate":
        period = rate_seconds(text)
        if period is None:
            return ["frequency %r is not rate(N<s|m|h|d>)" % frequency]
        if not max(MIN_RATE, timeout or 0) <= period <= MAX_RATE:
            return ["frequency %s must be between 60 seconds (and the timeout) and 7 days" % text]
        return []
    expression, zone = split_zone(text)
    problems = []
    if zone:
        problem = zone_info(zone)[1]
        if problem:
            problems.append("frequency %r: %s" % (frequency, problem))
    if form == "at":
        if not AT_RE.match(expression) or at_instant(with_zone(expression, "UTC")) is None:
            problems.append("frequency %r is not at(YYYY-MM-DD hh:mm:ss [time zone]) with a real date and time"
                            % frequency)
        return problems
    fields = expression.split(" ")
    if not 6 <= len(fields) <= 7:
        return ["frequency %r is not rate(N<s|m|h|d>), at(YYYY-MM-DD hh:mm:ss [time zone]) or a cron expression "
                "(seconds minutes hours day-of-month month day-of-week [year] [time zone])" % frequency]
    problems.extend("frequency %r: %s" % (frequency, p) for p in cron_problems(fields, timeout, year))
    return problems


def cron_problems(fields, timeout=None, year=None):
    """The problems of the fields of a cron expression (6 or 7)."""
    problems = []
    values = []
    for text, (name, low, high, names, special) in zip(fields, CRON_FIELDS):
        found, problem = _field_values(text, name, low, high, names, special)
        if problem:
            problems.append(problem)
        values.append(found)
    if problems:
        return problems
    if len(fields) == 7 and year is not None and max(values[6]) < year:
        problems.append("the year field %s names no year from %d on: it would never run" % (fields[6], year))
    interval = _shortest_interval(values[0], values[1], values[2])
    if interval < max(MIN_INTERVAL, timeout or 0):
        problems.append("two runs can be %d second(s) apart; the interval must be at least the timeout (%d "
                        "seconds) and 10 seconds" % (interval, timeout or 0))
    return problems


def _field_values(text, name, low, high, names, special):
    """(the set of plain values the field matches, problem or None); special items (? L W #) add none."""
    values = set()
    for item in text.split(","):
        found, problem = _item_values(item, name, low, high, names, special)
        if problem:
            return values, "%s field %r: %s" % (name, text, problem)
        values |= found
    if "?" in text and text != "?":
        return values, "%s field %r: ? stands alone" % (name, text)
    return values, None


def _item_values(item, name, low, high, names, special):
    upper = item.upper()
    if item == "*" or (item == "?" and "?" in special):
        return set(range(low, high + 1)) if item == "*" else set(), None
    if upper in ("L", "LW") and upper in special:
        return set(), None
    if "nW" in special and upper.endswith("W"):
        return set(), _number_problem(item[:-1], low, high, name)
    if "nL" in special and upper.endswith("L"):
        return set(), _value(item[:-1], low, high, names, name)[1]
    if "n#" in special and "#" in item:
        day, _sep, nth = item.partition("#")
        problem = _value(day, low, high, names, name)[1]
        return set(), problem or (None if nth in ("1", "2", "3", "4", "5") else "#%s must be #1 to #5" % nth)
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and 1 <= int(step) <= high):
        return set(), "step /%s must be a number from 1 to %d" % (step, high)
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _sep, last = base.partition("-")
        start, problem = _value(first, low, high, names, name)
        end, problem = (None, problem) if problem else _value(last, low, high, names, name)
        if problem:
            return set(), problem
    else:
        start, problem = _value(base, low, high, names, name)
        if problem:
            return set(), problem
        end = high if slash else start
    span = list(range(start, end + 1)) if start <= end else list(range(start, high + 1)) + list(range(low, end + 1))
    return set(span[::int(step)] if slash else span), None


def _value(text, low, high, names, name):
    if names and text.upper() in names:
        return names.index(text.upper()) + 1, None
    if not text.isdigit():
        forms = "%s-%s or %d-%d" % (names[0], names[-1], low, high) if names else "%d-%d" % (low, high)
        return None, "%r is not a %s (%s)" % (text, name, forms)
    return int(text), _number_problem(text, low, high, name)


def _number_problem(text, low, high, name):
    if not text.isdigit():
        return "%r is not a %s number" % (text, name)
    if len(text) > max(2, len(str(high))):
        return "%s has more than one leading zero" % text
    if not low <= int(text) <= high:
        return "%s %s is out of range %d-%d" % (name, text, low, high)
    return None


def _shortest_interval(seconds, minutes, hours):
    """The shortest time between two runs within a day, the wrap to the next day included (seconds)."""
    times = sorted(h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds)
    if len(times) < 2:
        return 86400
    gaps = [b - a for a, b in zip(times, times[1:])]
    return min(gaps + [times[0] + 86400 - times[-1]])
