# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the Cloud Assistant exchanges of the ``cloud_assistant`` connection plugin with
one instance — run a script and wait for its answer, send one without waiting, read a file back in parts, upload
data in parts (``SendFile`` when allowed, else commands).

Reads of a result start when the command is expected to be done (``_ca_state.first_read``: the instance's recent
commands), then every ``poll_interval``, growing once the command has taken twice what was expected.
"""

from __future__ import annotations

import time
import uuid

from ansible.errors import AnsibleConnectionFailure, AnsibleError

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.content import (
    MIN_TIMEOUT,
    decode_output,
    encode_content,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.invocations import (
    TERMINAL,
    fetch_results,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo, describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_state as state
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_transport as transport

NAME = "alibabacloud.ecs_ops.cloud_assistant"


class Session:
    """Exchanges with one instance. ``options(name)`` reads the plugin's options; ``notes`` is the run's HostState."""

    def __init__(self, api, region, instance_id, options, notes):
        self.api, self.region, self.instance_id = api, region, instance_id
        self.option = options
        self.notes = notes

    def failure(self, action, exc):
        return AnsibleConnectionFailure("%s: %s on %s: %s" % (NAME, action, self.instance_id, describe(exc)[0]))

    def _request(self, script, timeout):
        if len(script.encode("utf-8")) > transport.SCRIPT_LIMIT:
            raise AnsibleError("%s: internal: a script of %d bytes is over the limit" % (NAME, len(script)))
        request = {"Type": "RunShellScript", "CommandContent": encode_content(script), "ContentEncoding": "Base64",
                   "InstanceId": [self.instance_id], "Timeout": timeout, "ClientToken": uuid.uuid4().hex}
        if self.option("run_as"):
            request["Username"] = self.option("run_as")
        return request

    def send(self, script):
        """Start ``script`` and do not wait for it (what only cleans up after a task)."""
        timeout = max(MIN_TIMEOUT, int(self.option("command_timeout")))
        try:
            self.api.call("RunCommand", self._request(script, timeout))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise self.failure("RunCommand", exc) from None

    def run(self, script, learn=False):
        """Run ``script`` on the instance; its output (text). Raises AnsibleConnectionFailure when the agent did
        not take it within connect_timeout, or the command did not finish within command_timeout. With ``learn``,
        how long it took adjusts when the next commands' results are first read.

        Reads of the result that still fail after their retries with an error retrying may fix (throttling,
        5xx, transport) do not end the wait; the deadline does."""
        timeout = max(MIN_TIMEOUT, int(self.option("command_timeout")))
        connect_timeout = max(1, int(self.option("connect_timeout")))
        request = self._request(script, timeout)
        interval = float(self.option("poll_interval"))
        samples = self.notes.load().get("durations") or []
        first = state.first_read(samples, interval)
        started = time.monotonic()
        deadline = started + timeout + connect_timeout
        try:
            invocation = {"invoke_id": self.api.call("RunCommand", request).get("InvokeId", "")}
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise self.failure("RunCommand", exc) from None
        sent = time.monotonic()
        seen = {"row": {}, "agent_checked": False}

        def poll():
            try:
                seen["row"] = fetch_results(self.api, invocation, deadline).get(self.instance_id, {})
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if not ErrorInfo(exc).retryable:
                    raise self.failure("DescribeInvocationResults", exc) from None
                return seen["row"]
            status = seen["row"].get("InvocationStatus") or "Pending"
            if status == "Pending" and not seen["agent_checked"] and time.monotonic() - started > connect_timeout:
                seen["agent_checked"] = True
                reason = self.agent_problem()
                if reason:
                    self.stop(invocation["invoke_id"])
                    raise AnsibleConnectionFailure("%s: %s did not take the command within %ds: %s" % (
                        NAME, self.instance_id, connect_timeout, reason))
            return seen["row"]

        def pace(_row, grown):
            return interval if time.monotonic() - sent < 2 * first else grown

        waited = wait_for(poll, lambda row: row.get("InvocationStatus") in TERMINAL, deadline - time.monotonic(),
                          interval=interval, max_interval=interval * 8, initial_delay=first, next_interval=pace)
        if waited.timed_out:
            self.stop(invocation["invoke_id"])
            raise AnsibleConnectionFailure("%s: the command on %s did not finish within %ds (command_timeout) plus "
                                           "%ds (connect_timeout); stopped" % (
                                               NAME, self.instance_id, timeout, connect_timeout))
        if learn:
            self.notes.update(durations=state.add_sample(samples, first, time.monotonic() - sent, waited.polls))
        return self._finished(waited.value, waited.value["InvocationStatus"], timeout)

    def _finished(self, row, status, timeout):
        output = decode_output(row.get("Output"))
        if status == "Success":
            return output
        code = row.get("ErrorCode") or ""
        if status == "Timeout" or code == "ExecutionTimeout":
            raise AnsibleConnectionFailure("%s: the command on %s outlived command_timeout (%ds) and was stopped" % (
                NAME, self.instance_id, timeout))
        raise AnsibleConnectionFailure("%s: the command on %s ended %s%s%s" % (
            NAME, self.instance_id, status, " (%s)" % code if code else "",
            ": %s" % row.get("ErrorInfo") if row.get("ErrorInfo") else ""))

    def agent_problem(self):
        """Why the agent cannot take commands now, or "" when it is online."""
        try:
            view = read_instances(self.api, self.region, [self.instance_id])[self.instance_id]
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise self.failure("DescribeCloudAssistantStatus", exc) from None
        return "" if view["ready"] else view["reason"]

    def stop(self, invoke_id):
        try:
            self.api.call("StopInvocation", {"InvokeId": invoke_id, "InstanceId": [self.instance_id]})
        except Exception:  # pylint: disable=broad-exception-caught
            pass   # the error that made us stop is the one to report

    def _parallel(self, func, items):
        outcomes = run_bounded(func, items, workers=int(self.option("transfer_workers")))
        for outcome in outcomes:
            if not outcome.ok:
                raise outcome.error
        return [o.value for o in outcomes]

    def read_remote(self, path, size):
        """``size`` characters of ``path`` on the instance, read in parts at once."""
        offsets = list(range(0, size, transport.READ_CHUNK))
        text = "".join(self._parallel(lambda o: self.run(transport.read_script(path, o, transport.READ_CHUNK)).strip(),
                                      offsets))
        if len(text) != size:
            raise AnsibleConnectionFailure("%s: read %d of %d characters of %s on %s" % (
                NAME, len(text), size, path, self.instance_id))
        return text

    def upload(self, data, target, digest):
        """Upload ``data`` in parts, at once, and return the deferred step that joins them, checks them against
        ``digest`` and puts them at ``target`` (see ``_ca_transport.join_step``)."""
        name = uuid.uuid4().hex
        scripts = transport.command_parts(data, self.option("cache_dir"), name)
        self._parallel(lambda s: transport.parse_simple(self.run(s), "ECSOPS-PART"), scripts)
        return transport.join_step(name, len(scripts), digest, target)
