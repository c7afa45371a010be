"""ListTemplates / GetTemplate and the extension catalogue."""

import json

import pytest
import yaml
from alibabacloud_oos20190601 import models

from oos_support import BAOTA, GIT, IIS, NODE, PACKAGE_TEMPLATE, PATCH_TEMPLATE, Direct
from oos_support import oos_fixture  # noqa: F401  pylint: disable=unused-import


def names(response):
    return [t["TemplateName"] for t in response["Templates"]]


def all_templates(oos, **filters):
    result, token = [], None
    while True:
        kw = dict(filters, MaxResults=10)
        if token:
            kw["NextToken"] = token
        page = oos("ListTemplates", **kw)
        assert page["MaxResults"] == 10 and len(page["Templates"]) <= 10
        result.extend(page["Templates"])
        token = page["NextToken"]
        if not token:
            return result


def test_public_packages_have_the_documented_metadata(oos):
    packages = {t["TemplateName"]: t for t in all_templates(oos, TemplateType="Package", ShareType="Public")}
    for key in ("node", "python", "java", "golang", "DockerCE", "nginx", "Git", "BaoTaPanelFree-One-Click",
                "mysql", "redis", "IIS", "DotNetRuntime"):
        assert f"ACS-Extension-{key}-1853370294850618" in packages
    node = packages[NODE]
    assert node["TemplateVersion"] == "v27" and node["TemplateFormat"] == "JSON"
    assert node["ShareType"] == "Public" and node["TotalExecutionCount"] == -1 and 1 <= node["Popularity"] <= 10
    desc = json.loads(node["Description"])
    assert set(desc) == {"en", "zh-cn", "name-en", "name-zh-cn", "categories", "image", "doc-en", "doc-zh-cn"}
    baota = json.loads(packages[BAOTA]["Description"])
    assert (baota["name-en"], baota["name-zh-cn"]) == ("BT Panel", "宝塔面板")
    assert json.loads(packages[IIS]["Constraints"]) == {"OSPlatforms": ["Windows"]}
    assert "Windows" in json.loads(packages[GIT]["Constraints"])["OSPlatforms"]
    assert "Windows" not in json.loads(node["Constraints"])["OSPlatforms"]
    assert len(node["Hash"]) == 64 and node["TemplateId"].startswith("t-")


def test_private_packages_have_plain_descriptions(oos):
    private = all_templates(oos, ShareType="Private")
    assert {t["TemplateName"] for t in private} == {"acme-log-shipper", "acme-hardening"}
    for tpl in private:
        assert tpl["Popularity"] == -1 and tpl["TotalExecutionCount"] >= 0
        with pytest.raises(ValueError):
            json.loads(tpl["Description"])
    assert oos("ListTemplates", ShareType="Private", region="cn-shanghai")["Templates"] == []


def test_filters(oos):
    assert names(oos("ListTemplates", TemplateName="baota")) == [BAOTA]
    automation = names(oos("ListTemplates", TemplateType="Automation"))
    assert sorted(automation) == sorted([PACKAGE_TEMPLATE, PATCH_TEMPLATE])
    assert sorted(names(oos("ListTemplates", CreatedBy="ACS"))) == sorted(automation)
    assert names(oos("ListTemplates", Tags={"team": "sre"})) == ["acme-log-shipper"]
    assert names(oos("ListTemplates", TemplateFormat="YAML", TemplateType="Package")) == []
    assert names(oos("ListTemplates", Category="TimerTrigger")) == []
    assert all(t["TemplateType"] == "Package" for t in all_templates(oos, TemplateType="Package"))
    old = names(oos("ListTemplates", CreatedDateBefore="2023-01-02T00:00:00Z", TemplateType="Package"))
    assert old == [NODE]


def test_sorting(oos):
    by_name = names(oos("ListTemplates", TemplateType="Package", SortField="TemplateName", SortOrder="Ascending",
                        MaxResults=100))
    assert by_name == sorted(by_name)
    pop = oos("ListTemplates", ShareType="Public", TemplateType="Package", SortField="Popularity", MaxResults=100)
    values = [t["Popularity"] for t in pop["Templates"]]
    assert values == sorted(values, reverse=True)


def test_paging_covers_everything_once(oos):
    items = all_templates(oos)
    assert len(items) == len({t["TemplateName"] for t in items}) == 16


@pytest.mark.parametrize("params, code", [
    ({"MaxResults": 5}, "InvalidParameter"),
    ({"MaxResults": 101}, "InvalidParameter"),
    ({"TemplateType": "Nope"}, "InvalidParameter"),
    ({"SortField": "Size"}, "InvalidParameter"),
    ({"NextToken": "garbage"}, "InvalidNextToken"),
    ({"Tags": "not json"}, "InvalidParameter"),
])
def test_list_errors(oos, params, code):
    assert oos.error("ListTemplates", **params).code == code


def test_get_automation_template_is_yaml_with_real_parameters(oos):
    result = oos("GetTemplate", TemplateName=PACKAGE_TEMPLATE)
    assert result["Template"]["TemplateFormat"] == "YAML" and result["Template"]["TemplateType"] == "Automation"
    doc = yaml.safe_load(result["Content"])
    assert doc["FormatVersion"] == "OOS-2019-06-01"
    assert list(doc["Parameters"]) == ["regionId", "action", "packageName", "packageVersion", "targets", "orderId",
                                       "rateControl", "parameters", "OOSAssumeRole"]
    assert doc["Parameters"]["rateControl"]["Default"] == {"Mode": "Concurrency", "MaxErrors": 0, "Concurrency": 10}
    assert set(doc["Outputs"]) == {"commandOutput", "configurationOutput"}
    patch = yaml.safe_load(oos("GetTemplate", TemplateName=PATCH_TEMPLATE)["Content"])
    assert patch["Parameters"]["retentionDays"] == {
        "Label": {"en": "RetentionDays", "zh-cn": "快照保留天数"}, "Type": "Number", "MinValue": 1,
        "MaxValue": 65536, "Default": 7,
        "AssociationPropertyMetadata": {"Visible": {"Condition": {"Fn::Equals": ["${whetherCreateSnapshot}", True]}}}}
    assert patch["Outputs"]["commandOutput"]["Type"] == "String"


def test_get_package_versions(oos):
    latest = oos("GetTemplate", TemplateName=NODE)
    params = json.loads(latest["Content"])["Parameters"]
    assert params["version"]["Default"] == "v22.13.1" and "v22.13.1" in params["version"]["AllowedValues"]
    assert latest["Template"]["TemplateVersion"] == "v27"
    old = oos("GetTemplate", TemplateName=NODE, TemplateVersion="v3")
    assert old["Template"]["TemplateVersion"] == "v3"
    assert json.loads(old["Content"])["Parameters"]["version"]["Default"] == "v18.20.5"
    assert old["Template"]["Hash"] != latest["Template"]["Hash"]
    baota = json.loads(oos("GetTemplate", TemplateName=BAOTA)["Content"])["Parameters"]
    assert baota["password"]["NoEcho"] is True and "Default" not in baota["password"]
    assert baota["port"]["Type"] == "Number" and baota["port"]["MaxValue"] == 65535


def test_get_errors(oos):
    err = oos.error("GetTemplate", TemplateName="ACS-Extension-nope-1853370294850618")
    assert (err.code, err.status) == ("EntityNotExists.Template", 404)
    err = oos.error("GetTemplate", TemplateName=NODE, TemplateVersion="v99")
    assert (err.code, err.status) == ("EntityNotExists.TemplateVersion", 404)
    assert oos.error("GetTemplate").code == "MissingParameter"
    assert oos.error("GetTemplate", TemplateName="acme-hardening", region="cn-beijing").status == 404


def test_publish_hook_adds_versions_and_private_packages():
    direct = Direct()
    try:
        store = direct.sim.components["templates"]
        params = {"version": {"Type": "String", "Default": "v24.0.0"}}
        result = store.admin_publish({"name": NODE, "parameters": params})
        assert result["TemplateVersion"] == "v28"
        listed = direct("ListTemplates", TemplateName="node")["Templates"][0]
        assert listed["TemplateVersion"] == "v28"
        content = json.loads(direct("GetTemplate", TemplateName=NODE)["Content"])
        assert content["Parameters"]["version"]["Default"] == "v24.0.0"
        assert direct("GetTemplate", TemplateName=NODE, TemplateVersion="v27")["Template"]["TemplateVersion"] == "v27"
        new = store.admin_publish({"name": "my-tool", "platforms": ["Windows"], "description": "My tool"})
        assert new["TemplateVersion"] == "v1"
        tpl = direct("ListTemplates", TemplateName="my-tool")["Templates"][0]
        assert (tpl["ShareType"], tpl["Description"]) == ("Private", "My tool")
        assert json.loads(tpl["Constraints"]) == {"OSPlatforms": ["Windows"]}
        with pytest.raises(ValueError):
            store.admin_publish({"name": PACKAGE_TEMPLATE})
    finally:
        direct.close()


def test_publish_through_the_admin_api(sim_server):
    result = sim_server.admin("POST", "templates/publish", {"name": GIT, "platforms": ["Linux"]})
    assert result["TemplateVersion"] == "v4"
    got = sim_server.oos().get_template(models.GetTemplateRequest(template_name=GIT))
    assert got.body.template.template_version == "v4"
