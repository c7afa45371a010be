"""Compliance over time: every real patch_management round appends one JSON line to the compliance history in the
report directory, and the HTML report shows the trend of the last rounds. Two rounds run against the simulator (an
install that patches the fleet, then a scan-only round); the history already holds a broken line and another tool's
line, which are skipped with a warning without breaking either round. A check-mode round adds nothing, and
``patch_management_history: false`` turns it off."""

from __future__ import annotations

import json
import os
import re
import tempfile

from harness import instance_ids, role_play, run_playbook

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Critical"),
           dict(kb_id="kernel.x86_64", classification="Security", severity="Important")]
PLAY = role_play("patch_management", "Patch round")
JUNK = ['{"broken json', '{"kind": "someone.else", "version": 1}']


def run_round(sim, report_dir, ids, check=False, **extra):
    variables = dict(patch_management_region=R, patch_management_instance_ids=ids, patch_management_canary=False,
                     patch_management_create_snapshot=False, patch_management_poll_interval=0.3,
                     patch_management_wait_timeout=300, patch_management_report_dir=report_dir, awx_job_id="4711")
    variables.update(extra)
    proc = run_playbook(sim, PLAY, extra_vars=variables, check=check)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    return proc


def records(path):
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    return lines, [json.loads(line) for line in lines if line not in JUNK]


def test_two_rounds_append_two_records_and_the_html_shows_the_trend(sim):
    sim.reset({"regions": {R: {"instances": [dict(name="web", count=3, os_type="linux", patches=PATCHES,
                                                  os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit")]}}})
    ids = instance_ids(sim)
    with tempfile.TemporaryDirectory() as tmp:
        history = os.path.join(tmp, "compliance-history.jsonl")
        with open(history, "w", encoding="utf-8") as handle:
            handle.write("\n".join(JUNK) + "\n")

        first = run_round(sim, tmp, ids, patch_management_mode="install", patch_management_approved=True)
        second = run_round(sim, tmp, ids)  # scan only
        lines, (one, two) = records(history)
        html = open(os.path.join(tmp, "patch-report.html"), encoding="utf-8").read()

        # A check-mode round writes no record; history off writes none either (and shows no trend).
        checked = run_round(sim, tmp, ids, check=True, patch_management_mode="install", patch_management_approved=True)
        # The fleet is compliant now: the gate does not announce an install on "0 non-compliant instance(s)".
        assert "Gate: approved: every instance is compliant, nothing to install" in checked.stdout, checked.stdout[-3000:]
        run_round(sim, tmp, ids, patch_management_history=False)
        after_off = open(os.path.join(tmp, "patch-report.html"), encoding="utf-8").read()
        assert records(history)[0] == lines

    assert lines[:2] == JUNK and len(lines) == 4, lines
    for proc in (first, second):
        assert re.search(r"\[WARNING\]: .*compliance-history.jsonl: skipped 2 line\(s\) that are not compliance\s+records",
                         proc.stdout + proc.stderr), proc.stdout[-3000:] + proc.stderr[-2000:]

    assert one["kind"] == two["kind"] == "alibabacloud.ecs_ops.patch_management.compliance"
    assert one["awx_job_id"] == "4711" and one["regions"] == [R] and one["mode"] == "install" and one["verified"]
    assert one["before"] == dict(targets=3, compliant=0, non_compliant=3, never_scanned=0, missing_critical=3,
                                 missing_important=3)
    assert one["after"] == dict(targets=3, compliant=3, non_compliant=0, never_scanned=0, missing_critical=0,
                                missing_important=0)
    assert one["round"] == dict(installed=3, failed=0, deferred=0, reboot_pending=0, skipped=0)
    assert isinstance(one["duration_seconds"], int) and one["time"] <= two["time"]
    assert two["mode"] == "scan_only" and not two["verified"] and two["before"] == two["after"] == one["after"]
    assert two["round"]["installed"] == 0
    # Counts only: no instance id anywhere in the file.
    assert not any(i in line for i in ids for line in lines)

    section = html.split('<h2 id="compliance-over-time">', 1)[1].split("</table>", 1)[0]
    assert "last 2 of 2 round(s)" in section and "2 line(s) of the history file were skipped" in section
    assert section.count('<circle class="share"') == 2 and section.count('<rect class="critical"') == 2
    rows = re.findall(r"<tr><td class=\"id\".*?</tr>", section, re.S)
    assert len(rows) == 2
    assert "0 → 3" in rows[1] and "(100.0 %)" in rows[1] and "3 → 0" in rows[1] and "4711" in rows[1]
    assert "<script" not in html and "http://" not in section and "https://" not in section
    assert 'id="compliance-over-time"' not in after_off


def test_a_round_the_gate_stops_is_recorded_with_the_scan_counts(sim):
    sim.reset({"regions": {R: {"instances": [dict(name="db", count=2, os_type="linux", patches=PATCHES,
                                                  os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit")]}}})
    ids = instance_ids(sim)
    with tempfile.TemporaryDirectory() as tmp:
        variables = dict(patch_management_region=R, patch_management_instance_ids=ids, patch_management_mode="install",
                         patch_management_approved=True, patch_management_max_missing_critical=1,
                         patch_management_poll_interval=0.3, patch_management_report_dir=tmp,
                         patch_management_history_file=os.path.join(tmp, "kept", "history.jsonl"))
        proc = run_playbook(sim, PLAY, extra_vars=variables)
        assert proc.returncode != 0 and "Gate: thresholds exceeded (2 missing critical > 1)" in proc.stdout, proc.stdout[-3000:]
        lines, (record,) = records(os.path.join(tmp, "kept", "history.jsonl"))
    assert len(lines) == 1 and record["stage"] == "scanned" and record["decision"].startswith("thresholds exceeded")
    assert record["before"]["missing_critical"] == 2 and record["after"] == record["before"] and not record["verified"]
    assert record["round"]["installed"] == 0 and record["awx_job_id"] == ""


def test_the_history_keeps_its_last_rounds_and_a_bad_retention_is_refused_first(sim):
    sim.reset({"regions": {R: {"instances": [dict(name="web", count=1, os_type="linux", patches=PATCHES,
                                                  os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit")]}}})
    ids = instance_ids(sim)
    with tempfile.TemporaryDirectory() as tmp:
        history = os.path.join(tmp, "compliance-history.jsonl")
        # 20 older lines (another tool's: the trend skips them, the retention counts them as lines)
        old = [dict(kind="someone.else", n=n) for n in range(20)]
        with open(history, "w", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(line) + "\n" for line in old))

        mark = sim.mark()
        proc = run_playbook(sim, PLAY, extra_vars=dict(patch_management_region=R, patch_management_instance_ids=ids,
                                                       patch_management_report_dir=tmp,
                                                       patch_management_history_keep_rounds=-1))
        assert proc.returncode != 0 and "patch_management_history_keep_rounds must be 0 (keep all) or more, got -1" \
            in proc.stdout, proc.stdout[-3000:]
        assert sim.calls(since=mark) == [], "a bad retention is refused before any API call"

        run_round(sim, tmp, ids, patch_management_history_keep_rounds=5)   # 21 lines > 5 + a margin of 10: trimmed
        with open(history, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        assert [json.loads(x).get("n") for x in lines[:4]] == [16, 17, 18, 19], lines
        assert len(lines) == 5 and json.loads(lines[-1])["mode"] == "scan_only"
        assert sorted(os.listdir(tmp)).count("compliance-history.jsonl.lock") == 1
        assert not [f for f in os.listdir(tmp) if f.startswith(".compliance-history")], "a temporary file was left"

        run_round(sim, tmp, ids, patch_management_history_keep_rounds=0)   # 0 keeps everything
        with open(history, encoding="utf-8") as handle:
            assert len(handle.read().splitlines()) == 6
