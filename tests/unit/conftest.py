"""Shared fixtures for the unit tests: a scripted HTTP server and a module runner."""

from __future__ import annotations

import json
import os

import pytest

# Credentials the tests must never pick up from the environment of the developer's shell.
for _var in [v for v in os.environ if v.startswith(("ALIBABA_CLOUD_", "ALICLOUD_"))]:
    del os.environ[_var]

from ansible.module_utils import _internal as module_utils_internal  # noqa: E402
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.common import warnings as warnings_registry  # noqa: E402

from unit_helpers import ScriptedServer  # noqa: E402


@pytest.fixture
def scripted_server():
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def run_module(capsys, monkeypatch):
    """Run a module's ``main`` with ``args``; return (exit code, result dict)."""

    def run(main, args, check_mode=False, verbosity=0):
        full = dict(args, _ansible_check_mode=check_mode, _ansible_verbosity=verbosity,
                    _ansible_remote_tmp="/tmp", _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": full}).encode())
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        # A module runs as a process of its own, never inside the controller: tests of controller plugins
        # (filters, inventory) import controller code, which would route module warnings to the display.
        monkeypatch.setattr(module_utils_internal, "is_controller", False, raising=False)
        for name in ("_global_warnings", "_global_deprecations"):
            registry = getattr(warnings_registry, name, None)
            if registry is not None:
                registry.clear()
        with pytest.raises(SystemExit) as exit_info:
            main()
        out = capsys.readouterr().out
        return exit_info.value.code, json.loads(out)

    return run
