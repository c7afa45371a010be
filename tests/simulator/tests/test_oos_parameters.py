"""Pure functions: template parameter validation, OS platform matching, rate control."""

import pytest

from alicloud_sim.core.errors import ApiError
from alicloud_sim.oos import parameters
from alicloud_sim.oos.catalogue import platform_matches
from alicloud_sim.oos.engine import rate_limits

DEFS = {
    "name": {"Type": "String"},
    "version": {"Type": "String", "Default": "v2", "AllowedValues": ["v1", "v2"]},
    "port": {"Type": "Number", "Default": 80, "MinValue": 1, "MaxValue": 65535},
    "enabled": {"Type": "Boolean", "Default": False},
    "targets": {"Type": "Json", "Default": {"RegionId": "{{ regionId }}"}},
    "ids": {"Type": "List", "Default": []},
    "password": {"Type": "String", "Default": "", "MinLength": 0, "MaxLength": 8, "NoEcho": True},
    "regionId": {"Type": "String", "Default": "{{ ACS::RegionId }}"},
}


def kinds(values):
    return [(kind, name) for kind, name, _ in parameters.check(DEFS, values)]


@pytest.mark.parametrize("values, expected", [
    ({"name": "x"}, []),
    ({"name": "x", "port": 443, "enabled": True, "ids": ["a"], "targets": []}, []),
    ({}, [("Required", "name")]),
    ({"name": "x", "bogus": 1}, [("NotDefined", "bogus")]),
    ({"name": 5}, [("Type", "name")]),
    ({"name": "x", "port": "80"}, [("Type", "port")]),
    ({"name": "x", "port": True}, [("Type", "port")]),
    ({"name": "x", "enabled": "true"}, [("Type", "enabled")]),
    ({"name": "x", "targets": "{}"}, [("Type", "targets")]),
    ({"name": "x", "ids": {}}, [("Type", "ids")]),
    ({"name": "x", "version": "v3"}, [("AllowedValues", "version")]),
    ({"name": "x", "port": 0}, [("Range", "port")]),
    ({"name": "x", "port": 65536}, [("Range", "port")]),
    ({"name": "x", "password": "123456789"}, [("Length", "password")]),
])
def test_check(values, expected):
    assert kinds(values) == expected


def test_check_reports_every_problem():
    assert kinds({"bogus": 1, "port": "x"}) == [("NotDefined", "bogus"), ("Required", "name"), ("Type", "port")]


def test_raise_problems_uses_first_kind_and_names_all():
    with pytest.raises(ApiError) as info:
        parameters.raise_problems(parameters.check(DEFS, {"name": 1, "port": 0}), "T")
    assert info.value.code == "InvalidParameter.Type"
    assert '"name"' in info.value.message and '"port"' in info.value.message


def test_resolve_fills_defaults_and_placeholders():
    resolved = parameters.resolve(DEFS, {"name": "x"}, {"ACS::RegionId": "cn-beijing"})
    assert resolved["regionId"] == "cn-beijing"
    assert resolved["targets"] == {"RegionId": "cn-beijing"}
    assert resolved["version"] == "v2" and "name" in resolved


def test_secret_names():
    assert parameters.secret_names(DEFS) == ["password"]


@pytest.mark.parametrize("platforms, os_type, os_name, expected", [
    (None, "windows", "Windows Server 2022", True),
    ([], "linux", "Anything", True),
    (["Aliyun"], "linux", "Alibaba Cloud Linux  3.2104 LTS 64 bit", True),
    (["Aliyun"], "linux", "Aliyun Linux 2.1903 LTS 64 bit", True),
    (["CentOS"], "linux", "CentOS  7.9 64 bit", True),
    (["CentOS"], "linux", "Ubuntu 22.04 64 bit", False),
    (["RockyLinux"], "linux", "Rocky Linux 9.3 64 bit", True),
    (["RedHat"], "linux", "Red Hat Enterprise Linux 9.2 64 bit", True),
    (["Linux"], "linux", "Debian 12.5 64 bit", True),
    (["Linux"], "windows", "Windows Server 2022 DataCenter 64bit", False),
    (["Windows"], "windows", "Windows Server 2019 DataCenter 64bit", True),
    (["Windows"], "linux", "Ubuntu 22.04 64 bit", False),
    (["CentOS", "Windows"], "windows", "Windows Server 2022", True),
    (["Ubuntu"], "windows", "Ubuntu-like Windows", False),
])
def test_platform_matches(platforms, os_type, os_name, expected):
    assert platform_matches(platforms, os_type, os_name) is expected


@pytest.mark.parametrize("rate, total, expected", [
    ({"Mode": "Concurrency", "Concurrency": 2, "MaxErrors": 0}, 5, (2, 0)),
    ({"Mode": "Concurrency", "Concurrency": "50%", "MaxErrors": "20%"}, 5, (3, 1)),
    ({"Mode": "Concurrency", "Concurrency": "10%", "MaxErrors": "0%"}, 3, (1, 0)),
    ({"Concurrency": "4", "MaxErrors": "1"}, 9, (4, 1)),
    ({"Mode": "Concurrency", "Concurrency": 0, "MaxErrors": 0}, 9, (1, 0)),
])
def test_rate_limits(rate, total, expected):
    assert rate_limits(rate, total) == expected


@pytest.mark.parametrize("rate", [
    {"Mode": "Batch", "Batch": [1]}, {"Concurrency": True}, {"Concurrency": "abc%"},
    {"Concurrency": "150%"}, {"MaxErrors": -1}, "10",
])
def test_rate_limits_rejects(rate):
    with pytest.raises(ApiError) as info:
        rate_limits(rate, 5)
    assert info.value.code == "InvalidParameter"
