"""The shared documentation fragments say what the shared argument specs do: same options, types and defaults."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.alibabacloud.ecs_ops.plugins.doc_fragments.connection import ModuleDocFragment as Connection
from ansible_collections.alibabacloud.ecs_ops.plugins.doc_fragments.oos_run import ModuleDocFragment as OosRun
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import (
    connection_argument_spec,
    oos_run_argument_spec,
)


def options(text):
    return yaml.safe_load(text)["options"]


@pytest.mark.parametrize("documented, spec", [
    (options(Connection.DOCUMENTATION), connection_argument_spec()),
    (options(Connection.PLUGINS), connection_argument_spec()),
    (options(OosRun.DOCUMENTATION), oos_run_argument_spec()),
])
def test_each_fragment_documents_its_spec(documented, spec):
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("choices") == option.get("choices"), name
        assert sorted(doc.get("aliases", [])) == sorted(option.get("aliases", [])), name
        for sub, sub_option in (option.get("options") or {}).items():
            assert doc["suboptions"][sub].get("default") == sub_option.get("default"), (name, sub)
