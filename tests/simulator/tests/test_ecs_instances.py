"""ECS DescribeRegions, DescribeInstances, DescribeCloudAssistantStatus and InstallCloudAssistant."""

import json
import re

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from conftest import instance_ids

MINUTE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")
INSTANCE_FIELDS = {"InstanceId", "InstanceName", "HostName", "Status", "OSType", "OSName", "OSNameEn", "RegionId",
                   "ZoneId", "ImageId", "InstanceType", "InstanceTypeFamily", "Cpu", "Memory", "InstanceChargeType",
                   "InstanceNetworkType", "CreationTime", "StartTime", "ExpiredTime", "ResourceGroupId",
                   "VpcAttributes", "PublicIpAddress", "SecurityGroupIds", "Tags", "OperationLocks"}


def _describe(server, **kw):
    kw.setdefault("region_id", "cn-hangzhou")
    return server.ecs().describe_instances(m.DescribeInstancesRequest(**kw)).body


@pytest.mark.parametrize("language, name", [(None, "华东1（杭州）"), ("en-US", "China (Hangzhou)")])
def test_describe_regions(sim_server, language, name):
    body = sim_server.ecs().describe_regions(m.DescribeRegionsRequest(accept_language=language)).body.to_map()
    hangzhou = body["Regions"]["Region"][0]
    assert hangzhou == {"RegionId": "cn-hangzhou", "LocalName": name, "Status": "available",
                        "RegionEndpoint": "ecs-cn-hangzhou.aliyuncs.com"}
    shanghai = [r for r in body["Regions"]["Region"] if r["RegionId"] == "cn-shanghai"][0]
    assert shanghai["RegionEndpoint"] == "ecs.cn-shanghai.aliyuncs.com"


def test_describe_instances_shape(sim_server):
    body = _describe(sim_server, instance_ids=json.dumps(instance_ids(sim_server, "db"))).to_map()
    assert body["TotalCount"] == 1 and body["NextToken"] == ""
    inst = body["Instances"]["Instance"][0]
    assert INSTANCE_FIELDS <= inst.keys()
    assert inst["OSType"] == "linux" and inst["OSName"] == "Ubuntu 22.04 64 bit"
    assert MINUTE_RE.match(inst["CreationTime"]) and MINUTE_RE.match(inst["StartTime"])
    assert inst["Tags"] == {"Tag": [{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "role", "TagValue": "db"}]}
    assert inst["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0].startswith("172.16.")
    assert (inst["Cpu"], inst["Memory"], inst["InstanceTypeFamily"]) == (2, 8192, "ecs.g7")


def test_describe_instances_filters(sim_server):
    ids = instance_ids(sim_server, "web")
    assert _describe(sim_server, instance_ids=json.dumps(ids + ["i-unknown"])).total_count == 3
    assert _describe(sim_server, instance_name="web-*").total_count == 3
    assert _describe(sim_server, instance_name="w*b-2").instances.instance[0].instance_name == "web-2"
    assert _describe(sim_server, status="Stopped").instances.instance[0].instance_name == "stopped"
    tag = m.DescribeInstancesRequestTag
    assert _describe(sim_server, tag=[tag(key="role", value="web")]).total_count == 3
    assert _describe(sim_server, tag=[tag(key="role")]).total_count == 5
    assert _describe(sim_server, tag=[tag(key="role", value="web"), tag(key="env", value="prod")]).total_count == 0
    assert _describe(sim_server, region_id="cn-shanghai").total_count == 2
    sim_server.admin("PATCH", f"instances/{ids[0]}", {"released": True})
    assert _describe(sim_server, instance_ids=json.dumps(ids)).total_count == 2
    with pytest.raises(ClientException) as info:
        _describe(sim_server, instance_ids="not json")
    assert info.value.code == "InvalidParameter"


def test_describe_instances_paging(sim_server_factory):
    server = sim_server_factory(fleet={"regions": {"cn-hangzhou": {"instances": [
        {"name": "n", "os_type": "linux", "count": 25}]}}})
    seen, token = [], None
    while True:
        body = _describe(server, max_results=10, next_token=token)
        seen += [i.instance_id for i in body.instances.instance]
        token = body.next_token
        if not token:
            break
    assert len(seen) == 25 == len(set(seen))
    assert len(_describe(server, max_results=3).instances.instance) == 10      # below 10 counts as 10
    legacy = _describe(server, page_number=3, page_size=10)
    assert (legacy.page_number, legacy.page_size, legacy.total_count) == (3, 10, 25)
    assert [i.instance_id for i in legacy.instances.instance] == seen[20:]


def test_cloud_assistant_status(sim_server):
    web, noagent, stopped = (instance_ids(sim_server, p)[0] for p in ("web-1", "noagent", "stopped"))
    sim_server.admin("PATCH", f"instances/{instance_ids(sim_server, 'web-2')[0]}", {"agent": "offline"})
    body = sim_server.ecs().describe_cloud_assistant_status(m.DescribeCloudAssistantStatusRequest(
        region_id="cn-hangzhou", instance_id=[web, noagent, stopped, instance_ids(sim_server, "web-2")[0]],
        max_results=1)).body.to_map()
    rows = {r["InstanceId"]: r for r in body["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"]}
    assert body["TotalCount"] == 4 and len(rows) == 4                # MaxResults is ignored with InstanceId
    assert rows[web]["CloudAssistantStatus"] == "true" and rows[web]["CloudAssistantVersion"]
    assert rows[web]["OSType"] == "Linux" and rows[web]["LastHeartbeatTime"].endswith("Z")
    assert rows[noagent]["CloudAssistantStatus"] == "false" and rows[noagent]["CloudAssistantVersion"] == ""
    assert rows[stopped]["CloudAssistantStatus"] == "false" and rows[stopped]["CloudAssistantVersion"] == ""
    assert rows[instance_ids(sim_server, "web-2")[0]]["CloudAssistantStatus"] == "false"
    windows = sim_server.ecs().describe_cloud_assistant_status(m.DescribeCloudAssistantStatusRequest(
        region_id="cn-hangzhou", ostype="Windows")).body
    rows = windows.instance_cloud_assistant_status_set.instance_cloud_assistant_status
    assert [r.ostype for r in rows] == ["Windows"]


def test_install_cloud_assistant_needs_reboot(sim_server):
    noagent = instance_ids(sim_server, "noagent")[0]
    client = sim_server.ecs()
    client.install_cloud_assistant(m.InstallCloudAssistantRequest(region_id="cn-hangzhou", instance_id=[noagent]))
    status = client.describe_cloud_assistant_status(m.DescribeCloudAssistantStatusRequest(
        region_id="cn-hangzhou", instance_id=[noagent])).body.to_map()
    row = status["InstanceCloudAssistantStatusSet"]["InstanceCloudAssistantStatus"][0]
    assert row["CloudAssistantStatus"] == "false" and row["CloudAssistantVersion"]
    assert sim_server.admin("PATCH", f"instances/{noagent}", {"reboot": True})["agent"] == "online"
    with pytest.raises(ClientException) as info:
        client.install_cloud_assistant(m.InstallCloudAssistantRequest(
            region_id="cn-hangzhou", instance_id=instance_ids(sim_server, "stopped")))
    assert (info.value.code, info.value.status_code) == ("IncorrectInstanceStatus", 403)
    with pytest.raises(ClientException) as info:
        client.install_cloud_assistant(m.InstallCloudAssistantRequest(region_id="cn-hangzhou", instance_id=["i-x"]))
    assert (info.value.code, info.value.status_code) == ("InvalidInstance.NotFound", 404)


def test_network_and_image_filters(sim_server_factory):
    from alibabacloud_ecs20140526 import models as m
    server = sim_server_factory(fleet={"regions": {"cn-hangzhou": {"instances": [
        {"name": "pub", "os_type": "linux", "public_ip": "47.96.0.10", "zone": "cn-hangzhou-h"},
        {"name": "priv", "os_type": "linux", "private_ip": "172.16.9.9"}]}}})
    ecs = server.ecs()

    def names(**kw):
        body = ecs.describe_instances(m.DescribeInstancesRequest(region_id="cn-hangzhou", **kw)).body
        return sorted(i.instance_name for i in body.instances.instance)

    every = ecs.describe_instances(m.DescribeInstancesRequest(region_id="cn-hangzhou")).body.instances.instance
    pub = [i for i in every if i.instance_name == "pub"][0]
    assert pub.public_ip_address.ip_address == ["47.96.0.10"]
    assert names(vpc_id=pub.vpc_attributes.vpc_id) == ["priv", "pub"]
    assert names(vpc_id="vpc-nothere") == []
    assert names(v_switch_id=pub.vpc_attributes.v_switch_id) == ["pub"]
    assert names(security_group_id=pub.security_group_ids.security_group_id[0]) == ["priv", "pub"]
    assert names(public_ip_addresses='["47.96.0.10"]') == ["pub"]
    assert names(private_ip_addresses='["172.16.9.9"]') == ["priv"]
    assert names(image_id=pub.image_id) == ["priv", "pub"] and names(image_id="m-none") == []
