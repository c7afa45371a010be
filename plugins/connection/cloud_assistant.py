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
  - The small commands an action runs around its module (where is home, create and remove a temporary directory,
    C(chmod) and files in it) cost no round trip of their own; the plugin answers them and runs them at the start
    of the next command. A step that fails there fails that command, naming the step.
  - Files and module code move checksummed, compressed, in parts sent at once, by C(SendFile) (24 KB a call, see
    O(send_file)), or by commands (12 KB each) where C(SendFile) is not allowed; a small file travels with the next
    command. Files come back in parts of 22 KB (Base64 of their gzip).
  - Results are first read when most of the run's recent commands in the region had ended, the next after 40% of
    that (at least O(poll_interval)), growing.
  - C(ansible.builtin.reboot) works. After a reset (between its attempts, and before every attempt when the
    module's C(connect_timeout) is set, which becomes this plugin's O(connect_timeout)) the plugin waits for the
    instance and its agent to be back (C(DescribeCloudAssistantStatus)) before it sends a command.
  - Credentials, endpoints and retries resolve exactly as for the collection's modules, and each can also be set
    per host or group with a variable C(alicloud_<option>) (for example C(alicloud_assume_role_arn),
    C(alicloud_ecs_endpoint)), which comes before the environment variables. O(oos_endpoint) has none and no
    effect, as the plugin calls only ECS APIs.
  - Linux instances only for now; the instance needs C(sh), C(base64), C(gzip), C(mktemp) and C(sha256sum),
    which every supported Linux image has.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection.plugins
options:
  region:
    vars:
      - name: alicloud_region
  access_key:
    vars:
      - name: alicloud_access_key
  secret_key:
    vars:
      - name: alicloud_secret_key
  security_token:
    vars:
      - name: alicloud_security_token
  profile:
    vars:
      - name: alicloud_profile
  assume_role_arn:
    vars:
      - name: alicloud_assume_role_arn
  assume_role_session_name:
    vars:
      - name: alicloud_assume_role_session_name
  assume_role_duration:
    vars:
      - name: alicloud_assume_role_duration
  ecs_ram_role:
    vars:
      - name: alicloud_ecs_ram_role
  ecs_endpoint:
    vars:
      - name: alicloud_ecs_endpoint
  api_retries:
    vars:
      - name: alicloud_api_retries
  api_timeout:
    vars:
      - name: alicloud_api_timeout
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
      - While an instance reboots, this is how long each attempt of C(ansible.builtin.reboot) waits for the agent
        to be back (the module's own C(connect_timeout) sets it).
      - Also how long a command waits for the parts of an upload that C(SendFile) delivers.
    type: int
    default: 60
    vars:
      - name: ansible_cloud_assistant_connect_timeout
    env:
      - name: ANSIBLE_CLOUD_ASSISTANT_CONNECT_TIMEOUT
  command_timeout:
    description:
      - Seconds one command may run on the instance (C(Timeout) of C(RunCommand), at least 10). A command that
        outlives it is stopped by the agent and the task fails with "outlived command_timeout" (a task failure, so
        C(ignore_errors) and C(rescue) apply, and the host stays in the play); the plugin itself gives up
        O(connect_timeout) later at the latest (then the host is unreachable).
    type: int
    default: 3600
    vars:
      - name: ansible_cloud_assistant_command_timeout
    env:
      - name: ANSIBLE_CLOUD_ASSISTANT_COMMAND_TIMEOUT
  poll_interval:
    description:
      - The shortest time between two reads of a command's result. The first read comes when 80% of the run's
        recent commands had ended (1.5 seconds before any has, 8 at most), the next after 40% of that, and each
        later one half as long again as the one before, up to eight times this interval.
    type: float
    default: 0.3
    vars:
      - name: ansible_cloud_assistant_poll_interval
  run_as:
    description:
      - The user Cloud Assistant runs the commands as (C(Username) of C(RunCommand)); the agent's default
        (C(root)) when not set. This is Cloud Assistant's own run-as and needs no sudo or password; C(become) with
        C(become_method=sudo) works on top of it for sudo rules without a password (see the notes).
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
  send_file:
    description:
      - Upload module code and files with C(SendFile) (24 KB a call, nothing to read back) rather than with commands
        (12 KB a command, and its result reads).
      - When C(SendFile) is refused for lack of permission (C(ecs:SendFile)), or the files it sends to an instance
        never arrive (an agent older than 1.0.2.569), the plugin warns once and uploads by commands for the rest of
        the run.
    type: bool
    default: true
    vars:
      - name: ansible_cloud_assistant_send_file
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
  - A task whose module is cached costs one C(RunCommand) and usually one C(DescribeInvocationResults); an action
    that copies a file (C(copy), C(template)) costs three commands (its C(stat), its module, and the removal of
    its temporary directory, which is not waited for). The first use of a module on an instance costs one
    C(SendFile) per 24 KB of its compressed code more (the module and its module_utils compressed as a whole; one
    more command and read for the first module of a run on an instance, which finds out what the instance has
    cached). For Ansible's own modules, whose code compresses as a whole by 17-30%, that is at most
    ceil(payload / 32 KB) + 3 calls in all.
  - RAM actions are C(ecs:RunCommand), C(ecs:DescribeInvocationResults), C(ecs:StopInvocation),
    C(ecs:DescribeCloudAssistantStatus) and C(ecs:DescribeInstances), plus C(ecs:SendFile) and
    C(ecs:DescribeSendFileResults) for uploads by C(SendFile) (without them uploads go by commands).
  - The plugin keeps notes on each instance for the run (home directory, cached modules, command durations) in
    Ansible's local temporary directory of the run; they hold no secret and go when the run ends.
  - C(become) never gets a password. Cloud Assistant gives commands no terminal, and a password sent with a
    command would stay in Cloud Assistant's invocation history. C(sudo) always runs non-interactive (C(-n), also
    when a become password is set), so it never reads a password from stdin (with pipelining, the module's code).
    Sudo rules without a password work; sudo that wants one fails the task at once, naming the alternatives
    (such sudo rules, or O(run_as)). C(su) works when the commands run as root (O(run_as) unset), where it asks
    for no password, and is refused before any call otherwise. Other become methods are refused when a become
    password is set.
  - Task arguments travel in the command (or, when large, in C(SendFile) parts), and Cloud Assistant keeps both
    in its history, C(no_log) or not. On the instance, only module code is cached; a task's input is removed by
    the command that reads it.
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
import uuid

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import Clients
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import (
    CredentialError,
    resolve_credential_source,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import connection_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_become as become
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_shortcuts as shortcuts
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_transport as transport
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils._ca_session import CommandTimeout, Session
from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils._ca_state import HostState

display = Display()

INSTANCE_PREFIX = "i-"
INLINE_MAX = 8 * 1024      # Base64 characters of a file small enough to travel with the next command
STATE_DIR = "alibabacloud.ecs_ops-cloud_assistant"


class Connection(ConnectionBase):
    """Ansible's connection to one ECS instance through the Cloud Assistant API."""

    transport = "alibabacloud.ecs_ops.cloud_assistant"
    has_pipelining = True
    has_tty = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._session = None
        self._notes = None
        self._deferred = shortcuts.Deferred()
        self._after_reset = False

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
        notes = os.path.join(C.DEFAULT_LOCAL_TMP, STATE_DIR) if C.DEFAULT_LOCAL_TMP else None
        self._notes = HostState(notes, instance_id, self.get_option("run_as"))
        self._session = Session(clients.ecs(region), region, instance_id, self.get_option, self._notes,
                                HostState(notes, "region-" + region, None))
        if self._after_reset:
            self._session.wait_for_agent()
            self._after_reset = False
        self._connected = True
        return self

    def close(self):
        """The end of a task: what is still deferred (a temporary directory kept after the task) runs now."""
        if self._connected and self._deferred:
            try:
                self._flush()
            except AnsibleError as exc:
                display.warning(str(exc))
        self._connected = False

    def set_option(self, option, value):
        """``ansible.builtin.reboot`` sets its ``connect_timeout`` as ``connection_timeout`` (or ``timeout``): here it
        is ``connect_timeout``, how long each attempt waits for the agent."""
        super().set_option("connect_timeout" if option in ("connection_timeout", "timeout") else option, value)

    def reset(self):
        """Ansible resets the connection after a reboot (and between the attempts of ``ansible.builtin.reboot``): the
        next command first waits, connect_timeout at most, until the instance runs and its agent is online."""
        self.close()
        self._after_reset = True

    # --- deferred steps ----------------------------------------------------------------------------------
    def _carrying(self, steps, send):
        """``send(snippets)``: run a script that starts with the ``steps``' snippets and return its parsed answer.
        A step that fails and can recover (parts sent by SendFile that never arrived: uploaded again by commands)
        is replaced, and the script is sent again with it and the steps that had not run."""
        while True:
            try:
                return send([step[1] for step in steps])
            except transport.StepFailed as exc:
                failed = steps[exc.index] if 0 <= exc.index < len(steps) else None
                if failed is None or failed[2] is None:
                    raise AnsibleError("%s: %s on %s failed: %s" % (
                        self.transport, failed[0] if failed else "a deferred step", self._session.instance_id,
                        exc.message or "no message")) from None
                steps = [(failed[0], failed[2](exc.message), None)] + steps[exc.index + 1:]
            except transport.ProtocolError as exc:
                raise AnsibleConnectionFailure("%s: %s" % (self.transport, exc)) from None

    def _flush(self, extra=()):
        """Run what is deferred (and the ``extra`` steps) now, in one command."""
        steps = self._deferred.take() + list(extra)
        if steps:
            cache = self.get_option("cache_dir")
            self._carrying(steps, lambda snippets: transport.parse_simple(
                self._session.run(transport.steps_script(cache, snippets)), "ECSOPS-OK"))

    def _shortcut(self, cmd):
        """(rc, stdout, stderr) for a housekeeping command answered without a round trip of its own, else None."""
        found = shortcuts.classify(cmd)
        kind = found[0] if found else None
        if kind == "home":
            env = self._notes.load().get("env") or {}
            home = env.get("home") if not found[1] else env.get("user_home") if found[1] == env.get("user") else None
            return (0, (home + "\n").encode("utf-8"), b"") if home else None
        if kind == "mkdtemp":
            self._deferred.create(found[1], transport.ansible_step(cmd))
            return 0, found[2].encode("utf-8"), b""
        if kind == "chmod" and self._deferred.holds(found[1]):
            self._deferred.add(found[1][0], ("chmod of %s" % " ".join(found[1]), transport.ansible_step(cmd), None))
            return 0, b"", b""
        if kind == "rm" and found[1] in self._deferred.directories:
            if not self._deferred.remove(found[1]):
                self._session.send(cmd + "\n")    # its result would only ever be a warning: not waited for
            return 0, b"", b""
        return None

    # --- Ansible's interface -----------------------------------------------------------------------------
    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        try:
            cmd = become.non_interactive(cmd, self.become, self.get_option("run_as"))
        except become.Refused as exc:
            raise AnsibleError("%s: %s" % (self.transport, exc)) from None
        answer = None if in_data is not None else self._shortcut(cmd)
        display.vvv("EXEC %s%s" % (cmd, " (answered without a command of its own)" if answer else ""),
                    host=self._session.instance_id)
        if answer is not None:
            return answer
        rc, stdout, stderr = self._run_task(cmd, in_data)
        wanted = become.password_wanted(cmd, self.become, rc, stdout, stderr)
        if wanted:
            raise AnsibleError("%s: %s" % (self.transport, wanted))
        return rc, stdout, stderr

    def _run_task(self, cmd, in_data):
        """(rc, stdout, stderr) of ``cmd`` with ``in_data`` on its stdin."""
        plan = transport.plan_stdin(cmd, self.get_option("cache_dir"), in_data, self.get_option("cache_max_age"))
        if plan is None:
            raise AnsibleError("%s: the command alone is over Cloud Assistant's limit (%d bytes)" % (
                self.transport, len(cmd)))
        known = self._notes.load().get("blobs")
        if plan.blob_hash and known is not None and plan.blob_hash not in known:
            self._deferred.add(None, self._upload_blob(plan))
        answer = self._task(cmd, plan, report_blobs=known is None)
        if answer[0] == "miss":
            self._deferred.add(None, self._upload_blob(plan))
            answer = self._task(cmd, plan)
            if answer[0] == "miss":
                raise AnsibleConnectionFailure("%s: the module code uploaded to %s is gone again" % (
                    self.transport, self._session.instance_id))
        if answer[0] == "spool":
            _kind, rc, directory, out_size, err_size = answer
            out_path, err_path = transport.spooled_files(directory)
            try:
                stdout = transport.unpack(self._session.read_remote(out_path, out_size))
                stderr = transport.unpack(self._session.read_remote(err_path, err_size))
            finally:
                self._session.send(transport.cleanup_script(directory))
            return rc, stdout, stderr
        _kind, rc, stdout, stderr = answer
        return rc, stdout, stderr

    def _task(self, cmd, plan, report_blobs=False):
        """Run one task's script, with what is deferred when it fits; its parsed answer. A task's part of stdin
        too big to travel inline is uploaded for this command (``plan.upload``), which removes it; the command's
        directory is removed when the agent stopped the command (command_timeout), and the task fails."""
        cache, age = self.get_option("cache_dir"), self.get_option("cache_max_age")
        steps, stdin, run = self._deferred.take(), plan.stdin, uuid.uuid4().hex
        if plan.upload is not None:
            stdin = transport.Uploaded(uuid.uuid4().hex, plan.split)
            steps.append(self._session.upload(plan.upload, ("stdin", stdin.name), transport.sha256(plan.upload),
                                              "sending the task's input"))

        def script(snippets):
            return transport.task_script(cmd, cache, stdin, plan.blob_hash, age, snippets, report_blobs, run)

        if len(script([s[1] for s in steps]).encode("utf-8")) > transport.SCRIPT_LIMIT:
            self._flush(steps)
            steps = []

        def send(snippets):
            # a command that waits for uploaded parts says nothing about how long the next ones take
            try:
                output = self._session.run(script(snippets), learn=not snippets)
            except CommandTimeout:
                try:
                    self._session.send(transport.run_cleanup_script(cache, run))
                except AnsibleError as exc:
                    display.warning("%s: the stopped command's files stay in the cache: %s" % (self.transport, exc))
                raise
            self._learn(output, plan.blob_hash)
            return transport.parse_task_answer(output)

        return self._carrying(steps, send)

    def _learn(self, output, blob_hash):
        """Keep what the answer says about the instance for the run's next tasks."""
        env = transport.parse_environment(output)
        notes = self._notes.load()
        changes = {}
        if env:
            changes["env"] = {k: env[k] for k in ("user", "home", "user_home")}
            if env["blobs"] is not None:
                changes["blobs"] = env["blobs"]
        blobs = changes.get("blobs", notes.get("blobs"))
        if blob_hash and blobs is not None:
            missing = "ECSOPS-MISS %s" % blob_hash in output
            blobs = sorted(set(blobs) - {blob_hash}) if missing else sorted(set(blobs) | {blob_hash})
            changes["blobs"] = blobs
        if changes:
            self._notes.update(**changes)

    def _upload_blob(self, plan):
        return self._session.upload(plan.blob, ("blob", plan.blob_hash), plan.blob_hash, "caching the module code",
                                    base64_text=transport.is_base64(plan.blob))

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        self._connect()
        if not os.path.isfile(in_path):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        with open(in_path, "rb") as handle:
            data = handle.read()
        what = "putting %s" % out_path
        if len(data) <= 4 * INLINE_MAX and len(transport.pack(data)) <= INLINE_MAX:
            step = (what, transport.inline_file_step(data, out_path), None)
        else:
            step = self._session.upload(data, ("file", out_path), hashlib.sha256(data).hexdigest(), what)
        if self._deferred.holds([out_path]):
            self._deferred.add(out_path, step)    # Ansible's temporary directory: used by a later command
        else:
            self._flush([step])

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        self._connect()
        self._flush()
        try:
            directory, size, digest = transport.parse_simple(self._session.run(transport.fetch_prepare_script(
                self.get_option("cache_dir"), in_path)), "ECSOPS-FILE")
        except transport.ProtocolError as exc:
            raise AnsibleFileNotFound("%s: cannot read %s on %s: %s" % (
                self.transport, in_path, self._session.instance_id, exc)) from None
        try:
            data = transport.unpack(self._session.read_remote(directory + "/file.b64", int(size)))
        finally:
            self._session.send(transport.cleanup_script(directory))
        if hashlib.sha256(data).hexdigest() != digest:
            raise AnsibleConnectionFailure("%s: %s from %s failed its checksum" % (
                self.transport, in_path, self._session.instance_id))
        with open(out_path, "wb") as handle:
            handle.write(data)
