"""The patch round's hooks: checks before any call, the verdict per instance, and when built-in parameters are
turned on. Running them against the API is in tests/reliability/test_patch_hooks.py."""

from __future__ import annotations

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching import hooks


def hook(**extra):
    return dict(dict(command="systemctl stop app", type=None, timeout=300, working_dir=None), **extra)


def test_a_good_hook_and_no_hook_have_no_problem():
    assert hooks.hook_problems("pre_hook", hook()) == []
    assert hooks.hook_problems("pre_hook", None) == []
    assert hooks.hook_problems("post_hook", hook(command="curl -fsS http://{{ACS::InstanceId}}/ {{oos-secret:k}}")) == []


@pytest.mark.parametrize("extra, problem", [
    (dict(command=" \n"), "pre_hook.command must not be empty"),
    (dict(timeout=9), "pre_hook.timeout must be from 10 to 86400 seconds, got 9"),
    (dict(timeout=86401), "pre_hook.timeout must be from 10 to 86400"),
    (dict(command="echo {{ name }}"), "pre_hook.command uses {{name}}: a hook takes no parameters of its own"),
    (dict(command="x" * 19000), "pre_hook.command: 25336 bytes after Base64 encoding, more than the 24576"),
    (dict(working_dir="/" + "d" * 200), "pre_hook.working_dir is longer than 200 characters"),
])
def test_bad_hooks_are_named(extra, problem):
    problems = hooks.hook_problems("pre_hook", hook(**extra))
    assert any(p.startswith(problem) for p in problems), problems


def test_a_fixed_type_must_suit_every_instance():
    views = {"i-1": dict(exists=True, os_type="linux"), "i-2": dict(exists=True, os_type="windows")}
    assert hooks.hook_type_problems("pre_hook", hook(), views) == []
    problems = hooks.hook_type_problems("pre_hook", hook(type="RunShellScript"), views)
    assert problems == ["pre_hook.type RunShellScript cannot run on 1 instance(s) of another OS: i-2"]


def test_built_in_and_oos_references_turn_parameters_on():
    assert hooks.uses_builtins("echo {{ACS::InstanceId}}")
    assert hooks.uses_builtins("echo {{ oos-secret:token }}")
    assert not hooks.uses_builtins("echo ${HOME} {not}")


@pytest.mark.parametrize("view, passed, reason", [
    (dict(result="succeeded", exit_code=0, status="Success", stdout="ok"), True, ""),
    (dict(result="failed", exit_code=3, status="Failed", stdout="no"), False, "exit code 3"),
    (dict(result="failed", exit_code=None, status="Timeout", error_code="ExecutionTimeout"), False,
     "Timeout (ExecutionTimeout)"),
    (dict(result="failed", exit_code=None, status="Aborted", error_code="ClientNotRunning", error_info="offline"),
     False, "Aborted (ClientNotRunning: offline)"),
    (dict(result="pending", exit_code=None, status="Pending"), False, "no result before the deadline"),
])
def test_a_hook_passes_only_with_exit_code_zero(view, passed, reason):
    verdict = hooks._verdict(view)
    assert (verdict["passed"], verdict["reason"]) == (passed, reason)


def test_only_the_end_of_a_long_output_is_kept():
    verdict = hooks._verdict(dict(result="succeeded", exit_code=0, status="Success", stdout="a" * 5000 + "END"))
    assert verdict["output"].endswith("END") and len(verdict["output"]) == hooks.OUTPUT_KEPT
    assert verdict["output_truncated"]


def test_nothing_runs_after_the_deadline():
    views = {"i-1": dict(instance_id="i-1", region="r", exists=True, ready=True, os_type="linux")}

    def api_for(_region):
        raise AssertionError("no call after the deadline")

    verdicts = hooks.run_hook(api_for, "pre", hook(), views, deadline=10.0, clock=lambda: 11.0)
    assert verdicts["i-1"]["reason"] == "not run: the deadline passed" and not verdicts["i-1"]["passed"]


def test_the_start_of_a_hook_is_bounded_by_the_deadline():
    """RunCommand gets the task's deadline, so its retries end there; a start that fails says so per instance."""
    views = {"i-1": dict(instance_id="i-1", region="r", exists=True, ready=True, os_type="linux")}
    seen = []

    class Api:
        def call(self, action, params=None, deadline=None, attempts=None):
            seen.append((action, deadline))
            raise RuntimeError("Throttling.User")

    verdicts = hooks.run_hook(lambda _region: Api(), "pre", hook(), views, deadline=50.0, clock=lambda: 11.0)
    assert seen == [("RunCommand", 50.0)]
    assert verdicts["i-1"]["reason"].startswith("could not start: ") and not verdicts["i-1"]["passed"]
