"""Endpoint mistakes fail a real module run at once, with a message that names the endpoint and the fix.

Before, each of these cost 80-95 s of silent retries (11 attempts with the default ``api_retries``)
and ended with the SDK's text. Each case runs a module as the suite runs modules (a separate process,
``harness.run_module``) with one wrong endpoint and the default retries, and asserts the failure, the
message, a single attempt, and an end well inside ``BOUND`` (process start and the SDK import included).
Throttling keeps its retries, and the failure then says how many attempts and how long.

The profile case: a temporary ``HOME`` whose ``.aliyun/config.json`` holds a profile with the simulator's
keys and ``region_id: cn-shanghai``; the module runs with no region and no keys in its environment and
reads the Shanghai instances.
"""

from __future__ import annotations

import json
import sys
import time
import types

import pytest

from harness import ROOT, instance_ids, run_module

sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "module_utils"))

from tls_helpers import TlsServer, closed_port  # noqa: E402

BOUND = 20.0
NOT_RETRIED = "[not retried: retrying cannot fix this]"


def run_timed(sim, module, args, **kwargs):
    started = time.monotonic()
    rc, result, _out, err = run_module(sim, module, args, **kwargs)
    return rc, result, time.monotonic() - started, err


def assert_failed_at_once(sim, module, args, *fragments):
    rc, result, seconds, err = run_timed(sim, module, args)
    assert rc == 1 and result.get("failed"), (result, err[-2000:])
    msg = result["msg"]
    for fragment in fragments:
        assert fragment in msg, msg
    assert msg.endswith(NOT_RETRIED) and result["error"]["attempts"] == 1, msg
    assert seconds < BOUND, "took %.1fs: %s" % (seconds, msg)
    assert [c for c in sim.calls() if c["product"]] == []
    return result


def test_a_port_nothing_listens_on(sim):
    port = closed_port()
    result = assert_failed_at_once(sim, "ecs_cloud_assistant_info", {"ecs_endpoint": "http://127.0.0.1:%d" % port},
                                   "ECS DescribeInstances failed: connection refused: nothing listens on "
                                   "127.0.0.1:%d: check the port in ecs_endpoint" % port)
    assert result["error"]["problem"] == "connection_refused"


def test_a_plain_http_endpoint_written_without_a_scheme(sim):
    address = sim.url[len("http://"):]
    result = assert_failed_at_once(sim, "ecs_cloud_assistant_info", {"ecs_endpoint": address},
                                   "%s was given without a scheme, so HTTPS was used; the server answered in plain "
                                   "HTTP: write http://%s in ecs_endpoint" % (address, address))
    assert result["error"]["endpoint"] == "https://" + address


def test_an_endpoint_variable_without_a_scheme_is_named(sim):
    address = sim.url[len("http://"):]
    rc, result, seconds, _err = run_timed(sim, "oos_extension_info", {}, env={"ALIBABA_CLOUD_OOS_ENDPOINT": address})
    assert rc == 1 and seconds < BOUND and result["error"]["attempts"] == 1
    assert "write http://%s in ALIBABA_CLOUD_OOS_ENDPOINT" % address in result["msg"]


def test_a_host_name_that_does_not_resolve(sim):
    result = assert_failed_at_once(sim, "oos_extension_info", {"oos_endpoint": "oos.cn-hangzhou.ecs-ops.invalid"},
                                   "oos.cn-hangzhou.ecs-ops.invalid does not resolve",
                                   "check the host name in oos_endpoint",
                                   "this machine has no working network or DNS")
    assert result["error"]["problem"] == "name_not_resolved"


def test_plain_http_to_a_tls_port(sim):
    with TlsServer() as server:
        address = "127.0.0.1:%d" % server.port
        assert_failed_at_once(sim, "ecs_cloud_assistant_info", {"ecs_endpoint": "http://" + address},
                              "the server speaks HTTPS (TLS): write https://%s in ecs_endpoint" % address)


def test_throttling_is_still_retried_and_the_failure_says_how_long(sim):
    sim.faults({"action": "DescribeInstances", "product": "ecs", "code": "Throttling.User"})
    rc, result, seconds, _err = run_timed(sim, "ecs_cloud_assistant_info", {"api_retries": 2}, verbosity=3)
    assert rc == 1 and result["error"]["attempts"] == 3 and seconds < BOUND
    assert result["msg"].startswith("ECS DescribeInstances failed: Throttling.User")
    assert "[gave up after 3 attempts in " in result["msg"]
    assert len(sim.calls(action="DescribeInstances")) == 3
    assert sum("retry: ECS DescribeInstances" in str(w) for w in result.get("warnings", [])) == 2


SIM_PROFILE = {"name": "sim", "mode": "AK", "access_key_id": "sim-access-key", "access_key_secret": "sim-secret-key",
               "region_id": "cn-shanghai", "output_format": "json", "language": "en"}


@pytest.fixture
def profile_home(tmp_path):
    config = tmp_path / ".aliyun" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"current": "default", "profiles": [
        dict(SIM_PROFILE, name="default", access_key_id="not-the-sim-key", region_id="cn-beijing"), SIM_PROFILE]}))
    return tmp_path


def without_region_and_keys(sim, **extra):
    """A stand-in for ``sim`` whose module environment has no region and no keys."""
    env = {k: v for k, v in sim.env.items() if not k.startswith(("ALIBABA_CLOUD_", "ALICLOUD_"))
           or k.endswith("_ENDPOINT")}
    env.update(extra)
    return types.SimpleNamespace(env=env)


@pytest.mark.parametrize("how", ["profile option", "ALIBABA_CLOUD_PROFILE"])
def test_the_profile_region_is_used(sim, profile_home, how):
    extra = {"HOME": str(profile_home)}
    args = {}
    if how == "profile option":
        args["profile"] = "sim"
    else:
        extra["ALIBABA_CLOUD_PROFILE"] = "sim"
    rc, result, _out, err = run_module(without_region_and_keys(sim, **extra), "ecs_cloud_assistant_info", args)
    assert rc == 0 and not result.get("failed"), (result.get("msg"), err[-2000:])
    shanghai = instance_ids(sim, "cn-shanghai")
    assert shanghai and sorted(result["instances"]) == sorted(shanghai)
    assert {c["region"] for c in sim.calls() if c["product"] == "ecs"} == {"cn-shanghai"}
    assert {c["access_key"] for c in sim.calls() if c["product"] == "ecs"} == {"sim-access-key"}


def test_no_region_anywhere_names_the_profile(sim, profile_home):
    config = profile_home / ".aliyun" / "config.json"
    config.write_text(json.dumps({"profiles": [dict(SIM_PROFILE, region_id="")]}))
    env = without_region_and_keys(sim, HOME=str(profile_home))
    rc, result, _out, _err = run_module(env, "ecs_cloud_assistant_info", {"profile": "sim"})
    assert rc == 1
    assert "region is required: set the region option, the environment variable ALIBABA_CLOUD_REGION_ID" in result["msg"]
    assert "profile sim in %s has no region_id" % config in result["msg"]
    assert [c for c in sim.calls() if c["product"]] == []
