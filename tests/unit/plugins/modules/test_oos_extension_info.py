"""oos_extension_info against the simulator, through the real SDK."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.modules import oos_extension_info as module
from unit_helpers import sim_args as args

NODE = "ACS-Extension-node-1853370294850618"
BT = "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618"


def names(result):
    return [e["name"] for e in result["extensions"]]


def test_lists_public_extensions_with_parsed_metadata(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server))
    assert rc == 0 and result["changed"] is False
    assert result["count"] == 12 == len(result["extensions"])
    assert names(result) == sorted(names(result))
    node = next(e for e in result["extensions"] if e["name"] == NODE)
    assert node["short_name"] == "node" and node["display_name_en"] == "Node.js"
    assert node["description_zh"] == "一键安装Node.js环境"
    assert node["categories"] == ["application", "develop_environment"]
    assert node["doc_url_en"].startswith("https://") and node["icon_url"].endswith("icon.png")
    assert node["latest_version"] == "v27" and node["share_type"] == "Public"
    assert "Ubuntu" in node["constraints"]["os_platforms"]
    assert "parameters" not in node
    assert [c["action"] for c in sim_server.calls()] == ["ListTemplates"]


@pytest.mark.parametrize("search, expected", [
    ("bt panel", [BT]),
    ("BT PANEL", [BT]),
    ("宝塔", [BT]),
    ("node", [NODE]),
    ("database", ["ACS-Extension-mysql-1853370294850618", "ACS-Extension-redis-1853370294850618"]),
    ("no such thing", []),
])
def test_search_is_case_insensitive_over_names_descriptions_and_categories(sim_server, run_module, search, expected):
    rc, result = run_module(module.main, args(sim_server, search=search))
    assert rc == 0 and names(result) == expected


def test_category_filter(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, category="web_server"))
    assert names(result) == ["ACS-Extension-IIS-1853370294850618", "ACS-Extension-nginx-1853370294850618"]


def test_private_extensions_with_plain_text_descriptions(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, share_type="private", include_parameters=True))
    assert rc == 0
    assert names(result) == ["acme-hardening", "acme-log-shipper"]
    shipper = result["extensions"][1]
    assert shipper["description_en"] == "Ships application logs to the ACME log service."
    assert shipper["display_name_en"] == "" and shipper["categories"] == []
    endpoint = next(p for p in shipper["parameters"] if p["name"] == "endpoint")
    assert endpoint["required"] is True and endpoint["type"] == "String"
    rc, everything = run_module(module.main, args(sim_server, share_type="all"))
    assert everything["count"] == 14


def test_parameters_of_the_latest_and_an_older_version(sim_server, run_module):
    rc, latest = run_module(module.main, args(sim_server, name=NODE, include_parameters=True))
    assert rc == 0 and latest["count"] == 1
    node = latest["extensions"][0]
    assert node["version"] == "v27"
    assert node["parameters"] == [dict(
        name="version", type="String", required=False, default="v22.13.1",
        allowed_values=["v18.20.5", "v20.18.1", "v22.13.1"], allowed_pattern=None, min_value=None, max_value=None,
        min_length=None, max_length=None, description_en="The Node.js version", description_zh="Node.js版本",
        secret=False)]
    rc, old = run_module(module.main, args(sim_server, name=NODE, version="v19"))
    assert old["extensions"][0]["version"] == "v19" and "parameters" not in old["extensions"][0]
    rc, old = run_module(module.main, args(sim_server, name=NODE, version="v19", include_parameters=True))
    assert old["extensions"][0]["parameters"][0]["allowed_values"] == ["v16.20.2", "v18.20.5"]


def test_secret_parameters_are_marked(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, name=BT, include_parameters=True))
    secrets = {p["name"]: p["secret"] for p in result["extensions"][0]["parameters"]}
    assert secrets == {"username": False, "password": True, "port": False}


def test_unknown_name_returns_nothing_and_unknown_version_fails(sim_server, run_module):
    rc, result = run_module(module.main, args(sim_server, name="ACS-Extension-nothing-1853370294850618"))
    assert rc == 0 and result["extensions"] == []
    rc, result = run_module(module.main, args(sim_server, name=NODE, version="v99"))
    assert rc == 1 and "no version v99" in result["msg"]


@pytest.mark.parametrize("extra, fragment", [
    (dict(version="v2"), "version needs name"),
    (dict(name=NODE, version="2"), "version must look like"),
    (dict(name="bad name!"), "name must be a template name"),
    (dict(search="  "), "search must not be empty"),
])
def test_bad_input(sim_server, run_module, extra, fragment):
    rc, result = run_module(module.main, args(sim_server, **extra))
    assert rc == 1 and fragment in result["msg"]
    assert sim_server.calls() == []
