"""`make demo`: the main jobs against the bundled simulator, with a short summary at the end.

Starts a simulator with the demo fleet (playbooks/demo/fleet.yml: two regions, 60 instances),
runs the patch scan-then-install playbook, an extension rollout and a command across the fleet
with the demo inventory, prints what happened and where the HTML reports are, and stops the
simulator.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

from sim_session import BIN, ROOT, simulator

DEMO = ROOT / "playbooks" / "demo"
REPORTS = ROOT / "reports"
STEPS = [
    ("Patch round: scan, report, gate, install with a canary, verify", "patch_scan_then_install.yml"),
    ("Extension rollout: Node.js and nginx, canary first, then the rest", "extension_rollout.yml"),
    ("A command on every instance", "run_command.yml"),
]


def run(playbook, env):
    cmd = [str(BIN / "ansible-playbook"), str(ROOT / "playbooks" / playbook), "-i", str(DEMO / "inventory.yml"),
           "-e", "@%s" % (DEMO / "vars.yml"), "-e", "ansible_python_interpreter=%s" % sys.executable]
    start = time.monotonic()
    rc = subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode
    return rc, time.monotonic() - start


def summary_lines():
    lines = []
    for path in sorted(REPORTS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        summary = data.get("summary") if isinstance(data, dict) else None
        if isinstance(summary, dict):
            counts = ", ".join("%s %s" % (k, v) for k, v in summary.items() if not isinstance(v, (dict, list)))
            lines.append("  %-28s %s" % (path.stem, counts))
    return lines


def main():
    steps = [s for s in STEPS if (ROOT / "playbooks" / s[1]).exists()]
    REPORTS.mkdir(exist_ok=True)
    results = []
    started = time.monotonic()
    with simulator(time_scale=0.01, fleet_file=DEMO / "fleet.yml") as sim:
        for title, playbook in steps:
            print("\n=== %s (%s)" % (title, playbook), flush=True)
            rc, seconds = run(playbook, sim.env)
            results.append((title, rc, seconds))
    print("\n=== Demo summary (%.0fs)" % (time.monotonic() - started))
    for title, rc, seconds in results:
        print("  %-70s %s in %.0fs" % (title, "ok" if rc == 0 else "FAILED", seconds))
    lines = summary_lines()
    if lines:
        print("\nReports (JSON summaries):")
        print("\n".join(lines))
    pages = sorted(REPORTS.glob("*.html"))
    if pages:
        print("\nHTML reports to open in a browser:")
        print("\n".join("  %s" % p for p in pages))
    return 0 if all(rc == 0 for _t, rc, _s in results) else 1


if __name__ == "__main__":
    sys.exit(main())
