"""Run the Node.js conformance check (``node/check.js``) against an in-process simulator.

``make setup`` installs the Node packages (``npm ci`` in ``node/``) when Node.js is on the machine, and
``make simulator-tests`` runs this script when they are installed. Exit code: that of the check.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from alicloud_sim.testing import ACCESS_KEY, SECRET_KEY, start_server

HERE = Path(__file__).resolve().parent / "node"


def main():
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules").is_dir():
        print("run_node.py: needs node and `npm ci` in tests/simulator/conformance/node (make setup does it)",
              file=sys.stderr)
        return 2
    with start_server(time_scale=0.001) as server:
        result = subprocess.run([node, str(HERE / "check.js"), server.url, ACCESS_KEY, SECRET_KEY],
                                timeout=120, check=False)
        failed = [c for c in server.calls() if c["http_status"] is None or c["http_status"] >= 500]
    if failed:
        print(f"run_node.py: {len(failed)} calls without an answer or with a 5xx", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
