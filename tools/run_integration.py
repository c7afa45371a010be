"""Run the integration targets in tests/integration/targets against the simulator (or the real cloud).

Each target is a role; it runs as ``- hosts: localhost; roles: [<target>]`` with ansible-playbook, one
ansible-playbook per target. ``make integration`` runs the same targets with ``ansible-test integration``
instead (``tools/run_ansible_test_integration.py``); this runner is the quick one for a single target and
the one the reliability suite's secret scan drives. Against the simulator (default) one ``alicloud-sim``
process serves every target. The targets get the endpoints and keys through the usual environment
variables, and ``ALICLOUD_SIM_URL`` for the simulator's admin API (unset against the real cloud). Each
target's prepare step (``setup_alicloud``, a meta dependency) resets the simulator to the target's fleet
(``files/fleet.yml`` in the target, else the default fleet); targets that need the simulator end with a
``SKIPPED`` message against the real cloud.

    python tools/run_integration.py [TARGET ...] [--real] [--time-scale F] [-v]
                                    [--access-key ID --secret-key S [--security-token T]] [--output-dir DIR]

``--access-key``/``--secret-key`` (and ``--security-token``) make the simulator accept only those
credentials and give them to the targets (default: the simulator's built-in keys). Each also reads an
environment variable (ALICLOUD_SIM_ACCESS_KEY, ALICLOUD_SIM_SECRET_KEY, ALICLOUD_SIM_SECURITY_TOKEN),
which keeps secrets off the command line; the variables are removed before Ansible runs.
``--output-dir`` also writes each target's ansible-playbook output (stdout and stderr) to
``DIR/<target>.log``.
"""

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim_session import BIN, ROOT, add_simulator_arguments, ansible_env, check_simulator_arguments, simulator

TARGETS = ROOT / "tests" / "integration" / "targets"


def targets(names):
    available = sorted(p.name for p in TARGETS.iterdir() if (p / "tasks" / "main.yml").exists()
                       and not p.name.startswith(("setup_", "prepare_")))
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit("unknown target(s): %s (available: %s)" % (", ".join(unknown), ", ".join(available)))
    return names or available


def run_target(target, env, verbosity, output_dir=None):
    with tempfile.TemporaryDirectory() as tmp:
        playbook = Path(tmp) / "run.yml"
        playbook.write_text("- hosts: localhost\n  gather_facts: false\n  roles: [%s]\n" % target)
        cmd = [str(BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        start = time.monotonic()
        if output_dir is None:
            result = subprocess.run(cmd, env=env, cwd=ROOT, check=False)
            return result.returncode, time.monotonic() - start
        with open(Path(output_dir) / ("%s.log" % target), "w", encoding="utf-8") as log, \
                subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, errors="replace") as proc:
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            sys.stdout.flush()
        return proc.returncode, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*")
    add_simulator_arguments(parser)
    parser.add_argument("--output-dir", help="also write each target's output to DIR/<target>.log")
    args = parser.parse_args()
    names = targets(args.targets)
    check_simulator_arguments(parser, args)

    with contextlib.ExitStack() as stack:
        if args.real:
            env = ansible_env()
        else:
            env = stack.enter_context(simulator(args.time_scale, access_key=args.access_key, secret_key=args.secret_key,
                                                security_token=args.security_token)).env
        env["ANSIBLE_ROLES_PATH"] = str(TARGETS)
        failed = []
        for name in names:  # each target resets the simulator to its fleet itself (setup_alicloud)
            print("=== integration target %s" % name, flush=True)
            rc, seconds = run_target(name, env, args.verbosity, args.output_dir)
            print("=== %s: %s in %.1fs" % (name, "passed" if rc == 0 else "FAILED", seconds), flush=True)
            if rc != 0:
                failed.append(name)
    print("%d passed, %d failed" % (len(names) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
