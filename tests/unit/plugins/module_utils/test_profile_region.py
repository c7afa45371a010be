"""The region of the aliyun CLI profile the credentials come from, when no region is given."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import cli_config_path, profile_region
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule

SIM_KEYS = {"access_key_id": "sim-access-key", "access_key_secret": "sim-secret-key"}


def write_config(home, *profiles, current="default"):
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"current": current, "profiles": list(profiles)}))
    return path


def ak_profile(name, region_id=None):
    profile = dict(SIM_KEYS, name=name, mode="AK")
    if region_id is not None:
        profile["region_id"] = region_id
    return profile


def test_the_file_is_the_one_the_credentials_library_reads(tmp_path):
    assert cli_config_path({"HOME": str(tmp_path)}) == str(tmp_path / ".aliyun" / "config.json")


def test_profile_region_reads_region_id(tmp_path):
    write_config(tmp_path, ak_profile("default", "cn-beijing"), ak_profile("ops", "cn-shanghai"))
    assert profile_region("ops", {"HOME": str(tmp_path)}) == ("cn-shanghai", None)


@pytest.mark.parametrize("setup,expected", [
    (None, "config.json cannot be read (No such file or directory)"),
    ("{not json", "config.json is not valid JSON"),
    ([ak_profile("other", "cn-beijing")], "config.json has no profile ops"),
    ([ak_profile("ops", "")], "profile ops in %s has no region_id"),
], ids=["no-file", "bad-json", "no-such-profile", "no-region"])
def test_profile_region_says_why_there_is_none(tmp_path, setup, expected):
    path = tmp_path / ".aliyun" / "config.json"
    if isinstance(setup, str):
        path.parent.mkdir(parents=True)
        path.write_text(setup)
    elif setup:
        write_config(tmp_path, *setup)
    region, why = profile_region("ops", {"HOME": str(tmp_path)})
    assert region is None and (expected % path if "%s" in expected else expected) in why


def region_main():
    module = AlicloudModule(argument_spec={})
    body = module.call("ecs", "DescribeInstances")
    module.exit_json(changed=False, region=module.region, count=len(body["Instances"]["Instance"]))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_config(tmp_path, ak_profile("default", "cn-beijing"), ak_profile("sim", "cn-shanghai"),
                 ak_profile("noregion"))
    return tmp_path


def ecs_regions(server):
    return {c["region"] for c in server.calls() if c["product"] == "ecs"}


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_profile_region_is_used_when_no_region_is_given(sim_server, run_module, home, monkeypatch, how):
    args = dict(ecs_endpoint=sim_server.url)
    if how == "option":
        args["profile"] = "sim"
    else:
        monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "sim")
    rc, result = run_module(region_main, args)
    assert rc == 0 and result["region"] == "cn-shanghai" and result["count"] > 0, result
    assert ecs_regions(sim_server) == {"cn-shanghai"}


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_region_option_and_its_variables_beat_the_profile(sim_server, run_module, home, monkeypatch, how):
    args = dict(ecs_endpoint=sim_server.url, profile="sim")
    if how == "option":
        args["region"] = "cn-hangzhou"
    else:
        monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", "cn-hangzhou")
    rc, result = run_module(region_main, args)
    assert rc == 0 and result["region"] == "cn-hangzhou" and ecs_regions(sim_server) == {"cn-hangzhou"}


def test_no_region_anywhere_names_every_place_and_the_profile(sim_server, run_module, home):
    rc, result = run_module(region_main, dict(ecs_endpoint=sim_server.url, profile="noregion"))
    assert rc == 1
    msg = result["msg"]
    for place in ("the region option", "ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION", "ALICLOUD_REGION_ID",
                  "region_id in the aliyun CLI profile", "ALIBABA_CLOUD_PROFILE"):
        assert place in msg
    assert "profile noregion in %s has no region_id" % (home / ".aliyun" / "config.json") in msg
    assert [c for c in sim_server.calls() if c["product"]] == []


def test_a_bad_profile_region_fails_before_any_call(sim_server, run_module, home):
    write_config(home, ak_profile("typo", "Shanghai"))
    rc, result = run_module(region_main, dict(ecs_endpoint=sim_server.url, profile="typo"))
    assert rc == 1 and "region_id of profile typo: region must be a region id" in result["msg"]
    assert [c for c in sim_server.calls() if c["product"]] == []


def test_keys_from_options_do_not_take_the_profile_region(sim_server, run_module, home):
    args = dict(ecs_endpoint=sim_server.url, profile="sim", access_key="sim-access-key", secret_key="sim-secret-key")
    rc, result = run_module(region_main, args)
    assert rc == 1 and "region is required" in result["msg"]
