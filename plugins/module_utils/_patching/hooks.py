# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the pre and post hooks of a patch round — a script run through Cloud
Assistant on a batch's instances right before its execution starts (``pre``), and on the instances it patched
right after it ended, reboot included (``post``).

``hook_problems`` checks a hook before any API call; ``run_hook`` runs it with the shared invocation code
(``_cloud_assistant.invocations``) and gives each instance a verdict. A hook passes on an instance only when
its script exited 0 there; anything else (non-zero exit, timeout, not delivered, not reported before the
deadline) is a failure with its reason and the end of its output.
"""

from __future__ import annotations

import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.content import (
    COMMAND_TYPES,
    LENGTH_LIMITS,
    MAX_TIMEOUT,
    MIN_TIMEOUT,
    NOT_CUSTOM,
    OS_OF_TYPE,
    PLACEHOLDER_RE,
    content_size_problems,
    encode_content,
    placeholders,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.invocations import (
    base_view,
    is_settled,
    os_group,
    plan_invocations,
    result_view,
    start_invocations,
    wait_for_results,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe

HOOKS = ("pre", "post")
OUTPUT_KEPT = 2048        # the end of a hook's output kept in the result of each instance
DELIVERY_GRACE = 60       # beyond the hook's own timeout: delivery to the agent and the first report

HOOK_SPEC = dict(
    command=dict(type="str", required=True),
    type=dict(type="str", choices=list(COMMAND_TYPES)),
    timeout=dict(type="int", default=300),
    working_dir=dict(type="str"),
)


def hook_problems(name, hook):
    """Problems of the ``name`` hook (``pre_hook``/``post_hook``) as given; [] for None."""
    if hook is None:
        return []
    problems = []
    if not str(hook.get("command") or "").strip():
        problems.append("%s.command must not be empty" % name)
    else:
        problems.extend(content_size_problems(encode_content(hook["command"]), None, kept=False,
                                              what="%s.command" % name))
        custom = placeholders(hook["command"])
        if custom:
            problems.append("%s.command uses {{%s}}: a hook takes no parameters of its own, only built-in ones such "
                            "as {{ACS::InstanceId}} and OOS parameters such as {{oos-secret:NAME}}"
                            % (name, "}}, {{".join(custom)))
    if not MIN_TIMEOUT <= int(hook.get("timeout") or 0) <= MAX_TIMEOUT:
        problems.append("%s.timeout must be from %d to %d seconds, got %s" % (
            name, MIN_TIMEOUT, MAX_TIMEOUT, hook.get("timeout")))
    if len(hook.get("working_dir") or "") > LENGTH_LIMITS["working_dir"]:
        problems.append("%s.working_dir is longer than %d characters" % (name, LENGTH_LIMITS["working_dir"]))
    return problems


def hook_type_problems(name, hook, views):
    """A fixed ``type`` that cannot run on some of the instances (a shell script on Windows)."""
    if not hook or not hook.get("type"):
        return []
    wrong = [i for i, v in views.items() if v.get("exists") and OS_OF_TYPE[hook["type"]] != os_group(v)]
    if not wrong:
        return []
    return ["%s.type %s cannot run on %d instance(s) of another OS: %s" % (
        name, hook["type"], len(wrong), ", ".join(wrong[:5]) + (" ..." if len(wrong) > 5 else ""))]


def uses_builtins(command):
    """Whether ``command`` refers to built-in parameters (``{{ACS::InstanceId}}``) or OOS parameters
    (``{{oos:NAME}}``, ``{{oos-secret:NAME}}``), which Cloud Assistant resolves only with EnableParameter."""
    return any(token.lower().startswith(NOT_CUSTOM) for token in PLACEHOLDER_RE.findall(command))


def _verdict(view):
    output = view.get("stdout") or ""
    tail = output[-OUTPUT_KEPT:]
    passed = view.get("result") == "succeeded" and view.get("exit_code") == 0
    if passed:
        reason = ""
    elif view.get("exit_code") not in (None, 0):
        reason = "exit code %d" % view["exit_code"]
    elif view.get("status") in ("Pending", "Running", ""):
        reason = "no result before the deadline"
    else:
        reason = view.get("status") or "failed"
        if view.get("error_code") or view.get("error_info"):
            reason += " (%s)" % ": ".join(x for x in (view.get("error_code"), view.get("error_info")) if x)
    return dict(passed=passed, reason=reason, exit_code=view.get("exit_code"), status=view.get("status") or "",
                invoke_id=view.get("invoke_id") or "", output=tail, output_truncated=len(output) > len(tail)
                or bool(view.get("output_truncated")))


def failed_verdict(reason):
    return dict(passed=False, reason=reason, exit_code=None, status="", invoke_id="", output="",
                output_truncated=False)


def run_hook(api_for, name, hook, views, deadline, poll_interval=5.0, progress=None, clock=time.monotonic):
    """Run ``hook`` on the instances of ``views`` ({instance id: instance view}): {instance id: verdict}, where a
    verdict says ``passed``, ``reason``, ``exit_code``, ``status``, ``invoke_id`` and the end of ``output``.
    The wait ends at the hook's timeout plus a delivery grace, and never after ``deadline`` (monotonic)."""
    if not views:
        return {}
    say = progress or (lambda text, every=None: None)
    planned = plan_invocations(views, requested_type=hook.get("type"), unreachable="skip")
    verdicts = {i: failed_verdict("not run: " + reason) for i, reason in planned["skipped"].items()}
    verdicts.update({i: failed_verdict(problem) for i, problem in planned["mismatched"].items()})
    batches = planned["batches"]
    if not batches:
        return verdicts
    remaining = deadline - clock()
    if remaining <= 0:
        verdicts.update({i: failed_verdict("not run: the deadline passed") for b in batches for i in b["instance_ids"]})
        return verdicts
    common = dict(CommandContent=encode_content(hook["command"]), ContentEncoding="Base64",
                  Timeout=int(hook.get("timeout") or 300), RepeatMode="Once", KeepCommand=False,
                  Name="ecs-ops-patch-%s-hook" % name)
    if hook.get("working_dir"):
        common["WorkingDir"] = hook["working_dir"]
    if uses_builtins(hook["command"]):
        common["EnableParameter"] = True   # Cloud Assistant substitutes {{ACS::...}} only with it
    for batch in batches:
        batch["command_id"] = ""
    say("running the %s-hook on %d instance(s)" % (name, sum(len(b["instance_ids"]) for b in batches)))
    failed = start_invocations(api_for, batches, common, deadline=deadline)
    started = [b for b in batches if b.get("invoke_id")]
    for batch in batches:
        if not batch.get("invoke_id"):
            why = describe(failed.error)[0] if failed is not None else "it did not start"
            verdicts.update({i: failed_verdict("could not start: %s" % why) for i in batch["instance_ids"]})
    if not started:
        return verdicts
    wait = max(1.0, min(remaining, common["Timeout"] + DELIVERY_GRACE))
    rows, _timed_out, error, _passing = wait_for_results(api_for, started, wait, poll_interval, False)
    for batch in started:
        for instance_id in batch["instance_ids"]:
            base = dict(base_view(views[instance_id], batch["type"]), invoke_id=batch["invoke_id"])
            verdict = _verdict(result_view(base, rows.get(instance_id)))
            if error is not None and not is_settled(rows.get(instance_id) or {}, False):
                verdict["reason"] = "could not read its result: %s" % describe(error)[0]
            verdicts[instance_id] = verdict
    return verdicts
