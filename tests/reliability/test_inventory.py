"""R8: the ``alibabacloud.ecs_ops.ecs`` inventory plugin, run as users run it (``ansible-inventory``, playbooks).

Each test writes an ``*.ecs.yml`` file and runs ``ansible-inventory`` against the simulator, then asserts what
Ansible sees (hosts, groups, host variables) and what was called (the simulator's call log): filters go to
DescribeInstances, the opt-in reads cost calls only when asked for, a cached inventory makes no call, and
every failure (bad configuration, bad credentials, an unknown region, throttling beyond the retries) fails the
inventory with a message that names it, before any call when the configuration is wrong.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import BIN, ROOT, ansible_env, names_to_ids, plain, run_module, run_playbook

NODE = "ACS-Extension-node-1853370294850618"
PLUGIN = "plugin: alibabacloud.ecs_ops.ecs\n"

FLEET = {"regions": {
    "cn-hangzhou": {"instances": [
        {"name": "web", "count": 3, "os_type": "linux", "tags": {"role": "web", "env": "prod"},
         "packages": {NODE: {"version": "v2"}}},
        {"name": "api", "os_type": "linux", "tags": {"role": "api", "env": "prod"}, "public_ip": "47.96.0.10",
         "instance_type": "ecs.c7.xlarge"},
        {"name": "win", "os_type": "windows", "tags": {"role": "app", "env": "dev"}},
        {"name": "noagent", "os_type": "linux", "agent": "none", "tags": {"env": "dev"}},
        {"name": "offline", "os_type": "linux", "agent": "offline", "tags": {"env": "dev"}},
        {"name": "stopped", "os_type": "linux", "status": "Stopped", "tags": {"env": "dev", "lifecycle": "retiring"}},
        {"name": "twin", "os_type": "linux", "tags": {"env": "dev"}},
    ]},
    "cn-shanghai": {"instances": [
        {"name": "sh-web", "count": 2, "os_type": "linux", "tags": {"role": "web", "env": "prod"}},
        {"name": "twin", "os_type": "linux", "tags": {"env": "dev"}},
    ]},
}}
REGIONS = "regions: [cn-hangzhou, cn-shanghai]\n"


def inventory(sim, config, *args, env=None, cache_dir=None):
    """``ansible-inventory -i <config> --list`` (or ``args``); returns (rc, parsed JSON or None, stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        # the cache key names the configuration file: a cached run reads the same path again
        path = (Path(cache_dir) if cache_dir else Path(tmp)) / "test.ecs.yml"
        path.write_text(PLUGIN + config)
        environment = ansible_env(dict(sim.env, ANSIBLE_INVENTORY_UNPARSED_FAILED="1", **(env or {})))
        if cache_dir:
            environment["ANSIBLE_INVENTORY_CACHE_CONNECTION"] = str(Path(cache_dir) / "cache")
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path)] + list(args or ["--list"]),
                              env=environment, capture_output=True, text=True, timeout=300, cwd=ROOT, check=False)
    try:
        data = plain(json.loads(proc.stdout)) if proc.returncode == 0 and "--graph" not in args else None
    except ValueError:
        data = None
    return proc.returncode, data, proc.stderr


def hostvars(data):
    return data["_meta"]["hostvars"]


def members(data, group):
    return sorted(data.get(group, {}).get("hosts", []))


def plain_text(err):
    """stderr on one line (Ansible wraps long messages)."""
    return " ".join(err.split())


def by_name(data):
    """{instance name: host} of a --list result."""
    return {v["ecs_instance_name"]: host for host, v in hostvars(data).items()}


@pytest.fixture
def fleet(sim):
    sim.reset(FLEET, time_scale=0.01)
    sim.begin()
    return names_to_ids(sim)


def test_every_instance_is_a_host_with_its_agent_and_ready_made_groups(sim, fleet):
    rc, data, err = inventory(sim, REGIONS)
    assert rc == 0, err
    ids = {i["id"] for i in sim.state()["instances"].values()}
    assert set(hostvars(data)) == ids, "hosts are named by instance id by default"
    api = next(v for v in hostvars(data).values() if v["ecs_instance_name"] == "api")
    assert api["ecs_region"] == "cn-hangzhou" and api["ecs_zone"] == "cn-hangzhou-g"
    assert api["ecs_tags"] == {"role": "api", "env": "prod"}
    assert api["ecs_instance_type"] == "ecs.c7.xlarge" and api["ecs_os_type"] == "linux"
    assert api["ecs_public_ips"] == ["47.96.0.10"] and api["ansible_host"] == "47.96.0.10"
    assert api["ecs_cloud_assistant"]["online"] is True and api["ecs_cloud_assistant"]["version"]
    web = next(v for v in hostvars(data).values() if v["ecs_instance_name"] == "web-1")
    assert web["ansible_host"] == web["ecs_private_ips"][0], "without a public IP, the private one"
    names = {v["ecs_instance_name"]: h for h, v in hostvars(data).items()}
    assert members(data, "ecs") == sorted(ids)
    assert members(data, "ecs_agent_missing") == [names["noagent"]]
    assert members(data, "ecs_agent_offline") == sorted([names["offline"], names["stopped"]])
    assert members(data, "ecs_windows") == [names["win"]]
    assert len(members(data, "ecs_agent_online")) == len(ids) - 3
    assert "ecs_installed_extensions" not in api and "ecs_patch_state" not in api, "opt-in facts are not read"
    calls = sim.calls()
    assert sorted((c["action"], c["region"]) for c in calls) == sorted([
        ("DescribeInstances", "cn-hangzhou"), ("DescribeInstances", "cn-shanghai"),
        ("DescribeCloudAssistantStatus", "cn-hangzhou"), ("DescribeCloudAssistantStatus", "cn-shanghai")]), \
        "the minimum calls: one page of instances and one agent status call per region"


def test_without_regions_every_region_of_the_account_is_read(sim, fleet):
    rc, data, err = inventory(sim, "")
    assert rc == 0, err
    assert len(hostvars(data)) == len(fleet) + 1, "both twins"
    calls = sim.calls()
    assert [c["action"] for c in calls].count("DescribeRegions") == 1
    listed = {c["region"] for c in calls if c["action"] == "DescribeInstances"}
    assert {"cn-hangzhou", "cn-shanghai", "cn-beijing"} <= listed


def test_filters_are_sent_to_describe_instances_and_include_exclude_combine(sim, fleet):
    config = REGIONS + """
filters:
  status: Running
  tags: {role: web}
include_filters:
  - instance_name: "api*"
exclude_filters:
  - tags: {lifecycle: ""}
  - instance_name: sh-web-2
"""
    rc, data, err = inventory(sim, config)
    assert rc == 0, err
    assert sorted(by_name(data)) == ["api", "sh-web-1", "web-1", "web-2", "web-3"]
    first = [c for c in sim.calls() if c["action"] == "DescribeInstances"]
    sent = [c["params"] for c in first]
    assert any(p.get("Status") == "Running" and p.get("Tag.1.Key") == "role" and p.get("Tag.1.Value") == "web"
               for p in sent), sent
    assert any(p.get("InstanceName") == "api*" for p in sent), "include_filters are a query of their own"
    assert not any("lifecycle" in json.dumps(p) for p in sent), "exclude_filters cost no call"
    agents = [c for c in sim.calls() if c["action"] == "DescribeCloudAssistantStatus"]
    asked = sorted(v for c in agents for k, v in c["params"].items() if k.startswith("InstanceId"))
    assert asked == sorted(fleet[n] for n in ["api", "sh-web-1", "web-1", "web-2", "web-3"]), \
        "the agent status of the selected instances only"


def test_instance_ids_and_list_filters(sim, fleet):
    config = REGIONS + "filters:\n  instance_ids: [%s, %s]\n" % (fleet["web-1"], fleet["sh-web-1"])
    rc, data, err = inventory(sim, config)
    assert rc == 0, err
    assert sorted(by_name(data)) == ["sh-web-1", "web-1"]
    rc, data, err = inventory(sim, REGIONS + "filters:\n  public_ips: [47.96.0.10]\n")
    assert rc == 0, err
    assert sorted(by_name(data)) == ["api"]


def test_hostnames_preferences_and_duplicates(sim, fleet):
    rc, data, err = inventory(sim, REGIONS + "hostnames: [tag:role, instance_name]\n")
    assert rc == 0, err
    hosts = by_name(data)
    # The first instance with tag role=web takes "web"; the others fall back to their names.
    assert hosts["web-1"] == "web" and hosts["web-2"] == "web-2" and hosts["api"] == "api"
    assert hosts["sh-web-1"] == "sh-web-1", "tag role=web was taken: its instance name"
    # Two instances named "twin" (one per region): the first read keeps the name, the other its id.
    twins = [h for h, v in hostvars(data).items() if v["ecs_instance_name"] == "twin"]
    assert sorted(twins) == sorted(["twin", fleet_id(sim, "twin", "cn-shanghai")])
    assert len(hostvars(data)) == len(fleet) + 1, "no host disappears"


def fleet_id(sim, name, region):
    return next(i["id"] for i in sim.state()["instances"].values() if i["name"] == name and i["region"] == region)


def test_compose_groups_and_keyed_groups(sim, fleet):
    config = REGIONS + """
hostnames: [instance_name, instance_id]
compose:
  ansible_user: "'ecs-user'"
  role: ecs_tags.role | default('none')
groups:
  reachable_linux: ecs_cloud_assistant.online and ecs_os_type == 'linux'
keyed_groups:
  - key: ecs_tags.env
    prefix: env
  - key: ecs_region
    separator: ""
"""
    rc, data, err = inventory(sim, config)
    assert rc == 0, err
    assert hostvars(data)["api"]["ansible_user"] == "ecs-user" and hostvars(data)["win"]["role"] == "app"
    assert "web-1" in members(data, "reachable_linux") and "win" not in members(data, "reachable_linux")
    assert "noagent" not in members(data, "reachable_linux")
    assert members(data, "env_prod") == ["api", "sh-web-1", "sh-web-2", "web-1", "web-2", "web-3"]
    assert "sh-web-1" in members(data, "cn_shanghai")


def test_strict_compose_error_fails_the_inventory(sim, fleet):
    rc, _data, err = inventory(sim, REGIONS + "strict: true\ncompose:\n  x: ecs_no_such_variable.y\n")
    assert rc != 0 and "ecs_no_such_variable" in err


def test_a_cached_inventory_makes_no_call(sim, fleet, tmp_path):
    config = REGIONS + "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_timeout: 600\n"
    rc, first, err = inventory(sim, config, cache_dir=tmp_path)
    assert rc == 0, err
    assert sim.calls(), "the first run reads"
    sim.begin()
    rc, second, err = inventory(sim, config, cache_dir=tmp_path)
    assert rc == 0, err
    assert second == first
    assert sim.calls() == [], "the cached run makes no API call"
    rc, _third, err = inventory(sim, config, "--list", "--flush-cache", cache_dir=tmp_path)
    assert rc == 0, err
    assert sim.calls(), "--flush-cache reads again"


def test_an_edited_configuration_or_other_credentials_are_not_answered_from_the_cache(sim, fleet, tmp_path):
    """The cache key holds a digest of the options of the read and of the credentials' identity (never the
    secret): an edit reads again, the same file is a hit with no call, other credentials are not served."""
    cache = "cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_timeout: 600\n"
    rc, both, err = inventory(sim, REGIONS + cache, cache_dir=tmp_path)
    assert rc == 0 and len(hostvars(both)) == len(fleet) + 1, err
    sim.begin()
    rc, one, err = inventory(sim, "regions: [cn-shanghai]\n" + cache, cache_dir=tmp_path)
    assert rc == 0, err
    assert sorted(v["ecs_region"] for v in hostvars(one).values()) == ["cn-shanghai"] * 3, "the edit is read"
    assert {c["region"] for c in sim.calls()} == {"cn-shanghai"}
    sim.begin()
    rc, running, err = inventory(sim, REGIONS + cache + "filters: {status: Running}\nextensions: true\n",
                                 cache_dir=tmp_path)
    assert rc == 0, err
    assert "stopped" not in by_name(running) and "ecs_installed_extensions" in hostvars(running)[by_name(running)["api"]]
    assert [c for c in sim.calls() if c["action"] == "ListInstancePackageStates"], "the toggled read is made"
    sim.begin()
    rc, again, err = inventory(sim, "regions: [cn-shanghai]\n" + cache, cache_dir=tmp_path)
    assert rc == 0 and again == one, err
    assert sim.calls() == [], "the same options again: a cache hit, no call"
    rc, _data, err = inventory(sim, "regions: [cn-shanghai]\n" + cache, cache_dir=tmp_path,
                               env={"ALIBABA_CLOUD_ECS_ENDPOINT": "http://127.0.0.1:9"})
    assert rc != 0 and "127.0.0.1:9" in err, "another endpoint (an environment variable) reads again, from there"
    rc, _data, err = inventory(sim, "regions: [cn-shanghai]\n" + cache, cache_dir=tmp_path,
                               env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "R8-OTHER-KEY",
                                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "R8-OTHER-SECRET"})
    assert rc != 0 and "could not read region" in err, "other credentials read again (and are refused here)"
    stored = "".join(f.read_text() for f in (tmp_path / "cache").iterdir())
    assert sim.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] not in stored and "R8-OTHER-SECRET" not in stored


def test_a_misspelt_option_fails_before_any_call_naming_the_closest(sim, fleet):
    """Ansible ignores a top-level key no option documents; a misspelt ``filters`` would read every instance."""
    for line, typo, option in (("filter: {status: Running}", "filter", "filters"),
                               ("exclude_filter: [{tags: {lifecycle: retiring}}]", "exclude_filter", "exclude_filters"),
                               ("keyed_group: []", "keyed_group", "keyed_groups"),
                               ("cache_timout: 60", "cache_timout", "cache_timeout")):
        rc, _data, err = inventory(sim, REGIONS + line + "\n")
        assert rc != 0, typo
        assert "%s is not an option of this plugin; did you mean %s?" % (typo, option) in plain_text(err), err
    assert sim.calls() == []
    config = REGIONS + """
filters: {status: Running}
strict: true
leading_separator: false
use_extra_vars: false
compose: {x: "1"}
groups: {}
keyed_groups: []
cache: false
cache_plugin: ansible.builtin.memory
cache_timeout: 60
cache_prefix: ecs
region_id: cn-hangzhou
api_retries: 2
"""
    rc, data, err = inventory(sim, config)
    assert rc == 0, err
    assert "stopped" not in by_name(data), "every option and alias documented, fragments' too, is accepted"


def test_opt_in_extensions_and_patch_state(sim, fleet):
    rc, result, _out, err = run_module(sim, "oos_patch_run", {"action": "scan", "region": "cn-hangzhou",
                                                              "instance_ids": [fleet["web-1"], fleet["api"]]})
    assert rc == 0, (result, err)
    sim.begin()
    rc, data, err = inventory(sim, REGIONS + "extensions: true\npatch_state: true\nhostnames: [instance_name]\n")
    assert rc == 0, err
    hv = hostvars(data)
    assert hv["web-1"]["ecs_installed_extensions"] == {NODE: "v2"}
    assert hv["api"]["ecs_installed_extensions"] == {}
    assert hv["web-1"]["ecs_patch_state"]["compliance"] in ("compliant", "non_compliant")
    assert hv["web-1"]["ecs_patch_state"]["missing"] >= 0
    assert hv["web-2"]["ecs_patch_state"]["compliance"] == "never_scanned"
    scanned = members(data, "ecs_compliant") + members(data, "ecs_non_compliant")
    assert sorted(scanned) == ["api", "web-1"]
    assert "web-2" in members(data, "ecs_never_scanned")
    calls = sim.calls()
    package_reads = [c for c in calls if c["action"] == "ListInstancePackageStates"]
    running = [i for i in sim.state()["instances"].values() if i["status"] == "Running"]
    assert len(package_reads) == len(running), "one read per running instance, none for stopped ones"
    assert len([c for c in calls if c["action"] == "ListInstancePatchStates"]) == 2, "one per region (<=100 ids)"


def test_bad_configuration_fails_before_any_call(sim, fleet):
    config = REGIONS + """
filters: {bogus: 1, status: ""}
exclude_filters: [{instance_ids: [web-1]}]
hostnames: [dns_name]
ansible_host: [ipv6]
"""
    rc, _data, err = inventory(sim, config)
    assert rc != 0
    for part in ("filters.bogus is not a filter", "filters.status must be a non-empty string",
                 "exclude_filters[0].instance_ids must be a list of instance ids", "hostnames: 'dns_name'",
                 "ansible_host: 'ipv6'"):
        assert part in err, (part, err)
    assert sim.calls() == []
    rc, _data, err = inventory(sim, "regions: [cn-hangzhou, 'cn hangzhou']\n")
    assert rc != 0 and "regions:" in err and sim.calls() == []


def test_bad_credentials_name_the_problem_without_secrets(sim, fleet):
    rc, _data, err = inventory(sim, REGIONS, env={"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "not-the-secret"})
    assert rc != 0
    assert "SignatureDoesNotMatch" in err and "could not read region" in err
    assert "not-the-secret" not in err and "string to sign is" not in err
    rc, _data, err = inventory(sim, REGIONS, env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "R8-AK-ONLY",
                                                  "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ""})
    assert rc != 0 and "alibabacloud.ecs_ops.ecs" in err


def test_unknown_region_fails_the_inventory_naming_it(sim, fleet):
    rc, _data, err = inventory(sim, "regions: [cn-hangzhou, cn-nowhere]\n")
    assert rc != 0
    assert "could not read region cn-nowhere" in err and "InvalidRegionId" in err and "check regions" in err
    assert "no host is added from a partial read" in err


def test_throttling_is_retried_and_paced_then_fails_with_the_attempts(sim, fleet):
    sim.faults({"action": "DescribeInstances", "product": "ecs", "code": "Throttling.User", "count": 3})
    rc, data, err = inventory(sim, REGIONS)
    assert rc == 0, err
    assert len(hostvars(data)) == len(fleet) + 1
    sim.clear_faults()
    sim.faults({"action": "DescribeCloudAssistantStatus", "product": "ecs", "code": "Throttling.User"})
    rc, _data, err = inventory(sim, REGIONS + "api_retries: 2\n")
    assert rc != 0
    assert "Throttling.User" in err and "gave up after 3 attempts" in err


def test_a_role_takes_its_targets_from_the_inventory(sim, fleet):
    """extension_rollout with extension_rollout_hosts from a keyed group of this inventory: exactly those
    instances get the extension; the static localhost and the plugin's hosts live side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "inventory").mkdir()
        config = Path(tmp) / "inventory" / "fleet.ecs.yml"
        config.write_text(PLUGIN + REGIONS + "hostnames: [instance_name]\nkeyed_groups:\n"
                          "  - {key: ecs_tags.role | default('none'), prefix: role}\n")
        static = Path(tmp) / "inventory" / "local.yml"
        static.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
        playbook = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: alibabacloud.ecs_ops.extension_rollout
      extension_rollout_extensions: [{name: nginx, parameters: {port: 80}}]
      extension_rollout_hosts: "{{ groups['role_web'] }}"
      extension_rollout_unreachable: skip
      extension_rollout_canary_size: 0
      extension_rollout_poll_interval: 0.2
      extension_rollout_report_dir: "%s"
""" % tmp
        proc = run_playbook(sim, playbook, inventory=str(Path(tmp) / "inventory"))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    state = sim.state()["instances"]
    with_nginx = sorted(i["name"] for i in state.values() if any("nginx" in p.lower() for p in i["packages"]))
    assert with_nginx == ["sh-web-1", "sh-web-2", "web-1", "web-2", "web-3"]
