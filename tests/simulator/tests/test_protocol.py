"""The wire protocol: routing, V3/V2 signatures, STS, skew, replay, envelope and errors."""

import dataclasses
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_oos20190601 import models as oos_models
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from conftest import OOS_VERSION

from alicloud_sim.core.registry import ACTIONS

UUID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
SIGNINGS = ["v3", "v2"]


def _config(signing):
    return {} if signing == "v3" else {"signature_algorithm": "v2"}


@pytest.mark.parametrize("signing", SIGNINGS)
def test_sdk_calls_succeed_with_both_signatures(sim_server, signing):
    ecs = sim_server.ecs(**_config(signing)).describe_regions(ecs_models.DescribeRegionsRequest())
    oos = sim_server.oos(**_config(signing)).describe_regions(oos_models.DescribeRegionsRequest())
    assert ecs.status_code == 200 and oos.status_code == 200
    assert UUID_RE.match(ecs.body.request_id) and UUID_RE.match(oos.body.request_id)
    assert ecs.headers["content-type"] == "application/json;charset=utf-8"
    assert {r.region_id for r in ecs.body.regions.region} >= {"cn-hangzhou", "cn-shanghai"}
    assert {r.region_id for r in oos.body.regions} >= {"cn-hangzhou", "cn-shanghai"}
    call = sim_server.calls(action="DescribeRegions")[-1]
    assert call["http_status"] == 200 and call["access_key"] == "sim-access-key"
    assert "Signature" not in call["params"] and "SignatureNonce" not in call["params"]


@pytest.mark.parametrize("signing", SIGNINGS)
def test_wrong_secret_is_signature_mismatch(sim_server, signing):
    client = sim_server.ecs(access_key_secret="not-the-secret", **_config(signing))
    with pytest.raises(ClientException) as info:
        client.describe_regions(ecs_models.DescribeRegionsRequest())
    err = info.value
    assert (err.code, err.status_code) == ("SignatureDoesNotMatch", 400)
    assert "server string to sign is:" in err.data["Message"]
    assert UUID_RE.match(err.request_id)
    assert err.data["HostId"] == "ecs-cn-hangzhou.aliyuncs.com"
    assert err.data["Recommend"].endswith(f"q=SignatureDoesNotMatch&product=Ecs&requestId={err.request_id}")


@pytest.mark.parametrize("signing", SIGNINGS)
def test_unknown_access_key(sim_server, signing):
    with pytest.raises(ClientException) as info:
        sim_server.oos(access_key_id="nobody", **_config(signing)).describe_regions(oos_models.DescribeRegionsRequest())
    assert (info.value.code, info.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)
    assert info.value.data["HostId"] == "oos.cn-hangzhou.aliyuncs.com"


@pytest.mark.parametrize("signing", SIGNINGS)
def test_sts_token(sim_server, signing):
    sts = {"access_key_id": "STS.sim-access-key", "access_key_secret": "sim-sts-secret", **_config(signing)}
    ok = sim_server.ecs(security_token="sim-sts-token", **sts).describe_regions(ecs_models.DescribeRegionsRequest())
    assert ok.status_code == 200
    with pytest.raises(ClientException) as info:
        sim_server.ecs(security_token="stolen", **sts).describe_regions(ecs_models.DescribeRegionsRequest())
    assert (info.value.code, info.value.status_code) == ("InvalidSecurityToken.MismatchWithAccessKey", 400)


@pytest.mark.parametrize("signing", SIGNINGS)
def test_sts_key_without_token(raw, signing):
    status, _, body = raw.call("DescribeRegions", signing=signing, access_key="STS.sim-access-key",
                               secret="sim-sts-secret")
    assert (status, body["Code"]) == (400, "MissingSecurityToken")


@pytest.mark.parametrize("signing", SIGNINGS)
def test_raw_request_verifies_and_tampering_fails(raw, signing):
    params = {"RegionId": "cn-hangzhou", "InstanceIds": '["i-1", "i-2"]', "InstanceName": "a b*c~"}
    status, _, body = raw.call("DescribeInstances", params, signing=signing)
    assert status == 200 and body["Instances"] == {"Instance": []}
    status, _, body = raw.call("DescribeInstances", params, signing=signing,
                               tamper=lambda p: p.update(InstanceIds='["i-1", "i-3"]'))
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("signing", SIGNINGS)
def test_expired_and_malformed_timestamps(raw, signing):
    old = (datetime.now(timezone.utc) - timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _, body = raw.call("DescribeRegions", signing=signing, date=old)
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Expired")
    future = (datetime.now(timezone.utc) + timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert raw.call("DescribeRegions", signing=signing, date=future)[0] == 200
    status, _, body = raw.call("DescribeRegions", signing=signing, date="yesterday")
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Format")


@pytest.mark.parametrize("signing", SIGNINGS)
def test_reused_nonce_is_rejected(raw, signing):
    assert raw.call("DescribeRegions", signing=signing, nonce="nonce-1")[0] == 200
    status, _, body = raw.call("DescribeRegions", signing=signing, nonce="nonce-1")
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")
    assert raw.call("DescribeRegions", signing=signing, nonce="nonce-2")[0] == 200


def test_missing_and_malformed_signatures(raw, sim_server):
    status, _, body = raw.call("DescribeRegions", signing=None)
    assert (status, body["Code"]) == (400, "MissingSignature")
    headers = {"x-acs-action": "DescribeRegions", "x-acs-version": "2014-05-26", "Authorization": "HMAC junk"}
    status, _, body = raw.send("POST", "/", headers)
    assert (status, body["Code"]) == (400, "IncompleteSignature")


def test_v2_over_get_and_form_body(raw):
    status, _, body = raw.call("DescribeRegions", {"AcceptLanguage": "en-US"}, signing="v2", method="GET")
    assert status == 200 and body["Regions"]["Region"][0]["LocalName"] == "China (Hangzhou)"
    status, _, body = raw.call("DescribeInstances", {"RegionId": "cn-shanghai"}, signing="v2", form=True)
    assert status == 200 and body["TotalCount"] == 2


def test_unknown_action_and_version(raw, sim_server):
    status, _, body = raw.call("DescribeNothing")
    assert (status, body["Code"]) == (404, "InvalidAction.NotFound")
    status, _, body = raw.call("DescribeRegions", version="2099-01-01")
    assert (status, body["Code"]) == (400, "InvalidVersion")
    status, _, body = raw.call("DescribeRegions", version=OOS_VERSION, signing="v2")
    assert status == 200 and isinstance(body["Regions"], list)


def test_unknown_region(sim_server):
    with pytest.raises(ClientException) as info:
        sim_server.ecs().describe_instances(ecs_models.DescribeInstancesRequest(region_id="mars-north-1"))
    assert (info.value.code, info.value.status_code) == ("InvalidRegionId.NotFound", 404)
    with pytest.raises(ClientException) as info:
        sim_server.oos().describe_regions(oos_models.DescribeRegionsRequest(region_id="mars-north-1"))
    assert (info.value.code, info.value.status_code) == ("InvalidRegionId", 400)


def test_large_request_lines(sim_server, raw):
    name = "x" * 100_000
    result = sim_server.ecs().describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou", instance_name=name))
    assert result.body.instances.instance == []
    assert sim_server.calls(action="DescribeInstances")[-1]["params"]["InstanceName"] == name
    status, _, _ = raw.send("GET", "/?q=" + "y" * (1 << 20), {})
    assert status == 414


def test_handler_crash_is_internal_error(sim_server, monkeypatch):
    def boom(sim, req):
        raise RuntimeError("simulated bug")

    key = ("ecs", "DescribeRegions")
    monkeypatch.setitem(ACTIONS, key, dataclasses.replace(ACTIONS[key], handler=boom))
    with pytest.raises(ServerException) as info:
        sim_server.ecs().describe_regions(ecs_models.DescribeRegionsRequest())
    assert (info.value.code, info.value.status_code) == ("InternalError", 500)
    assert sim_server.calls(action="DescribeRegions")[-1]["error_code"] == "InternalError"


def test_parallel_clients(sim_server):
    errors = []

    def worker(n):
        try:
            client = sim_server.ecs()
            for i in range(50):
                if i % 2:
                    client.describe_instances(ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou"))
                else:
                    client.describe_invocations(ecs_models.DescribeInvocationsRequest(region_id="cn-hangzhou"))
        except Exception as exc:  # pylint: disable=broad-except
            errors.append((n, exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    calls = sim_server.calls(product="ecs")
    assert len(calls) == 400 and len({c["seq"] for c in calls}) == 400
    assert all(c["http_status"] == 200 for c in calls)
