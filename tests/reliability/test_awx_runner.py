"""The playbooks as AWX / Automation Controller runs them: ``ansible-runner`` with a private data directory.

AWX copies the project into ``<private data dir>/project``, writes the inventory, the credentials' environment
(``env/envvars``) and the extra vars (``env/extravars``), and runs ``ansible-runner``; survey answers arrive as
strings ("true", "0.5", "10", a textarea of ids). The job must succeed, and the runner's artifacts must hold
the play's stats with the roles' ``set_stats`` summaries (what AWX shows as the job's artifacts and passes on
in a workflow). The roles' reports (JSON and HTML) are checked here too, including check mode (a preview).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import BIN, ROOT, fleet, instance_ids

CREDENTIAL_ENV = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_REGION_ID",
                  "ALIBABA_CLOUD_OOS_ENDPOINT", "ALIBABA_CLOUD_ECS_ENDPOINT")


def run_job(sim, tmp_path, playbook, extravars, check=False):
    """Run ``playbooks/<playbook>`` like an AWX job; return (runner exit code, artifacts dir, stdout text)."""
    pdd = tmp_path / "pdd"
    shutil.copytree(ROOT / "playbooks", pdd / "project" / "playbooks", ignore=shutil.ignore_patterns("demo"))
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    (pdd / "env").mkdir()
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    # The credential's injectors (endpoints: the simulator). Everything else comes from the process environment,
    # as in an execution environment where the collection is installed (ANSIBLE_COLLECTIONS_PATH).
    (pdd / "env" / "envvars").write_text(json.dumps({k: sim.env[k] for k in CREDENTIAL_ENV}))
    if check:
        (pdd / "env" / "cmdline").write_text("--check")
    env = {k: v for k, v in sim.env.items() if k not in CREDENTIAL_ENV}
    proc = subprocess.run([str(BIN / "ansible-runner"), "run", str(pdd), "-p", "playbooks/" + playbook,
                           "--ident", "job"], env=env, capture_output=True, text=True, timeout=900, check=False)
    artifacts = pdd / "artifacts" / "job"
    return proc.returncode, artifacts, (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else ""


def events(artifacts):
    found = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
    return sorted(found, key=lambda e: e["counter"])


def stats_event(artifacts):
    stats = [e for e in events(artifacts) if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1, [e["event"] for e in events(artifacts)]
    return stats[0]["event_data"]


def check_html(path):
    """A self-contained report: no scripts, no external resources, an inline SVG bar."""
    html = Path(path).read_text()
    assert "<svg" in html and "<rect" in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    return html


@pytest.fixture
def six(sim):
    sim.reset(fleet(["cn-hangzhou"], 6, durations={"patch_scan": 5, "patch_install": 20}), time_scale=0.01)
    return instance_ids(sim)


def test_extension_rollout_job_with_survey_strings(sim, six, tmp_path):
    """Ids as a textarea answer, numbers and booleans as strings; one instance stopped, one failing."""
    sim.instance(six[4], status="Stopped")
    sim.instance(six[5], fail=["install"])
    reports = tmp_path / "reports"
    rc, artifacts, stdout = run_job(sim, tmp_path, "extension_rollout.yml", {
        "extension_rollout_extensions": [{"name": "node"}],
        "extension_rollout_instance_ids": "%s,%s\n%s\n %s\n%s\n%s" % tuple(six),
        "extension_rollout_region": "cn-hangzhou",
        "extension_rollout_canary_size": "1",
        "extension_rollout_batch_size": "10",
        "extension_rollout_poll_interval": "0.2",
        "extension_rollout_wait_timeout": "120",
        "extension_rollout_unreachable": "skip",
        "extension_rollout_verify": "true",
        "extension_rollout_fail_on_error": "false",
        "extension_rollout_report_dir": str(reports),
    })
    assert rc == 0, stdout[-4000:]
    assert (artifacts / "status").read_text() == "successful"
    stats = stats_event(artifacts)
    assert stats["failures"] == {} and stats["ok"]["localhost"] > 0
    summary = stats["artifact_data"]["extension_rollout"]
    assert summary == {
        "status": "failed", "preview": False, "extensions": ["node"], "instances": 6,
        "succeeded": 4, "failed": 1, "skipped": 1, "changed": 4,
        "reports": {"json": str(reports / "extension-rollout.json"), "markdown": str(reports / "extension-rollout.md"),
                    "html": str(reports / "extension-rollout.html")}}
    report = json.loads((reports / "extension-rollout.json").read_text())
    outcomes = {i["instance_id"]: i["outcome"] for i in report["by_instance"]}
    assert outcomes == {six[0]: "succeeded", six[1]: "succeeded", six[2]: "succeeded", six[3]: "succeeded",
                        six[4]: "skipped", six[5]: "failed"}
    assert report["by_instance"][0]["instance_id"] == six[5], "failures first"
    html = check_html(reports / "extension-rollout.html")
    assert "4 succeeded" in html and "1 failed" in html and "Preview" not in html


def test_extension_rollout_job_fails_like_awx_shows_it(sim, six, tmp_path):
    """fail_on_error as the string "true": the job fails, and its artifacts still carry the summary."""
    sim.instance(six[1], fail=["install"])
    rc, artifacts, stdout = run_job(sim, tmp_path, "extension_rollout.yml", {
        "extension_rollout_extensions": [{"name": "node"}],
        "extension_rollout_instance_ids": " ".join(six[:3]),
        "extension_rollout_region": "cn-hangzhou",
        "extension_rollout_canary_size": "0",
        "extension_rollout_poll_interval": "0.2",
        "extension_rollout_fail_on_error": "true",
        "extension_rollout_report_dir": str(tmp_path / "reports"),
    })
    assert rc != 0 and (artifacts / "status").read_text() == "failed"
    assert "Extension rollout failed" in stdout
    summary = stats_event(artifacts)["artifact_data"]["extension_rollout"]
    assert (summary["succeeded"], summary["failed"], summary["skipped"]) == (2, 1, 0)


def patch_survey(ids, reports, **overrides):
    answers = {
        "patch_management_instance_ids": "\n".join(ids),
        "patch_management_region": "cn-hangzhou",
        "patch_management_mode": "install",
        "patch_management_approved": "true",
        "patch_management_canary": "false",
        "patch_management_create_snapshot": "false",
        "patch_management_batch_size": "3",
        "patch_management_concurrency": "2",
        "patch_management_max_failure_percent": "50",
        "patch_management_max_missing_critical": "-1",
        "patch_management_snapshot_retention_days": "7",
        "patch_management_reboot_if_need": "true",
        "patch_management_poll_interval": "0.2",
        "patch_management_wait_timeout": "120",
        "patch_management_unreachable": "skip",
        "patch_management_report_dir": str(reports),
    }
    answers.update(overrides)
    return answers


def test_patch_job_with_survey_strings(sim, six, tmp_path):
    sim.instance(six[5], status="Stopped")
    sim.instance(six[2], fail=["patch"])
    reports = tmp_path / "reports"
    rc, artifacts, stdout = run_job(sim, tmp_path, "patch_scan_then_install.yml", patch_survey(six, reports))
    assert rc == 0, stdout[-4000:]
    assert (artifacts / "status").read_text() == "successful"
    assert "[WARNING]" not in stdout, [line for line in stdout.splitlines() if "WARNING" in line]
    stats = stats_event(artifacts)
    summary = stats["artifact_data"]["patch_management"]
    assert (summary["targets"], summary["succeeded"], summary["failed"], summary["skipped"]) == (5, 4, 1, 1)
    assert (summary["stage"], summary["preview"], summary["mode"]) == ("verified", False, "install")
    assert summary["compliant"] == 4 and summary["non_compliant"] == 1
    assert summary["reports"] == {"json": str(reports / "patch-report.json"),
                                  "markdown": str(reports / "patch-report.md"),
                                  "html": str(reports / "patch-report.html")}
    report = json.loads((reports / "patch-report.json").read_text())
    assert report["counts"] == {k: summary[k] for k in report["counts"]}
    html = check_html(reports / "patch-report.html")
    # Failures first in the table of instances that needed patches.
    table = html[html.index("Instances that need patches"):]
    assert table.index(six[2]) < min(table.index(i) for i in six[:5] if i != six[2])
    assert "All 5 instances are compliant" not in html


def test_patch_job_on_a_compliant_fleet_says_so(sim, six, tmp_path):
    """A scan-only job (the nightly schedule) after everything was patched: no empty table, a plain sentence."""
    reports = tmp_path / "first"
    rc, _artifacts, stdout = run_job(sim, tmp_path / "a", "patch_scan_then_install.yml",
                                     patch_survey(six[:3], reports, patch_management_unreachable="fail"))
    assert rc == 0, stdout[-4000:]
    reports = tmp_path / "second"
    rc, artifacts, stdout = run_job(sim, tmp_path / "b", "patch_scan_then_install.yml", patch_survey(
        six[:3], reports, patch_management_mode="scan_only", patch_management_approved="false"))
    assert rc == 0, stdout[-4000:]
    summary = stats_event(artifacts)["artifact_data"]["patch_management"]
    assert (summary["compliant"], summary["non_compliant"], summary["stage"]) == (3, 0, "decided")
    assert summary["decision"].startswith("scan only")
    html = check_html(reports / "patch-report.html")
    assert "All 3 instances are compliant." in html
    assert "<th>missing before</th>" not in html
    assert "All 3 instances are compliant." in (reports / "patch-report.md").read_text()


def test_patch_job_in_check_mode_writes_a_preview(sim, six, tmp_path):
    """AWX's "check" job type: nothing changes, and the reports say what would be installed."""
    rc, _artifacts, stdout = run_job(sim, tmp_path / "scan", "patch_scan_then_install.yml", patch_survey(
        six[:4], tmp_path / "scan-reports", patch_management_mode="scan_only"))
    assert rc == 0, stdout[-4000:]
    mark = sim.mark()
    reports = tmp_path / "reports"
    rc, artifacts, stdout = run_job(sim, tmp_path / "check", "patch_scan_then_install.yml",
                                    patch_survey(six[:4], reports), check=True)
    assert rc == 0, stdout[-4000:]
    assert not sim.mutating_calls(mark), "check mode changed the cloud"
    summary = stats_event(artifacts)["artifact_data"]["patch_management"]
    assert (summary["preview"], summary["stage"], summary["succeeded"], summary["non_compliant"]) == (True, "planned", 4, 4)
    report = json.loads((reports / "patch-report.json").read_text())
    assert report["preview"] is True
    assert {r["result"] for r in report["install_results"].values()} == {"planned"}
    html = check_html(reports / "patch-report.html")
    assert "Preview (check mode)" in html and "4 instance(s) would be patched" in html
    assert "Preview (check mode)" in (reports / "patch-report.md").read_text()


def test_extension_rollout_job_in_check_mode_writes_a_preview(sim, six, tmp_path):
    mark = sim.mark()
    reports = tmp_path / "reports"
    rc, artifacts, stdout = run_job(sim, tmp_path, "extension_rollout.yml", {
        "extension_rollout_extensions": [{"name": "node"}],
        "extension_rollout_instance_ids": ",".join(six[:3]),
        "extension_rollout_region": "cn-hangzhou",
        "extension_rollout_report_dir": str(reports),
    }, check=True)
    assert rc == 0, stdout[-4000:]
    assert not sim.mutating_calls(mark)
    summary = stats_event(artifacts)["artifact_data"]["extension_rollout"]
    assert (summary["status"], summary["preview"], summary["changed"], summary["succeeded"]) == ("planned", True, 3, 3)
    html = check_html(reports / "extension-rollout.html")
    assert "Preview (check mode)" in html and "3 instance(s) would change" in html
    assert json.loads((reports / "extension-rollout.json").read_text())["preview"] is True


@pytest.mark.parametrize("playbook,variables", [
    ("patch_scan_then_install.yml", {"patch_management_instance_ids": "ONE", "patch_management_region": "cn-hangzhou"}),
    ("extension_rollout.yml", {"extension_rollout_instance_ids": "ONE", "extension_rollout_region": "cn-hangzhou",
                               "extension_rollout_extensions": [{"name": "node"}]}),
], ids=["patch", "rollout"])
def test_a_single_id_string_is_one_target(sim, six, tmp_path, playbook, variables):
    """Once split into characters ("instance_ids[0] 'i' is not an instance id"): now the one instance."""
    variables = {k: six[0] if v == "ONE" else v for k, v in variables.items()}
    variables.update(patch_management_report_dir=str(tmp_path / "r"), extension_rollout_report_dir=str(tmp_path / "r"),
                     extension_rollout_poll_interval="0.2", patch_management_poll_interval="0.2")
    rc, artifacts, stdout = run_job(sim, tmp_path, playbook, variables)
    assert rc == 0, stdout[-4000:]
    data = stats_event(artifacts)["artifact_data"]
    summary = data.get("patch_management") or data["extension_rollout"]
    assert summary.get("targets", summary.get("instances")) == 1
