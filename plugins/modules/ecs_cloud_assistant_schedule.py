#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_cloud_assistant_schedule
short_description: Manage a periodic Cloud Assistant task by name
version_added: 0.1.0
description:
  - Keeps exactly one periodic Cloud Assistant invocation (C(RepeatMode=Period)) running under a name, that is a
    command (inline or saved) on some instances, at a frequency (C(rate), C(at) or cron, with a time zone).
  - O(state=present) starts it once. Run again with the same options, the task changes nothing and makes no
    mutating call. When anything that defines it differs (command, type, targets, frequency, time zone,
    parameters, user, timeout, working directory), the running invocation is stopped and a new one started
    (Cloud Assistant cannot retarget a running invocation), and the task reports both in RV(diff).
  - O(state=absent) stops every invocation running under the name.
  - "How a schedule is found again, on any machine: the invocation carries the tags C(ecs-ops-schedule) (the name)
    and C(ecs-ops-schedule-spec) (a digest of everything that defines it), and DescribeInvocations filters by tag.
    Stopped invocations are history and never count as the schedule."
  - If two invocations run under one name (two jobs that raced, or one started by hand with the tags), the task
    keeps the oldest one that matches and stops the others, with a warning.
  - Parameter values are stored in the invocation and shown by DescribeInvocations, so they must not be secret;
    put secrets in OOS secret parameters and reference them from the command instead.
  - With O(command_id) or O(command_name), the saved command is resolved to its id; a schedule is replaced when it
    names another command, not when someone edits the saved command's content.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - The schedule's name, unique in the region. Up to 128 letters, digits, dots, underscores, colons, slashes,
        at signs and hyphens, starting with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) keeps the schedule running as described; V(absent) stops it.
    type: str
    choices: [present, absent]
    default: present
  command:
    description:
      - The script to run, inline. With O(state=present), give exactly one of O(command), O(command_id) and
        O(command_name).
      - Placeholders C({{name}}) take their values from O(parameters).
    type: str
  command_id:
    description:
      - A saved command's id (C(c-...)), or the name of a public command.
    type: str
  command_name:
    description:
      - A saved command's name (the region's own first, then the public ones); it must match exactly one command.
    type: str
  type:
    description:
      - The type of an inline O(command).
    type: str
    choices: [RunShellScript, RunPowerShellScript, RunBatScript]
    default: RunShellScript
  instance_ids:
    description:
      - The instances to run on, in O(region); at most 100. With O(state=present), give exactly one of
        O(instance_ids) and O(instance_tags).
      - Every instance must be running with an online Cloud Assistant agent when the schedule is created.
    type: list
    elements: str
  instance_tags:
    description:
      - Run on the instances that carry all of these tags (C(ResourceTag) of RunCommand; at most 100 instances may
        match when the schedule is created).
    type: dict
  frequency:
    description:
      - When to run, as RunCommand's C(Frequency) takes it, without the time zone (see O(timezone)).
      - V(rate(5m)) runs now and then every period (C(s), C(m), C(h), C(d); 60 seconds to 7 days, and at least
        O(timeout)).
      - V(at(2026-12-24 02:00:00)) runs once at that time; a re-run after it ran changes nothing.
      - A cron expression of six fields (seconds, minutes, hours, day of month, month, day of week), then an
        optional year, such as V(0 30 2 * * ?) for 02:30 every day.
      - Required with O(state=present).
    type: str
  timezone:
    description:
      - The time zone of an C(at) or cron O(frequency), as an IANA name (V(Asia/Shanghai)) or V(GMT+8); it is
        appended to the frequency as the API expects. Not used with C(rate).
      - Without it, Cloud Assistant uses the time zone of the instance's system.
    type: str
  parameters:
    description:
      - Values of the command's placeholders. They are stored in the invocation and are not secret.
    type: dict
  username:
    description:
      - The user the command runs as (Cloud Assistant's C(Username)); default the agent's, C(root) on Linux.
    type: str
  timeout:
    description:
      - Seconds one run may take before Cloud Assistant stops it (10 to 86400).
    type: int
    default: 60
  working_dir:
    description:
      - The working directory of the command.
    type: str
notes:
  - The API cannot say when a cron schedule runs next; ecs_cloud_assistant_schedule_info reports the next run of C(rate) schedules only.
  - RAM actions used - C(ecs:DescribeInvocations), C(ecs:DescribeInstances), C(ecs:DescribeCloudAssistantStatus),
    C(ecs:DescribeCommands) (saved commands), C(ecs:RunCommand) or C(ecs:InvokeCommand), C(ecs:StopInvocation).
seealso:
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_schedule_info
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_command
"""

EXAMPLES = r"""
- name: Clean old logs every night at 02:30 Shanghai time on the web servers
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: nightly-log-cleanup
    region: cn-hangzhou
    command: find /var/log/app -name '*.log' -mtime +{{ '{{' }}days{{ '}}' }} -delete
    parameters:
      days: 7
    instance_tags:
      role: web
    frequency: 0 30 2 * * ?
    timezone: Asia/Shanghai

- name: Check the disk every 10 minutes with a saved command
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: disk-check
    region: cn-hangzhou
    command_name: check-disk
    instance_ids: [i-bp1xxxxxxxxxxxxxxxxx, i-bp1yyyyyyyyyyyyyyyyy]
    frequency: rate(10m)

- name: Stop the schedule
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: disk-check
    region: cn-hangzhou
    state: absent
"""

RETURN = r"""
action:
  description:
    - What the task did (or would do in check mode) - C(created), C(replaced), C(unchanged), C(stopped) (absent),
      C(deduplicated) (kept one of several invocations of the name and stopped the others).
  returned: always
  type: str
  sample: replaced
schedule:
  description:
    - The schedule after the task, as ecs_cloud_assistant_schedule_info reports it; empty after O(state=absent).
    - In check mode, when a new invocation would start, RV(schedule.invoke_id) is empty.
  returned: always
  type: dict
  contains:
    name:
      description: The schedule's name.
      type: str
    invoke_id:
      description: The invocation that runs it.
      type: str
      sample: t-hz0jdfwcsr9n4a8
    frequency:
      description: The frequency as sent, with its time zone.
      type: str
      sample: 0 30 2 * * ? Asia/Shanghai
    spec_digest:
      description: The digest of what defines the schedule (the C(ecs-ops-schedule-spec) tag).
      type: str
stopped_invoke_ids:
  description: The invocations stopped (or that would be, in check mode).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after (command, type, targets, frequency, parameters, user, timeout, working directory).
  returned: when diff mode is on and something changed
  type: dict
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import content as ca
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import schedules as sch
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.commands import resolve_command
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    ValidationError,
    tag_problems,
    validate_instance_ids,
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    command=dict(type="str"),
    command_id=dict(type="str"),
    command_name=dict(type="str"),
    type=dict(type="str", choices=list(ca.COMMAND_TYPES), default="RunShellScript"),
    instance_ids=dict(type="list", elements="str"),
    instance_tags=dict(type="dict"),
    frequency=dict(type="str"),
    timezone=dict(type="str"),
    parameters=dict(type="dict"),
    username=dict(type="str"),
    timeout=dict(type="int", default=60),
    working_dir=dict(type="str"),
)
SHOWN = ("command", "command_id", "type", "instance_ids", "instance_tags", "frequency", "parameters", "username",
         "timeout", "working_dir")


def validate(params):
    """(problems, warnings, the normalised spec): every input problem, before any API call."""
    problems, warnings = [], []
    if not sch.NAME_RE.match(params["name"] or ""):
        problems.append("name %r must be letters, digits and . _ : / @ - (up to 128, starting with a letter or "
                        "digit)" % params["name"])
    contents = [n for n in ("command", "command_id", "command_name") if params[n] is not None]
    targets = [n for n in ("instance_ids", "instance_tags") if params[n] is not None]
    if params["state"] == "absent":
        return problems, warnings, {}
    if len(contents) != 1:
        problems.append("give exactly one of command, command_id and command_name%s"
                        % (" (got %s)" % ", ".join(contents) if contents else ""))
    if len(targets) != 1:
        problems.append("give exactly one of instance_ids and instance_tags%s" % (" (got both)" if targets else ""))
    ids = []
    if params["instance_ids"] is not None:
        try:
            ids, warnings = validate_instance_ids(params["instance_ids"], max_items=sch.MAX_INSTANCES)
        except ValidationError as exc:
            problems.extend(exc.problems)
    if params["instance_tags"] is not None:
        problems.extend(tag_problems(params["instance_tags"]))
    timeout = params["timeout"]
    if not ca.MIN_TIMEOUT <= timeout <= ca.MAX_TIMEOUT:
        problems.append("timeout must be between %d and %d seconds, got %d" % (ca.MIN_TIMEOUT, ca.MAX_TIMEOUT, timeout))
    frequency = " ".join((params["frequency"] or "").split())
    zone = (params["timezone"] or "").strip()
    if not frequency:
        problems.append("state=present needs frequency")
    else:
        problems.extend(ca.frequency_problems(frequency, timeout))
        if zone and frequency.startswith("rate("):
            problems.append("timezone is not used with a rate() frequency")
        elif zone and sch.frequency_zone(frequency):
            problems.append("frequency %r already names the time zone %s; drop it or timezone"
                            % (frequency, sch.frequency_zone(frequency)))
    if zone:
        problem = sch.timezone_problem(zone)
        if problem:
            problems.append(problem)
    values = ca.parameter_values(params, ("parameters",), problems)
    if params["command"] is not None:
        problems.extend(ca.check_content(params["command"], params["parameters"] is not None, values))
    spec = dict(command=params["command"], command_id=None, command_name=params["command_name"] or params["command_id"],
                type=params["type"] if params["command"] is not None else None, instance_ids=sorted(ids),
                instance_tags=sorted((str(k), str(v)) for k, v in (params["instance_tags"] or {}).items()),
                frequency=sch.with_timezone(frequency, zone), parameters=values, username=params["username"],
                timeout=timeout, working_dir=params["working_dir"])
    return problems, warnings, spec


def read_targets(module, spec):
    """Fail before any change if a listed instance cannot take commands now."""
    if not spec["instance_ids"]:
        return
    views = read_instances(module.api("ecs"), module.region, spec["instance_ids"])
    bad = ["%s: %s" % (i, v["reason"]) for i, v in views.items() if not v["ready"]]
    if bad:
        module.fail_json(msg="%d instance(s) cannot run the schedule now: %s" % (len(bad), "; ".join(bad[:10])))


def resolve(module, spec):
    """The spec with the saved command resolved to its id (and its parameters checked)."""
    if spec["command"] is not None:
        return dict(spec, command_name=None)
    params = module.params
    try:
        command = resolve_command(module.api("ecs"), params["command_id"], params["command_name"])
    except ValidationError as exc:
        module.fail_validation(exc)
    if command is None:
        option = "command_id" if params["command_id"] else "command_name"
        module.fail_json(msg="%s %s does not exist in %s" % (option, params[option], module.region))
    where = "command %s" % command["command_id"]
    problems = ca.check_parameters(spec["parameters"], command["parameter_names"], where) \
        if command["enable_parameter"] else (["%s takes no parameters" % where] if spec["parameters"] else [])
    if problems:
        module.fail_validation(ValidationError(problems))
    return dict(spec, command_id=command["command_id"], command_name=None)


def start(module, spec, digest, known):
    """RunCommand (inline) or InvokeCommand (saved): the new invocation's id. The ClientToken names the spec and
    every invocation seen under the name, so a retried call is deduplicated but a schedule stopped earlier is
    never returned for a new one."""
    request = dict(RepeatMode="Period", Frequency=spec["frequency"], Timeout=spec["timeout"],
                   Username=spec["username"], WorkingDir=spec["working_dir"],
                   Tag=[dict(Key=sch.NAME_TAG, Value=module.params["name"]), dict(Key=sch.SPEC_TAG, Value=digest)])
    if spec["instance_ids"]:
        request["InstanceId"] = spec["instance_ids"]
    else:
        request["ResourceTag"] = [dict(Key=k, Value=v) for k, v in spec["instance_tags"]]
    if spec["parameters"]:
        request["Parameters"] = json_param(spec["parameters"])
    if spec["command"] is not None:
        action = "RunCommand"
        request.update(Type=spec["type"], CommandContent=ca.encode_content(spec["command"]), ContentEncoding="Base64",
                       Name="ecs-ops-schedule-%s" % module.params["name"], EnableParameter=bool(spec["parameters"]))
    else:
        action = "InvokeCommand"
        request["CommandId"] = spec["command_id"]
    request["ClientToken"] = client_token(dict(spec=digest, seen=sorted(v["invoke_id"] for v in known)), prefix="sched")
    body = module.api("ecs").call(action, {k: v for k, v in request.items() if v is not None})
    return body.get("InvokeId", "")


def shown(spec):
    return {k: spec.get(k) for k in SHOWN if spec.get(k) not in (None, "", [], {})}


def shown_view(view):
    """The fields of a running invocation a person compares with the options."""
    out = dict(frequency=view["frequency"], instance_ids=view["instance_ids"], timeout=view["timeout"],
               username=view["username"], working_dir=view["working_dir"], parameters=view["parameters"])
    if view["command_name"].startswith("ecs-ops-schedule-"):
        out.update(command=view["command"], type=view["command_type"])
    else:
        out["command_id"] = view["command_id"]
    return {k: v for k, v in out.items() if v not in (None, "", [], {}, "{}")}


def main():
    module = AlicloudModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    problems, warnings, spec = validate(params)
    if problems:
        module.fail_validation(ValidationError(problems))
    for warning in warnings:
        module.warn(warning)
    api = module.api("ecs")
    try:
        found = sch.find_schedules(api, params["name"])
        digest = ""
        if params["state"] == "present":
            spec = resolve(module, spec)
            digest = sch.spec_digest(spec)
        plan = sch.plan_schedule(digest, found, params["state"], one_shot=(spec.get("frequency") or "").startswith("at("))
        if plan["start"]:
            read_targets(module, spec)
        stopped = [v["invoke_id"] for v in plan["stop"]]
        invoke_id = plan["keep"]["invoke_id"] if plan["keep"] else ""
        if not module.check_mode:
            for invoke_id_to_stop in stopped:
                api.call("StopInvocation", {"InvokeId": invoke_id_to_stop})
            if plan["start"]:
                invoke_id = start(module, spec, digest, found)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    if params["state"] == "absent":
        action = "stopped" if stopped else "unchanged"
    elif plan["start"]:
        action = "replaced" if stopped else "created"
    else:
        action = "deduplicated" if stopped else "unchanged"
    if action == "deduplicated":
        module.warn("%d other invocation(s) ran under the name %s and were stopped: %s" % (
            len(stopped), params["name"], ", ".join(stopped)))
    schedule = {}
    if params["state"] == "present":
        schedule = dict(plan["keep"] or {}, name=params["name"], invoke_id=invoke_id, frequency=spec["frequency"],
                        spec_digest=digest)
    result = dict(changed=action != "unchanged", action=action, schedule=schedule, stopped_invoke_ids=stopped,
                  msg="%s: %s" % (params["name"], plan["reason"]))
    if module._diff and result["changed"]:
        before = [v for v in found if v["active"]]
        result["diff"] = dict(before=shown_view(before[0]) if before else {},
                              after=shown(spec) if params["state"] == "present" else {})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
