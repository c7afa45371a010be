#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_cloud_assistant_command
short_description: Run a script on ECS instances through Cloud Assistant and return each instance's result
version_added: 0.1.0
description:
  - Runs a shell, PowerShell or batch script on any number of ECS instances through the Cloud Assistant
    agent (no SSH, no open ports), waits for it, and returns each instance's status, exit code and output.
  - The script is either inline (O(command)) or an existing command, private or public (O(command_id) or
    O(command_name)).
  - Before anything runs, every instance is checked (also in check mode). Instances that do not exist, are not
    running, or whose agent is not installed or offline are reported per instance and either fail the task
    before anything runs or are skipped (O(unreachable)); they never make the task hang.
  - The command type follows each instance's OS unless O(type) is given; a type that does not fit an
    instance's OS is an error before anything runs.
  - Instances are batched by region and type, at most 100 per RunCommand or InvokeCommand call, so the task
    returns one invocation per batch (RV(invoke_ids)).
  - Commands are not idempotent. Each run of the task starts a new invocation and reports C(changed=true)
    when a command ran. Give O(client_token) to make a retried task (same token, same request) return the
    invocation of the first attempt instead of starting a second one.
  - With O(state=absent) the module stops the invocation O(invoke_id) (for example a periodic one).
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details: Reads the instances and the command, then reports which instances would run what, with no mutating call.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(present) runs the command.
      - V(absent) stops the invocation O(invoke_id) (StopInvocation); nothing happens if it already ended.
    type: str
    choices: [present, absent]
    default: present
  instance_ids:
    description:
      - The instances to run the command on, any number. Duplicates are dropped with a warning.
      - A list of instance ids (in O(region)), a list of C({instance_id, region}) items, or a dict mapping a
        region to a list of instance ids.
      - Exactly one of O(instance_ids) and O(instance_tags) is required with O(state=present).
    type: raw
  instance_tags:
    description:
      - Select the instances in O(region) that carry all of these tags. An empty value matches any value of the key.
      - The module resolves the tags to instance ids itself (DescribeInstances), so every selected instance
        is checked and the type can follow each one's OS, and more than 100 instances can be selected.
    type: dict
  command:
    description:
      - The script to run. Any text passes through untouched (quotes, newlines, unicode, "$(...)") because it is
        sent Base64 encoded.
      - At most 24 KB (24576 bytes) after Base64 encoding, or 18 KB (18432 bytes) with O(keep_command=true); the
        values of O(parameters) and O(secret_parameters) count toward the limit (see the notes).
      - Ansible templates C({{ }}) in task arguments; write Cloud Assistant placeholders as C(!unsafe) strings
        or inside C({% raw %}) blocks.
    type: str
  command_id:
    description:
      - The id of an existing command (C(c-...)) or the name of a public command, run with InvokeCommand.
      - A name (anything not starting with C(c-)) means the latest version of that public command; a public
        command's versions each have their own id, so an id picks one version.
    type: str
  command_name:
    description:
      - The name of an existing command of the region, or of a public command (C(ACS-ECS-...)).
      - A public command runs in its latest version (DescribeCommands with C(Latest=true)).
    type: str
  type:
    description:
      - The command type of an inline O(command). If not set, C(RunShellScript) on Linux and
        C(RunPowerShellScript) on Windows instances.
      - With an existing command, the command's own type is used; if given, it must be the same.
    type: str
    choices: [RunShellScript, RunPowerShellScript, RunBatScript]
  parameters:
    description:
      - Values for the C({{name}}) placeholders of the command (EnableParameter). Setting this option, even to
        C({}), enables the placeholders, including the built-in C({{ACS::InstanceId}}) and friends.
      - Without it (and without O(secret_parameters)) the command text is sent as is, braces included.
      - Every placeholder needs a value and every value a placeholder; at most 10 values in all.
      - The values count toward the size limit of the command (see the notes).
      - B(Cloud Assistant puts each value into the script text verbatim, with no quoting and no escaping), then
        runs the script. A value holding a quote, "$(...)", a backtick, C(;), C(&) or a newline therefore changes
        the script (shell or PowerShell injection), whoever supplies it. Quote the placeholder in the script and
        keep values within what the quoting allows (see EXAMPLES). In a shell script, put it in single quotes
        (C('{{name}}')) and refuse values that contain C('), or read it from a quoted heredoc
        (C(<<'EOF') ... C(EOF)), which takes any value without a line equal to the delimiter, into a variable
        or an environment variable. In PowerShell, read it from a single-quoted here-string (C(@') ... C('@)),
        which takes any value without a line starting with C('@), or put it in single quotes and double every
        C(') of the value.
      - C({{oos-secret:NAME}}) (an OOS encryption parameter, kept with KMS) and C({{oos:NAME}}) (a plain OOS
        parameter) in O(command) are references that Cloud Assistant resolves when the script runs; they need no
        value here, but placeholders must be enabled (give O(parameters), even C({})). The resolved value is
        substituted verbatim too. Which identity reads the parameter (the caller or the instance's RAM role, which
        then need C(oos:GetSecretParameter) and C(kms:GetSecretValue)) is not confirmed by Alibaba Cloud's
        documentation; see "Where secret values are stored" in the collection's C(docs/architecture.md).
    type: dict
  secret_parameters:
    description:
      - Like O(parameters), for values that must never appear in the task result or the log; they are also
        masked in the command output.
      - They are substituted into the script verbatim, exactly like O(parameters), so quote them (see above).
      - They are sent in the RunCommand or InvokeCommand request, and Cloud Assistant keeps them with the
        invocation (its C(Parameters), which DescribeInvocations returns to anyone allowed
        C(ecs:DescribeInvocations)). A value that must not be kept there can be stored as an OOS encryption
        parameter and referenced as C({{oos-secret:NAME}}) in O(command). Then it never passes through Ansible,
        the request or the task result, unless the script prints it (the module cannot mask a value it never sees).
    type: dict
  working_dir:
    description:
      - The directory the command runs in. Default on the instance C(/root) (Linux) or the agent's directory (Windows).
    type: str
  username:
    description:
      - The user the command runs as. Default C(root) on Linux and C(System) on Windows.
    type: str
  timeout:
    description:
      - The execution timeout on the instance, in seconds, 10 (the API's minimum) to 86400; other values fail
        before any call. The process is killed at the timeout and the instance reports C(Timeout) with error
        code C(ExecutionTimeout).
      - Default 60 for an inline command, the command's own timeout for an existing one.
    type: int
  wait:
    description:
      - Wait until every instance finished (or, for a periodic or reboot-triggered invocation, is scheduled).
      - With V(false) the task returns the invocation ids at once.
    type: bool
    default: true
  wait_timeout:
    description:
      - How long to wait, in seconds. When it passes the task fails with everything known so far.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds between two looks at the invocations during the first minute of the wait; after it the interval
        grows up to six times this value (at most 60 seconds).
      - A look lists the invocations of the run (one C(DescribeInvocations) call per region and 50 invocations);
        the results with the output of an invocation are read once, when all its instances have finished.
    type: float
    default: 3
  stop_on_timeout:
    description:
      - When O(wait_timeout) passes, stop the unfinished invocations (StopInvocation) before failing.
    type: bool
    default: false
  repeat_mode:
    description:
      - V(Once) runs now. V(Period) runs on the schedule O(frequency). V(NextRebootOnly) and V(EveryReboot)
        run at the next or at every boot.
      - Default V(Period) when O(frequency) is given, else V(Once). Stop a periodic invocation with O(state=absent).
    type: str
    choices: [Once, Period, NextRebootOnly, EveryReboot]
  frequency:
    description:
      - The schedule of a V(Period) invocation. A rate such as "rate(5m)" (60 seconds to 7 days, not shorter than
        O(timeout)), a time such as "at(2026-06-06 13:15:30 Asia/Shanghai)", or a cron expression such as
        C(0 */20 * * * ?).
    type: str
  invoke_id:
    description:
      - The invocation to stop with O(state=absent).
    type: str
  keep_command:
    description:
      - Keep the command an inline O(command) creates (it is deleted after the run by default).
      - A kept command may be at most 18 KB after Base64 encoding, parameter values included, instead of 24 KB.
    type: bool
    default: false
  termination_mode:
    description:
      - What a stop or timeout ends, the C(Process) or the whole C(ProcessTree).
    type: str
    choices: [Process, ProcessTree]
  launcher:
    description:
      - A launcher for the script, for example "python3 -u {{ACS::ScriptFileName|Ext(".py")}}".
    type: str
  container_id:
    description:
      - Run the command in this container on the instance.
    type: str
  container_name:
    description:
      - Run the command in the container with this name on the instance.
    type: str
  tags:
    description:
      - Tags for the command and the invocations (at most 20, or 19 with O(client_token)). Keys starting with
        C(ecs-ops-) are reserved for the collection.
      - When there is room (fewer than 20 tags with the one O(client_token) adds), every invocation also carries the
        tag C(ecs-ops-run), one value per run of the task, by which the wait lists the invocations of the run.
        Without it (20 tags given) the wait reads the results of every unfinished invocation each round, which
        costs more calls on large fleets.
    type: dict
  client_token:
    description:
      - A token (up to 64 printable ASCII characters) that makes the start idempotent. A retried or re-run task
        with the same token and the same request gets the invocations of the first attempt (finished or not)
        instead of new ones, and reports them in RV(invocations) with C(adopted=true).
      - Each invocation started with a token carries the tag C(ecs-ops-client-token) whose value is its
        ClientToken (a hash of the request, never a parameter value). Before starting, the module looks for an
        invocation with that tag (C(DescribeInvocations)); the ClientToken itself is the second guard.
      - Without it every run of the task starts new invocations, and only retries of one API call inside the
        task are deduplicated. Different commands on one instance are never serialised; Cloud Assistant runs
        them side by side.
    type: str
  no_log_output:
    description:
      - Do not return the output of the command (exit codes and statuses are still returned) and treat the
        command text as a secret, masked everywhere in the result and the log.
    type: bool
    default: false
  fail_on:
    description:
      - V(any) fails the task if any targeted instance did not succeed. V(none) only reports.
    type: str
    choices: [any, none]
    default: any
  unreachable:
    description:
      - What to do with instances that do not exist, are not running or have no online agent.
      - V(fail) fails the task before anything runs. V(skip) runs on the others and reports them as C(Skipped).
    type: str
    choices: [fail, skip]
    default: fail
notes:
  - The size limit of a command is 18 KB after Base64 encoding for a kept command (O(keep_command=true), and an
    existing command run by O(command_id) or O(command_name)) and 24 KB for an inline command that is not kept.
    Custom parameter values count toward it; the API does not say exactly how, so the module counts the length
    of the Base64 content plus the length of the Base64 of the values as compact UTF-8 JSON
    (C({"name":"value"})), and fails before any call when that is over the limit. An existing command is
    checked once it has been read, before anything runs.
  - The Cloud Assistant keeps at most 24 KB of output per instance; RV(instances.output_truncated) and
    RV(instances.dropped_bytes) say how much was cut.
seealso:
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_info
  - name: RunCommand API
    description: The API an inline command uses.
    link: https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand
  - name: DescribeInvocations API
    description: How the wait follows the invocations of a run (filtered by its C(ecs-ops-run) tag).
    link: https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocations
  - name: DescribeInvocationResults API
    description: Where the per-instance results and output come from.
    link: https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describeinvocationresults
"""

EXAMPLES = r"""
- name: Run a script on two instances and fail if one of them does not succeed
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids:
      - i-bp1g6zv0ce8oghu7****
      - i-bp1g6zv0ce8oghu8****
    command: |
      set -e
      df -h /
      systemctl is-active nginx
    timeout: 120
  register: check

- name: Show each instance's exit code
  ansible.builtin.debug:
    msg: "{{ check.instances | dict2items | map(attribute='value') | map(attribute='exit_code') | list }}"

- name: Instances in two regions, with parameters and a secret (placeholders are !unsafe for Ansible)
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    instance_ids:
      cn-hangzhou: [i-bp1g6zv0ce8oghu7****]
      cn-shanghai: [i-uf6f5ulbonyx3y5r****]
    command: !unsafe 'echo "deploying {{version}}"; ./deploy.sh --token "{{token}}"'
    parameters:
      version: "1.4.2"
    secret_parameters:
      token: "{{ deploy_token }}"
    working_dir: /opt/app

- name: Refuse a value that would break out of the single quotes around its placeholder
  ansible.builtin.assert:
    that: "\"'\" not in app_release"
    fail_msg: app_release must not contain a single quote

- name: Quote every placeholder (Cloud Assistant substitutes values verbatim, unquoted)
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu7****]
    command: !unsafe |
      set -eu
      release='{{release}}'
      # a secret may hold any character, quotes included: a quoted heredoc takes it as it is
      token=$(cat <<'ACS_END_OF_VALUE'
      {{token}}
      ACS_END_OF_VALUE
      )
      DEPLOY_TOKEN="$token" /opt/app/deploy.sh "$release"
    parameters:
      release: "{{ app_release }}"
    secret_parameters:
      token: "{{ deploy_token }}"

- name: The same on Windows, with a single-quoted PowerShell here-string
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu8****]
    command: !unsafe |
      $token = @'
      {{token}}
      '@
      $env:DEPLOY_TOKEN = $token
      & C:\app\deploy.ps1
    secret_parameters:
      token: "{{ deploy_token }}"

- name: Use a password kept as an OOS encryption parameter; its value never passes through Ansible
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu7****]
    parameters: {}    # references need placeholders enabled
    command: !unsafe |
      MYSQL_PWD=$(cat <<'ACS_END_OF_VALUE'
      {{oos-secret:db-admin-password}}
      ACS_END_OF_VALUE
      )
      export MYSQL_PWD
      mysql --user=admin -e 'SELECT 1' >/dev/null && echo connected

- name: Every instance tagged role=web (Linux and Windows alike), report only, skip the unreachable ones
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_tags:
      role: web
    command: hostname
    fail_on: none
    unreachable: skip
  register: web

- name: Run a public command
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu7****]
    command_name: ACS-ECS-CheckNetwork-for-linux.sh

- name: Start a periodic cleanup, without waiting for more than its first run
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu7****]
    command: find /tmp -mtime +7 -delete
    repeat_mode: Period
    frequency: rate(1h)
  register: cleanup

- name: Stop it again
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    state: absent
    invoke_id: "{{ cleanup.invoke_id }}"

- name: A retried task never starts a second invocation
  alibabacloud.ecs_ops.ecs_cloud_assistant_command:
    region: cn-hangzhou
    instance_ids: [i-bp1g6zv0ce8oghu7****]
    command: /usr/local/bin/rotate-keys
    client_token: rotate-keys-2026-06
    no_log_output: true
  register: rotate
  retries: 3
  until: rotate is not failed
"""

RETURN = r"""
changed:
  description: True when a command ran (or would run, in check mode), or an invocation was stopped.
  returned: always
  type: bool
invoke_id:
  description:
    - The invocation id when the command ran as one invocation (every instance in one batch), and with
      O(state=absent). Several batches (regions, command types, more than 100 instances) have only RV(invoke_ids).
  returned: when a command ran as one invocation, and with O(state=absent)
  type: str
  sample: t-hz0jdfwd9f****
invoke_ids:
  description: One invocation id per batch (per region and command type, at most 100 instances each).
  returned: when a command ran
  type: list
  elements: str
command_id:
  description: The command that ran, when every batch ran the same one (an existing command, or one inline command
    in one batch). Each invocation in RV(invocations) has its own.
  returned: when one command ran
  type: str
  sample: c-hz0jdfwcsr****
invocations:
  description:
    - The batches, each with C(region), C(type), C(instance_ids), and C(invoke_id) and C(command_id) once
      started. In check mode, the batches that would start.
    - C(adopted) is true for an invocation of an earlier run with the same O(client_token) and request, found
      instead of starting a new one.
    - C(run_tag) is the value of the invocation's C(ecs-ops-run) tag (empty for an invocation adopted from a run
      that did not tag its invocations, or started with 20 tags and no room for it; the wait then reads its
      results in full every round).
  returned: with O(state=present)
  type: list
  elements: dict
instances:
  description: One entry per targeted instance, keyed by instance id, in input order.
  returned: with O(state=present)
  type: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
    region:
      description: The region of the instance.
      type: str
    name:
      description: The instance name.
      type: str
    os_type:
      description: C(linux) or C(windows); empty if the instance does not exist.
      type: str
    type:
      description: The command type used (or that would be used) on this instance.
      type: str
      sample: RunShellScript
    status:
      description:
        - The Cloud Assistant status of the run (C(Pending), C(Running), C(Success), C(Failed), C(Timeout),
          C(Error), C(Aborted), C(Invalid), C(Cancelled), C(Terminated), C(Stopping), C(Scheduled)), or, for an
          instance the command did not run on, C(WouldRun) (check mode), C(Unreachable) (missing, not running, no
          online agent), C(Unsupported) (a command type its OS cannot run) or C(NotStarted) (its batch could not
          be started, or nothing was started because other instances cannot run the command;
          RV(instances.reason) says why).
      type: str
      sample: Success
    result:
      description:
        - The outcome in the collection's vocabulary, the same as the other fleet modules. C(succeeded),
          C(failed), C(cancelled) (stopped, terminated, or not started), C(pending) (not finished), C(scheduled)
          (a periodic command between runs), C(planned) (check mode), C(unreachable), C(unsupported).
      type: str
      sample: succeeded
    reason:
      description: Why the instance was unreachable, unsupported or not started; empty otherwise.
      type: str
    invoke_id:
      description: The invocation the instance belongs to.
      type: str
    exit_code:
      description: The exit code of the script, -1 when it was killed (timeout, stop); null before it finished.
      type: int
    stdout:
      description: The output (stdout and stderr), decoded as UTF-8 with invalid bytes replaced; empty with O(no_log_output).
      type: str
    stdout_lines:
      description: RV(instances.stdout) split into lines.
      type: list
      elements: str
    output_truncated:
      description: The agent kept only the first 24 KB of the output.
      type: bool
    dropped_bytes:
      description: How many bytes of output were cut.
      type: int
    error_code:
      description: The Cloud Assistant error code, for example C(ExitCodeNonzero), C(ExecutionTimeout), C(ClientNotRunning).
      type: str
    error_info:
      description: The text that goes with RV(instances.error_code).
      type: str
    start_time:
      description: When the run started (UTC).
      type: str
    finish_time:
      description: When the run finished (UTC).
      type: str
    stop_time:
      description: When the run was stopped (UTC), if it was.
      type: str
    repeats:
      description: How many times the command ran (periodic invocations run many times).
      type: int
summary:
  description: Counts of RV(instances) by RV(instances.result).
  returned: with O(state=present)
  type: dict
  sample: {total: 4, succeeded: 2, failed: 1, cancelled: 0, pending: 0, scheduled: 0, unreachable: 1, unsupported: 0,
           planned: 0}
rc:
  description:
    - 0 when no instance failed, else the exit code of the first failed instance (1 if it has none).
    - A non-zero RV(rc) does not fail the task by itself; O(fail_on) decides.
  returned: with O(state=present)
  type: int
status:
  description: With O(state=absent), the invocation status after the stop (C(Stopped), C(Stopping), or how it ended).
  returned: with O(state=absent)
  type: str
"""


import re

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import content as ca
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.commands import resolve_command
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import frequency as freq
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import invocations as inv
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import first_error, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import REGION_REQUIRED, AlicloudModule, ApiFailure
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._targets import normalise_targets
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import token_problems
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    MAX_TAGS,
    ValidationError,
    resource_tag_problems,
    tag_problems,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import utc_now

INVOKE_ID_RE = re.compile(r"^t-[a-z0-9]{4,64}$")
ACTIVE_INVOCATION = ("Pending", "Running", "Scheduled")
TOKEN_TAG_PREFIX = "ecs-ops-"


def argument_spec():
    return dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        instance_ids=dict(type="raw"),
        instance_tags=dict(type="dict"),
        command=dict(type="str"),
        command_id=dict(type="str"),
        command_name=dict(type="str"),
        type=dict(type="str", choices=list(ca.COMMAND_TYPES)),
        parameters=dict(type="dict"),
        secret_parameters=dict(type="dict", no_log=True),
        working_dir=dict(type="str"),
        username=dict(type="str"),
        timeout=dict(type="int"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=3),
        stop_on_timeout=dict(type="bool", default=False),
        repeat_mode=dict(type="str", choices=list(ca.REPEAT_MODES)),
        frequency=dict(type="str"),
        invoke_id=dict(type="str"),
        keep_command=dict(type="bool", default=False),
        termination_mode=dict(type="str", choices=["Process", "ProcessTree"]),
        launcher=dict(type="str"),
        container_id=dict(type="str"),
        container_name=dict(type="str"),
        tags=dict(type="dict"),
        client_token=dict(type="str", no_log=False),
        no_log_output=dict(type="bool", default=False),
        fail_on=dict(type="str", choices=["any", "none"], default="any"),
        unreachable=dict(type="str", choices=["fail", "skip"], default="fail"),
    )


# --- input ----------------------------------------------------------------------------------
def _check_options(params, problems):
    mode = params["repeat_mode"] or ("Period" if params["frequency"] else "Once")
    timeout = params["timeout"]
    if timeout is not None and not ca.MIN_TIMEOUT <= timeout <= ca.MAX_TIMEOUT:
        problems.append("timeout must be between %d and %d seconds, got %d" % (ca.MIN_TIMEOUT, ca.MAX_TIMEOUT, timeout))
    if params["wait_timeout"] < 1:
        problems.append("wait_timeout must be >= 1 second")
    if params["poll_interval"] <= 0:
        problems.append("poll_interval must be > 0")
    frequency = (params["frequency"] or "").strip()
    if mode == "Period" and not frequency:
        problems.append("repeat_mode=Period needs frequency")
    if frequency and mode != "Period":
        problems.append("frequency is only used with repeat_mode=Period, not %s" % mode)
    if frequency:
        problems.extend(freq.frequency_problems(frequency, timeout, utc_now().year))
    problems.extend(ca.length_problems(params))
    problems.extend(resource_tag_problems(params["tags"], max_key=64))
    reserved = sorted(k for k in (params["tags"] or {}) if str(k).startswith(TOKEN_TAG_PREFIX))
    if reserved:
        problems.append("tags: keys starting with %s are reserved for the collection: %s" % (
            TOKEN_TAG_PREFIX, ", ".join(reserved)))
    elif params["client_token"] is not None and len(params["tags"] or {}) >= MAX_TAGS:
        problems.append("tags: at most %d tags with client_token (it adds %s)" % (MAX_TAGS - 1, inv.TOKEN_TAG))
    problems.extend(token_problems(params["client_token"]))
    return mode


def _check_targets(params, region, problems):
    targets, warnings = {}, []
    if params["instance_tags"] is not None:
        problems.extend(tag_problems(params["instance_tags"]))
        if not region:
            problems.append("instance_tags selects instances in region; set region")
    elif params["instance_ids"] is not None:
        value = params["instance_ids"]
        if not region and isinstance(value, list) and any(not isinstance(i, dict) for i in value):
            problems.append("instance_ids is a list of ids, so region is required: set region, or give "
                            "{instance_id, region} items or a dict of region to ids")
        else:
            try:
                targets, warnings = normalise_targets(value, region)
            except ValidationError as exc:
                problems.extend(exc.problems)
    return targets, warnings


def validate(params, region):
    """(targets, warnings, request facts), or a ValidationError naming every input problem, before any API call."""
    problems = []
    contents = [n for n in ("command", "command_id", "command_name") if params[n] is not None]
    given_targets = [n for n in ("instance_ids", "instance_tags") if params[n] is not None]
    if params["state"] == "absent":
        if not params["invoke_id"]:
            problems.append("state=absent needs invoke_id (the invocation to stop)")
        elif not INVOKE_ID_RE.match(params["invoke_id"]):
            problems.append("invoke_id %r is not an invocation id (t-...)" % params["invoke_id"])
        if contents or given_targets:
            problems.append("state=absent stops invoke_id; %s are not used" % ", ".join(contents + given_targets))
        if not region:
            problems.append(REGION_REQUIRED)
        if problems:
            raise ValidationError(problems)
        return {}, [], {}
    if len(contents) != 1:
        problems.append("give exactly one of command, command_id and command_name%s"
                        % (" (got %s)" % ", ".join(contents) if contents else ""))
    if len(given_targets) != 1:
        problems.append("give exactly one of instance_ids and instance_tags%s"
                        % (" (got both)" if given_targets else ""))
    if params["invoke_id"] is not None:
        problems.append("invoke_id is only used with state=absent")
    values = ca.parameter_values(params, ("parameters", "secret_parameters"), problems)
    enable = params["parameters"] is not None or bool(params["secret_parameters"])
    if params["command"] is not None:
        problems.extend(ca.check_content(params["command"], enable, values, params["keep_command"]))
    else:
        problems.extend(ca.content_size_problems("", values, kept=True))
    mode = _check_options(params, problems)
    targets, warnings = _check_targets(params, region, problems)
    if problems:
        raise ValidationError(problems)
    return targets, warnings, dict(values=values, enable=enable, repeat_mode=mode)


# --- reading --------------------------------------------------------------------------------
def read_region(module, region, ids):
    params = module.params
    api = module.api("ecs", region)
    if params["instance_tags"] is not None:
        views = read_instances(api, region, tags=params["instance_tags"])
    else:
        views = read_instances(api, region, ids)
    command = None
    if params["command"] is None:
        try:
            command = resolve_command(api, params["command_id"], params["command_name"])
        except ValidationError as exc:
            command = dict(problem=str(exc))
    return views, command


def read_everything(module, targets):
    regions = list(targets) or [module.region]
    outcomes = run_bounded(lambda region: read_region(module, region, targets.get(region)), regions)
    failed = first_error(outcomes)
    if failed:
        raise failed.error
    return {o.item: o.value for o in outcomes}


# --- deciding -------------------------------------------------------------------------------
def command_problems(params, facts, region, command):
    if command is None:
        option = "command_id" if params["command_id"] else "command_name"
        return ["%s %s does not exist in %s" % (option, params[option], region)]
    if "problem" in command:
        return [command["problem"]]
    problems = []
    where = "command %s" % command["command_id"]
    if params["type"] and params["type"] != command["type"]:
        problems.append("type %s differs from the type %s of %s" % (params["type"], command["type"], where))
    if command["enable_parameter"]:
        problems.extend(ca.check_parameters(facts["values"], command["parameter_names"], where))
    elif facts["values"]:
        problems.append("%s takes no parameters" % where)
    problems.extend(ca.content_size_problems(command["content"], facts["values"], True, where))
    return problems


def decide(module, facts, regional):
    params = module.params
    views, results, problems = {}, {}, []
    plan = dict(batches=[], types={}, skipped={}, unreachable={}, mismatched={})
    for region, (region_views, command) in regional.items():
        if params["command"] is None:
            problems.extend(command_problems(params, facts, region, command))
            command_type = (command or {}).get("type") or None
        else:
            command_type = None
        part = inv.plan_invocations(region_views, params["type"], command_type, params["unreachable"])
        for batch in part["batches"]:
            batch["command_id"] = (command or {}).get("command_id", "")
        plan["batches"].extend(part["batches"])
        for key in ("types", "skipped", "unreachable", "mismatched"):
            plan[key].update(part[key])
        views.update(region_views)
    if params["instance_tags"] is not None and not views:
        problems.append("no instance in %s has the tags %s" % (module.region, params["instance_tags"]))
    for instance_id, view in views.items():
        cmd_type = plan["types"].get(instance_id)
        if instance_id in plan["mismatched"]:
            results[instance_id] = inv.base_view(view, cmd_type, "Unsupported", plan["mismatched"][instance_id])
        elif instance_id in plan["unreachable"]:
            results[instance_id] = inv.base_view(view, cmd_type, "Unreachable", plan["unreachable"][instance_id])
        elif instance_id in plan["skipped"]:
            results[instance_id] = inv.base_view(view, cmd_type, "Unreachable", plan["skipped"][instance_id])
        else:
            results[instance_id] = inv.base_view(view, cmd_type, "WouldRun")
    return plan, results, problems


def _listing(items, limit=10):
    items = list(items)
    return "; ".join(items[:limit]) + ("; ... (%d more)" % (len(items) - limit) if len(items) > limit else "")


# --- acting ---------------------------------------------------------------------------------
def base_request(params, facts):
    request = dict(
        WorkingDir=params["working_dir"], Username=params["username"], Timeout=params["timeout"],
        RepeatMode=facts["repeat_mode"], Frequency=params["frequency"], Launcher=params["launcher"],
        TerminationMode=params["termination_mode"], ContainerId=params["container_id"],
        ContainerName=params["container_name"],
        Tag=[dict(Key=k, Value=str(v)) for k, v in (params["tags"] or {}).items()] or None,
    )
    if params["command"] is not None:
        request.update(CommandContent=ca.encode_content(params["command"]), ContentEncoding="Base64",
                       Name="ansible-ecs_cloud_assistant_command", KeepCommand=params["keep_command"],
                       EnableParameter=facts["enable"], Timeout=params["timeout"] or 60)
    if facts["values"]:
        request["Parameters"] = json_param(facts["values"])
    return {k: v for k, v in request.items() if v is not None}


# --- the two states -------------------------------------------------------------------------
def report(module, results, invocations, changed, rows=None):
    hide = module.params["no_log_output"]
    if rows is not None:
        by_instance = {i: one for one in invocations if one.get("invoke_id") for i in one["instance_ids"]}
        for instance_id, one in by_instance.items():
            base = dict(results[instance_id], invoke_id=one["invoke_id"], reason="")
            results[instance_id] = inv.result_view(base, rows.get(instance_id), hide)
    summary, rc = inv.summarise(results)
    invoke_ids = [one["invoke_id"] for one in invocations if one.get("invoke_id")]
    command_ids = [one["command_id"] for one in invocations if one.get("command_id")]
    # failed is explicit: Ansible marks any result with a non-zero rc as failed, and fail_on=none must not be.
    result = dict(changed=changed, failed=False, instances=results, summary=summary, rc=rc,
                  invocations=invocations, invoke_ids=invoke_ids)
    if len(invoke_ids) == 1:
        result["invoke_id"] = invoke_ids[0]
    if len(set(command_ids)) == 1:
        result["command_id"] = command_ids[0]
    return result


def failures(results):
    bad = [r for r in results.values() if r["result"] in ("failed", "cancelled")]
    return ["%s: %s%s%s" % (r["instance_id"], r["status"],
                            ", exit code %s" % r["exit_code"] if r["exit_code"] not in (None, 0) else "",
                            ", %s" % r["error_code"] if r["error_code"] else "") for r in bad]


def run_present(module, facts, targets):
    params = module.params
    plan, results, problems = decide(module, facts, read_everything(module, targets))
    if problems:
        module.fail_validation(ValidationError(problems))
    batches = plan["batches"]
    blocking = list(plan["mismatched"].values()) + ["%s: %s" % item for item in plan["unreachable"].items()]
    if blocking:
        hint = " Set unreachable=skip to run on the others." if plan["unreachable"] else ""
        reason = "not started: %d other instance(s) cannot run the command%s" % (
            len(blocking), " and unreachable=fail" if plan["unreachable"] else "")
        for entry in results.values():
            if entry["status"] == "WouldRun":
                entry.update(status="NotStarted", reason=reason)    # result stays planned, as in the OOS modules
        module.fail_json(msg="Nothing ran: %d instance(s) cannot run the command: %s.%s"
                         % (len(blocking), _listing(blocking), hint), **report(module, results, batches, False))
    if not batches:
        module.warn("No instance can run the command; nothing ran.")
        module.exit_json(**report(module, results, batches, False))
    if module.check_mode:
        module.exit_json(**report(module, results, batches, True))

    secrets = params["secret_parameters"] or {}
    error = inv.start_invocations(lambda region: module.api("ecs", region), batches, base_request(params, facts),
                                  user_token=params["client_token"], secret_names=secrets, values=facts["values"],
                                  inline=params["command"] is not None)
    module.progress.say("started %s on %d instance(s)" % (
        ", ".join(b["invoke_id"] + (" (adopted)" if b.get("adopted") else "") for b in batches if b.get("invoke_id"))
        or "nothing", sum(len(b["instance_ids"]) for b in batches if b.get("invoke_id"))))
    if error is not None:
        started = [b for b in batches if b.get("invoke_id")]
        reason = "not started: %s" % describe(error.error)[0]
        for batch in batches:
            if not batch.get("invoke_id"):
                for instance_id in batch["instance_ids"]:
                    results[instance_id].update(status="NotStarted", result="cancelled", reason=reason)
        raise ApiFailure(error.error, **report(module, results, started, bool(started), rows={}))
    if not params["wait"]:
        module.exit_json(**report(module, results, batches, True, rows={}))

    first_run = facts["repeat_mode"] == "Period" and freq.rate_seconds(params["frequency"]) is not None
    rows, timed_out, error, passing = inv.wait_for_results(
        lambda region: module.api("ecs", region), batches, params["wait_timeout"], params["poll_interval"], first_run,
        progress=module.progress.say)
    if passing:
        module.warn("%d poll(s) failed after their retries and were tried again: %s" % (len(passing), passing[-1]))
    if error is not None:
        raise ApiFailure(error, **report(module, results, batches, True, rows))
    result = report(module, results, batches, True, rows)
    if timed_out:
        msg = "Timed out after %ds waiting for %d instance(s)" % (
            params["wait_timeout"], result["summary"]["pending"] + result["summary"]["scheduled"])
        if params["stop_on_timeout"]:
            stopped, error = inv.stop_invocations(lambda region: module.api("ecs", region), batches)
            msg += "; stopped %s" % (", ".join(stopped) or "nothing")
            if error is not None:
                msg += "; StopInvocation failed for %s" % error.item["invoke_id"]
        module.fail_json(msg=msg + ". Invocations: %s" % ", ".join(result["invoke_ids"]), **result)
    failed = failures(results)
    if failed and params["fail_on"] == "any":
        module.fail_json(msg="The command did not succeed on %d of %d instance(s): %s"
                         % (len(failed), len(results), _listing(failed)), **result)
    module.exit_json(**result)


def run_absent(module):
    """Stop the invocation ``invoke_id`` if it still runs (and with ``wait``, wait until it left Stopping)."""
    params, invoke_id = module.params, module.params["invoke_id"]
    before = inv.invocation_status(module.api("ecs"), invoke_id)
    if before is None:
        module.exit_json(changed=False, invoke_id=invoke_id, status="NotFound",
                         msg="invocation %s does not exist in %s" % (invoke_id, module.region))
    if before not in ACTIVE_INVOCATION:
        module.exit_json(changed=False, invoke_id=invoke_id, status=before)
    if module.check_mode:
        module.exit_json(changed=True, invoke_id=invoke_id, status=before)
    stopped, error = inv.stop_invocations(lambda region: module.api("ecs", region),
                                          [dict(invoke_id=invoke_id, region=module.region)],
                                          params["wait_timeout"] if params["wait"] else None, params["poll_interval"])
    if error is not None:
        raise error.error
    module.exit_json(changed=True, invoke_id=invoke_id, status=stopped[invoke_id])


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    params = module.params
    for value in (params["secret_parameters"] or {}).values():
        module.add_secret(value)
    if params["no_log_output"] and params["command"]:
        module.add_secret(params["command"])
    targets, facts = module.validated(validate, params, module.region)
    try:
        if params["state"] == "absent":
            run_absent(module)
        run_present(module, facts, targets)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)


if __name__ == "__main__":
    main()
