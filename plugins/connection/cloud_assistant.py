# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cloud_assistant
short_description: Run Ansible tasks on ECS instances through Cloud Assistant, without SSH or object storage
version_added: 0.1.0
description:
  - Runs each task on a Linux ECS instance as a Cloud Assistant shell script (C(RunCommand), then
    C(DescribeInvocationResults)), so the instance needs no open port, no SSH key and no bucket, only a running
    Cloud Assistant agent.
  - The exit code, stdout and stderr reach Ansible exactly as the task produced them, stderr apart from stdout.
    Output beyond the 24 KB the agent keeps is spooled on the instance and read back in parts, so it arrives
    whole.
  - Pipelining is supported and on by default for this connection. A module's payload (170 to 340 KB) is a small
    wrapper around the module's code, which is the same for every task and host that uses that module; the code
    is uploaded once per instance into a private cache directory and each later task sends only its wrapper, in
    one command.
  - Files move in checksummed parts of 16 KB of compressed data, several at once, in both directions.
  - Credentials, endpoints and retries resolve exactly as for the collection's modules.
  - Linux instances only for now; the instance needs C(sh), C(base64), C(gzip), C(mktemp) and C(sha256sum),
    which every supported Linux image has.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection.plugins
options:
  instance_id:
    description:
      - The ECS instance id. Without it, the host's address (C(ansible_host), or the inventory host name) when it
        is an instance id.
      - The P(alibabacloud.ecs_ops.ecs#inventory) inventory plugin sets C(ecs_instance_id) for every host.
    type: str
    vars:
      - name: ecs_instance_id
      - name: ansible_cloud_assistant_instance_id
  instance_region:
    description:
      - The region of the instance; without it, O(region).
    type: str
    vars:
      - name: ecs_region
      - name: ansible_cloud_assistant_region
  os_type:
    description:
      - The instance's OS type as the P(alibabacloud.ecs_ops.ecs#inventory) inventory plugin reads it; a Windows
        instance is refused with a clear error before any call (Windows is not supported yet).
    type: str
    vars:
      - name: ecs_os_type
  connect_timeout:
    description:
      - Seconds a command may wait for the agent to take it. When the agent has not started a command by then, the
        plugin asks C(DescribeCloudAssistantStatus) and fails with the reason (agent offline, instance not
        running), or keeps waiting while the agent is online, up to O(command_timeout).
      - While an instance reboots, this is how long each attempt of C(ansible.builtin.reboot) waits.
    type: int
    default: 60
    vars:
      - name: ansible_cloud_assistant_connect_timeout
    env:
      - name: ANSIBLE_CLOUD_ASSISTANT_CONNECT_TIMEOUT
  command_timeout:
    description:
      - Seconds one command may run on the instance (C(Timeout) of C(RunCommand), at least 10). A command that
        outlives it is stopped by the agent and the task fails with a clear error; the plugin itself gives up
        O(connect_timeout) later at the latest.
    type: int
    default: 3600
    vars:
      - name: ansible_cloud_assistant_command_timeout
    env:
      - name: ANSIBLE_CLOUD_ASSISTANT_COMMAND_TIMEOUT
  poll_interval:
    description:
      - Seconds between the first reads of a command's result; the interval grows to eight times this.
    type: float
    default: 0.3
    vars:
      - name: ansible_cloud_assistant_poll_interval
  run_as:
    description:
      - The user Cloud Assistant runs the commands as (C(Username) of C(RunCommand)); the agent's default
        (C(root)) when not set. This is Cloud Assistant's own run-as and needs no sudo; C(become) with
        C(become_method=sudo) works on top of it as over SSH (without a password prompt).
    type: str
    vars:
      - name: ansible_cloud_assistant_run_as
  cache_dir:
    description:
      - Directory under the run-as user's home where module code and transfers are kept, private to that user
        (mode 0700).
    type: str
    default: .cache/alibabacloud.ecs_ops
    vars:
      - name: ansible_cloud_assistant_cache_dir
  cache_max_age:
    description:
      - Days a cached module or an abandoned transfer is kept after its last use.
    type: int
    default: 7
    vars:
      - name: ansible_cloud_assistant_cache_max_age
  transfer_workers:
    description:
      - Parts of a file or module upload sent at once.
    type: int
    default: 8
    vars:
      - name: ansible_cloud_assistant_transfer_workers
  pipelining:
    description:
      - Send the module on stdin of its command, without a temporary file on the instance first.
    type: bool
    default: true
    vars:
      - name: ansible_pipelining
      - name: ansible_cloud_assistant_pipelining
    env:
      - name: ANSIBLE_PIPELINING
notes:
  - Each task costs one C(RunCommand) and one or more C(DescribeInvocationResults) (the first read comes after
    O(poll_interval)); the first use of a module on an instance costs about one C(RunCommand) per 16 KB of its
    compressed code more. RAM actions are C(ecs:RunCommand), C(ecs:DescribeInvocationResults),
    C(ecs:StopInvocation) and C(ecs:DescribeCloudAssistantStatus).
  - C(become) with a password is not supported (Cloud Assistant has no terminal); use O(run_as), or sudo rules
    without a password.
  - Windows instances are not supported yet.
seealso:
  - plugin: alibabacloud.ecs_ops.ecs
    plugin_type: inventory
"""

EXAMPLES = r"""
# The instances of an ecs inventory plugin file, without SSH:
#   ansible -i prod.ecs.yml ecs_agent_online -m ansible.builtin.setup \
#     -e ansible_connection=alibabacloud.ecs_ops.cloud_assistant
- name: Configure the web servers through Cloud Assistant
  hosts: role_web
  vars:
    ansible_connection: alibabacloud.ecs_ops.cloud_assistant
    ansible_cloud_assistant_command_timeout: 900
  tasks:
    - name: Nginx is installed
      ansible.builtin.package:
        name: nginx
      become: true

    - name: Its configuration is ours
      ansible.builtin.template:
        src: nginx.conf.j2
        dest: /etc/nginx/nginx.conf
        mode: "0644"
"""

import hashlib
import os
import time
import uuid

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.plugins.connection import ConnectionBase

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import Clients
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
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import (
    CredentialError,
    resolve_credential_source,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo, describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import connection_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._waiter import wait_for
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_transport as transport

INSTANCE_PREFIX = "i-"


class Connection(ConnectionBase):
    """Ansible's connection to one ECS instance through the Cloud Assistant API."""

    transport = "alibabacloud.ecs_ops.cloud_assistant"
    has_pipelining = True
    has_tty = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._api = None
        self._instance_id = None
        self._region = None

    # --- connecting --------------------------------------------------------------------------------------
    def _connect(self):
        if self._connected:
            return self
        instance_id = self.get_option("instance_id") or self._play_context.remote_addr or ""
        if not instance_id.startswith(INSTANCE_PREFIX):
            raise AnsibleConnectionFailure(
                "%s: no ECS instance id for host %s: set ecs_instance_id (the ecs inventory plugin does) or make "
                "ansible_host the instance id, got %r" % (self.transport, self._play_context.remote_addr,
                                                          instance_id))
        if (self.get_option("os_type") or "").lower() == "windows":
            raise AnsibleConnectionFailure("%s: %s is a Windows instance; this connection supports Linux instances "
                                           "only for now" % (self.transport, instance_id))
        params = {name: self.get_option(name) for name in connection_argument_spec()}
        region = self.get_option("instance_region") or params.get("region")
        if not region:
            raise AnsibleConnectionFailure("%s: no region for instance %s: set ecs_region (the ecs inventory plugin "
                                           "does), alicloud_region or ALIBABA_CLOUD_REGION_ID" % (
                                               self.transport, instance_id))
        try:
            clients = Clients(params, resolve_credential_source(params))
        except CredentialError as exc:
            raise AnsibleConnectionFailure("%s: %s" % (self.transport, exc)) from None
        self._api = clients.ecs(region)
        self._instance_id, self._region = instance_id, region
        self._connected = True
        return self

    def close(self):
        self._connected = False

    def reset(self):
        """After a reboot Ansible resets the connection: the next command waits for the agent again."""
        self.close()

    # --- one script --------------------------------------------------------------------------------------
    def _failure(self, action, exc):
        return AnsibleConnectionFailure("%s: %s on %s: %s" % (self.transport, action, self._instance_id,
                                                              describe(exc)[0]))

    def _run(self, script):
        """Run ``script`` on the instance; its output (text). Raises AnsibleConnectionFailure when the agent did
        not take it within connect_timeout, or the command did not finish within command_timeout.

        Reads of the result that still fail after their retries with an error retrying may fix (throttling,
        5xx, transport) do not end the wait; the deadline does."""
        timeout = max(MIN_TIMEOUT, int(self.get_option("command_timeout")))
        connect_timeout = max(1, int(self.get_option("connect_timeout")))
        if len(script.encode("utf-8")) > transport.SCRIPT_LIMIT:
            raise AnsibleError("%s: internal: a script of %d bytes is over the limit" % (
                self.transport, len(script)))
        request = {"Type": "RunShellScript", "CommandContent": encode_content(script), "ContentEncoding": "Base64",
                   "InstanceId": [self._instance_id], "Timeout": timeout, "ClientToken": uuid.uuid4().hex}
        if self.get_option("run_as"):
            request["Username"] = self.get_option("run_as")
        started = time.monotonic()
        deadline = started + timeout + connect_timeout
        try:
            invocation = {"invoke_id": self._api.call("RunCommand", request).get("InvokeId", "")}
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise self._failure("RunCommand", exc) from None
        seen = {"row": {}, "agent_checked": False}

        def poll():
            try:
                seen["row"] = fetch_results(self._api, invocation, deadline).get(self._instance_id, {})
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if not ErrorInfo(exc).retryable:
                    raise self._failure("DescribeInvocationResults", exc) from None
                return seen["row"]
            status = seen["row"].get("InvocationStatus") or "Pending"
            if status == "Pending" and not seen["agent_checked"] and time.monotonic() - started > connect_timeout:
                seen["agent_checked"] = True
                reason = self._agent_problem()
                if reason:
                    self._stop(invocation["invoke_id"])
                    raise AnsibleConnectionFailure("%s: %s did not take the command within %ds: %s" % (
                        self.transport, self._instance_id, connect_timeout, reason))
            return seen["row"]

        interval = float(self.get_option("poll_interval"))
        waited = wait_for(poll, lambda row: row.get("InvocationStatus") in TERMINAL, deadline - time.monotonic(),
                          interval=interval, max_interval=interval * 8, initial_delay=interval)
        if waited.timed_out:
            self._stop(invocation["invoke_id"])
            raise AnsibleConnectionFailure("%s: the command on %s did not finish within %ds (command_timeout) plus "
                                           "%ds (connect_timeout); stopped" % (
                                               self.transport, self._instance_id, timeout, connect_timeout))
        return self._finished(waited.value, waited.value["InvocationStatus"], timeout)

    def _finished(self, row, status, timeout):
        output = decode_output(row.get("Output"))
        if status == "Success":
            return output
        code = row.get("ErrorCode") or ""
        if status == "Timeout" or code == "ExecutionTimeout":
            raise AnsibleConnectionFailure("%s: the command on %s outlived command_timeout (%ds) and was stopped" % (
                self.transport, self._instance_id, timeout))
        raise AnsibleConnectionFailure("%s: the command on %s ended %s%s%s" % (
            self.transport, self._instance_id, status, " (%s)" % code if code else "",
            ": %s" % row.get("ErrorInfo") if row.get("ErrorInfo") else ""))

    def _agent_problem(self):
        """Why the agent cannot take commands now, or "" when it is online."""
        try:
            view = read_instances(self._api, self._region, [self._instance_id])[self._instance_id]
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise self._failure("DescribeCloudAssistantStatus", exc) from None
        return "" if view["ready"] else view["reason"]

    def _stop(self, invoke_id):
        try:
            self._api.call("StopInvocation", {"InvokeId": invoke_id, "InstanceId": [self._instance_id]})
        except Exception:  # pylint: disable=broad-exception-caught
            pass   # the error that made us stop is the one to report

    # --- Ansible's interface -----------------------------------------------------------------------------
    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        blob, blob_hash, script = self._plan(cmd, in_data)
        answer = transport.parse_task_answer(self._run(script))
        if answer[0] == "miss":
            self._upload_blob(blob, blob_hash)
            answer = transport.parse_task_answer(self._run(script))
            if answer[0] == "miss":
                raise AnsibleConnectionFailure("%s: the module code uploaded to %s is gone again" % (
                    self.transport, self._instance_id))
        if answer[0] == "spool":
            _kind, rc, directory, out_size, err_size = answer
            out_path, err_path = transport.spooled_files(directory)
            try:
                stdout = transport.unpack(self._read_remote(out_path, out_size))
                stderr = transport.unpack(self._read_remote(err_path, err_size))
            finally:
                self._run(transport.cleanup_script(directory))
            return rc, stdout, stderr
        _kind, rc, stdout, stderr = answer
        return rc, stdout, stderr

    def _plan(self, cmd, in_data):
        """(blob, its hash, the task's script): the first of stdin inline, stdin around its module code kept in
        the instance's cache, or the whole stdin kept there, whose script fits RunCommand."""
        cache, age = self.get_option("cache_dir"), self.get_option("cache_max_age")
        if in_data is None:
            plans = [(None, None)]
        else:
            in_data = in_data.encode("utf-8") if isinstance(in_data, str) else in_data
            prefix, blob, suffix = transport.split_stdin(in_data)
            plans = [((in_data, b""), None)] if blob is None else [((prefix, suffix), transport.stable_blob(blob))]
            plans.append(((b"", b""), in_data))
        for stdin, blob in plans:
            blob_hash = transport.sha256(blob) if blob is not None else None
            script = transport.task_script(cmd, cache, stdin, blob_hash, age)
            if len(script.encode("utf-8")) <= transport.SCRIPT_LIMIT:
                return blob, blob_hash, script
        raise AnsibleError("%s: the command alone is over Cloud Assistant's limit (%d bytes)" % (
            self.transport, len(cmd)))

    def _read_remote(self, path, size):
        """``size`` characters of ``path`` on the instance, read in parts at once."""
        offsets = list(range(0, size, transport.READ_CHUNK))
        outcomes = run_bounded(lambda o: self._run(transport.read_script(path, o, transport.READ_CHUNK)).strip(),
                               offsets, workers=int(self.get_option("transfer_workers")))
        for outcome in outcomes:
            if not outcome.ok:
                raise outcome.error
        text = "".join(o.value for o in outcomes)
        if len(text) != size:
            raise AnsibleConnectionFailure("%s: read %d of %d characters of %s on %s" % (
                self.transport, len(text), size, path, self._instance_id))
        return text

    def _upload(self, data, finish):
        name = uuid.uuid4().hex
        _up, scripts, parts = transport.upload_plan(data, self.get_option("cache_dir"), name)
        outcomes = run_bounded(lambda s: transport.parse_simple(self._run(s), "ECSOPS-PART"), scripts,
                               workers=int(self.get_option("transfer_workers")))
        for outcome in outcomes:
            if not outcome.ok:
                raise outcome.error
        try:
            transport.parse_simple(self._run(finish(name, parts)), "ECSOPS-OK")
        except transport.ProtocolError as exc:
            raise AnsibleConnectionFailure("%s: the upload to %s failed its check: %s" % (
                self.transport, self._instance_id, exc)) from None

    def _upload_blob(self, blob, blob_hash):
        cache = self.get_option("cache_dir")
        self._upload(blob, lambda name, parts: transport.finish_blob_script(cache, name, blob_hash, parts))

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        if not os.path.isfile(in_path):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        with open(in_path, "rb") as handle:
            data = handle.read()
        digest = hashlib.sha256(data).hexdigest()
        cache = self.get_option("cache_dir")
        self._upload(data, lambda name, parts: transport.finish_file_script(cache, name, digest, parts, out_path))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        cache = self.get_option("cache_dir")
        try:
            directory, size, digest = transport.parse_simple(
                self._run(transport.fetch_prepare_script(cache, in_path)), "ECSOPS-FILE")
        except transport.ProtocolError as exc:
            raise AnsibleFileNotFound("%s: cannot read %s on %s: %s" % (
                self.transport, in_path, self._instance_id, exc)) from None
        try:
            data = transport.unpack(self._read_remote(directory + "/file.b64", int(size)))
        finally:
            self._run(transport.cleanup_script(directory))
        if hashlib.sha256(data).hexdigest() != digest:
            raise AnsibleConnectionFailure("%s: %s from %s failed its checksum" % (
                self.transport, in_path, self._instance_id))
        with open(out_path, "wb") as handle:
            handle.write(data)
