# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the compliance history of the patch_management role: one record per round, and the trend over rounds.

``ecs_compliance_record`` turns the role's report (the data behind its JSON report) into one JSON-lines record: when
the round ran, how long, the AWX job, regions and baselines, and counts only (no instance id, no credential).
``ecs_compliance_trend`` reads a history file's text (or an ``ansible.builtin.slurp`` result), skips lines that are
not such records with one warning, and returns the last rounds with an inline SVG chart of the compliant share and
the missing critical patches.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from html import escape

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

KIND = "alibabacloud.ecs_ops.patch_management.compliance"
VERSION = 1
COMPLIANCE_COUNTS = ("targets", "compliant", "non_compliant", "never_scanned", "missing_critical", "missing_important")
ROUND_COUNTS = ("installed", "failed", "deferred", "reboot_pending", "skipped")
SKIPPED_SHOWN = 5       # skipped lines named in the warning; the rest are counted
CHART_WIDTH = 720
CHART_HEIGHT = 200
PLOT = dict(left=48, right=48, top=14, bottom=34)

display = Display()


def _int(value):
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _compliance(totals):
    """The counts of one compliance summary (the role's ``before``/``after`` totals)."""
    totals = totals if isinstance(totals, Mapping) else {}
    severity = totals.get("missing_by_severity") if isinstance(totals.get("missing_by_severity"), Mapping) else {}
    return dict(targets=_int(totals.get("instances")), compliant=_int(totals.get("compliant")),
                non_compliant=_int(totals.get("non_compliant")), never_scanned=_int(totals.get("never_scanned")),
                missing_critical=_int(severity.get("critical")), missing_important=_int(severity.get("important")))


def ecs_compliance_record(report):
    """One history record of a round from the patch_management report (``_patch_management_report``).

    ``after`` is the compliance verify read after an install; a round that installed nothing (scan only, not
    approved, gate) has no such read and its ``after`` is its ``before`` (``verified: false``)."""
    if not isinstance(report, Mapping) or not isinstance(report.get("counts"), Mapping):
        raise AnsibleFilterError("ecs_compliance_record: expects the patch_management report (with counts)")
    run = report.get("run") if isinstance(report.get("run"), Mapping) else {}
    counts = report["counts"]
    before = _compliance(report.get("before"))
    verified = bool(report.get("after"))
    duration = run.get("duration_seconds")
    return dict(kind=KIND, version=VERSION, time=str(run.get("generated") or ""), started=str(run.get("started") or ""),
                duration_seconds=duration if isinstance(duration, int) else None,
                awx_job_id=str(run.get("awx_job_id") or ""), mode=str(report.get("mode") or ""),
                stage=str(report.get("stage") or ""), decision=str(report.get("decision") or ""),
                regions=[str(r) for r in run.get("regions") or []],
                baselines=[str(b) for b in report.get("baselines") or []], verified=verified,
                before=before, after=_compliance(report.get("after")) if verified else dict(before),
                round=dict(installed=_int(counts.get("succeeded")), failed=_int(counts.get("failed")),
                           deferred=_int(counts.get("deferred")), reboot_pending=_int(counts.get("reboot_pending")),
                           skipped=_int(counts.get("skipped"))))


def _is_count(value):
    """A whole number >= 0 (JSON true/false are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _problem(record):
    """Why a parsed line is not a record this filter can show (None: it is one)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("kind") != KIND:
        return "not a compliance record (kind %r)" % (record.get("kind"),)
    if record.get("version") != VERSION:
        return "unknown version %r" % (record.get("version"),)
    if not isinstance(record.get("time"), str) or not record["time"]:
        return "no time"
    for side in ("before", "after"):
        counts = record.get(side)
        if not isinstance(counts, dict) or not all(_is_count(counts.get(k)) for k in COMPLIANCE_COUNTS):
            return "%s counts missing or not numbers" % side
    if not isinstance(record.get("round"), dict):
        return "round counts missing"
    return None


def _lines(data):
    """The lines of a history file from its text, a list of lines, or an ``ansible.builtin.slurp`` result."""
    if isinstance(data, Mapping):
        content = data.get("content") or ""
        if data.get("encoding") == "base64":
            try:
                content = base64.b64decode(content).decode("utf-8", errors="replace")
            except ValueError as err:
                raise AnsibleFilterError("ecs_compliance_trend: unreadable slurp content: %s" % err)
        data = content
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if data is None:
        return []
    if isinstance(data, str):
        return data.splitlines()
    return [str(line) for line in data]


def _share(counts):
    return round(100.0 * counts["compliant"] / counts["targets"], 1) if counts["targets"] else None


def _shown(record):
    """A record as the report shows it: every field present with its type (a hand-written or older line may lack the
    optional ones), and the compliant share before and after."""
    duration = record.get("duration_seconds")
    counts = record["round"]
    entry = dict(record, duration_seconds=duration if _is_count(duration) else None,
                 round={k: _int(counts.get(k)) for k in ROUND_COUNTS},
                 share_before=_share(record["before"]), share_after=_share(record["after"]))
    for key in ("started", "awx_job_id", "mode", "stage", "decision"):
        entry[key] = record[key] if isinstance(record.get(key), str) else ""
    for key in ("regions", "baselines"):
        entry[key] = [str(v) for v in record[key]] if isinstance(record.get(key), list) else []
    entry["verified"] = bool(record.get("verified"))
    return entry


def ecs_compliance_trend(data, rounds=10, source="compliance history"):
    """The last ``rounds`` records of a compliance history, oldest first, with the compliant share after each round,
    the number of records read and the lines skipped (empty lines are ignored; any other line that is not a
    record of this version - broken JSON, another tool's line, a truncated write - is skipped with one warning
    naming ``source``) and ``svg``, an inline chart of them."""
    try:
        rounds = int(rounds)
    except (TypeError, ValueError):
        raise AnsibleFilterError("ecs_compliance_trend: rounds must be a number, got %r" % (rounds,))
    if rounds < 1:
        raise AnsibleFilterError("ecs_compliance_trend: rounds must be at least 1, got %d" % rounds)
    records, skipped = [], []
    for number, line in enumerate(_lines(data), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            problem, record = "not JSON", None
        else:
            problem = _problem(record)
        if problem:
            skipped.append(dict(line=number, reason=problem))
        else:
            records.append(record)
    if skipped:
        named = "; ".join("line %d: %s" % (s["line"], s["reason"]) for s in skipped[:SKIPPED_SHOWN])
        more = " and %d more" % (len(skipped) - SKIPPED_SHOWN) if len(skipped) > SKIPPED_SHOWN else ""
        display.warning("%s: skipped %d line(s) that are not compliance records (%s%s)" % (source, len(skipped), named, more))
    shown = [_shown(record) for record in records[-rounds:]]
    return dict(records=len(records), rounds=shown, skipped=skipped, svg=_chart(shown))


def _chart(rounds):
    """An inline SVG (no script, no external resource): the compliant share after each round as a line (left axis,
    0-100 %) and the missing critical patches after it as bars (right axis). Empty without rounds."""
    if not rounds:
        return ""
    width = CHART_WIDTH - PLOT["left"] - PLOT["right"]
    height = CHART_HEIGHT - PLOT["top"] - PLOT["bottom"]
    bottom = PLOT["top"] + height
    step = width / len(rounds)
    peak = max([r["after"]["missing_critical"] for r in rounds] + [1])
    label = "compliance over %d round(s): " % len(rounds) + "; ".join(
        "%s %s compliant, %d missing critical" % (
            r["time"], "n/a" if r["share_after"] is None else "%s %%" % r["share_after"], r["after"]["missing_critical"])
        for r in rounds)
    parts = ['<svg class="trend" viewBox="0 0 %d %d" role="img" aria-label="%s">' % (CHART_WIDTH, CHART_HEIGHT, escape(label))]
    for percent in (0, 50, 100):
        y = bottom - height * percent / 100.0
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d7de" stroke-width="1"/>'
                     % (PLOT["left"], y, PLOT["left"] + width, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11" font-family="sans-serif" fill="#1a7f37">%d %%</text>'
                     % (PLOT["left"] - 6, y + 4, percent))
    for value in sorted({0, peak}):
        y = bottom - height * value / float(peak)
        parts.append('<text x="%d" y="%.1f" font-size="11" font-family="sans-serif" fill="#cf222e">%d</text>'
                     % (PLOT["left"] + width + 6, y + 4, value))
    points, dots = [], []
    for index, entry in enumerate(rounds):
        centre = PLOT["left"] + step * (index + 0.5)
        critical = entry["after"]["missing_critical"]
        bar_height = height * critical / float(peak)
        bar_width = min(step * 0.5, 28)
        parts.append('<rect class="critical" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#cf222e" fill-opacity="0.35">'
                     '<title>%s: %d missing critical</title></rect>'
                     % (centre - bar_width / 2, bottom - bar_height, bar_width, bar_height, escape(entry["time"]), critical))
        if entry["share_after"] is not None:
            y = bottom - height * entry["share_after"] / 100.0
            points.append("%.1f,%.1f" % (centre, y))
            dots.append('<circle class="share" cx="%.1f" cy="%.1f" r="4" fill="#1a7f37"><title>%s: %s %% compliant</title></circle>'
                        % (centre, y, escape(entry["time"]), entry["share_after"]))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10" font-family="sans-serif" fill="#59636e">%s</text>'
                     % (centre, bottom + 14, escape(entry["time"][5:16].replace("T", " "))))
    if len(points) > 1:
        parts.append('<polyline points="%s" fill="none" stroke="#1a7f37" stroke-width="2"/>' % " ".join(points))
    parts += dots + ["</svg>"]
    return "\n".join(parts)


class FilterModule:
    def filters(self):
        return {"ecs_compliance_record": ecs_compliance_record, "ecs_compliance_trend": ecs_compliance_trend}
