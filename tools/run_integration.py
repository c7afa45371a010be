"""Run the integration targets in tests/integration/targets against the simulator (or the real cloud).

Each target is a role; it runs as ``- hosts: localhost; roles: [<target>]`` with ansible-playbook.
Against the simulator (default) one ``alicloud-sim`` process serves every target; the simulator is
reset to the target's fleet (``files/fleet.yml`` in the target, else the default fleet) before each
target. The targets get the endpoints and keys through the usual environment variables, and
``ALICLOUD_SIM_URL`` for the simulator's admin API (unset against the real cloud, where targets that
need the admin API skip themselves by checking ``sim_url``).

    python tools/run_integration.py [TARGET ...] [--real] [--time-scale F] [-v]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "tests" / "integration" / "targets"
BIN = Path(sys.executable).parent


def targets(names):
    available = sorted(p.name for p in TARGETS.iterdir() if (p / "tasks" / "main.yml").exists()
                       and not p.name.startswith(("setup_", "prepare_")))
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit("unknown target(s): %s (available: %s)" % (", ".join(unknown), ", ".join(available)))
    return names or available


def start_simulator(time_scale):
    port_file = tempfile.NamedTemporaryFile(prefix="alicloud-sim-port-", delete=False).name
    os.unlink(port_file)
    proc = subprocess.Popen([str(BIN / "alicloud-sim"), "serve", "--port", "0", "--time-scale", str(time_scale),
                             "--port-file", port_file], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline().strip()
    if not first.startswith("listening on "):
        proc.kill()
        sys.exit("simulator did not start: %r" % first)
    return proc, first.split("listening on ", 1)[1]


def admin(url, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + "/_sim/" + path, data=data, method="POST" if data is not None else "GET",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def fleet_for(target):
    path = TARGETS / target / "files" / "fleet.yml"
    if not path.exists():
        return None
    import yaml

    return yaml.safe_load(path.read_text())


def run_target(target, env, verbosity):
    with tempfile.TemporaryDirectory() as tmp:
        playbook = Path(tmp) / "run.yml"
        playbook.write_text("- hosts: localhost\n  gather_facts: false\n  roles: [%s]\n" % target)
        cmd = [str(BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        start = time.monotonic()
        result = subprocess.run(cmd, env=env, cwd=ROOT, check=False)
        return result.returncode, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--real", action="store_true", help="run against real Alibaba Cloud (credentials from the environment)")
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("-v", dest="verbosity", action="count", default=0)
    args = parser.parse_args()
    names = targets(args.targets)

    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(TARGETS), ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0")
    proc = None
    if not args.real:
        proc, url = start_simulator(args.time_scale)
        env.update(ALIBABA_CLOUD_ACCESS_KEY_ID="sim-access-key", ALIBABA_CLOUD_ACCESS_KEY_SECRET="sim-secret-key",
                   ALIBABA_CLOUD_REGION_ID="cn-hangzhou", ALIBABA_CLOUD_OOS_ENDPOINT=url,
                   ALIBABA_CLOUD_ECS_ENDPOINT=url, ALICLOUD_SIM_URL=url)
    failed = []
    try:
        for name in names:
            if proc is not None:
                fleet = fleet_for(name)
                admin(url, "reset", fleet if fleet is not None else {})
            print("=== integration target %s" % name, flush=True)
            rc, seconds = run_target(name, env, args.verbosity)
            print("=== %s: %s in %.1fs" % (name, "passed" if rc == 0 else "FAILED", seconds), flush=True)
            if rc != 0:
                failed.append(name)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print("%d passed, %d failed" % (len(names) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
