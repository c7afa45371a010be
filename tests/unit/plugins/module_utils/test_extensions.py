"""Pure extension helpers: metadata parsing, template parameters, validation, OS rule, the plan."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions import plan
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import (
    TemplateContentError,
    extension_view,
    matches_search,
    parse_content,
    parse_description,
    platform_matches,
    short_name,
    template_parameters,
    validate_parameters,
    version_number,
)

DESCRIPTION = json.dumps({"en": "Panel", "zh-cn": "面板", "name-en": "BT Panel", "name-zh-cn": "宝塔面板",
                          "categories": ["panel"], "image": "https://x/icon.png", "doc-en": "https://doc"})


def test_description_json_and_plain_text():
    parsed = parse_description(DESCRIPTION)
    assert parsed["display_name_zh"] == "宝塔面板" and parsed["categories"] == ["panel"]
    assert parsed["icon_url"] == "https://x/icon.png" and parsed["doc_url_zh"] == ""
    plain = parse_description("Ships logs {not json")
    assert plain["description_en"] == "Ships logs {not json" and plain["categories"] == []
    assert parse_description(None)["description_en"] == ""
    assert parse_description('["a list"]')["description_en"] == '["a list"]'


def test_view_search_and_names():
    view = extension_view({"TemplateName": "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618",
                           "TemplateVersion": "v4", "Description": DESCRIPTION,
                           "Constraints": '{"OSPlatforms": ["Ubuntu"]}'})
    assert view["short_name"] == "BaoTaPanelFree-One-Click" and view["constraints"]["os_platforms"] == ["Ubuntu"]
    assert matches_search(view, "bt  PANEL") and matches_search(view, "宝塔") and matches_search(view, "panel baota")
    assert not matches_search(view, "bt docker")
    assert short_name("acme-tool") == "acme-tool"
    assert version_number("v27") == 27 and version_number("27") is None


def test_content_yaml_json_and_errors():
    yaml_text = "Parameters:\n  port:\n    Type: Number\n    Default: 80\n    Label: {en: Port, zh-cn: 端口}\n"
    assert template_parameters(parse_content(yaml_text, "YAML"))[0]["description_zh"] == "端口"
    params = template_parameters(parse_content(json.dumps({"Parameters": {
        "pw": {"Type": "String", "NoEcho": True, "Description": "plain"}}}), "JSON"))
    assert params[0] == dict(name="pw", type="String", required=True, default=None, allowed_values=None,
                             allowed_pattern=None, min_value=None, max_value=None, min_length=None,
                             max_length=None, description_en="plain", description_zh="", secret=True)
    assert template_parameters(parse_content("", "JSON")) == [] == template_parameters(parse_content("{}", "JSON"))
    with pytest.raises(TemplateContentError):
        parse_content("{broken", "JSON")
    with pytest.raises(TemplateContentError):
        parse_content("- a list", "YAML")


SPECS = template_parameters({"Parameters": {
    "version": {"Type": "String", "AllowedValues": ["1", "2"], "Default": "2"},
    "port": {"Type": "Number", "MinValue": 1, "MaxValue": 65535, "Default": 80},
    "ipv6": {"Type": "Boolean", "Default": False},
    "user": {"Type": "String", "AllowedPattern": "[a-z]{3,8}"},
    "password": {"Type": "String", "MinLength": 8, "NoEcho": True},
    "extra": {"Type": "Json", "Default": {}},
}})


def test_values_are_converted_to_the_declared_types():
    values, problems = validate_parameters(SPECS, {"port": "8080", "ipv6": "yes", "user": "ops",
                                                   "password": "longenough", "version": 1})
    assert problems == []
    assert values == {"port": 8080, "ipv6": True, "user": "ops", "password": "longenough", "version": "1"}


def test_every_problem_is_named_once_and_secrets_are_not_shown():
    _values, problems = validate_parameters(SPECS, {"port": 0, "ipv6": "maybe", "user": "OPS", "password": "short",
                                                    "version": "3", "extra": "x", "colour": "red"})
    text = "\n".join(problems)
    for fragment in ("parameters.colour: the extension has no such parameter", "parameters.port: 0 is outside 1..65535",
                     "parameters.ipv6: must be a Boolean", "parameters.user: 'OPS' does not match",
                     "parameters.password: the length must be between 8", "parameters.version: '3' is not one of",
                     "parameters.extra: must be a Json"):
        assert fragment in text
    assert "short" not in text
    _values, problems = validate_parameters(SPECS, {})
    assert problems == ["parameters.user: required by the extension but not given",
                        "parameters.password: required by the extension but not given"]


@pytest.mark.parametrize("platforms, os_type, os_name, fits", [
    ([], "windows", "Windows Server 2022", True),
    (["Windows"], "windows", "Windows Server 2022", True),
    (["Windows"], "linux", "Ubuntu 22.04", False),
    (["Linux"], "linux", "anything", True),
    (["Aliyun"], "linux", "Alibaba Cloud Linux 3.2104 LTS 64 bit", True),
    (["RedHat"], "linux", "RHEL 9.2", True),
    (["RockyLinux"], "linux", "Rocky Linux 9.3 64 bit", True),
    (["Ubuntu", "CentOS"], "linux", "Debian 12", False),
    (["Ubuntu"], "windows", "Ubuntu look-alike", False),
])
def test_os_platform_rule(platforms, os_type, os_name, fits):
    assert platform_matches(platforms, os_type, os_name) is fits


def view(instance_id="i-bp1", exists=True, status="Running", ready=True, reason="", os_type="linux", os_name="Ubuntu 22"):
    return dict(instance_id=instance_id, region="cn-hangzhou", name="n", exists=exists, status=status, ready=ready,
                reason=reason, os_type=os_type, os_name=os_name)


@pytest.mark.parametrize("state, force, installed, instance, action", [
    ("present", False, None, view(), "install"),
    ("present", False, "v19", view(), "none"),
    ("present", False, "v27", view(), "none"),
    ("present", True, "v27", view(), "update"),
    ("latest", False, "v19", view(), "update"),
    ("latest", False, "v27", view(), "none"),
    ("latest", False, "v30", view(), "none"),
    ("absent", False, "v19", view(), "uninstall"),
    ("absent", False, None, view(), "none"),
    ("absent", False, None, view(ready=False, status="Stopped", reason="stopped"), "none"),
    ("present", False, "v19", view(ready=False, status="Stopped", reason="stopped"), "none"),
    ("present", False, None, view(ready=False, status="Stopped", reason="stopped"), "skip"),
    ("absent", False, "v19", view(ready=False, reason="agent offline"), "skip"),
    ("present", False, None, view(os_type="windows", os_name="Windows Server"), "unsupported"),
    ("absent", False, "v19", view(os_type="windows", os_name="Windows Server"), "uninstall"),
    ("present", False, None, view(exists=False, ready=False, reason="does not exist"), "skip"),
])
def test_plan_matrix(state, force, installed, instance, action):
    desired = plan.Desired(state, "v27", force, ["Ubuntu"])
    entry = plan.plan_instance(desired, instance, {"version": installed} if installed else None)
    unsupported = action == "unsupported"
    action = "skip" if unsupported else action
    assert entry["action"] == action, entry
    assert entry["unreachable"] is (action == "skip" and not unsupported)
    assert entry["unsupported"] is unsupported
    if action in ("install", "update"):
        assert entry["new_version"] == "v27"
    if action == "uninstall":
        assert entry["new_version"] == ""
    if action in ("none", "skip"):
        assert entry["new_version"] == (installed or "")


@pytest.mark.parametrize("installed, wanted, reinstall, action, drifted", [
    ({"version": "v27", "parameters": {"version": "v20.18.1"}}, {"version": "v22.13.1"}, False, "none",
     {"version": {"installed": "v20.18.1", "wanted": "v22.13.1"}}),
    ({"version": "v27", "parameters": {"version": "v20.18.1"}}, {"version": "v22.13.1"}, True, "update",
     {"version": {"installed": "v20.18.1", "wanted": "v22.13.1"}}),
    ({"version": "v27", "parameters": {"port": "8888"}}, {"port": 8888}, True, "none", {}),
    ({"version": "v27", "parameters": {"enabled": "true"}}, {"enabled": True}, True, "none", {}),
    ({"version": "v27", "parameters": {}}, {"port": 80}, False, "none", {"port": {"installed": None, "wanted": 80}}),
    ({"version": "v27", "parameters": {"port": "81"}}, {}, True, "none", {}),
])
def test_parameter_drift(installed, wanted, reinstall, action, drifted):
    """Only parameters the user gave are compared, as text (OOS records what the template received); drift is
    reported, and reinstalled only when asked."""
    desired = plan.Desired("present", "v27", platforms=[], wanted=wanted, reinstall_on_drift=reinstall)
    entry = plan.plan_instance(desired, view(), installed)
    assert entry["action"] == action and entry["drift"] == drifted, entry
    if drifted and action == "none":
        assert "reinstall_on_drift=true applies them" in entry["message"]


def test_plan_summary_and_diff():
    desired = plan.Desired("latest", "v27", platforms=[])
    views = {"i-a": view("i-a"), "i-b": view("i-b"), "i-c": view("i-c", exists=False, ready=False, reason="gone")}
    entries = plan.plan(desired, views, {"i-b": {"version": "v19"}})
    assert [e["action"] for e in entries.values()] == ["install", "update", "skip"]
    assert plan.summarise_plan(entries.values()) == dict(total=3, to_install=1, to_update=1, to_uninstall=0, unchanged=0,
                                                         unreachable=1, unsupported=0, drifted=0)
    assert plan.plan_diff(entries.values()) == {"before": {"i-a": "absent", "i-b": "v19"},
                                                "after": {"i-a": "v27", "i-b": "v27"}}


@pytest.mark.parametrize("value, minimum, expected, ok", [
    (10, 1, 10, True), ("10", 1, 10, True), ("20%", 1, "20%", True), (" 5 % ", 0, "5%", True),
    (0, 1, 0, False), ("0%", 1, "0%", False), ("101%", 0, "101%", False), (True, 0, True, False),
    ("ten", 1, "ten", False), (0, 0, 0, True),
])
def test_rate_control_values(value, minimum, expected, ok):
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import rate_value
    converted, problem = rate_value(value, "concurrency", minimum)
    assert converted == expected and (problem is None) is ok


def test_configuration_masks_secret_looking_keys():
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.install import mask_configuration
    masked = mask_configuration('{"publicUrl": "https://x", "username": "admin", "password": "p",'
                                ' "nested": {"apiToken": "t", "empty_secret": ""}}')
    assert masked == {"publicUrl": "https://x", "username": "admin", "password": "********",
                      "nested": {"apiToken": "********", "empty_secret": ""}}
    assert mask_configuration("") == "" and mask_configuration("plain text") == "plain text"


def test_validation_returns_normalised_options_and_leaves_the_input_alone():
    import copy
    from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.install import validate_options
    params = dict(name="node", version=None, state="present", force=False, parameters={}, secret_parameters={},
                  instance_ids=["i-bpabcdef"], rate_control={"concurrency": "20", "max_errors": " 5 % "},
                  batch_size=50, max_concurrent_executions=10, wait_timeout=60, poll_interval=5, tags={"env": 1},
                  description=None, client_token=None)
    before = copy.deepcopy(params)
    _targets, _warnings, options = validate_options(params, "cn-hangzhou")
    assert params == before
    assert options["rate_control"] == {"concurrency": 20, "max_errors": "5%"} and options["tags"] == {"env": "1"}
