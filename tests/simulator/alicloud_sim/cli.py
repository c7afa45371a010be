"""``alicloud-sim``: run the simulator from the command line."""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading

import yaml

from . import __version__
from .core.server import ApiServer, is_loopback
from .core.state import DEFAULT_CREDENTIALS
from .simulator import Simulator, default_fleet

EXAMPLE_FLEET = """\
# alicloud-sim fleet: instances per region. Every field but os_type is optional.
run_scripts: true            # false: Linux shell scripts are simulated instead of run
quotas:                      # API flow control (off by default; see the README)
  enabled: false
  actions:
    ecs: {RunCommand: "300/60"}
durations:                   # simulated seconds per kind of work (defaults shown in the README)
  install: 20
regions:
  cn-hangzhou:
    instances:
      - name: web
        count: 3             # web-1, web-2, web-3 with generated ids
        os_type: linux
        os_name: Alibaba Cloud Linux 3.2104 LTS 64 bit
        platform: AliyunLinux
        tags: {env: prod, role: web}
        packages:
          ACS-Extension-node-1853370294850618: {version: v27, parameters: {version: v22.13.1}}
      - id: i-bp1example000000001
        name: win-1
        os_type: windows
        agent: offline       # online | offline | none
        status: Running      # Running | Stopped | ...
        fail: [install]      # injected failures
"""


def load_fleet(path):
    """A fleet document from a YAML or JSON file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a fleet file holds a mapping with a 'regions' key")
    return data


def load_quotas(value):
    """``--quotas``: ``on`` (the published defaults), ``off``, a YAML/JSON file or an inline JSON object."""
    if value is None:
        return None
    word = value.strip().lower()
    if word in ("on", "true", "yes"):
        return {"enabled": True}
    if word in ("off", "false", "no"):
        return {"enabled": False}
    if value.lstrip().startswith("{"):
        data = json.loads(value)
    else:
        with open(value, encoding="utf-8") as f:
            data = json.load(f) if value.endswith(".json") else yaml.safe_load(f)
    if isinstance(data, dict) and "quotas" in data and set(data) <= {"quotas"}:
        data = data["quotas"]
    if not isinstance(data, dict):
        raise ValueError(f"--quotas {value}: a mapping (enabled, default, actions, retry_after)")
    data.setdefault("enabled", True)   # naming quotas on the command line means: enforce them
    return data


def write_port_file(path, port):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".port-")
    with os.fdopen(fd, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def serve(args):
    if not args.allow_remote and not is_loopback(args.host):
        print(f"alicloud-sim: refusing to listen on {args.host} without --allow-remote", file=sys.stderr)
        return 2
    fleet = load_fleet(args.fleet) if args.fleet else default_fleet()
    if args.no_run_scripts:
        fleet["run_scripts"] = False
    credentials = dict(DEFAULT_CREDENTIALS)
    secret_key = args.secret_key or os.environ.get("ALICLOUD_SIM_SECRET_KEY")
    token = args.security_token or os.environ.get("ALICLOUD_SIM_SECURITY_TOKEN")
    if args.access_key or secret_key or token:
        if not (args.access_key and secret_key):
            print("alicloud-sim: --access-key and --secret-key go together (--security-token needs both)",
                  file=sys.stderr)
            return 2
        credentials = {args.access_key: {"secret": secret_key, "token": token or None}}
    sim = Simulator(fleet=fleet, time_scale=args.time_scale, credentials=credentials,
                    quotas=load_quotas(args.quotas))
    try:
        httpd = ApiServer(sim, (args.host, args.port), allow_remote=args.allow_remote, log_calls=args.log_calls)
    except OSError as err:
        sim.close()
        print(f"alicloud-sim: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    host, port = httpd.server_address[:2]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = httpd.serve_in_thread()
    try:
        if args.port_file:
            write_port_file(args.port_file, port)
        print(f"listening on http://{host if ':' not in host else f'[{host}]'}:{port}", flush=True)
        stop.wait()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
        sim.close()
        if args.port_file and os.path.exists(args.port_file):
            os.unlink(args.port_file)
    return 0


def parser():
    top = argparse.ArgumentParser(prog="alicloud-sim", description="Local Alibaba Cloud OOS + ECS API simulator.")
    top.add_argument("--version", action="version", version=f"alicloud-sim {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the simulator until SIGTERM/SIGINT")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=0, help="0 picks a free port")
    run.add_argument("--fleet", help="fleet file (.yml/.yaml or .json)")
    run.add_argument("--time-scale", type=float, default=1.0,
                     help="real seconds per simulated second (0.01 = 100x faster)")
    run.add_argument("--port-file", help="write the bound port here (atomically) once listening")
    run.add_argument("--access-key", help="the accepted access key id (default sim-access-key)")
    run.add_argument("--secret-key", help="its secret (default sim-secret-key; or ALICLOUD_SIM_SECRET_KEY)")
    run.add_argument("--security-token", help="an STS token required with that key (or ALICLOUD_SIM_SECURITY_TOKEN)")
    run.add_argument("--quotas", metavar="on|off|FILE|JSON",
                     help="API quotas (token buckets per access key, product and action; off by default): "
                          "'on' for the published defaults, or a YAML/JSON file or inline JSON object "
                          "(enabled, default, actions, retry_after); a fleet's 'quotas' key applies over it")
    run.add_argument("--log-calls", action="store_true", help="print one JSON line per API call to stderr")
    run.add_argument("--no-run-scripts", action="store_true",
                     help="simulate Linux shell scripts instead of running them")
    run.add_argument("--allow-remote", action="store_true",
                     help="allow a non-loopback --host (the admin API then answers remote clients too)")
    fleet = sub.add_parser("fleet", help="fleet file helpers")
    fleet.add_argument("--example", action="store_true", required=True, help="print an example fleet file")
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    if args.command == "fleet":
        sys.stdout.write(EXAMPLE_FLEET)
        return 0
    if args.time_scale <= 0:
        print("alicloud-sim: --time-scale must be > 0", file=sys.stderr)
        return 2
    try:
        return serve(args)
    except (OSError, ValueError, yaml.YAMLError) as err:
        print(f"alicloud-sim: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
