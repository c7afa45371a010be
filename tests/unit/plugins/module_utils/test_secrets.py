from __future__ import annotations

import json

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions import install
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import (
    MASK,
    SECRET_TAG,
    Redactor,
    secret_tags,
    tagged_names,
)

SECRET = "Pa$$-\"quoted\"-\\-ü-7f3a"


def test_the_mask_is_the_collections_mask():
    assert MASK == install.MASK == "********"


def test_names_are_sorted_and_comma_separated_in_one_tag():
    assert secret_tags(["password", "apiToken", "password"]) == {SECRET_TAG: "apiToken,password"}
    assert secret_tags([]) == {}


def test_names_that_do_not_fit_continue_in_numbered_tags():
    names = ["p%02d-%s" % (n, "x" * 36) for n in range(10)]      # 40 characters each
    tags = secret_tags(names)
    assert list(tags) == [SECRET_TAG, SECRET_TAG + "-2", SECRET_TAG + "-3", SECRET_TAG + "-4"]
    assert all(len(v) <= 128 for v in tags.values())
    assert tags[SECRET_TAG] == ",".join(names[:3]) and tags[SECRET_TAG + "-4"] == names[9]
    assert tagged_names(tags) == set(names)


@pytest.mark.parametrize("bad", ["", "a,b", "n" * 129])
def test_a_name_no_tag_value_can_hold_is_refused(bad):
    with pytest.raises(ValueError):
        secret_tags(["ok", bad])


@pytest.mark.parametrize("tags, names", [
    ({SECRET_TAG: "password", "team": "web"}, {"password"}),
    ({SECRET_TAG: " a , b,,", SECRET_TAG + "-7": "c", SECRET_TAG.upper() + "-2": "d"}, {"a", "b", "c", "d"}),
    ({SECRET_TAG + "-x": "a", "x-" + SECRET_TAG: "b", SECRET_TAG + "s": "c"}, set()),
    ([{"Key": SECRET_TAG, "Value": "a"}, {"TagKey": SECRET_TAG + "-2", "TagValue": "b"}], {"a", "b"}),
    (None, set()),
])
def test_tagged_names(tags, names):
    assert tagged_names(tags) == names


def test_mask_at_any_depth_keeps_the_input_and_remembers_the_values():
    found = []
    redactor = Redactor(on_secret=found.append)
    parameters = {"packageName": "BT", "parameters": {"Password": SECRET, "port": 8888,
                                                      "nested": [{"password": "second-secret"}]},
                  "password": "", "targets": {"ResourceIds": ["i-1"]}}
    masked = redactor.mask(parameters, {"password"})
    assert masked["parameters"] == {"Password": MASK, "port": 8888, "nested": [{"password": MASK}]}
    assert masked["password"] == MASK and masked["targets"] == parameters["targets"]
    assert parameters["parameters"]["Password"] == SECRET
    assert sorted(found) == sorted([SECRET, "second-secret"]) == sorted(redactor.values)


def test_mask_inside_json_text_and_whole_structures():
    redactor = Redactor()
    text = json.dumps({"user": "ops", "token": SECRET})
    assert json.loads(redactor.mask({"parameters": text}, ["token"])["parameters"]) == {"user": "ops", "token": MASK}
    assert redactor.mask({"parameters": "{not json"}, ["token"]) == {"parameters": "{not json"}
    assert redactor.mask({"creds": {"user": "u1", "pin": 4711, "on": True}}, ["creds"]) == {"creds": MASK}
    assert redactor.values == {SECRET, "u1", "4711"}


def test_a_reference_is_masked_but_not_a_secret():
    redactor = Redactor()
    masked = redactor.mask({"password": "{{ oos-secret:bt-password }}", "token": "{{oos:plain}}"},
                           ["password", "token"])
    assert masked == {"password": MASK, "token": MASK} and redactor.values == set()
    assert redactor.redact("see {{ oos-secret:bt-password }}") == "see {{ oos-secret:bt-password }}"


def test_no_names_no_change():
    redactor = Redactor()
    parameters = {"password": SECRET}
    assert redactor.mask(parameters, []) is parameters and redactor.redact(parameters) is parameters


def test_redact_every_string_raw_or_json_escaped():
    redactor = Redactor()
    redactor.mask({"password": SECRET, "short": "abc", "longer": "abc-def"}, ["password", "short", "longer"])
    data = {"outputs": {"configurationOutput": json.dumps({"password": SECRET}),
                        "ascii": json.dumps({"password": SECRET}, ensure_ascii=True)},
            "logs": [{"message": "failed: %s is not allowed" % SECRET}],
            SECRET: "as a key", "count": 3, "tuple": ("abc-def!",)}
    redacted = redactor.redact(data)
    text = json.dumps(redacted, ensure_ascii=False)
    assert SECRET not in text and json.dumps(SECRET)[1:-1] not in text and "abc-def" not in text
    assert redacted["logs"][0]["message"] == "failed: ******** is not allowed"
    assert redacted[MASK] == "as a key" and redacted["count"] == 3 and redacted["tuple"] == ["********!"]
    assert json.loads(redacted["outputs"]["configurationOutput"]) == {"password": MASK}
