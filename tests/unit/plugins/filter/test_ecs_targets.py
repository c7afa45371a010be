"""ecs_targets: ids in three forms and inventory hosts become one list of {instance_id, region}, each once."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_targets import FilterModule, ecs_targets

HOSTVARS = {
    "web-1": {"ecs_instance_id": "i-web1", "ecs_region": "cn-shanghai"},
    "web-2": {"ecs_instance_id": "i-web2"},
    "localhost": {"ansible_connection": "local"},
}


def test_the_three_forms_of_ids():
    assert ecs_targets(["i-1", "i-2"], region="cn-hangzhou") == [
        {"instance_id": "i-1", "region": "cn-hangzhou"}, {"instance_id": "i-2", "region": "cn-hangzhou"}]
    assert ecs_targets([{"instance_id": "i-1", "region": "cn-beijing"}, {"instance_id": "i-2"}], region="r") == [
        {"instance_id": "i-1", "region": "cn-beijing"}, {"instance_id": "i-2", "region": "r"}]
    assert ecs_targets({"cn-beijing": ["i-1"], "cn-shanghai": ["i-2"]}) == [
        {"instance_id": "i-1", "region": "cn-beijing"}, {"instance_id": "i-2", "region": "cn-shanghai"}]


def test_hosts_give_their_instance_and_region():
    assert ecs_targets([], hosts=["web-1", "web-2"], hostvars=HOSTVARS, region="cn-hangzhou") == [
        {"instance_id": "i-web1", "region": "cn-shanghai"}, {"instance_id": "i-web2", "region": "cn-hangzhou"}]


def test_each_instance_once_first_occurrence_wins():
    targets = ecs_targets({"cn-shanghai": ["i-web1", "i-9"]}, hosts=["web-1", "web-1"], hostvars=HOSTVARS)
    assert targets == [{"instance_id": "i-web1", "region": "cn-shanghai"}, {"instance_id": "i-9", "region": "cn-shanghai"}]


def test_nothing_gives_an_empty_list():
    assert ecs_targets([]) == [] and ecs_targets(None, hosts=None) == []


@pytest.mark.parametrize("ids, hosts, message", [
    ("i-1", [], "not the str 'i-1'"),
    ([""], [], "'' is not an instance id"),
    ([{"region": "r"}], [], "has no instance_id"),
    ({"cn-hangzhou": "i-1"}, [], "instance ids of region cn-hangzhou must be a list"),
    ([], "web-1", "hosts must be a list of inventory host names"),
    ([], ["web-3", "localhost", "web-1"],
     "not in the inventory: web-3; hosts without the ecs_instance_id variable: localhost"),
])
def test_every_problem_is_named(ids, hosts, message):
    with pytest.raises(AnsibleFilterError, match="ecs_targets: .*" + message.replace("{", r"\{").replace("(", r"\(")):
        ecs_targets(ids, hosts=hosts, hostvars=HOSTVARS)


def test_hosts_without_hostvars_is_an_error():
    with pytest.raises(AnsibleFilterError, match="hosts need hostvars"):
        ecs_targets([], hosts=["web-1"])


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"ecs_targets": ecs_targets}
