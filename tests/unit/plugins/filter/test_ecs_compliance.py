"""The compliance history filters: one record per round, the trend over rounds; and the role's line appender."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alibabacloud.ecs_ops.plugins.filter import ecs_compliance
from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_compliance import (
    KIND,
    ecs_compliance_record,
    ecs_compliance_trend,
)

APPEND = Path(__file__).resolve().parents[4] / "roles" / "patch_management" / "files" / "append_line.py"


def totals(instances, compliant, critical=0, important=0, never=0):
    return dict(instances=instances, compliant=compliant, non_compliant=instances - compliant - never,
                never_scanned=never, reboot_required=0, missing=critical + important, failed=0,
                missing_by_severity=dict(critical=critical, important=important, moderate=1, low=0, other=0))


def report(before, after=None, **counts):
    base = dict(targets=4, not_ready=0, compliant=0, non_compliant=0, never_scanned=0, succeeded=0, failed=0,
                deferred=0, reboot_pending=0, skipped=0)
    base.update(counts)
    return dict(run=dict(generated="2026-11-28T22:10:00Z", started="2026-11-28T22:00:00Z", duration_seconds=600,
                         regions=["cn-hangzhou", "cn-shanghai"], awx_job_id="77", account="prod", play="Patch",
                         playbook_dir="/runner/project"),
                stage="verified", mode="install", decision="approved: installing on the 3 non-compliant instance(s)",
                baselines=["alinux3-security"], counts=base, before=before, after=after or {},
                instances=[dict(instance_id="i-secret1", region="cn-hangzhou", missing_patches=["kernel"])],
                install_results={"i-secret1": dict(result="succeeded", snapshot_ids=["s-1"])},
                hosts={"i-secret1": dict(name="web-1", os_name="Linux")})


def line(record):
    return json.dumps(record)


def test_a_record_has_the_round_and_counts_before_and_after_and_nothing_per_instance():
    record = ecs_compliance_record(report(totals(4, 1, critical=5, important=2), totals(4, 3, critical=1),
                                          succeeded=2, failed=1, deferred=1, reboot_pending=2, skipped=1))
    assert record == dict(
        kind=KIND, version=1, time="2026-11-28T22:10:00Z", started="2026-11-28T22:00:00Z", duration_seconds=600,
        awx_job_id="77", mode="install", stage="verified", decision="approved: installing on the 3 non-compliant instance(s)",
        regions=["cn-hangzhou", "cn-shanghai"], baselines=["alinux3-security"], verified=True,
        before=dict(targets=4, compliant=1, non_compliant=3, never_scanned=0, missing_critical=5, missing_important=2),
        after=dict(targets=4, compliant=3, non_compliant=1, never_scanned=0, missing_critical=1, missing_important=0),
        round=dict(installed=2, failed=1, deferred=1, reboot_pending=2, skipped=1))
    text = json.dumps(record)
    assert "i-secret1" not in text and "web-1" not in text and "kernel" not in text and "s-1" not in text
    assert "prod" not in text and "/runner/project" not in text and "\n" not in text


def test_a_round_without_an_install_repeats_its_before_as_after():
    record = ecs_compliance_record(report(totals(4, 2, critical=3, never=1)))
    assert not record["verified"] and record["after"] == record["before"]
    assert record["before"]["never_scanned"] == 1 and record["before"]["non_compliant"] == 1


def test_a_record_needs_the_report():
    with pytest.raises(AnsibleFilterError, match="expects the patch_management report"):
        ecs_compliance_record({"stage": "verified"})


def test_a_missing_duration_stays_unknown():
    data = report(totals(1, 1))
    data["run"]["duration_seconds"] = None
    assert ecs_compliance_record(data)["duration_seconds"] is None


def history(*shares):
    """Records of rounds with the given compliant counts (of 4) after each round, a day apart."""
    lines = []
    for day, compliant in enumerate(shares, start=1):
        record = ecs_compliance_record(report(totals(4, 0, critical=4), totals(4, compliant, critical=4 - compliant),
                                              succeeded=compliant))
        record["time"] = "2026-11-%02dT22:00:00Z" % day
        lines.append(line(record))
    return lines


def test_the_trend_keeps_the_last_rounds_oldest_first_with_the_compliant_share():
    trend = ecs_compliance_trend("\n".join(history(1, 2, 3, 4)) + "\n", rounds=3)
    assert trend["records"] == 4 and trend["skipped"] == []
    assert [r["time"][:10] for r in trend["rounds"]] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert [r["share_after"] for r in trend["rounds"]] == [50.0, 75.0, 100.0]
    assert [r["share_before"] for r in trend["rounds"]] == [0.0, 0.0, 0.0]


def test_corrupt_and_foreign_lines_are_skipped_with_one_warning(monkeypatch):
    warnings = []
    monkeypatch.setattr(ecs_compliance.display, "warning", warnings.append)
    good = history(2, 4)
    bad_counts = json.loads(good[0])
    bad_counts["after"]["compliant"] = "many"
    newer = dict(json.loads(good[0]), version=2)
    lines = [good[0], '{"kind": "alibabacloud.ecs_ops.patch_management.compl', "", "[1, 2]",
             json.dumps({"kind": "other.tool", "version": 1}), json.dumps(bad_counts), json.dumps(newer),
             "   ", good[1][: len(good[1]) // 2], good[1]]
    trend = ecs_compliance_trend("\n".join(lines), source="/reports/h.jsonl")
    assert trend["records"] == 2 and [r["share_after"] for r in trend["rounds"]] == [50.0, 100.0]
    assert trend["skipped"] == [dict(line=2, reason="not JSON"), dict(line=4, reason="not a JSON object"),
                                dict(line=5, reason="not a compliance record (kind 'other.tool')"),
                                dict(line=6, reason="after counts missing or not numbers"),
                                dict(line=7, reason="unknown version 2"), dict(line=9, reason="not JSON")]
    assert len(warnings) == 1
    assert warnings[0].startswith("/reports/h.jsonl: skipped 6 line(s) that are not compliance records (line 2: not JSON;")
    assert warnings[0].endswith("and 1 more)")


def test_a_clean_history_warns_nothing(monkeypatch):
    warnings = []
    monkeypatch.setattr(ecs_compliance.display, "warning", warnings.append)
    assert ecs_compliance_trend(history(4))["records"] == 1 and warnings == []


def test_the_trend_reads_a_slurp_result_even_with_bytes_that_are_not_utf8(monkeypatch):
    monkeypatch.setattr(ecs_compliance.display, "warning", lambda msg: None)
    raw = ("\n".join(history(3)) + "\n").encode("utf-8") + b"\xff\xfe garbage\n"
    trend = ecs_compliance_trend(dict(content=base64.b64encode(raw).decode("ascii"), encoding="base64"))
    assert trend["records"] == 1 and trend["skipped"] == [dict(line=2, reason="not JSON")]


def test_a_minimal_record_gets_every_field_the_report_reads():
    minimal = dict(kind=KIND, version=1, time="2026-11-01T22:00:00Z", round={"installed": "3", "failed": None},
                   duration_seconds="long", regions="cn-hangzhou",
                   before=dict(targets=2, compliant=1, non_compliant=1, never_scanned=0, missing_critical=1,
                               missing_important=0),
                   after=dict(targets=2, compliant=2, non_compliant=0, never_scanned=0, missing_critical=0,
                              missing_important=0))
    (entry,) = ecs_compliance_trend([json.dumps(minimal)])["rounds"]
    assert entry["round"] == dict(installed=3, failed=0, deferred=0, reboot_pending=0, skipped=0)
    assert entry["duration_seconds"] is None and entry["awx_job_id"] == "" and entry["mode"] == ""
    assert entry["regions"] == [] and entry["baselines"] == [] and entry["verified"] is False
    assert (entry["share_before"], entry["share_after"]) == (50.0, 100.0)


def test_an_empty_history_has_no_rounds_and_no_chart():
    assert ecs_compliance_trend("") == dict(records=0, rounds=[], skipped=[], svg="")
    assert ecs_compliance_trend(None)["rounds"] == []


@pytest.mark.parametrize("rounds", [0, -1, "many"])
def test_rounds_must_be_a_positive_number(rounds):
    with pytest.raises(AnsibleFilterError, match="rounds must be"):
        ecs_compliance_trend(history(1), rounds=rounds)


def test_the_chart_is_inline_svg_with_one_point_and_bar_per_round():
    svg = ecs_compliance_trend(history(1, 4, 2), rounds=10)["svg"]
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag in ("svg", ns + "svg") and "<script" not in svg and "href" not in svg and "http" not in svg
    circles = [e for e in root.iter() if e.tag.endswith("circle")]
    bars = [e for e in root.iter() if e.tag.endswith("rect") and e.get("class") == "critical"]
    assert len(circles) == 3 and len(bars) == 3
    ys = [float(c.get("cy")) for c in circles]
    assert ys[1] < ys[2] < ys[0], "a higher share is drawn higher"
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == 0.0 and heights[0] > heights[2] > 0
    assert [e for e in root.iter() if e.tag.endswith("polyline")]
    assert "25.0 % compliant" in svg and "3 missing critical" in svg


def test_the_chart_escapes_what_the_file_says():
    record = json.loads(history(2)[0])
    record["time"] = "2026-11-01T<b>&"
    svg = ecs_compliance_trend([json.dumps(record)])["svg"]
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    ElementTree.fromstring(svg)


def test_a_round_without_targets_has_no_share_and_no_point():
    record = ecs_compliance_record(report(totals(0, 0)))
    trend = ecs_compliance_trend([json.dumps(record)])
    assert trend["rounds"][0]["share_after"] is None and "<circle" not in trend["svg"]


def run_append(path, text, *keep):
    return subprocess.run([sys.executable, str(APPEND), str(path), *keep], input=text, capture_output=True, text=True,
                          check=False, timeout=60)


def test_the_appender_adds_exactly_one_line_and_refuses_more(tmp_path):
    path = tmp_path / "h.jsonl"
    assert run_append(path, '{"a": 1}\n').returncode == 0
    assert run_append(path, '{"b": 2}').returncode == 0
    refused = run_append(path, '{"c": 3}\n{"d": 4}\n')
    assert refused.returncode == 2 and "exactly one" in refused.stderr
    assert run_append(path, "\n").returncode == 2
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n'
    assert oct(path.stat().st_mode & 0o777) in ("0o644", "0o604", "0o600", "0o640")


def test_concurrent_appenders_each_add_whole_lines(tmp_path):
    path = tmp_path / "h.jsonl"
    writers, per_writer = 8, 40
    script = ("import sys, json; sys.path.insert(0, %r); import append_line\n"
              "for n in range(%d): append_line.append_line(sys.argv[1], json.dumps({'w': sys.argv[2], 'n': n, 'pad': 'x' * 3000}))"
              % (str(APPEND.parent), per_writer))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(w)]) for w in range(writers)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = path.read_text().splitlines()
    assert len(lines) == writers * per_writer
    seen = sorted((json.loads(x)["w"], json.loads(x)["n"]) for x in lines)
    assert seen == sorted((str(w), n) for w in range(writers) for n in range(per_writer))


@pytest.mark.parametrize("value", [True, -1, 2.5, None])
def test_counts_must_be_whole_numbers_not_booleans(monkeypatch, value):
    monkeypatch.setattr(ecs_compliance.display, "warning", lambda msg: None)
    record = json.loads(history(2)[0])
    record["before"]["targets"] = value
    trend = ecs_compliance_trend([json.dumps(record)])
    assert trend["records"] == 0 and trend["skipped"] == [dict(line=1, reason="before counts missing or not numbers")]


def test_the_history_keeps_its_last_rounds_and_trims_only_past_a_margin(tmp_path):
    path = tmp_path / "h.jsonl"
    for n in range(20):
        assert run_append(path, '{"n": %d}' % n, "10").returncode == 0
    # 10 kept plus a margin of 10: 20 lines are not trimmed yet; the 21st trims to the last 10
    assert len(path.read_text().splitlines()) == 20
    assert run_append(path, '{"n": 20}', "10").returncode == 0
    assert [json.loads(x)["n"] for x in path.read_text().splitlines()] == list(range(11, 21))
    assert oct(path.stat().st_mode & 0o777) in ("0o644", "0o604", "0o600", "0o640")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.jsonl", "h.jsonl.lock"], "a temporary file was left"
    for n in range(21, 60):
        assert run_append(path, '{"n": %d}' % n, "0").returncode == 0
    assert len(path.read_text().splitlines()) == 49, "keep 0 keeps every line"
    for bad in ("-1", "ten", "2.5"):
        refused = run_append(path, '{"n": 99}', bad)
        assert refused.returncode == 2 and "keep must be a whole number of 0 or more" in refused.stderr
    assert '"n": 99' not in path.read_text()


def test_trimming_while_others_append_loses_no_line(tmp_path):
    """Eight writers append 60 lines each with keep 25 (so the file is trimmed over and over while others append):
    every line written is either still in the file or was dropped by a trim, and none is there twice."""
    path = tmp_path / "h.jsonl"
    writers, per_writer, keep = 8, 60, 25
    script = ("import sys, json; sys.path.insert(0, %r); import append_line\n"
              "dropped = 0\n"
              "for n in range(%d):\n"
              "    dropped += append_line.append_line(sys.argv[1], json.dumps({'w': sys.argv[2], 'n': n, 'pad': 'x' * 3000}),"
              " %d)[1]\n"
              "print(dropped)" % (str(APPEND.parent), per_writer, keep))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(w)], stdout=subprocess.PIPE, text=True)
             for w in range(writers)]
    dropped = 0
    for proc in procs:
        out = proc.communicate(timeout=120)[0]
        assert proc.returncode == 0
        dropped += int(out)
    lines = path.read_text().splitlines()
    assert keep <= len(lines) <= keep + 10
    kept = [(json.loads(x)["w"], json.loads(x)["n"]) for x in lines]
    assert len(set(kept)) == len(kept)
    assert dropped + len(lines) == writers * per_writer, "a line appended during a trim was lost"
    # per writer, what is kept is its latest lines (a trim drops the oldest)
    for w in range(writers):
        mine = [n for who, n in kept if who == str(w)]
        assert mine == list(range(per_writer - len(mine), per_writer)), (w, mine)
