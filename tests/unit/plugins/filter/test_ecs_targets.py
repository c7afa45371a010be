"""ecs_targets: ids in every form the roles take, inventory hosts and instances found by tag become one list of
{instance_id, region}, each once; ecs_survey_list and ecs_survey_tags read the other AWX survey answers."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alibabacloud.ecs_ops.plugins.filter.ecs_targets import (
    FilterModule,
    ecs_survey_list,
    ecs_survey_tags,
    ecs_targets,
)

HOSTVARS = {
    "web-1": {"ecs_instance_id": "i-web1", "ecs_region": "cn-shanghai"},
    "web-2": {"ecs_instance_id": "i-web2"},
    "localhost": {"ansible_connection": "local"},
}


def ids(targets):
    return [t["instance_id"] for t in targets]


def test_the_three_forms_of_ids():
    assert ecs_targets(["i-1", "i-2"], region="cn-hangzhou") == [
        {"instance_id": "i-1", "region": "cn-hangzhou"}, {"instance_id": "i-2", "region": "cn-hangzhou"}]
    assert ecs_targets([{"instance_id": "i-1", "region": "cn-beijing"}, {"instance_id": "i-2"}], region="r") == [
        {"instance_id": "i-1", "region": "cn-beijing"}, {"instance_id": "i-2", "region": "r"}]
    assert ecs_targets({"cn-beijing": ["i-1"], "cn-shanghai": ["i-2"]}) == [
        {"instance_id": "i-1", "region": "cn-beijing"}, {"instance_id": "i-2", "region": "cn-shanghai"}]


def test_without_a_region_the_modules_default_applies():
    """An empty region is the roles' "module_defaults or ALIBABA_CLOUD_REGION_ID" (the modules omit it)."""
    assert ecs_targets(["i-1", {"instance_id": "i-2", "region": ""}]) == [
        {"instance_id": "i-1", "region": ""}, {"instance_id": "i-2", "region": ""}]


@pytest.mark.parametrize("survey", [
    "i-1,i-2, i-3",
    "i-1\ni-2\n\n  i-3\n",
    "i-1 i-2\r\n,,i-3, i-1",
    " i-1, i-2\n i-2\ni-3 ",
])
def test_a_survey_string_is_a_list_of_ids(survey):
    """AWX survey textareas: commas, spaces, newlines, blank lines; repeats are dropped, the first one wins."""
    assert ecs_targets(survey, region="cn-hangzhou") == [
        {"instance_id": i, "region": "cn-hangzhou"} for i in ("i-1", "i-2", "i-3")]


def test_an_empty_survey_answer_selects_nothing():
    assert ecs_targets("") == [] and ecs_targets(" ,\n ") == []


def test_hosts_give_their_instance_and_region():
    assert ecs_targets([], hosts=["web-1", "web-2"], hostvars=HOSTVARS, region="cn-hangzhou") == [
        {"instance_id": "i-web1", "region": "cn-shanghai"}, {"instance_id": "i-web2", "region": "cn-hangzhou"}]


def test_hosts_as_a_survey_string():
    assert ids(ecs_targets([], hosts="web-2,\nweb-1", hostvars=HOSTVARS)) == ["i-web2", "i-web1"]


def test_instances_found_by_tag_come_from_the_registered_lookups():
    """The roles register ecs_cloud_assistant_info in a loop over regions; a skipped item has no instances."""
    lookups = [{"instances": {"i-t1": {"region": "cn-beijing"}, "i-web1": {"region": "cn-shanghai"}}},
               {"skipped": True}, {"instances": {}}]
    assert ecs_targets(["i-1"], hosts=["web-1"], hostvars=HOSTVARS, region="cn-hangzhou", tagged=lookups) == [
        {"instance_id": "i-1", "region": "cn-hangzhou"}, {"instance_id": "i-web1", "region": "cn-shanghai"},
        {"instance_id": "i-t1", "region": "cn-beijing"}]
    assert ids(ecs_targets([], tagged={"results": lookups})) == ["i-t1", "i-web1"]
    assert ids(ecs_targets([], tagged=lookups[0])) == ["i-t1", "i-web1"]


def test_targets_already_normalised_stay_as_they_are():
    """The roles add the tagged instances to the targets of ids and hosts in a second call."""
    first = ecs_targets(["i-1", "i-2"], hosts=["web-1"], hostvars=HOSTVARS)
    assert ecs_targets(first, tagged=[{"instances": {"i-2": {"region": "x"}, "i-3": {"region": "cn-beijing"}}}]) == (
        first + [{"instance_id": "i-3", "region": "cn-beijing"}])


def test_each_instance_once_first_occurrence_wins():
    targets = ecs_targets({"cn-shanghai": ["i-web1", "i-9"]}, hosts=["web-1", "web-1"], hostvars=HOSTVARS)
    assert targets == [{"instance_id": "i-web1", "region": "cn-shanghai"}, {"instance_id": "i-9", "region": "cn-shanghai"}]


def test_nothing_gives_an_empty_list():
    assert ecs_targets([]) == [] and ecs_targets(None, hosts=None, tagged=None) == []


@pytest.mark.parametrize("given, hosts, message", [
    # The rollout role's Jinja once made the targets "i", "-", "a", "b", "c" of this; the modules refuse it.
    ({"cn-hangzhou": "i-abc"}, [], "instance ids of region cn-hangzhou must be a list, got str 'i-abc'"),
    ({"cn-hangzhou": ["i-1", 7]}, [], "7 (region cn-hangzhou) is not an instance id"),
    (42, [], "not the int 42"),
    ([""], [], "'' is not an instance id"),
    ([None], [], "None is not an instance id"),
    ([{"region": "r"}], [], "has no instance_id"),
    ([], {"web": ["web-1"]}, "hosts must be a list of inventory host names"),
    ([], ["web-3", "localhost", "web-1"],
     "hosts not in the inventory: web-3; hosts without the ecs_instance_id variable: localhost"),
])
def test_every_problem_is_named(given, hosts, message):
    with pytest.raises(AnsibleFilterError, match="ecs_targets: .*" + re.escape(message)):
        ecs_targets(given, hosts=hosts, hostvars=HOSTVARS)


def test_all_problems_in_one_error():
    with pytest.raises(AnsibleFilterError) as error:
        ecs_targets({"cn-hangzhou": "i-1", "cn-beijing": ["i-2"]}, hosts=["ghost"], hostvars=HOSTVARS)
    assert str(error.value) == ("ecs_targets: instance ids of region cn-hangzhou must be a list, got str 'i-1'; "
                                "hosts not in the inventory: ghost")


def test_tagged_must_be_registered_results():
    with pytest.raises(AnsibleFilterError, match="tagged must be the registered results of ecs_cloud_assistant_info"):
        ecs_targets([], tagged="i-1")


def test_hosts_without_hostvars_is_an_error():
    with pytest.raises(AnsibleFilterError, match="hosts need hostvars"):
        ecs_targets([], hosts=["web-1"])


@pytest.mark.parametrize("survey, expected", [
    ("web-1, web-2", ["web-1", "web-2"]),
    ("cn-hangzhou\n\ncn-shanghai\n", ["cn-hangzhou", "cn-shanghai"]),
    ("", []),
    (["a b"], ["a b"]),
    ([], []),
])
def test_survey_list(survey, expected):
    assert ecs_survey_list(survey) == expected


@pytest.mark.parametrize("survey, expected", [
    ("env=prod, role=web", {"env": "prod", "role": "web"}),
    ("env = prod\n\nrole\nurl=a=b\n", {"env": "prod", "role": "", "url": "a=b"}),
    ("", {}),
    ({"env": "prod"}, {"env": "prod"}),
])
def test_survey_tags(survey, expected):
    """key=value pairs by commas or newlines; a key alone matches any value; the value keeps a later "="."""
    assert ecs_survey_tags(survey) == expected


def test_the_filters_are_registered():
    assert FilterModule().filters() == {"ecs_targets": ecs_targets, "ecs_survey_list": ecs_survey_list,
                                        "ecs_survey_tags": ecs_survey_tags}
