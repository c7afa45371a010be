"""Run the molecule scenarios in extensions/molecule against one simulator process.

Each scenario is ``extensions/molecule/<name>/`` (``molecule.yml`` with the default driver and
``managed: false``, ``converge.yml``, ``verify.yml``, optional ``fleet.yml``). The simulator is reset to
the scenario's fleet (or the default fleet) before ``molecule test -s <name>`` runs in ``extensions/``
with the simulator's endpoints and keys in the environment and ``ALICLOUD_SIM_URL`` for its admin API.

    python tools/run_molecule.py [SCENARIO ...] [--time-scale F]
"""

import argparse
import subprocess
import sys
import time

from sim_session import BIN, ROOT, load_fleet, simulator

SCENARIOS = ROOT / "extensions" / "molecule"


def scenarios(names):
    available = sorted(p.name for p in SCENARIOS.iterdir() if (p / "molecule.yml").exists()) \
        if SCENARIOS.is_dir() else []
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit("unknown scenario(s): %s (available: %s)" % (", ".join(unknown), ", ".join(available) or "none"))
    return names or available


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--time-scale", type=float, default=0.01)
    args = parser.parse_args()
    names = scenarios(args.scenarios)
    failed = []
    with simulator(args.time_scale) as sim:
        env = dict(sim.env, ANSIBLE_ROLES_PATH=str(ROOT / "roles"))
        for name in names:
            sim.reset(load_fleet(SCENARIOS / name / "fleet.yml"))
            print("=== molecule scenario %s" % name, flush=True)
            start = time.monotonic()
            rc = subprocess.run([str(BIN / "molecule"), "test", "-s", name], cwd=ROOT / "extensions", env=env,
                                check=False).returncode
            print("=== %s: %s in %.1fs" % (name, "passed" if rc == 0 else "FAILED", time.monotonic() - start),
                  flush=True)
            if rc != 0:
                failed.append(name)
    print("%d passed, %d failed" % (len(names) - len(failed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
