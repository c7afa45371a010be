"""Extension install / update / uninstall and the package-state actions."""

import json

import pytest

from oos_support import BAOTA, GIT, IIS, NODE
from oos_support import oos_fixture  # noqa: F401  pylint: disable=unused-import

TOLERANT = {"Mode": "Concurrency", "Concurrency": 10, "MaxErrors": "100%"}


def run(oos, ids, **kw):
    """Run an extension execution to the end; returns (parent view, children by instance id)."""
    exe_id = oos.install(ids, rate=TOLERANT, **kw)
    view = oos.finish(exe_id)
    return view, oos.children(exe_id)


def test_install_update_uninstall_change_package_states(oos):
    assert oos.packages("i-lin1") == {}
    view, _ = run(oos, ["i-lin1"], extra={"parameters": {"version": "v20.18.1"}})
    assert view["Status"] == "Success"
    row = oos.packages("i-lin1")[NODE]
    assert row["TemplateVersion"] == "v27" and json.loads(row["Parameters"]) == {"version": "v20.18.1"}
    assert row["TemplateCategory"] == "Package" and row["Publisher"] == "Alibaba Cloud"
    assert not row["UpdateTime"].endswith("Z") and len(row["UpdateTime"]) == 19
    assert json.loads(row["Description"])["name-en"] == "Node.js"
    installed_at = row["UpdateTime"]
    oos.advance(60)
    view, children = run(oos, ["i-lin1"], action="update", extra={"packageVersion": "v25"})
    assert view["Status"] == "Success"
    row = oos.packages("i-lin1")[NODE]
    assert row["TemplateVersion"] == "v25" and row["UpdateTime"] > installed_at
    tasks = oos("ListTaskExecutions", ExecutionId=children["i-lin1"]["ExecutionId"])["TaskExecutions"]
    assert [t["TaskName"] for t in tasks] == ["checkInstanceReady", "getPackage", "uninstallPackage", "installPackage"]
    view, _ = run(oos, ["i-lin1"], action="uninstall")
    assert view["Status"] == "Success" and oos.packages("i-lin1") == {}
    outputs = json.loads(view["Outputs"])
    assert outputs["commandOutput"][0]["InstanceResult"][0]["PackageResult"] == "uninstall node success"


def test_update_without_the_package_installs_it(oos):
    view, children = run(oos, ["i-lin2"], action="update")
    assert view["Status"] == "Success" and oos.packages("i-lin2")[NODE]["TemplateVersion"] == "v27"
    tasks = oos("ListTaskExecutions", ExecutionId=children["i-lin2"]["ExecutionId"])["TaskExecutions"]
    assert "uninstallPackage" not in [t["TaskName"] for t in tasks]


def test_latest_after_a_new_version_is_published(oos):
    run(oos, ["i-lin1"])
    oos.sim.components["templates"].admin_publish({"name": NODE})
    run(oos, ["i-lin1"], action="update")
    assert oos.packages("i-lin1")[NODE]["TemplateVersion"] == "v28"


@pytest.mark.parametrize("package, instance, ok", [
    (NODE, "i-win1", False), (NODE, "i-ubu1", True), (IIS, "i-win1", True), (IIS, "i-lin1", False),
    (GIT, "i-win1", True), (GIT, "i-ubu1", True), ("acme-hardening", "i-win1", True),
])
def test_os_constraints(oos, package, instance, ok):
    view, children = run(oos, [instance], package=package)
    assert (view["Counters"]["Success"] == 1) is ok
    assert (package in oos.packages(instance)) is ok
    if not ok:
        message = children[instance]["StatusMessage"]
        assert "does not support the operating system" in message and "OSPlatforms" in message


@pytest.mark.parametrize("instance, words", [
    ("i-noagent", "Cloud Assistant is not installed"),
    ("i-offline", "offline"),
    ("i-stopped", "Stopped"),
    ("i-nope", "InvalidInstance.NotFound"),
    ("i-sh1", "InvalidInstance.NotFound"),
    ("i-failinst", "exited with code 1"),
])
def test_instance_failures(oos, instance, words):
    view, children = run(oos, [instance])
    assert view["Counters"]["Failed"] == 1 and words in children[instance]["StatusMessage"]
    assert children[instance]["Status"] == "Failed" and oos.packages(instance) == {}
    assert json.loads(view["Outputs"]) == {"commandOutput": [], "configurationOutput": []}


@pytest.mark.parametrize("package, version, params, words", [
    (NODE, "", {"version": "v1.0"}, 'value \'v1.0\' is not one of the allowed values'),
    (NODE, "", {"colour": "red"}, 'parameter "colour" is not defined'),
    (BAOTA, "", {}, 'parameter "password" is required'),
    (BAOTA, "", {"password": "secret-pass", "port": "8888"}, 'parameter "port" must be of type Number'),
    (BAOTA, "", {"password": "secret-pass", "port": 70000}, "outside the range"),
    ("ACS-Extension-redis-1853370294850618", "", {"enablePersistence": "yes"}, "must be of type Boolean"),
    ("acme-log-shipper", "", {}, 'parameter "endpoint" is required'),
    ("ACS-Extension-nope-1853370294850618", "", {}, "EntityNotExists.Template"),
    (NODE, "v99", {}, "EntityNotExists.TemplateVersion"),
])
def test_package_problems_fail_the_instance(oos, package, version, params, words):
    view, children = run(oos, ["i-lin1"], package=package, extra={"packageVersion": version, "parameters": params})
    assert view["Counters"]["Failed"] == 1
    assert words in children["i-lin1"]["StatusMessage"]
    assert oos.packages("i-lin1") == {}


def test_uninstall_does_not_validate_parameters(oos):
    view, _ = run(oos, ["i-lin1"], package=BAOTA, action="uninstall")
    assert view["Status"] == "Success"


def test_baota_reports_its_configuration(oos):
    params = {"password": "Sup3rSecret", "username": "panel_admin"}
    view, _ = run(oos, ["i-lin1"], package=BAOTA, extra={"parameters": params})
    assert view["Status"] == "Success"
    config = json.loads(oos.packages("i-lin1")[BAOTA]["ConfigurationInfo"])
    assert config["username"] == "panel_admin" and config["password"] == "Sup3rSecret"
    assert config["publicUrl"].startswith("https://") and ":8888/" in config["publicUrl"]
    result = json.loads(view["Outputs"])["configurationOutput"][0]["InstanceResult"][0]["PackageResult"]
    assert json.loads(result) == config
    assert oos.packages("i-lin1")[BAOTA]["TemplateVersion"] == "v4"


def test_null_parameters_take_the_default(oos):
    view, _ = run(oos, ["i-lin1"], extra={"parameters": None})
    assert view["Status"] == "Success" and json.loads(oos.packages("i-lin1")[NODE]["Parameters"]) == {}


def test_list_instance_package_states_filters_and_paging(oos):
    inst = oos.sim.instance("i-lin1")
    for n in range(12):
        inst.packages[f"pkg-{n:02d}"] = {"version": "v1", "parameters": {}, "update_time": 0, "configuration_info": ""}
    run(oos, ["i-lin1"])
    page = oos("ListInstancePackageStates", InstanceId="i-lin1", MaxResults=10)
    assert page["MaxResults"] == "10" and len(page["PackageStates"]) == 10 and page["NextToken"]
    rest = oos("ListInstancePackageStates", InstanceId="i-lin1", MaxResults=10, NextToken=page["NextToken"])
    assert len(rest["PackageStates"]) == 3 and rest["NextToken"] == ""
    only = oos("ListInstancePackageStates", InstanceId="i-lin1", TemplateNames=[NODE])["PackageStates"]
    assert [r["TemplateName"] for r in only] == [NODE]
    unknown = oos("ListInstancePackageStates", InstanceId="i-lin1", TemplateNames=["pkg-00"])["PackageStates"][0]
    assert unknown["TemplateId"] == "" and unknown["TemplateVersion"] == "v1"
    assert oos("ListInstancePackageStates", InstanceId="i-unknown")["PackageStates"] == []
    assert oos.error("ListInstancePackageStates").code == "MissingParameter"
    assert oos.error("ListInstancePackageStates", InstanceId="i-lin1", TemplateNames="x").code == "InvalidParameter"


def test_update_instance_package_state(oos):
    oos("UpdateInstancePackageState", InstanceId="i-lin2", TemplateName=NODE, ConfigureAction="Install",
        TemplateVersion="v26", Parameters={"version": "v20.18.1"}, ConfigurationInfo="{}")
    row = oos.packages("i-lin2")[NODE]
    assert row["TemplateVersion"] == "v26" and row["ConfigurationInfo"] == "{}"
    assert row["Parameters"] == '{"version": "v20.18.1"}'
    oos("UpdateInstancePackageState", InstanceId="i-lin2", TemplateName=NODE, ConfigureAction="install")
    assert oos.packages("i-lin2")[NODE]["TemplateVersion"] == "v27"
    oos("UpdateInstancePackageState", InstanceId="i-lin2", TemplateName=NODE, ConfigureAction="UnInstall")
    assert oos.packages("i-lin2") == {}
    err = oos.error("UpdateInstancePackageState", InstanceId="i-lin2", TemplateName=NODE, ConfigureAction="remove")
    assert err.code == "InvalidParameter"
    err = oos.error("UpdateInstancePackageState", InstanceId="i-x", TemplateName=NODE, ConfigureAction="install")
    assert (err.code, err.status) == ("InvalidInstance.NotFound", 404)
    err = oos.error("UpdateInstancePackageState", InstanceId="i-lin2", TemplateName="nope", ConfigureAction="install")
    assert (err.code, err.status) == ("EntityNotExists.Template", 404)
    assert oos.error("UpdateInstancePackageState", InstanceId="i-lin2", TemplateName=NODE).code == "MissingParameter"
    assert oos.packages("i-lin2") == {}
