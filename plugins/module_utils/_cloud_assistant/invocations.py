# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: Cloud Assistant invocations — plan the batches, start them (idempotent with a
token), stop them, wait for their results, and the per-instance result views.

``plan_invocations`` decides which instance runs which command type in which batch (a pure function of
the instances' views and the requested type); ``start_invocations`` and ``wait_for_results`` talk to the API
through ``api_for(region)``; ``result_view`` turns a DescribeInvocationResults row into the collection's
per-instance result with the output decoded. Used by ``ecs_cloud_assistant_command`` and meant for the
plugins that run commands through Cloud Assistant.
"""

from __future__ import annotations

import time
import uuid

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.content import (
    DEFAULT_TYPE,
    OS_OF_TYPE,
    decode_output,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import first_error, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo, describe, has_error_code
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import chunked
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for

MAX_INSTANCES_PER_CALL = 100     # InstanceId.N of RunCommand / InvokeCommand
TOKEN_TAG = "ecs-ops-client-token"  # the ClientToken of an invocation started with a user token
INVISIBLE_GRACE = 60.0           # a new invocation may not be visible to DescribeInvocationResults at once
TERMINAL = frozenset(("Success", "Failed", "Timeout", "Error", "Aborted", "Invalid", "Cancelled", "Terminated"))
FAILED = frozenset(("Failed", "Timeout", "Error", "Aborted", "Invalid"))
STOPPED = frozenset(("Cancelled", "Terminated"))


def os_group(view):
    return "windows" if view.get("os_type") == "windows" else "linux"


def plan_invocations(views, requested_type=None, command_type=None, unreachable="fail",
                     batch_size=MAX_INSTANCES_PER_CALL):
    """Which instance runs which command type, in batches of at most ``batch_size`` per region and type.

    ``views``: ``{instance_id: instance_view}`` in input order (``_fleet.instance_view``).
    ``requested_type``: the ``type`` option (None: from each instance's OS); ``command_type``: the type
    of an existing command (fixed). Returns a dict with ``batches`` (``[{region, type, instance_ids}]``),
    ``types`` (id -> type), ``skipped`` and ``unreachable`` (id -> reason, by the ``unreachable``
    policy) and ``mismatched`` (id -> problem): a non-empty ``mismatched``, or ``unreachable`` under
    ``fail``, means nothing may run.
    """
    fixed = command_type or requested_type
    groups, types, skipped, not_ready, mismatched = {}, {}, {}, {}, {}
    for instance_id, view in views.items():
        if view.get("exists"):
            os_type = os_group(view)
            chosen = fixed or DEFAULT_TYPE[os_type]
            if OS_OF_TYPE[chosen] != os_type:
                mismatched[instance_id] = "%s: type %s cannot run on a %s instance" % (
                    instance_id, chosen, os_type.capitalize())
                continue
            types[instance_id] = chosen
        if not view.get("ready"):
            (skipped if unreachable == "skip" else not_ready)[instance_id] = view.get("reason") or "not ready"
            continue
        groups.setdefault((view["region"], types[instance_id]), []).append(instance_id)
    # Sorted, so that the same instances in any order make the same batches (and the same ClientTokens).
    batches = [dict(region=region, type=cmd_type, instance_ids=chunk)
               for (region, cmd_type), ids in groups.items() for chunk in chunked(sorted(ids), batch_size)]
    return dict(batches=batches, types=types, skipped=skipped, unreachable=not_ready, mismatched=mismatched)


NOT_RUN = {"WouldRun": "planned", "Unreachable": "unreachable", "Unsupported": "unsupported",
           "NotStarted": "cancelled"}   # statuses of instances the command did not run on


def outcome(status, error_code="", repeats=0):
    """The result of a per-instance status, in the collection's vocabulary: succeeded, failed, cancelled,
    pending, scheduled (a periodic command between runs), planned, unreachable, unsupported."""
    if status == "Success":
        return "succeeded"
    if status == "Scheduled":
        return "failed" if error_code and repeats else "scheduled"
    if status in FAILED:
        return "failed"
    if status in STOPPED:
        return "cancelled"
    return NOT_RUN.get(status, "pending")


def is_settled(row, wait_for_first_run):
    """True when an instance needs no more waiting: terminal, or scheduled (after its first run if asked)."""
    status = row.get("InvocationStatus")
    if status in TERMINAL:
        return True
    return status == "Scheduled" and (int(row.get("Repeats") or 0) >= 1 or not wait_for_first_run)


def base_view(view, cmd_type=None, status="", reason=""):
    """A per-instance result before anything ran (planned, unreachable or unsupported)."""
    return dict(instance_id=view["instance_id"], region=view["region"], name=view.get("name", ""),
                os_type=view.get("os_type", ""), type=cmd_type or "", status=status, result=outcome(status),
                reason=reason,
                invoke_id="", exit_code=None, stdout="", stdout_lines=[], output_truncated=False,
                dropped_bytes=0, error_code="", error_info="", start_time="", finish_time="",
                stop_time="", repeats=0)


def result_view(base, row, hide_output=False):
    """``base`` updated from a DescribeInvocationResults ``row`` (None: not reported yet)."""
    result = dict(base)
    if row is None:
        result.update(status="Pending", result="pending")
        return result
    dropped = int(row.get("Dropped") or 0)
    stdout = "" if hide_output else decode_output(row.get("Output"))
    status = row.get("InvocationStatus") or "Pending"
    finished = status in TERMINAL or (status == "Scheduled" and int(row.get("Repeats") or 0) > 0)
    result.update(
        status=status,
        invoke_id=row.get("InvokeId") or base.get("invoke_id", ""),
        exit_code=int(row["ExitCode"]) if finished and row.get("ExitCode") is not None else None,
        stdout=stdout,
        stdout_lines=stdout.splitlines(),
        output_truncated=dropped > 0,
        dropped_bytes=dropped,
        error_code=row.get("ErrorCode") or "",
        error_info=row.get("ErrorInfo") or "",
        start_time=row.get("StartTime") or "",
        finish_time=row.get("FinishedTime") or row.get("FinishTime") or "",
        stop_time=row.get("StopTime") or "",
        repeats=int(row.get("Repeats") or 0),
    )
    result["result"] = outcome(status, result["error_code"], result["repeats"])
    return result


def summarise(results):
    """Counts per result, and ``rc``: 0 if nothing failed or was cancelled, else the first failure's exit code
    (or 1)."""
    summary = dict(total=0, succeeded=0, failed=0, cancelled=0, pending=0, scheduled=0, unreachable=0,
                   unsupported=0, planned=0)
    rc = 0
    for entry in results.values():
        summary["total"] += 1
        summary[entry["result"]] += 1
        if rc == 0 and entry["result"] in ("failed", "cancelled"):
            code = entry.get("exit_code")
            rc = code if isinstance(code, int) and code > 0 else 1
    return summary, rc


def find_invocation(api, token):
    """The invocation an earlier run started with ClientToken ``token`` (its ``ecs-ops-client-token`` tag), or None."""
    body = api.call("DescribeInvocations", {"Tag": [dict(Key=TOKEN_TAG, Value=token)], "MaxResults": 10})
    found = (body.get("Invocations") or {}).get("Invocation") or []
    return found[0] if found else None


def start_invocations(api_for, batches, common, user_token=None, secret_names=(), values=None, inline=True,
                      deadline=None):
    """RunCommand (``inline``) or InvokeCommand for each batch ({region, type, instance_ids, command_id}) with the
    request ``common``; sets each batch's ``invoke_id``, ``command_id`` and ``adopted``. The first failed Outcome,
    or None.

    Each start carries a ClientToken that hashes the request (secret values left out: the token shows in API
    logs; their names are enough). Without ``user_token`` it also hashes a random value, so only retries of one
    call are deduplicated. With it the token is the request's alone, the invocation carries the tag
    ``ecs-ops-client-token`` with it, and an invocation found with that tag is adopted instead of started.
    ``deadline`` (monotonic), if given, bounds the retries of the calls.
    """
    nonce = None if user_token else uuid.uuid4().hex
    secret_names = sorted(secret_names)
    public = {k: v for k, v in (values or {}).items() if k not in secret_names}

    def start(batch):
        request = dict(common, InstanceId=batch["instance_ids"])
        if inline:
            action, request["Type"] = "RunCommand", batch["type"]
        else:
            action, request["CommandId"] = "InvokeCommand", batch["command_id"]
        hashed = dict(request, Parameters=None, public_parameters=public, secret_names=secret_names)
        request["ClientToken"] = client_token(dict(action=action, region=batch["region"], request=hashed,
                                                   run=nonce), user_token)
        api = api_for(batch["region"])
        batch["adopted"] = False
        if user_token is not None:
            earlier = find_invocation(api, request["ClientToken"])
            if earlier is not None:
                batch["adopted"] = True
                return earlier
            request["Tag"] = list(request.get("Tag") or []) + [dict(Key=TOKEN_TAG, Value=request["ClientToken"])]
        return api.call(action, request, deadline=deadline)

    outcomes = run_bounded(start, batches)
    for outcome in outcomes:
        if outcome.ok:
            outcome.item["invoke_id"] = outcome.value.get("InvokeId", "")
            outcome.item["command_id"] = outcome.value.get("CommandId") or outcome.item["command_id"]
    return first_error(outcomes)


def stop_invocations(api_for, invocations):
    """StopInvocation for each invocation: (the ids stopped, the first failed Outcome or None)."""
    outcomes = run_bounded(lambda inv: api_for(inv["region"]).call(
        "StopInvocation", {"InvokeId": inv["invoke_id"]}), invocations)
    return [o.item["invoke_id"] for o in outcomes if o.ok], first_error(outcomes)


def fetch_results(api, invocation, deadline):
    """{instance id: DescribeInvocationResults row} of one invocation (every page)."""
    rows = list_all(lambda q: api.call("DescribeInvocationResults", q, deadline=deadline),
                    {"InvokeId": invocation["invoke_id"], "MaxResults": 50, "ContentEncoding": "Base64"},
                    ("Invocation", "InvocationResults", "InvocationResult"), token_path=("Invocation", "NextToken"))
    return {row["InstanceId"]: row for row in rows if row.get("InvokeId", invocation["invoke_id"]) == invocation["invoke_id"]}


def wait_for_results(api_for, invocations, wait_timeout, poll_interval, first_run, progress=None):
    """Poll until every instance settled or ``wait_timeout`` passed: ``(rows, timed_out, error, transient)``.

    A poll that still fails after its retries with an error that retrying may fix (throttling, 5xx,
    transport) does not end the wait; an error that will not go away does (``error``), and so does a
    missing invocation after the grace a new one may need to become visible."""
    say = progress or (lambda text, every=None: None)
    rows = {}
    passing = []
    started = time.monotonic()
    deadline = started + wait_timeout

    def settled(invocation):
        return all(is_settled(rows.get(i, {}), first_run) for i in invocation["instance_ids"])

    def poll():
        outcomes = run_bounded(lambda inv: fetch_results(api_for(inv["region"]), inv, deadline),
                               [inv for inv in invocations if not settled(inv)])
        for outcome in outcomes:
            if outcome.ok:
                rows.update(outcome.value)
            elif ErrorInfo(outcome.error).retryable:
                passing.append(describe(outcome.error)[0])
            elif not (has_error_code(outcome.error, "InvalidInvokeId.NotFound")
                      and time.monotonic() - started < INVISIBLE_GRACE):
                raise outcome.error
        report_progress()
        return rows

    def report_progress():
        total = sum(len(inv["instance_ids"]) for inv in invocations)
        states = [outcome(rows[i].get("InvocationStatus") or "Pending", rows[i].get("ErrorCode"),
                          int(rows[i].get("Repeats") or 0)) if i in rows else "pending"
                  for inv in invocations for i in inv["instance_ids"]]
        say("%d of %d instance(s) finished (%d succeeded, %d failed), %d running%s" % (
            total - states.count("pending"), total, states.count("succeeded"), states.count("failed"),
            states.count("pending"), "; %d poll(s) failed after retries" % len(passing) if passing else ""), every=60)

    try:
        # No script has finished the moment it starts: the first read comes one interval later.
        waited = wait_for(poll, lambda _rows: all(settled(inv) for inv in invocations), wait_timeout,
                          interval=poll_interval, max_interval=min(60.0, poll_interval * 6),
                          initial_delay=min(poll_interval, wait_timeout))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return rows, False, exc, passing  # the rows read so far still say which instances finished
    return rows, waited.timed_out, None, passing
