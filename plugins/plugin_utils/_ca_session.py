# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the Cloud Assistant exchanges of the ``cloud_assistant`` connection plugin with
one instance — run a script and wait for its answer, send one without waiting, read a file back in parts, upload
data in parts (``SendFile`` when allowed, else commands; SendFile refused for lack of permission is noted for the
region and the run, SendFile that fails on an instance (an old agent) for that instance and the run).

Reads of a result start when the command is expected to be done (``_ca_state.first_read``: the run's recent
commands in the region); the next comes after 40% of that (at least ``poll_interval``), and the interval grows by
half each time up to eight times ``poll_interval``.
"""

from __future__ import annotations

import base64
import time
import uuid

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.utils.display import Display

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
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import report_deadline
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_state as state
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils._deadline import Bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_transport as transport

NAME = "alibabacloud.ecs_ops.cloud_assistant"
display = Display()


class CommandTimeout(AnsibleError):
    """The agent stopped a command that outlived command_timeout: the instance answered, so the task fails (and
    ``ignore_errors`` and ``rescue`` apply); the host is not unreachable."""


class Session:
    """Exchanges with one instance. ``options(name)`` reads the plugin's options; ``notes`` and ``region_notes`` are
    the run's notes on the instance and on its region (``_ca_state.HostState``)."""

    def __init__(self, api, region, instance_id, options, notes, region_notes):
        self.api, self.region, self.instance_id = api, region, instance_id
        self.option = options
        self.notes, self.region_notes = notes, region_notes

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
        try:    # nobody waits for it: a hanging API may hold it connect_timeout at most
            self.api.call("RunCommand", self._request(script, timeout), deadline=self._step_deadline())
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise self.failure("RunCommand", exc) from None

    def run(self, script, learn=False):
        """Run ``script`` on the instance; its output (text). Raises AnsibleConnectionFailure when the agent did
        not take it within connect_timeout, or gave no end of it by command_timeout plus connect_timeout, and
        CommandTimeout when the agent stopped it after command_timeout. With ``learn``, how long it took (when it
        ended well) adjusts when the next commands' results are first read.

        Reads of the result that still fail after their retries with an error retrying may fix (throttling,
        5xx, transport) do not end the wait; the deadline does."""
        timeout = max(MIN_TIMEOUT, int(self.option("command_timeout")))
        connect_timeout = max(1, int(self.option("connect_timeout")))
        request = self._request(script, timeout)
        interval = float(self.option("poll_interval"))
        samples = self.region_notes.load().get("durations") or []
        first = state.first_read(samples, interval)
        steady = max(interval, first * state.AFTER_MISS)
        started = time.monotonic()
        deadline = started + timeout + connect_timeout
        try:     # the start too is bounded by the deadline: a hanging API ends the task there, not after every retry
            invocation = {"invoke_id": self.api.call("RunCommand", request, deadline=deadline).get("InvokeId", "")}
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
                reason = self.agent_problem(deadline=deadline)
                if reason:
                    self.stop(invocation["invoke_id"], deadline)
                    raise AnsibleConnectionFailure("%s: %s did not take the command within %ds: %s" % (
                        NAME, self.instance_id, connect_timeout, reason))
            return seen["row"]

        waited = wait_for(poll, lambda row: row.get("InvocationStatus") in TERMINAL, deadline - time.monotonic(),
                          interval=steady, max_interval=max(steady, interval * 8), initial_delay=first)
        if waited.timed_out:
            self.stop(invocation["invoke_id"], deadline)
            raise AnsibleConnectionFailure("%s: the command on %s did not finish within %ds (command_timeout) plus "
                                           "%ds (connect_timeout); stopped" % (
                                               NAME, self.instance_id, timeout, connect_timeout))
        if learn and waited.value["InvocationStatus"] == "Success":   # a stopped command says nothing of the next
            samples = self.region_notes.load().get("durations") or []
            self.region_notes.update(durations=state.add_sample(samples, first, time.monotonic() - sent,
                                                                waited.polls))
        return self._finished(waited.value, waited.value["InvocationStatus"], timeout)

    def _finished(self, row, status, timeout):
        output = decode_output(row.get("Output"))
        if status == "Success":
            return output
        code = row.get("ErrorCode") or ""
        if status == "Timeout" or code == "ExecutionTimeout":
            raise CommandTimeout("%s: the command on %s outlived command_timeout (%ds) and was stopped" % (
                NAME, self.instance_id, timeout))
        raise AnsibleConnectionFailure("%s: the command on %s ended %s%s%s" % (
            NAME, self.instance_id, status, " (%s)" % code if code else "",
            ": %s" % row.get("ErrorInfo") if row.get("ErrorInfo") else ""))

    def agent_problem(self, transient_ok=False, deadline=None):
        """Why the agent cannot take commands now, or "" when it is online. With ``transient_ok``, a read that still
        fails after its retries with an error retrying may fix is a reason, not an error. The reads end by
        ``deadline`` (connect_timeout from now when None)."""
        api = Bounded(self.api, self._step_deadline() if deadline is None else deadline)
        try:
            view = read_instances(api, self.region, [self.instance_id])[self.instance_id]
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if transient_ok and ErrorInfo(exc).retryable:
                return describe(exc)[0]
            raise self.failure("DescribeCloudAssistantStatus", exc) from None
        return "" if view["ready"] else view["reason"]

    def wait_for_agent(self):
        """After a reset (a reboot): wait, connect_timeout at most, until the instance runs and its agent is online
        (DescribeInstances and DescribeCloudAssistantStatus), so that no command waits in the agent's queue across
        the reboot. AnsibleConnectionFailure with the reason when it is not back by then."""
        limit = max(1, int(self.option("connect_timeout")))
        interval = max(1.0, float(self.option("poll_interval")))
        deadline = time.monotonic() + limit
        waited = wait_for(lambda: self.agent_problem(transient_ok=True, deadline=deadline), lambda reason: not reason,
                          limit, interval=interval, max_interval=interval * 5)
        if waited.timed_out:
            raise AnsibleConnectionFailure("%s: %s is not back within %ds (connect_timeout): %s" % (
                NAME, self.instance_id, limit, waited.value))

    def _step_deadline(self):
        """The deadline of one call that no wait bounds (a start nobody waits for, a part of an upload, a read of
        why an upload failed): connect_timeout from now, so a hanging API ends it there, not after every retry."""
        return time.monotonic() + max(1, int(self.option("connect_timeout")))

    def stop(self, invoke_id, deadline):
        """StopInvocation, best effort, given up a short grace after ``deadline`` (the wait's, which has passed or
        will not be waited for): a hanging API must not hold the error that made us stop."""
        try:
            self.api.call("StopInvocation", {"InvokeId": invoke_id, "InstanceId": [self.instance_id]},
                          deadline=report_deadline(deadline))
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

    def upload(self, data, target, digest, what, base64_text=False):
        """Upload ``data`` in parts, at once, and return the deferred step (what, snippet, recover) that joins them
        on the instance, checks them against ``digest`` and puts them at ``target`` (``_ca_transport.join_step``).

        Parts go by SendFile (24 KB each, one call, nothing to read) when it may be used, else by commands (12 KB
        each, a command and its reads). ``base64_text``: ``data`` is Base64 text (module code), sent as the bytes
        it encodes, or their gzip, when smaller than the gzip of the text (``_ca_transport.packed_forms``).
        SendFile answers before the file is written, so the step waits for its parts (up to connect_timeout);
        when they never arrive, ``recover`` finds out why, notes it, and uploads them again by commands."""
        name = uuid.uuid4().hex
        where = self._send_file_target()
        sent = self._send_parts(data, name, base64_text, *where) if where else None
        if sent is None:
            return what, self._command_parts(data, name, target, digest, base64_text), None
        wait = max(1, int(self.option("connect_timeout")))
        snippet = transport.join_step(name, sent["count"], digest, target, sent=sent["kind"],
                                      packed_digest=sent["digest"], wait=wait)

        def recover(_message):
            self._send_file_failed(sent["invoke_ids"])
            return self._command_parts(data, uuid.uuid4().hex, target, digest, base64_text)

        return what, snippet, recover

    def _command_parts(self, data, name, target, digest, base64_text=False):
        scripts, kind = transport.command_parts(data, self.option("cache_dir"), name, base64_text)
        self._parallel(lambda s: transport.parse_simple(self.run(s), "ECSOPS-PART"), scripts)
        return transport.join_step(name, len(scripts), digest, target, kind=kind)

    # --- SendFile ----------------------------------------------------------------------------------------
    def _send_file_target(self):
        """(directory, owner) where SendFile puts parts (the cache, owned by the run-as user), or None when SendFile
        is off, refused in this run, or the instance's home is not known yet."""
        if not self.option("send_file") or self.region_notes.load().get("send_file_denied"):
            return None
        notes = self.notes.load()
        env = notes.get("env") or {}
        if notes.get("send_file_failed") or not str(env.get("home", "")).startswith("/") or not env.get("user"):
            return None
        return env["home"].rstrip("/") + "/" + self.option("cache_dir").strip("/"), env["user"]

    def _send_parts(self, data, name, base64_text, directory, owner):
        """{count, digest (SHA-256 of the parts), kind (how they decode), invoke_ids} of ``data`` sent by SendFile,
        or None when SendFile was refused (noted for the run; the caller uploads by commands)."""
        parts, packed, kind = transport.send_parts(data, name, base64_text)
        timeout = max(MIN_TIMEOUT, int(self.option("connect_timeout")))

        def send(part):
            file_name, chunk = part
            return self.api.call("SendFile", {
                "InstanceId": [self.instance_id], "Name": file_name, "TargetDir": directory,
                "Content": base64.b64encode(chunk).decode("ascii"), "ContentType": "Base64", "FileMode": "0600",
                "FileOwner": owner, "Overwrite": True, "Timeout": timeout, "ClientToken": uuid.uuid4().hex,
            }, deadline=self._step_deadline()).get("InvokeId", "")

        outcomes = run_bounded(send, parts, workers=int(self.option("transfer_workers")))
        refused = next((o.error for o in outcomes if not o.ok), None)
        if refused is None:
            return {"count": len(parts), "digest": packed, "kind": kind, "invoke_ids": [o.value for o in outcomes]}
        info = ErrorInfo(refused)
        if info.permission_denied:
            if not self.region_notes.load().get("send_file_denied"):
                display.warning("%s: SendFile is not allowed in %s (%s): uploads go by commands, which costs more "
                                "calls; grant ecs:SendFile, or set ansible_cloud_assistant_send_file=false" % (
                                    NAME, self.region, info.code))
            self.region_notes.update(send_file_denied=info.code)
        else:
            display.warning("%s: SendFile to %s failed (%s): uploads to it go by commands in this run" % (
                NAME, self.instance_id, describe(refused)[0]))
            self.notes.update(send_file_failed=info.code or "error")
        return None

    def _send_file_failed(self, invoke_ids):
        """Parts sent by SendFile never arrived: read why (DescribeSendFileResults), warn and note it for the run."""
        reason = "they did not arrive within connect_timeout"
        try:
            found = self.api.call("DescribeSendFileResults", {"InvokeId": invoke_ids[0], "InstanceId": self.instance_id},
                                  deadline=self._step_deadline())
            rows = ((found.get("Invocations") or {}).get("Invocation") or [{}])[0]
            item = ((rows.get("InvokeInstances") or {}).get("InvokeInstance") or [{}])[0]
            if item.get("ErrorCode") or item.get("InvocationStatus"):
                reason = "%s %s" % (item.get("InvocationStatus", ""), item.get("ErrorCode", ""))
        except Exception:  # pylint: disable=broad-exception-caught
            pass    # the reason is only for the warning; the upload goes on by commands either way
        display.warning("%s: files sent to %s by SendFile did not arrive (%s): uploads to it go by commands in this "
                        "run" % (NAME, self.instance_id, reason.strip()))
        self.notes.update(send_file_failed=reason.strip())
