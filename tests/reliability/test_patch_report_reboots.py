"""The patch_management role's reports say, per instance, whether the round rebooted it and whether a reboot is
still needed: ``rebooted`` and ``reboot_required`` in the JSON's install_results, the ``rebooted`` column of the
Markdown table, ``rebooted`` under the install result in HTML, and a ``reboot`` JUnit case (passed after a reboot
of ``reboot: always``, skipped ``deferred`` where ``reboot: later`` left patches waiting for one)."""

from __future__ import annotations

import json
import os
import tempfile
from xml.etree import ElementTree

from harness import instance_ids, role_play, run_playbook

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important"),
           dict(kb_id="kernel.x86_64", classification="Security", severity="Critical", needs_reboot=True)]


def round_with(sim, report_dir, ids, reboot):
    variables = dict(patch_management_region=R, patch_management_instance_ids=ids, patch_management_mode="install",
                     patch_management_approved=True, patch_management_canary=False, patch_management_reboot=reboot,
                     patch_management_poll_interval=0.3, patch_management_wait_timeout=300,
                     patch_management_report_formats=["json", "markdown", "html", "junit"],
                     patch_management_report_dir=report_dir)
    proc = run_playbook(sim, role_play("patch_management", "Patch round"), extra_vars=variables)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]

    def read(name):
        with open(os.path.join(report_dir, name), encoding="utf-8") as handle:
            return handle.read()

    suite = ElementTree.fromstring(read("patch-report.junit.xml")).find("testsuite")
    cases = {(c.get("classname").split(".")[-1], c.get("name")): c for c in suite.findall("testcase")}
    return json.loads(read("patch-report.json")), read("patch-report.md"), read("patch-report.html"), cases


def rows_of(markdown, instance_id):
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.splitlines()
            if line.startswith("| `%s`" % instance_id)]


def test_the_reports_say_which_instances_were_rebooted_and_which_still_need_it(sim):
    sim.reset({"regions": {R: {"instances": [dict(name="web", count=2, os_type="linux", patches=PATCHES,
                                                  os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit",
                                                  durations={"patch_install": 100, "reboot": 100})]}}})
    first, second = instance_ids(sim, R)
    with tempfile.TemporaryDirectory() as tmp:
        report, markdown, html, cases = round_with(sim, tmp, [first], "later")
        entry = report["install_results"][first]
        assert entry["result"] == "succeeded" and entry["rebooted"] is False and entry["reboot_required"] is True, entry
        header = [line for line in markdown.splitlines() if line.startswith("| instance |")][0]
        assert header.rstrip().endswith("| reboot | rebooted |"), header
        assert rows_of(markdown, first)[0][-2:] == ["yes", "no"], rows_of(markdown, first)
        assert ">rebooted</span>" not in html
        later = cases[(first, "reboot")]
        assert later.find("skipped") is not None and later.find("failure") is None
        assert "reboot=later" in later.find("system-out").text

    with tempfile.TemporaryDirectory() as tmp:
        report, markdown, html, cases = round_with(sim, tmp, [second], "always")
        entry = report["install_results"][second]
        assert entry["result"] == "succeeded" and entry["rebooted"] is True and entry["reboot_required"] is False, entry
        assert rows_of(markdown, second)[0][-2:] == ["no", "yes"], rows_of(markdown, second)
        assert '<span class="r-succeeded">rebooted</span>' in html
        done = cases[(second, "reboot")]
        assert done.find("skipped") is None and done.find("failure") is None
        # the fields the reports had keep their names and meaning
        assert {"result", "patches_installed", "reboot_required", "snapshot_ids", "execution_id", "message",
                "hooks"} <= set(entry)
