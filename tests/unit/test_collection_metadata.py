"""Keeps the collection's metadata, docs and code in step with each other."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.alibabacloud.ecs_ops.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import connection_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._version import COLLECTION_VERSION

ROOT = Path(__file__).resolve().parents[2]


def modules():
    return sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def test_action_group_lists_every_module():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=2.16.0"
    assert sorted(runtime["action_groups"]["alicloud"]) == modules()


def test_version_matches_galaxy_yml():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("alibabacloud", "ecs_ops")
    assert galaxy["version"] == COLLECTION_VERSION


def test_connection_doc_fragment_matches_the_argument_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = connection_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert sorted(doc.get("aliases", [])) == sorted(option.get("aliases", [])), name


def test_secrets_are_no_log():
    spec = connection_argument_spec()
    assert all(spec[name].get("no_log") for name in ("access_key", "secret_key", "security_token"))


def test_runtime_requirements_are_documented_and_shipped_for_execution_environments():
    requirements = [line.split(">=")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert {"alibabacloud-oos20190601", "alibabacloud-ecs20140526", "alibabacloud-credentials"} <= set(requirements)
    documented = " ".join(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["requirements"])
    for name in requirements:
        assert name in documented
    ee = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert ee["dependencies"]["python"] == "requirements.txt"


def test_every_module_uses_the_shared_layer_and_documents_itself():
    for name in modules():
        text = (ROOT / "plugins" / "modules" / (name + ".py")).read_text()
        assert "AlicloudModule(" in text, name
        assert "alibabacloud.ecs_ops.connection" in text, name
        assert re.search(r"^(from|import) alibabacloud|^(from|import) darabonba", text, re.M) is None, \
            "%s imports the SDK at module level" % name


def test_module_utils_are_private():
    names = [p.name for p in (ROOT / "plugins" / "module_utils").glob("*.py")]
    assert names and all(n.startswith("_") for n in names)
