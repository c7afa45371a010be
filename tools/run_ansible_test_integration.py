"""Run the integration targets with ``ansible-test integration`` against the simulator (or the real cloud).

    python tools/run_ansible_test_integration.py [TARGET ...] [--real] [--time-scale F] [-v]
                                                 [--access-key ID --secret-key S [--security-token T]]
                                                 [--output-dir DIR] [-- ANSIBLE-TEST-OPTION ...]

This is the way ``make integration`` runs the targets. It mirrors the collection into
``build/integration/ansible_collections/alibabacloud/ecs_ops`` (``tools/build_copy.py``), starts one
``alicloud-sim`` process, writes ``tests/integration/integration_config.yml`` in that copy with the
simulator's endpoints, keys and admin URL, and runs ``ansible-test integration --local --python 3.11``
there (no container, no network).

ansible-test passes ansible-playbook only a filtered environment (PATH, HOME and its own variables), so
the ``ALIBABA_CLOUD_*`` variables never reach the targets. What it does pass is the integration config
file, as ``vars_files`` of every target's play: the targets' prepare step (the ``setup_alicloud`` target,
a meta dependency of each) turns its ``alicloud_*`` variables into ``module_defaults`` for the action group
``group/alibabacloud.ecs_ops.alicloud`` and resets the simulator to the target's ``files/fleet.yml``.
The file is git-ignored, written with mode 0600 and removed after the run.

``--real`` runs against a real account: no simulator, and the config file takes the region, the
credentials and the endpoints from the usual environment variables (``ALIBABA_CLOUD_REGION_ID``,
``ALIBABA_CLOUD_PROFILE`` - preferred, the file then holds only the profile's name -, or
``ALIBABA_CLOUD_ACCESS_KEY_ID``/``ALIBABA_CLOUD_ACCESS_KEY_SECRET``/``ALIBABA_CLOUD_SECURITY_TOKEN``,
``ALIBABA_CLOUD_OOS_ENDPOINT``, ``ALIBABA_CLOUD_ECS_ENDPOINT``). Targets in the alias group
``simulator_only`` (they need the simulator's fleet or admin API) are excluded, and the runner says which.

``--access-key``/``--secret-key``/``--security-token`` (or ALICLOUD_SIM_ACCESS_KEY, ALICLOUD_SIM_SECRET_KEY,
ALICLOUD_SIM_SECURITY_TOKEN) make the simulator accept only those credentials, as in
``tools/run_integration.py``. ``--output-dir`` also writes ansible-test's output to
``DIR/ansible-test-integration.log`` and copies its JUnit results to ``DIR/junit``. Options after ``--``
go to ansible-test as they are (for example ``-- --retry-on-error``).
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from sim_session import BIN, ROOT, add_simulator_arguments, check_simulator_arguments, simulator

BUILD_ROOT = ROOT / "build" / "integration"
COPY = BUILD_ROOT / "ansible_collections" / "alibabacloud" / "ecs_ops"
CONFIG = Path("tests") / "integration" / "integration_config.yml"
TARGETS = ROOT / "tests" / "integration" / "targets"
SIMULATOR_ONLY = "simulator_only"


def simulator_only_targets():
    """The targets whose aliases put them in the group simulator_only."""
    found = []
    for aliases in sorted(TARGETS.glob("*/aliases")):
        lines = [line.split("#", 1)[0].strip() for line in aliases.read_text().splitlines()]
        if SIMULATOR_ONLY in lines:
            found.append(aliases.parent.name)
    return found


def real_config():
    """The integration config for a real account, from the usual environment variables."""
    env = os.environ
    region = env.get("ALIBABA_CLOUD_REGION_ID") or env.get("ALICLOUD_REGION") or env.get("ALICLOUD_REGION_ID")
    if not region:
        sys.exit("--real needs a region: export ALIBABA_CLOUD_REGION_ID")
    config = dict(alicloud_region=region)
    profile = env.get("ALIBABA_CLOUD_PROFILE") or env.get("ALICLOUD_PROFILE")
    access_key = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") or env.get("ALICLOUD_ACCESS_KEY")
    secret_key = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET") or env.get("ALICLOUD_SECRET_KEY")
    token = env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or env.get("ALICLOUD_SECURITY_TOKEN")
    if access_key and secret_key:
        config.update(alicloud_access_key=access_key, alicloud_secret_key=secret_key)
        if token:
            config["alicloud_security_token"] = token
    elif profile:
        config["alicloud_profile"] = profile
    else:
        sys.exit("--real needs credentials: export ALIBABA_CLOUD_PROFILE (an aliyun CLI profile in "
                 "~/.aliyun/config.json), or ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    for product in ("oos", "ecs"):
        endpoint = env.get("ALIBABA_CLOUD_%s_ENDPOINT" % product.upper())
        if endpoint:
            config["alicloud_%s_endpoint" % product] = endpoint
    return config


def simulator_config(sim):
    """The integration config for a simulator session."""
    env = sim.env
    config = dict(alicloud_region=env["ALIBABA_CLOUD_REGION_ID"], alicloud_access_key=env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                  alicloud_secret_key=env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                  alicloud_oos_endpoint=env["ALIBABA_CLOUD_OOS_ENDPOINT"],
                  alicloud_ecs_endpoint=env["ALIBABA_CLOUD_ECS_ENDPOINT"], alicloud_sim_url=sim.url)
    if env.get("ALIBABA_CLOUD_SECURITY_TOKEN"):
        config["alicloud_security_token"] = env["ALIBABA_CLOUD_SECURITY_TOKEN"]
    return config


@contextlib.contextmanager
def config_file(config):
    """Write the integration config into the build copy (mode 0600); remove it afterwards."""
    path = COPY / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# Written by tools/run_ansible_test_integration.py for one run; removed after it.\n")
        yaml.safe_dump(config, out, default_flow_style=False, sort_keys=True)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def ansible_test_env():
    """The environment ansible-test itself runs with (it filters what it passes on to Ansible)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_"))}
    env.update(PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)  # ansible-test sets it to the build copy's root
    env.pop("PYTHONPATH", None)
    return env


def run(cmd, env, output_dir):
    if output_dir is None:
        return subprocess.run(cmd, cwd=COPY, env=env, check=False).returncode
    with open(Path(output_dir) / "ansible-test-integration.log", "w", encoding="utf-8") as log, \
            subprocess.Popen(cmd, cwd=COPY, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace") as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        sys.stdout.flush()
    junit = COPY / "tests" / "output" / "junit"
    if junit.is_dir():
        shutil.copytree(junit, Path(output_dir) / "junit", dirs_exist_ok=True)
    return proc.returncode


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="targets or alias groups (default: all)")
    add_simulator_arguments(parser)
    parser.add_argument("--output-dir", help="also write ansible-test's output and JUnit results to DIR")
    args = parser.parse_args(argv)
    check_simulator_arguments(parser, args)

    subprocess.run([sys.executable, str(ROOT / "tools" / "build_copy.py"), str(BUILD_ROOT)], check=True,
                   stdout=subprocess.DEVNULL)
    cmd = [str(BIN / "ansible-test"), "integration", "--local", "--python", "%d.%d" % sys.version_info[:2],
           "--color", "no"] + args.targets
    if args.verbosity:
        cmd.append("-" + "v" * args.verbosity)
    with contextlib.ExitStack() as stack:
        if args.real:
            config = real_config()
            skipped = simulator_only_targets()
            print("--real: excluding the targets that need the simulator (alias %s): %s"
                  % (SIMULATOR_ONLY, ", ".join(skipped) or "none"), flush=True)
            cmd += ["--exclude", SIMULATOR_ONLY + "/"]
        else:
            sim = stack.enter_context(simulator(args.time_scale, access_key=args.access_key,
                                                secret_key=args.secret_key, security_token=args.security_token))
            config = simulator_config(sim)
        stack.enter_context(config_file(config))
        start = time.monotonic()
        rc = run(cmd + extra, ansible_test_env(), args.output_dir)
    print("ansible-test integration: %s in %.1fs" % ("passed" if rc == 0 else "FAILED (rc %d)" % rc,
                                                     time.monotonic() - start), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
