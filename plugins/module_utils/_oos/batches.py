# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: what the execution runner (``_oos.runner``) works with: a batch (one
execution, started or adopted), an instance's change (``Work``), and the pure rules it applies (which
instances an execution covers, which of two executions is older, which one gives way)."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo

QUEUED, BATCHED, BLOCKED, FINAL = "queued", "batched", "blocked", "final"
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def utc_now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment):
    return moment.strftime(ISO_SECONDS)


def transient(exc):
    """True for a failure that retrying may fix (throttling, 5xx, transport); False for one that will not go away."""
    return ErrorInfo(exc).retryable


def targets_of(view):
    """The instance ids an execution names in its ``targets`` parameter, or None when it selects them otherwise."""
    targets = (view.get("parameters") or {}).get("targets")
    if isinstance(targets, dict) and targets.get("Type") == "ResourceIds":
        return [str(i) for i in targets.get("ResourceIds") or []]
    return None


def created(view):
    return view.get("create_date") or view.get("start_date") or ""


def older(a, b):
    """True if execution view ``a`` was created before ``b`` (the id breaks a tie, so both sides agree)."""
    return (created(a), a["execution_id"]) < (created(b), b["execution_id"])


def gives_way(mine, rival, verifying):
    """Whether our execution ``mine`` must be cancelled for the overlapping ``rival``.

    ``CreateDate`` has whole seconds. At the listing right after our start (``verifying``) we give way to
    any rival created in the same second or before: the execution created second always sees the first one
    there, so at least one of two same-second executions gives way (both may; they then start again after
    a random pause). Later we give way only to a strictly older rival (the id breaks a tie), which the
    listing may have shown late."""
    if verifying and created(rival) and created(mine):
        return created(rival) <= created(mine)
    return older(rival, mine)


class BusyError(RuntimeError):
    """Instances are busy with other executions and the caller asked to fail (``on_busy=fail``)."""

    def __init__(self, busy):
        self.busy = busy   # {instance id: [execution ids]}
        shown = "; ".join("%s: %s" % (i, ", ".join(e)) for i, e in list(busy.items())[:10])
        super().__init__("%d instance(s) are busy with other executions of the template: %s%s" % (
            len(busy), shown, " ..." if len(busy) > 10 else ""))


class Batch:
    """One execution: started by this run (``mine``), or found running and adopted.

    ``adopted`` is what the report says: the execution was not created by this task's own start, but found
    running (by the lookup, or as the ClientToken replay of an earlier start whose answer was lost)."""

    def __init__(self, region, action, instance_ids, parameters=None, token_content=None, adopted=False):
        self.region = region
        self.action = action
        self.instance_ids = list(instance_ids)
        self.parameters = parameters
        self.token_content = token_content
        self.adopted = adopted
        self.mine = not adopted
        self.canary = False
        self.execution = None      # the latest view
        self.error = None          # (msg, error dict) if it could not be started or read
        self.started = adopted
        self.verified = adopted    # a listing after the start has shown it (the tie-break ran once)
        self.superseded_by = ""    # the older execution it was cancelled for

    @property
    def execution_id(self):
        return (self.execution or {}).get("execution_id", "")

    @property
    def done(self):
        return self.error is not None or bool(self.execution and self.execution.get("done"))


class Work:
    """One instance's change: where it stands, and the batch that reports it."""

    def __init__(self, instance_id, region, action):
        self.instance_id = instance_id
        self.region = region
        self.action = action
        self.state = QUEUED
        self.batch = None
        self.blockers = set()
        self.waited_for = []
        self.outcome = None        # (result, message) when it ends without a batch
        self.notes = []
        self.not_before = 0.0      # after giving way, a random pause so two jobs do not collide again
        self.accounted = set()     # finished executions on it that its current plan already knows of
