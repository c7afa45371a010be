# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: OOS execution primitives — start one idempotently, read, cancel, notify.

``start_execution`` sends a deterministic ``ClientToken``. When the token replays an execution
that is still running (a retried task whose answer was lost), that execution is adopted. When it
replays one that had already finished (an earlier run of the same plan, e.g. a failed install
being retried), the next token of a deterministic chain is used. The token is the second guard
against a duplicate start; the first is ``_runner``'s lookup of what already runs.
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe, has_error_code
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import paginate
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token, token_problems
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import resource_tag_problems

TERMINAL = ("Success", "Failed", "Cancelled")
MAX_TOKEN_GENERATIONS = 64
LIST_PAGE = 100
MAX_BATCH = 50          # the bulky templates' targets take at most 50 instances
RESERVED_TAG_PREFIX = "ecs-ops-"   # tags the collection puts on what it starts
_PERCENT_RE = re.compile(r"^\s*(\d{1,3})\s*%\s*$")


class ExecutionError(RuntimeError):
    pass


def rate_value(value, name, minimum):
    """(value OOS accepts in rateControl: an int or "N%", problem or None)."""
    if isinstance(value, bool):
        return value, "rate_control.%s must be a number or a percentage such as 10%%, got %r" % (name, value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if number < minimum:
            return value, "rate_control.%s must be at least %d, got %d" % (name, minimum, number)
        return number, None
    match = _PERCENT_RE.match(value) if isinstance(value, str) else None
    if match and minimum <= int(match.group(1)) <= 100:
        return "%d%%" % int(match.group(1)), None
    return value, "rate_control.%s must be a number >= %d or a percentage from %d%% to 100%%, got %r" % (
        name, minimum, minimum, value)


def run_options(p, max_executions):
    """(problems, normalised) for the options of every batched OOS run (batch_size, max_concurrent_executions,
    wait_timeout, poll_interval, rate_control, tags, description, client_token). ``normalised`` holds
    ``rate_control`` and ``tags`` as OOS takes them; ``p`` is not changed."""
    problems = []
    if not 1 <= p["batch_size"] <= MAX_BATCH:
        problems.append("batch_size must be between 1 and %d, got %d" % (MAX_BATCH, p["batch_size"]))
    if not 1 <= p["max_concurrent_executions"] <= max_executions:
        problems.append("max_concurrent_executions must be between 1 and %d, got %d"
                        % (max_executions, p["max_concurrent_executions"]))
    if p["wait_timeout"] < 1:
        problems.append("wait_timeout must be at least 1 second")
    if not 0.1 <= p["poll_interval"] <= 600:
        problems.append("poll_interval must be between 0.1 and 600 seconds")
    rate = dict(p["rate_control"])
    for name, minimum in (("concurrency", 1), ("max_errors", 0)):
        rate[name], problem = rate_value(rate[name], name, minimum)
        if problem:
            problems.append(problem)
    tags = p["tags"] or {}
    problems.extend(resource_tag_problems(tags))
    reserved = sorted(str(k) for k in tags if str(k).startswith(RESERVED_TAG_PREFIX))
    if reserved:
        problems.append("tags: keys starting with %s are reserved for the collection: %s" % (
            RESERVED_TAG_PREFIX, ", ".join(reserved)))
    if p.get("description") is not None and len(p["description"]) > 200:
        problems.append("description must be at most 200 characters")
    problems.extend(token_problems(p["client_token"]))
    return problems, dict(rate_control=rate, tags={str(k): str(v) for k, v in tags.items()} or None)


def parse_json(value, default=None):
    """An object the API may send as a JSON string, as an object, or empty."""
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return json.loads(value)
        except ValueError:
            return value
    return {} if default is None else default


def execution_view(raw):
    """An execution (StartExecution or ListExecutions shape) with snake_case keys and parsed JSON."""
    raw = raw or {}
    status = raw.get("Status", "")
    return dict(
        execution_id=raw.get("ExecutionId", ""),
        template_name=raw.get("TemplateName", ""),
        template_version=raw.get("TemplateVersion", ""),
        status=status,
        status_message=raw.get("StatusMessage", "") or "",
        status_reason=raw.get("StatusReason", "") or "",
        waiting_status=raw.get("WaitingStatus", "") or "",
        done=status in TERMINAL,
        mode=raw.get("Mode", ""),
        loop_mode=raw.get("LoopMode", ""),
        parameters=parse_json(raw.get("Parameters")),
        outputs=parse_json(raw.get("Outputs")),
        counters=raw.get("Counters") or {},
        current_tasks=[dict(task_name=t.get("TaskName", ""), task_action=t.get("TaskAction", ""),
                            task_execution_id=t.get("TaskExecutionId", "")) for t in raw.get("CurrentTasks") or []],
        is_parent=bool(raw.get("IsParent")),
        parent_execution_id=raw.get("ParentExecutionId", "") or "",
        tags=raw.get("Tags") or {},
        description=raw.get("Description", "") or "",
        create_date=raw.get("CreateDate", "") or "",
        start_date=raw.get("StartDate", "") or "",
        end_date=raw.get("EndDate", "") or "",
        update_date=raw.get("UpdateDate", "") or "",
    )


def start_execution(api, template_name, parameters, token_content, user_token=None, template_version=None,
                    loop_mode=None, tags=None, description=None, deadline=None):
    """Start (or adopt) the execution for ``token_content``; its view plus ``client_token`` and ``adopted``."""
    request = {
        "TemplateName": template_name,
        "TemplateVersion": template_version or None,
        "Parameters": json_param(parameters),
        "Mode": "Automatic",
        "SafetyCheck": "Skip",
        "LoopMode": loop_mode or None,
        "Tags": json_param(tags) if tags else None,
        "Description": description or None,
    }
    for generation in range(MAX_TOKEN_GENERATIONS):
        content = token_content if generation == 0 else {"plan": token_content, "generation": generation}
        request["ClientToken"] = client_token(content, user_token)
        attempts = []
        try:
            body = api.call("StartExecution", request, deadline=deadline, attempts=attempts)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if has_error_code(exc, "IdempotentParameterMismatch"):
                continue  # an earlier run used this token with other (e.g. secret) values
            raise
        view = execution_view(body.get("Execution"))
        # A finished execution on the first attempt belongs to an earlier run: take the next token.
        # After a retry it may be this run's own, so it is kept.
        if view["done"] and len(attempts) == 1:
            continue
        view["client_token"] = request["ClientToken"]
        view["adopted"] = view["status"] not in ("Started", "")
        return view
    raise ExecutionError("%d executions with this exact content already ran; pass a new client_token "
                         "to start another" % MAX_TOKEN_GENERATIONS)


def get_execution(api, execution_id, deadline=None):
    """The view of one execution, or None if it does not exist (ListExecutions returns nothing)."""
    body = api.call("ListExecutions", {"ExecutionId": execution_id}, deadline=deadline)
    found = [e for e in body.get("Executions") or [] if e.get("ExecutionId") == execution_id]
    return execution_view(found[0]) if found else None


def get_executions(api, execution_ids, workers=8, deadline=None):
    """{execution id: view or None} for ``execution_ids`` (read concurrently). Raises the first error."""
    execution_ids = list(execution_ids)
    return dict(zip(execution_ids, run_all(lambda i: get_execution(api, i, deadline), execution_ids, workers)))


REPORT_GRACE = 5.0   # seconds beyond a wait's deadline for the reads that build the report


def report_deadline(deadline):
    """The deadline of the reads after a wait that ended at or before ``deadline`` (a ``time.monotonic``
    instant): a short grace, so an API that stops answering cannot hold the task far past ``wait_timeout``."""
    return max(deadline, time.monotonic()) + REPORT_GRACE


def child_executions(api, parent_id, deadline=None, brief=False):
    """Views of the child executions of ``parent_id`` (one per instance for the bulky templates). ``brief``: only
    what a run reports per instance (id, status, its message, the instance), page by page, so that 10,000
    children do not keep 10,000 full views in memory."""
    pages = paginate(lambda p: api.call("ListExecutions", p, deadline=deadline),
                     {"ParentExecutionId": parent_id, "MaxResults": LIST_PAGE}, ("Executions",))
    return [brief_view(i) if brief else execution_view(i) for i in pages]


def brief_view(raw):
    """A child execution as the runner reports it: ``execution_view``'s keys that a per-instance result reads."""
    status = raw.get("Status", "")
    return dict(execution_id=raw.get("ExecutionId", ""), status=status, done=status in TERMINAL,
                status_message=raw.get("StatusMessage", "") or "", status_reason=raw.get("StatusReason", "") or "",
                parameters={"instanceId": instance_of({"parameters": parse_json(raw.get("Parameters"))})})


def instance_of(view):
    """The instance a child execution works on (its ``instanceId`` parameter), or ""."""
    params = view.get("parameters") or {}
    return params.get("instanceId") or params.get("InstanceId") or ""


def cancel_executions(api, execution_ids, workers=8, deadline=None):
    """CancelExecution for each id: {id: "" or the error message}; already finished ones are not errors."""
    def cancel(execution_id):
        try:
            api.call("CancelExecution", {"ExecutionId": execution_id}, deadline=deadline)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if has_error_code(exc, "InvalidStatus.Execution", "EntityNotExists.Execution"):
                return ""
            return describe(exc)[0]
        return ""
    return {o.item: o.value for o in run_bounded(cancel, list(execution_ids), workers)}


def notify_execution(api, execution_id, notify_type, deadline=None, **extra):
    params = {"ExecutionId": execution_id, "NotifyType": notify_type}
    params.update({k: v for k, v in extra.items() if v is not None})
    return api.call("NotifyExecution", params, deadline=deadline)
