"""The connection plugin's options as Ansible reads them (its DOCUMENTATION with the shared fragment merged in): every
credentials, endpoint and retry option it uses can come from a host variable, and the inventory plugin, which reads
no host variables, offers none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import connection_argument_spec

ROOT = Path(__file__).resolve().parents[3]


def options(plugin_type, name):
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-j", "-t", plugin_type, name],
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections")),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)[name]["doc"]["options"]


def test_every_option_the_connection_uses_has_a_host_variable_and_the_inventory_offers_none():
    connection = options("connection", "alibabacloud.ecs_ops.cloud_assistant")
    used = set(connection_argument_spec()) - {"oos_endpoint"}       # the plugin calls only ECS
    assert {name: [v["name"] for v in connection[name].get("vars", [])] for name in used} == {
        name: ["alicloud_" + name] for name in used}
    assert "vars" not in connection["oos_endpoint"]
    assert connection["ecs_endpoint"]["description"], "the fragment's description is kept"
    assert [e["name"] for e in connection["region"]["env"]] == [
        "ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION", "ALICLOUD_REGION_ID"]
    inventory = options("inventory", "alibabacloud.ecs_ops.ecs")
    assert not [name for name, option in inventory.items() if option.get("vars")]
