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

Every invocation a run starts carries the tag ``ecs-ops-run`` with one value per run, so that a wait looks at
all of them with one DescribeInvocations page per region and 50 invocations (statuses, no output), and reads
an invocation's results (with the output) once, when it has settled.
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
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all, paginate
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import MAX_TAGS, chunked
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for

MAX_INSTANCES_PER_CALL = 100     # InstanceId.N of RunCommand / InvokeCommand
LISTING_PAGE = 50                # MaxResults of DescribeInvocations (its most)
TOKEN_TAG = "ecs-ops-client-token"  # the ClientToken of an invocation started with a user token
RUN_TAG = "ecs-ops-run"          # the same value on every invocation of one run: the wait lists them by it
INVISIBLE_GRACE = 60.0           # a new invocation may not be listed or readable at once
STEADY_POLLING = 60.0            # the wait looks every poll_interval this long, then backs off
SHORTEST_SLEEP = 0.05            # _waiter.wait_for never sleeps less between two rounds
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


def invocation_tags(item):
    """{key: value} of the tags of a DescribeInvocations item."""
    return {t.get("TagKey"): t.get("TagValue", "") for t in (item.get("Tags") or {}).get("Tag") or []}


def start_invocations(api_for, batches, common, user_token=None, secret_names=(), values=None, inline=True,
                      deadline=None):
    """RunCommand (``inline``) or InvokeCommand for each batch ({region, type, instance_ids, command_id}) with the
    request ``common``; sets each batch's ``invoke_id``, ``command_id``, ``adopted`` and ``run_tag``. The first
    failed Outcome, or None.

    Each start carries a ClientToken that hashes the request (secret values left out: the token shows in API
    logs; their names are enough). Without ``user_token`` it also hashes a random value, so only retries of one
    call are deduplicated. With it the token is the request's alone, the invocation carries the tag
    ``ecs-ops-client-token`` with it, and an invocation found with that tag is adopted instead of started.
    Every invocation started also carries the tag ``ecs-ops-run`` (``RUN_TAG``), whose value hashes the
    ClientTokens of all the batches: one value per run, the same again for a retried run with the same token and
    request. ``run_tag`` is the value the invocation carries ("" for one adopted from a run that tagged none).
    ``deadline`` (monotonic), if given, bounds the retries of the calls.
    """
    nonce = None if user_token else uuid.uuid4().hex
    secret_names = sorted(secret_names)
    public = {k: v for k, v in (values or {}).items() if k not in secret_names}
    action = "RunCommand" if inline else "InvokeCommand"

    def request_of(batch):
        request = dict(common, InstanceId=batch["instance_ids"])
        if inline:
            request["Type"] = batch["type"]
        else:
            request["CommandId"] = batch["command_id"]
        hashed = dict(request, Parameters=None, public_parameters=public, secret_names=secret_names)
        request["ClientToken"] = client_token(dict(action=action, region=batch["region"], request=hashed,
                                                   run=nonce), user_token)
        return request

    requests = [request_of(batch) for batch in batches]
    run_tag = client_token(dict(run_of=sorted(r["ClientToken"] for r in requests)), user_token)
    request_for = {id(batch): request for batch, request in zip(batches, requests)}

    def start(batch):
        request = request_for[id(batch)]
        api = api_for(batch["region"])
        tags = list(request.get("Tag") or [])
        if user_token is not None:
            earlier = find_invocation(api, request["ClientToken"])
            if earlier is not None:
                batch.update(adopted=True, run_tag=invocation_tags(earlier).get(RUN_TAG) or "")
                return earlier
            tags.append(dict(Key=TOKEN_TAG, Value=request["ClientToken"]))
        # The run tag only where it fits: a resource takes MAX_TAGS tags, and the user's come first (without it
        # the wait reads this invocation's results every round instead of listing it).
        room = len(tags) < MAX_TAGS
        batch.update(adopted=False, run_tag=run_tag if room else "")
        return api.call(action, dict(request, Tag=tags + ([dict(Key=RUN_TAG, Value=run_tag)] if room else [])),
                        deadline=deadline)

    outcomes = run_bounded(start, batches)
    for outcome in outcomes:
        if outcome.ok:
            outcome.item["invoke_id"] = outcome.value.get("InvokeId", "")
            outcome.item["command_id"] = outcome.value.get("CommandId") or outcome.item["command_id"]
    return first_error(outcomes)


def invocation_status(api, invoke_id):
    """The InvocationStatus of one invocation, or None if it does not exist."""
    body = api.call("DescribeInvocations", {"InvokeId": invoke_id})
    found = (body.get("Invocations") or {}).get("Invocation") or []
    return found[0].get("InvocationStatus", "") if found else None


def stop_invocations(api_for, invocations, wait_timeout=None, poll_interval=3.0):
    """StopInvocation for each invocation (``invoke_id``, ``region``), all at once: ``(stopped, error)``, where
    ``stopped`` is {invoke id: status} of those stopped, in the order given, and ``error`` the first failed
    Outcome or None.

    The status is ``Stopping`` unless ``wait_timeout`` is given: then the stopped ones are polled (every
    ``poll_interval``, backing off to 6 x that) until none is ``Stopping`` or ``wait_timeout`` seconds passed, and
    ``stopped`` holds the last status read (None for an invocation that no longer exists). A failed read raises."""
    outcomes = run_bounded(lambda inv: api_for(inv["region"]).call(
        "StopInvocation", {"InvokeId": inv["invoke_id"]}), invocations)
    stopped = {o.item["invoke_id"]: "Stopping" for o in outcomes if o.ok}
    if wait_timeout is not None and stopped:
        regions = {inv["invoke_id"]: inv["region"] for inv in invocations}

        def poll():
            for invoke_id, status in stopped.items():
                if status == "Stopping":
                    stopped[invoke_id] = invocation_status(api_for(regions[invoke_id]), invoke_id)
            return stopped

        wait_for(poll, lambda statuses: "Stopping" not in statuses.values(), wait_timeout, interval=poll_interval,
                 max_interval=poll_interval * 6)
    return stopped, first_error(outcomes)


def fetch_results(api, invocation, deadline):
    """{instance id: DescribeInvocationResults row} of one invocation (every page)."""
    rows = list_all(lambda q: api.call("DescribeInvocationResults", q, deadline=deadline),
                    {"InvokeId": invocation["invoke_id"], "MaxResults": 50, "ContentEncoding": "Base64"},
                    ("Invocation", "InvocationResults", "InvocationResult"), token_path=("Invocation", "NextToken"))
    return {row["InstanceId"]: row for row in rows if row.get("InvokeId", invocation["invoke_id"]) == invocation["invoke_id"]}


def list_run(api, run_tag, invoke_ids, deadline):
    """{invoke id: {instance id: DescribeInvocations InvokeInstance row}} of the invocations ``invoke_ids`` among
    those tagged ``ecs-ops-run: run_tag``; stops paging once every one of them was seen."""
    found = {}
    items = paginate(lambda q: api.call("DescribeInvocations", q, deadline=deadline),
                     {"Tag": [dict(Key=RUN_TAG, Value=run_tag)], "MaxResults": LISTING_PAGE},
                     ("Invocations", "Invocation"))
    for item in items:
        invoke_id = item.get("InvokeId")
        if invoke_id in invoke_ids:
            found[invoke_id] = {row["InstanceId"]: dict(row, InvokeId=invoke_id)
                                for row in (item.get("InvokeInstances") or {}).get("InvokeInstance") or []}
            if len(found) == len(invoke_ids):
                break
    return found


class _Wait:
    """One wait_for_results: the results read (``rows``), the listing rows of the invocations not read yet
    (``listed``), and the invocations read in full every round (``unlisted``)."""

    def __init__(self, api_for, invocations, wait_timeout, poll_interval, first_run, say):
        self.api_for, self.invocations, self.first_run, self.say = api_for, invocations, first_run, say
        self.poll_interval = poll_interval
        self.longest = min(60.0, poll_interval * 6)
        self.interval = float(poll_interval)
        self.rows, self.listed, self.unlisted, self.passing = {}, {}, set(), []
        self.started = time.monotonic()
        self.deadline = self.started + wait_timeout

    def settled(self, invocation, source):
        return all(is_settled(source.get(i, {}), self.first_run) for i in invocation["instance_ids"])

    def done(self, _rows=None):
        return all(self.settled(inv, self.rows) for inv in self.invocations)

    def in_grace(self):
        return time.monotonic() - self.started < INVISIBLE_GRACE

    def failed(self, error):
        """A failed call: noted if retrying may fix it, ignored if a new invocation is not visible yet, else raised."""
        if ErrorInfo(error).retryable:
            self.passing.append(describe(error)[0])
        elif not (has_error_code(error, "InvalidInvokeId.NotFound") and self.in_grace()):
            raise error

    def listable(self, invocation):
        return bool(invocation.get("run_tag")) and invocation["invoke_id"] not in self.unlisted

    def list_runs(self, waiting):
        """One listing per region and run tag of the ``waiting`` invocations; updates ``listed``."""
        runs = {}
        for inv in waiting:
            if self.listable(inv):
                runs.setdefault((inv["region"], inv["run_tag"]), []).append(inv)

        def listing(key):
            return list_run(self.api_for(key[0]), key[1], {inv["invoke_id"] for inv in runs[key]}, self.deadline)

        for outcome in run_bounded(listing, list(runs)):
            if not outcome.ok:
                self.failed(outcome.error)
                continue
            for inv in runs[outcome.item]:
                if inv["invoke_id"] in outcome.value:
                    self.listed.update(outcome.value[inv["invoke_id"]])
                elif not self.in_grace():
                    self.unlisted.add(inv["invoke_id"])

    def read(self, invocations):
        for outcome in run_bounded(lambda inv: fetch_results(self.api_for(inv["region"]), inv, self.deadline),
                                   invocations):
            if outcome.ok:
                self.rows.update(outcome.value)
            else:
                self.failed(outcome.error)

    def poll(self):
        """A round: list what is unsettled, then read in full what the listing shows settled and what cannot be
        listed. The last round that can start before the deadline reads everything unsettled in full; none starts
        after it (no call may: ``_client`` refuses a call that would start after its deadline)."""
        now = time.monotonic()
        if now >= self.deadline:
            return self.rows
        self.interval = max(SHORTEST_SLEEP, self.poll_interval if now - self.started < STEADY_POLLING else min(
            self.longest, self.interval * 1.5))
        read_all = now + self.interval >= self.deadline
        waiting = [inv for inv in self.invocations if not self.settled(inv, self.rows)]
        if not read_all:
            self.list_runs(waiting)
        self.read([inv for inv in waiting if read_all or not self.listable(inv) or self.settled(inv, self.listed)])
        self.report_progress()
        return self.rows

    def known(self):
        return {**self.listed, **self.rows}

    def report_progress(self):
        known = self.known()
        total = sum(len(inv["instance_ids"]) for inv in self.invocations)
        states = [outcome(known[i].get("InvocationStatus") or "Pending", known[i].get("ErrorCode"),
                          int(known[i].get("Repeats") or 0)) if i in known else "pending"
                  for inv in self.invocations for i in inv["instance_ids"]]
        self.say("%d of %d instance(s) finished (%d succeeded, %d failed), %d running%s" % (
            total - states.count("pending"), total, states.count("succeeded"), states.count("failed"),
            states.count("pending"),
            "; %d poll(s) failed after retries" % len(self.passing) if self.passing else ""), every=60)

    def next_interval(self, _rows, _default):
        """``poll_interval`` for the first minute, then growing x1.5 a round up to ``longest`` (set by ``poll``)."""
        return self.interval


def wait_for_results(api_for, invocations, wait_timeout, poll_interval, first_run, progress=None):
    """Poll until every instance settled or ``wait_timeout`` passed: ``(rows, timed_out, error, transient)``.

    A round lists the unsettled invocations by their ``run_tag`` (one DescribeInvocations page per region, run
    and 50 invocations) and reads the results of an invocation (DescribeInvocationResults, with the output) once,
    when the listing shows every instance of it settled. Invocations without a run tag, or still not listed
    after the grace a new one may need to become visible, are read in full every round, and so is every unsettled
    invocation in the last round before the deadline (so that a timeout still reports the output of what had
    finished). ``rows`` are the results read and, for the instances of an invocation not read yet, its listing
    row (status, exit code, error; no output).

    Rounds come every ``poll_interval`` for the first minute (a round costs a call per region, and most commands
    end within their default timeout of 60 s), then the interval grows up to min(60, 6 x ``poll_interval``).
    A poll that still fails after its retries with an error that retrying may fix (throttling, 5xx,
    transport) does not end the wait; an error that will not go away does (``error``), and so does a
    missing invocation after the grace a new one may need to become visible."""
    wait = _Wait(api_for, invocations, wait_timeout, poll_interval, first_run,
                 progress or (lambda text, every=None: None))
    try:
        # No script has finished the moment it starts: the first look comes one interval later.
        waited = wait_for(wait.poll, wait.done, wait_timeout, interval=poll_interval, max_interval=wait.longest,
                          next_interval=wait.next_interval, initial_delay=min(poll_interval, wait_timeout))
    except Exception as exc:  # pylint: disable=broad-exception-caught
        return wait.known(), False, exc, wait.passing  # what was read so far still says which instances finished
    return wait.known(), waited.timed_out, None, wait.passing
