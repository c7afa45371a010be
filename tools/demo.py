"""`make demo`: the main jobs against the bundled simulator, with a short summary at the end.

Starts a simulator with the demo fleet (playbooks/demo/fleet.yml: two regions, 60 instances),
runs the patch scan-then-install playbook, an extension rollout and a command across the fleet,
their targets taken from the inventory the alibabacloud.ecs_ops.ecs plugin reads from the simulator
(playbooks/demo/demo.ecs.yml), prints what happened and where the HTML reports are, and stops the
simulator.
"""

import json
import subprocess
import sys
import time

from sim_session import BIN, ROOT, simulator

DEMO = ROOT / "playbooks" / "demo"
REPORTS = ROOT / "reports"
STEPS = [
    ("Patch round: scan, report, gate, install with a canary, verify", "patch_scan_then_install.yml"),
    ("Extension rollout: Node.js and nginx, canary first, then the rest", "extension_rollout.yml"),
    ("A command on every instance", "run_command.yml"),
]


def report_vars():
    """Extra vars pointing the roles' reports at reports/."""
    path = REPORTS / "demo-vars.json"
    path.write_text(json.dumps(dict(patch_management_report_dir=str(REPORTS),
                                    extension_rollout_report_dir=str(REPORTS)), indent=2))
    return path


def run(playbook, env, extra):
    """One playbook on localhost, with the static inventory and the fleet read by the ecs inventory plugin."""
    cmd = [str(BIN / "ansible-playbook"), str(ROOT / "playbooks" / playbook), "-i", str(DEMO / "inventory.yml"),
           "-i", str(DEMO / "demo.ecs.yml"), "-e", "@%s" % (DEMO / "vars.yml"), "-e", "@%s" % extra,
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    start = time.monotonic()
    rc = subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode
    return rc, time.monotonic() - start


def describe(name, data):
    """One human line for a role's JSON report."""
    before, after = data.get("before"), data.get("after")
    if isinstance(before, dict) and isinstance(after, dict) and "compliant" in before:
        severity = before.get("missing_by_severity") or {}
        return ("%s: before %s/%s instances compliant, %s missing patches (%s critical, %s important); "
                "after %s/%s compliant, %s missing" % (
                    name, before.get("compliant"), before.get("instances"), before.get("missing"),
                    severity.get("critical", 0), severity.get("important", 0), after.get("compliant"),
                    after.get("instances"), after.get("missing")))
    summary = data.get("summary")
    if isinstance(summary, dict):
        return "%s: %s" % (name, ", ".join("%s %s" % (k, v) for k, v in summary.items()
                                           if not isinstance(v, (dict, list))))
    return None


def summary_lines():
    lines = []
    for path in sorted(p for p in REPORTS.glob("*.json") if p.name != "demo-vars.json"):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        line = describe(path.stem, data) if isinstance(data, dict) else None
        if line:
            lines.append("  " + line)
    return lines


def main():
    steps = [s for s in STEPS if (ROOT / "playbooks" / s[1]).exists()]
    REPORTS.mkdir(exist_ok=True)
    results = []
    started = time.monotonic()
    with simulator(time_scale=0.01, fleet_file=DEMO / "fleet.yml") as sim:
        extra = report_vars()
        for title, playbook in steps:
            print("\n=== %s (%s)" % (title, playbook), flush=True)
            rc, seconds = run(playbook, sim.env, extra)
            results.append((title, rc, seconds))
    print("\n=== Demo summary (%.0fs)" % (time.monotonic() - started))
    for title, rc, seconds in results:
        print("  %-70s %s in %.0fs" % (title, "ok" if rc == 0 else "FAILED", seconds))
    lines = summary_lines()
    if lines:
        print("\nWhat happened:")
        print("\n".join(lines))
    pages = sorted(REPORTS.glob("*.html"))
    if pages:
        print("\nHTML reports to open in a browser:")
        print("\n".join("  %s" % p for p in pages))
    return 0 if all(rc == 0 for _t, rc, _s in results) else 1


if __name__ == "__main__":
    sys.exit(main())
