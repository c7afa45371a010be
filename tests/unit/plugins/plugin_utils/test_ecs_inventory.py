"""The inventory plugin's pure parts: filters checked before any call, the client-side match (a server that ignores
a filter cannot widen the inventory), host names without duplicates, host variables and ready-made groups."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ecs_inventory as inv


def instance(instance_id, name="", status="Running", tags=None, private="10.0.0.1", public=None, eip=None, **extra):
    item = {"InstanceId": instance_id, "InstanceName": name, "Status": status, "HostName": name.lower(),
            "ZoneId": "cn-hangzhou-h", "OSType": "linux", "OSName": "Alibaba Cloud Linux 3",
            "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in (tags or {}).items()]},
            "VpcAttributes": {"VpcId": "vpc-1", "VSwitchId": "vsw-1",
                              "PrivateIpAddress": {"IpAddress": [private] if private else []}},
            "PublicIpAddress": {"IpAddress": [public] if public else []}}
    if eip:
        item["EipAddress"] = {"IpAddress": eip}
    item.update(extra)
    return item


def record(item, agent=None, **extra):
    return dict(region="cn-hangzhou", instance=item, agent=agent or {}, **extra)


ONLINE = {"CloudAssistantStatus": "true", "CloudAssistantVersion": "2.2.3", "SupportSessionManager": True,
          "LastHeartbeatTime": "2026-11-28T10:00:00Z", "OSType": "Linux"}


# --- filter_problems ----------------------------------------------------------------------------------------
def test_valid_filters_have_no_problem():
    assert inv.filter_problems({"status": "Running", "tags": {"env": "prod", "team": ""}, "vpc_id": "vpc-1",
                                "instance_ids": ["i-1"], "private_ips": ["10.0.0.1"]}) == []


def test_every_bad_filter_is_named_with_where_it_is():
    problems = inv.filter_problems({"stauts": "Running", "tags": {}, "instance_ids": ["web-1"],
                                    "public_ips": "1.2.3.4", "zone_id": ""}, "include_filters[1]")
    assert len(problems) == 5
    assert problems[0].startswith("include_filters[1].stauts is not a filter; the filters are: ")
    assert "status" in problems[0]
    assert any(p.startswith("include_filters[1].tags must be a non-empty dict") for p in problems)
    assert any(p.startswith("include_filters[1].instance_ids must be a list of instance ids") for p in problems)
    assert any(p.startswith("include_filters[1].public_ips must be a non-empty list") for p in problems)
    assert any(p.startswith("include_filters[1].zone_id must be a non-empty string") for p in problems)


def test_a_filter_set_that_is_not_a_dict():
    assert inv.filter_problems(["status"]) == ["filters must be a dict of filter name to value, got list"]


# --- matches: the server's test, made again on what it answered ------------------------------------------
def test_matches_tags_with_and_without_value():
    item = instance("i-1", tags={"env": "prod", "team": "web"})
    assert inv.matches(item, {"tags": {"env": "prod"}})
    assert inv.matches(item, {"tags": {"team": ""}})
    assert not inv.matches(item, {"tags": {"env": "staging"}})
    assert not inv.matches(item, {"tags": {"owner": ""}})


def test_instance_name_is_a_wildcard_other_strings_are_exact():
    item = instance("i-1", name="web-12")
    assert inv.matches(item, {"instance_name": "web-*"})
    assert not inv.matches(item, {"instance_name": "api-*"})
    assert not inv.matches(instance("i-1", status="Stopped"), {"status": "Running"})
    assert inv.matches(instance("i-1", status="Stopped"), {"status": "Stopped"})


def test_ip_lists_match_any_address():
    item = instance("i-1", private="10.0.0.5", public="47.1.1.1", eip="8.8.4.4")
    assert inv.matches(item, {"private_ips": ["10.0.0.9", "10.0.0.5"]})
    assert inv.matches(item, {"public_ips": ["8.8.4.4"]}), "an EIP is a public address"
    assert not inv.matches(item, {"public_ips": ["10.0.0.5"]})


def test_a_server_that_ignores_a_filter_cannot_widen_the_inventory():
    """DescribeInstances answered every instance (as if the filter were unknown to it): only those the filter
    names are kept."""
    answered = {"Instances": {"Instance": [instance("i-1", tags={"env": "prod"}), instance("i-2"),
                                           instance("i-3", tags={"env": "dev"})]}, "TotalCount": 3}
    calls = []

    class Api:
        def call(self, action, params):
            calls.append((action, dict(params)))
            return answered

    found = inv.describe(Api(), {"tags": {"env": "prod"}})
    assert [i["InstanceId"] for i in found] == ["i-1"]
    assert calls[0][0] == "DescribeInstances"
    assert calls[0][1]["Tag"] == inv.tag_filter({"env": "prod"}), "the filter is still sent to the server"


def test_exclude_filters_drop_what_matches_any_set():
    answered = {"Instances": {"Instance": [instance("i-1", name="web-1"), instance("i-2", name="db-1"),
                                           instance("i-3", name="web-2", status="Stopped")]}}

    class Api:
        def call(self, action, params):
            return answered

    found = inv.select(Api(), {}, [], [{"instance_name": "db-*"}, {"status": "Stopped"}])
    assert sorted(found) == ["i-1"]


# --- host names --------------------------------------------------------------------------------------------
def test_host_names_follow_the_preferences_and_never_collide():
    records = [record(instance("i-1", name="web")), record(instance("i-2", name="web")),
               record(instance("i-3", name="", tags={"fqdn": "db.example.com"})), record(instance("i-4", name=""))]
    names = inv.host_names(records, ["instance_name", "tag:fqdn"])
    assert names == {"i-1": "web", "i-2": "i-2", "i-3": "db.example.com", "i-4": "i-4"}


def test_a_taken_name_falls_to_the_next_preference():
    records = [record(instance("i-1", name="web", private="10.0.0.1")),
               record(instance("i-2", name="web", private="10.0.0.2"))]
    assert inv.host_names(records, ["instance_name", "private_ip"]) == {"i-1": "web", "i-2": "10.0.0.2"}


# --- host variables and groups ------------------------------------------------------------------------------
def test_host_vars_describe_the_instance_and_its_agent():
    hv = inv.host_vars(record(instance("i-1", name="web", tags={"role": "web"}, public="47.1.1.1"), ONLINE))
    assert hv["ecs_instance_id"] == "i-1" and hv["ecs_region"] == "cn-hangzhou"
    assert hv["ecs_tags"] == {"role": "web"}
    assert hv["ecs_private_ips"] == ["10.0.0.1"] and hv["ecs_public_ips"] == ["47.1.1.1"]
    assert hv["ansible_host"] == "47.1.1.1", "the public address first by default"
    assert hv["ecs_cloud_assistant"]["online"] is True
    assert hv["ecs_cloud_assistant"]["version"] == "2.2.3"
    assert "ecs_installed_extensions" not in hv and "ecs_patch_state" not in hv, "opt-in reads only when asked"


def test_ansible_host_follows_its_preferences_and_may_be_absent():
    item = instance("i-1", public="47.1.1.1")
    assert inv.host_vars(record(item), ("private_ip",))["ansible_host"] == "10.0.0.1"
    assert "ansible_host" not in inv.host_vars(record(instance("i-2", private=None)), ("private_ip", "public_ip"))


def test_opt_in_values_and_their_groups():
    hv = inv.host_vars(record(instance("i-1"), ONLINE, extensions=None, patch_state=None))
    assert hv["ecs_installed_extensions"] == {}
    assert hv["ecs_patch_state"]["compliance"] == "never_scanned"
    assert inv.default_groups(hv) == ["ecs", "ecs_agent_online", "ecs_linux", "ecs_never_scanned"]


def test_default_groups_say_how_cloud_assistant_is():
    offline = dict(ONLINE, CloudAssistantStatus="false")
    assert "ecs_agent_offline" in inv.default_groups(inv.host_vars(record(instance("i-1"), offline)))
    assert "ecs_agent_missing" in inv.default_groups(inv.host_vars(record(instance("i-1"), {})))
