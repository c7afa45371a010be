"""The ``alicloud-sim`` command line, run as a real subprocess."""

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from alicloud_sim.simulator import Simulator

CONSOLE_SCRIPT = Path(sys.executable).parent / "alicloud-sim"


def _start(*args, cwd=None):
    proc = subprocess.Popen([sys.executable, "-m", "alicloud_sim", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    first = proc.stdout.readline().strip()
    return proc, first


def _stop(proc):
    """SIGTERM; return (exit code, stderr text)."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=10)
        return code, proc.stderr.read()
    finally:
        proc.stdout.close()
        proc.stderr.close()


def _health(url):
    with urllib.request.urlopen(f"{url}/_sim/health", timeout=5) as resp:
        return json.loads(resp.read())


def test_serve_first_line_port_file_and_sigterm(tmp_path):
    port_file = tmp_path / "port"
    proc, first = _start("--port", "0", "--port-file", str(port_file), "--time-scale", "0.01")
    try:
        assert first.startswith("listening on http://127.0.0.1:")
        port = int(first.rsplit(":", 1)[1])
        assert port_file.read_text().strip() == str(port)
        health = _health(f"http://127.0.0.1:{port}")
        assert health["time_scale"] == 0.01 and health["instances"] == 9
    finally:
        code, _ = _stop(proc)
    assert code == 0
    assert not port_file.exists()


def test_fleet_file_credentials_and_call_log(tmp_path):
    fleet = {"regions": {"cn-shenzhen": {"instances": [{"name": "n", "os_type": "linux", "count": 4}]}}}
    (tmp_path / "fleet.json").write_text(json.dumps(fleet))
    proc, first = _start("--fleet", str(tmp_path / "fleet.json"), "--access-key", "ak-cli", "--secret-key", "sk-cli",
                         "--log-calls", "--no-run-scripts")
    try:
        endpoint = first.split("//", 1)[1]
        config = {"region_id": "cn-shenzhen", "endpoint": endpoint, "protocol": "http"}
        good = Client(Config(access_key_id="ak-cli", access_key_secret="sk-cli", **config))
        body = good.describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-shenzhen")).body
        assert body.total_count == 4
        with pytest.raises(ClientException) as info:
            Client(Config(access_key_id="sim-access-key", access_key_secret="sim-secret-key", **config)) \
                .describe_regions(ecs_models.DescribeRegionsRequest())
        assert info.value.code == "InvalidAccessKeyId.NotFound"
    finally:
        code, stderr = _stop(proc)
    assert code == 0
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert [(c["action"], c["http_status"]) for c in logged] == [("DescribeInstances", 200), ("DescribeRegions", 404)]


def test_sts_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("ALICLOUD_SIM_SECRET_KEY", "sk-env")
    monkeypatch.setenv("ALICLOUD_SIM_SECURITY_TOKEN", "token-env")
    proc, first = _start("--access-key", "ak-sts")
    try:
        config = {"region_id": "cn-hangzhou", "endpoint": first.split("//", 1)[1], "protocol": "http",
                  "access_key_id": "ak-sts", "access_key_secret": "sk-env"}
        with_token = Client(Config(security_token="token-env", **config))
        assert with_token.describe_regions(ecs_models.DescribeRegionsRequest()).body.regions.region
        with pytest.raises(ClientException):
            Client(Config(**config)).describe_regions(ecs_models.DescribeRegionsRequest())
    finally:
        code, _stderr = _stop(proc)
    assert code == 0


def test_refuses_remote_host_without_flag():
    result = subprocess.run([str(CONSOLE_SCRIPT), "serve", "--host", "0.0.0.0"], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 2 and "--allow-remote" in result.stderr


def test_bad_fleet_file(tmp_path):
    (tmp_path / "fleet.yml").write_text("regions:\n  cn-hangzhou:\n    instances:\n      - name: no-os\n")
    result = subprocess.run([sys.executable, "-m", "alicloud_sim", "serve", "--fleet", str(tmp_path / "fleet.yml")],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1 and "os_type" in result.stderr


def test_example_fleet_is_valid():
    result = subprocess.run([str(CONSOLE_SCRIPT), "fleet", "--example"], capture_output=True, text=True,
                            timeout=30, check=True)
    fleet = yaml.safe_load(result.stdout)
    sim = Simulator(fleet=fleet)
    try:
        assert len(sim.instances()) == 4 and sim.instance("i-bp1example000000001").agent == "offline"
        assert sim.components["commands"].run_scripts is True
    finally:
        sim.close()


def test_workdir_is_removed_on_exit(tmp_path):
    env_dir = tmp_path / "tmp"
    env_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "alicloud_sim", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(env_dir)})
    try:
        assert proc.stdout.readline().startswith("listening on ")
        assert len(list(env_dir.iterdir())) == 1
    finally:
        assert _stop(proc)[0] == 0
    assert list(env_dir.iterdir()) == []
