"""Response formats: ``Format=XML`` (and the RPC default, XML, when a V2 request names no Format) answered
as XML with the same content as the JSON; the Tea SDKs, which never ask for XML, keep getting JSON."""

import xml.etree.ElementTree as ET

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_oos20190601 import models as oos_models
from conftest import OOS_VERSION

from alicloud_sim.core.server import to_xml

XML_TYPE = "text/xml;charset=utf-8"


def same_content(json_value, element, path="/"):
    """Assert that ``element`` holds ``json_value`` under the simulator's JSON -> XML rules."""
    if isinstance(json_value, dict):
        expected = sum(len(v) if isinstance(v, list) else 1 for v in json_value.values())
        assert len(element) == expected, f"{path}: {len(element)} children, expected {expected}"
        for key, value in json_value.items():
            found = element.findall(key)
            items = value if isinstance(value, list) else [value]
            assert len(found) == len(items), f"{path}{key}: {len(found)} elements, expected {len(items)}"
            for item, child in zip(items, found):
                same_content(item, child, f"{path}{key}/")
    else:
        if isinstance(json_value, bool):
            text = "true" if json_value else "false"
        else:
            text = "" if json_value is None else str(json_value)
        assert len(element) == 0 and (element.text or "") == text, f"{path}: {element.text!r} != {text!r}"


def without_request_id(body):
    return {k: v for k, v in body.items() if k != "RequestId"}


def xml_of(raw_body):
    root = ET.fromstring(raw_body)
    return root, {child.tag: child for child in root}


@pytest.mark.parametrize("fmt", ["XML", "xml"])
def test_format_xml_has_the_json_content(raw, fmt):
    params = {"RegionId": "cn-hangzhou", "InstanceName": "web-*"}
    status, headers, xml_body = raw.call("DescribeInstances", params, signing="v2", fmt=fmt)
    assert status == 200 and headers["content-type"] == XML_TYPE
    _, _, json_body = raw.call("DescribeInstances", params, signing="v2", fmt="JSON")
    root, children = xml_of(xml_body)
    assert root.tag == "DescribeInstancesResponse"
    assert len(json_body["Instances"]["Instance"]) >= 2
    assert children["RequestId"].text and children["RequestId"].text != json_body["RequestId"]
    root.remove(children["RequestId"])
    same_content(without_request_id(json_body), root)


def test_v2_without_format_gets_xml_the_documented_default(raw):
    status, headers, body = raw.call("DescribeRegions", signing="v2", fmt=None, accept=None)
    assert status == 200 and headers["content-type"] == XML_TYPE
    root, children = xml_of(body)
    assert root.tag == "DescribeRegionsResponse"
    assert {r.findtext("RegionId") for r in children["Regions"].findall("Region")} >= {"cn-hangzhou"}


def test_accept_json_without_format_gets_json(raw):
    status, headers, body = raw.call("DescribeRegions", signing="v2", fmt=None, accept="application/json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert body["Regions"]["Region"]


@pytest.mark.parametrize("accept, expected", [("application/json", "application/json"),
                                              (None, "application/json"),
                                              ("Application/XML", XML_TYPE)])
def test_v3_follows_accept_and_defaults_to_json(raw, accept, expected):
    status, headers, _ = raw.call("DescribeRegions", signing="v3", accept=accept)
    assert status == 200 and headers["content-type"].startswith(expected)


def test_oos_lists_in_xml(raw):
    status, _, xml_body = raw.call("ListTemplates", {"MaxResults": "20"}, version=OOS_VERSION, signing="v2", fmt="XML")
    _, _, json_body = raw.call("ListTemplates", {"MaxResults": "20"}, version=OOS_VERSION, signing="v2")
    assert status == 200
    root, children = xml_of(xml_body)
    assert root.tag == "ListTemplatesResponse"
    root.remove(children["RequestId"])
    assert len(root.findall("Templates")) == len(json_body["Templates"]) > 0   # a bare list repeats its key
    same_content(without_request_id(json_body), root)


def test_errors_in_xml(raw):
    status, headers, body = raw.call("DescribeInstances", {"RegionId": "xx-nowhere-1"}, signing="v2", fmt="XML")
    assert status >= 400 and headers["content-type"] == XML_TYPE
    root, children = xml_of(body)
    assert root.tag == "Error"
    assert set(children) >= {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert children["Recommend"].text.endswith(children["RequestId"].text)


def test_xml_escapes_text_and_keeps_keys_that_are_no_xml_names():
    text = to_xml("R", {"A": "<b>&", "Flag": True, "None": None, "Tags": {"env name": "x", "1st": 2}})
    root = ET.fromstring(text)
    assert root.findtext("A") == "<b>&" and root.findtext("Flag") == "true" and root.find("None").text is None
    entries = {e.get("Key"): e.text for e in root.find("Tags")}
    assert entries == {"env name": "x", "1st": "2"}


@pytest.mark.parametrize("signing", [None, "v2"])
def test_tea_sdks_get_json(sim_server, signing):
    """The Tea SDKs send Format=json (V2) or nothing but ``accept: application/json`` (V3)."""
    config = {"signature_algorithm": signing} if signing else {}
    ecs = sim_server.ecs(**config).describe_regions(ecs_models.DescribeRegionsRequest())
    oos = sim_server.oos(**config).list_templates(oos_models.ListTemplatesRequest(max_results=10))
    assert ecs.headers["content-type"] == oos.headers["content-type"] == "application/json;charset=utf-8"
    assert ecs.body.regions.region and oos.body.templates
    assert {c["format"] for c in sim_server.calls()} == {"JSON"}
