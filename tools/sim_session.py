"""A simulator process for the tools that run Ansible against it (integration targets, molecule, demo).

    with simulator(time_scale=0.01) as sim:
        sim.reset(fleet_or_None)
        subprocess.run([...], env=sim.env)

``sim.env`` holds the endpoints, the simulator's keys, the region, ``ALICLOUD_SIM_URL`` (its admin
API) and the collection path; ``sim.client`` is an ``alicloud_sim.testing.AdminClient`` for that admin
API. The process is stopped by its PID when the block ends.

By default the simulator accepts its built-in keys (``sim-access-key`` / ``sim-secret-key``). Give
``access_key`` and ``secret_key`` to make it accept only that pair, and ``security_token`` as well to
make it an STS key that requires that token (``sim.env`` then also exports
``ALIBABA_CLOUD_SECURITY_TOKEN``). The secret and the token reach the simulator in its environment
(``ALICLOUD_SIM_SECRET_KEY``, ``ALICLOUD_SIM_SECURITY_TOKEN``), never on its command line.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from alicloud_sim.testing import AdminClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_ACCESS_KEY = "sim-access-key"
DEFAULT_SECRET_KEY = "sim-secret-key"


class Session:
    def __init__(self, proc, url, access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY, security_token=None):
        self.proc = proc
        self.url = url
        self.client = AdminClient(url, timeout=60)
        keys = dict(ALIBABA_CLOUD_ACCESS_KEY_ID=access_key, ALIBABA_CLOUD_ACCESS_KEY_SECRET=secret_key)
        if security_token:
            keys["ALIBABA_CLOUD_SECURITY_TOKEN"] = security_token
        self.env = ansible_env(dict(
            keys, ALIBABA_CLOUD_REGION_ID="cn-hangzhou", ALIBABA_CLOUD_OOS_ENDPOINT=url, ALIBABA_CLOUD_ECS_ENDPOINT=url,
            ALICLOUD_SIM_URL=url))

    def admin(self, path, body=None):
        """POST ``body`` to ``/_sim/<path>`` (GET without a body); the parsed JSON answer."""
        return self.client.request("GET" if body is None else "POST", path, body)

    def reset(self, fleet=None):
        return self.client.reset(fleet)


def ansible_env(extra=None):
    """The environment every Ansible command of the tools runs with."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_DEPRECATION_WARNINGS="0",
               PATH="%s%s%s" % (BIN, os.pathsep, os.environ.get("PATH", "")))
    env.update(extra or {})
    return env


def load_fleet(path):
    path = Path(path)
    if not path.exists():
        return None
    import yaml

    return yaml.safe_load(path.read_text())


@contextlib.contextmanager
def simulator(time_scale=0.01, fleet_file=None, access_key=None, secret_key=None, security_token=None, quotas=None):
    """One ``alicloud-sim`` process; yields its Session. Optional: the only credentials it accepts, and
    its API quotas (``--quotas``: "on", "off", a file or an inline JSON object)."""
    if security_token and not (access_key and secret_key):
        raise ValueError("security_token needs access_key and secret_key")
    if bool(access_key) != bool(secret_key):
        raise ValueError("access_key and secret_key go together")
    port_file = tempfile.NamedTemporaryFile(prefix="alicloud-sim-port-", delete=False).name
    os.unlink(port_file)
    args = ["serve", "--port", "0", "--time-scale", str(time_scale), "--port-file", port_file]
    if fleet_file:
        args += ["--fleet", str(fleet_file)]
    if quotas:
        args += ["--quotas", str(quotas)]
    cmd = [str(BIN / "alicloud-sim")] + args
    env = None
    if access_key:
        cmd += ["--access-key", access_key]
        env = dict(os.environ, ALICLOUD_SIM_SECRET_KEY=secret_key, ALICLOUD_SIM_SECURITY_TOKEN=security_token or "")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise RuntimeError("simulator did not start: %r" % first)
        yield Session(proc, first.split("listening on ", 1)[1], access_key or DEFAULT_ACCESS_KEY,
                      secret_key or DEFAULT_SECRET_KEY, security_token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        with contextlib.suppress(OSError):
            os.unlink(port_file)


def add_simulator_arguments(parser):
    """The command-line options of a tool that runs Ansible against a simulator or, with --real, the cloud:
    --real, --time-scale, -v and the simulator's credentials (also read, and then removed, from
    ALICLOUD_SIM_ACCESS_KEY, ALICLOUD_SIM_SECRET_KEY and ALICLOUD_SIM_SECURITY_TOKEN, so secrets stay off the
    command line)."""
    parser.add_argument("--real", action="store_true", help="run against real Alibaba Cloud (credentials from the "
                                                            "environment)")
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("-v", dest="verbosity", action="count", default=0)
    parser.add_argument("--access-key", default=os.environ.pop("ALICLOUD_SIM_ACCESS_KEY", None),
                        help="the only access key id the simulator accepts (default: its built-in key)")
    parser.add_argument("--secret-key", default=os.environ.pop("ALICLOUD_SIM_SECRET_KEY", None), help="its secret")
    parser.add_argument("--security-token", default=os.environ.pop("ALICLOUD_SIM_SECURITY_TOKEN", None),
                        help="an STS token the simulator requires with that key")


def check_simulator_arguments(parser, args):
    """Stop with a usage error when the simulator's credentials do not go together or come with --real; make
    --output-dir (when the tool has it)."""
    if bool(args.access_key) != bool(args.secret_key) or (args.security_token and not args.access_key):
        parser.error("--access-key and --secret-key go together; --security-token needs both")
    if args.real and args.access_key:
        parser.error("--access-key/--secret-key/--security-token configure the simulator, not --real")
    if getattr(args, "output_dir", None):
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
