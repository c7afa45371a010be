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
  - Keeps exactly one scheduled Cloud Assistant invocation running under a name - a command (inline or saved) on
    some instances, on a schedule (C(rate), C(at) or cron, with a time zone), or at every or the next boot.
  - O(state=present) starts it once. Run again with the same options, the task changes nothing and makes no
    mutating call. When anything that defines it differs from what runs (command, type, targets, schedule, time
    zone, parameters, user, timeout, working directory), a new invocation is started and then the running one
    stopped (Cloud Assistant cannot take an instance out of a running invocation), and the task reports both in
    RV(diff). Starting first means a failure or a kill between the two steps never leaves the schedule without an
    invocation - if the start fails, nothing is stopped; if the task ends before the stop, the next run stops the
    old one.
  - O(state=absent) stops every invocation running under the name; stopping is idempotent.
  - "How a schedule is found again, on any machine: the invocation carries the tags C(ecs-ops-schedule) (the name)
    and C(ecs-ops-schedule-spec) (a digest of the options that define it), and DescribeInvocations filters by tag
    and C(Timed=true) (the invocations that will still run). Stopped invocations are history and never count."
  - "What is compared: the digest, and the fields DescribeInvocations returns that can be changed in place
    (ModifyInvocationAttribute, for example from the console) without changing the tags - the command, the
    frequency, the parameter values and the instances. A schedule edited in place is therefore replaced too."
  - With O(instance_tags) the module resolves the tags to instances itself (as
    M(alibabacloud.ecs_ops.ecs_cloud_assistant_command) does) and starts the invocation on those ids, checked
    first. Each run resolves the tags again; an instance that gained the tags, or lost them, makes the schedule
    be replaced, so it follows the fleet.
  - If two invocations run under one name (two jobs that raced, or one started by hand with the tags), the task
    keeps the oldest one that matches and stops the others, with a warning (RV(action=deduplicated)).
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
    details: Reads the schedules, the command and the instances, and plans exactly what the real run would do,
      with no mutating call; RV(schedule.invoke_id) is empty when a new invocation would start.
  diff_mode:
    support: full
    details: Before is what runs (as DescribeInvocations returns it), after what is asked; secret values masked.
      DescribeInvocations does not return O(instance_tags); before shows them when the running invocation's spec
      digest proves it was started with the same tags, so only what changed differs.
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
      - With V(absent) only O(name) (and the connection) is used.
    type: str
    choices: [present, absent]
    default: present
  command:
    description:
      - The script to run, inline (sent Base64 encoded, so any text passes). With O(state=present), give exactly
        one of O(command), O(command_id) and O(command_name).
      - Placeholders C({{name}}) take their values from O(parameters) and O(secret_parameters); Ansible templates
        C({{ }}) in task arguments, so write them as C(!unsafe) strings.
      - At most 24 KB after Base64 encoding, parameter values included.
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
      - The type of an inline O(command). Every instance must have the OS it runs on.
      - A saved command keeps its own type.
    type: str
    choices: [RunShellScript, RunPowerShellScript, RunBatScript]
    default: RunShellScript
    aliases: [command_type]
  instance_ids:
    description:
      - The instances to run on, in O(region); at most 100 (one invocation). With O(state=present), give exactly
        one of O(instance_ids) and O(instance_tags).
    type: list
    elements: str
  instance_tags:
    description:
      - Run on the instances of O(region) that carry all of these tags (an empty value matches any value of the
        key); at most 100 may match. Resolved again on every run.
    type: dict
  unreachable:
    description:
      - What to do, when the schedule starts, with targeted instances that are not running or whose agent is not
        online. V(fail) fails the task before anything changes. V(skip) starts it on the others, with a warning;
        an instance left out this way does not make the schedule differ until it can run commands again.
      - An instance that is in the running schedule and stops later does not change anything; Cloud Assistant
        reports its missed runs.
    type: str
    choices: [fail, skip]
    default: fail
  repeat_mode:
    description:
      - V(Period) runs on the schedule O(frequency). V(EveryReboot) runs every time an instance starts,
        V(NextRebootOnly) once, the next time it starts.
    type: str
    choices: [Period, EveryReboot, NextRebootOnly]
    default: Period
  frequency:
    description:
      - When a V(Period) schedule runs, as RunCommand's C(Frequency) takes it; required with V(Period), not used
        otherwise. The time zone may end it or come from O(timezone).
      - V(rate(5m)) - every period (C(s), C(m), C(h), C(d)), 60 seconds to 7 days and at least O(timeout). The
        first run is one period after the schedule started, and the runs keep to the creation time.
      - V(at(2026-12-24 02:00:00)) - once, at that time (UTC unless a time zone is given). A re-run after it ran
        changes nothing; a time in the past with no recorded run fails.
      - A cron expression of six fields (seconds, minutes, hours, day of month, month, day of week), then an
        optional year, such as V(0 30 2 * * ?) for 02:30 every day. Day of week 1 to 7 is Monday to Sunday (or
        C(MON)-C(SUN)); C(L), C(W), C(#) and C(?) as Cloud Assistant's cron page documents them. Without a time
        zone, the instance's own time zone applies.
      - It is checked before any call - field ranges, at most one leading zero, a real date, the time zone, and two
        runs never closer than O(timeout) or 10 seconds.
    type: str
  timezone:
    description:
      - The time zone of an C(at) or cron O(frequency), which the module appends to it as the API expects - an IANA
        name (V(Asia/Shanghai)), an offset from GMT with no leading zero in the hour (V(GMT+8:00), V(GMT-7:00)) or
        V(UTC). Not used with C(rate).
      - The same schedule given with the time zone inside O(frequency) or here is the same schedule.
    type: str
  parameters:
    description:
      - Values of the command's placeholders. Setting this option, even to C({}), enables placeholders (built-ins
        such as C({{ACS::InstanceId}}) too). Cloud Assistant substitutes values verbatim, unquoted; see
        M(alibabacloud.ecs_ops.ecs_cloud_assistant_command) for quoting them safely.
    type: dict
  secret_parameters:
    description:
      - Like O(parameters), for values that must never appear in the task result, the diff or the log. Their names
        are kept in the tag C(ecs-ops-secret-parameters), so ecs_cloud_assistant_schedule_info masks them too.
      - The values are not part of the C(ecs-ops-schedule-spec) digest (a digest of a short secret could be
        reversed by trying values). A changed value is still detected - by comparing it, in memory, with the
        parameters DescribeInvocations returns - and replaces the schedule (the diff says C(******** (changed))).
      - Cloud Assistant keeps them with the invocation, shown by DescribeInvocations to anyone allowed
        C(ecs:DescribeInvocations); a value that must not be kept there belongs in an OOS encryption parameter,
        referenced as C({{oos-secret:NAME}}) in the command.
    type: dict
  username:
    description:
      - The user the command runs as; default the agent's (C(root) on Linux, C(System) on Windows).
    type: str
  timeout:
    description:
      - Seconds one run may take before Cloud Assistant stops it (10 to 86400).
    type: int
    default: 60
  working_dir:
    description:
      - The working directory of the command; default C(/root) on Linux.
    type: str
notes:
  - A schedule is one invocation, so it runs on at most 100 instances.
  - Replacing a schedule starts a new invocation, so a C(rate) schedule's periods then count from the new one's
    creation time.
  - The API does not say when a schedule runs next; ecs_cloud_assistant_schedule_info computes it for C(rate) and
    C(at) schedules from the documented rules.
  - Two runs started at the same moment (both look the schedule up before either starts it) each start an
    invocation; each then reads the schedule again, and the run whose invocation is younger stops its own at once,
    before its first run (C(rate) runs come one period after the start, and a cron or C(at) run rarely falls in the
    seconds between), and reports RV(action=unchanged) with a warning. This relies on DescribeInvocations listing an
    invocation as soon as RunCommand or InvokeCommand returned. A run killed before that check leaves two; the
    next run keeps the oldest and stops the other.
  - RAM actions used - C(ecs:DescribeInvocations), C(ecs:DescribeInstances), C(ecs:DescribeCloudAssistantStatus),
    C(ecs:DescribeCommands) (saved commands), C(ecs:RunCommand) or C(ecs:InvokeCommand), C(ecs:StopInvocation).
seealso:
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_schedule_info
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_command
  - name: RunCommand API (Frequency)
    description: The forms of the frequency and of its time zone.
    link: https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-runcommand
  - name: Cron expressions of Cloud Assistant
    description: The fields and special characters of a cron frequency.
    link: https://www.alibabacloud.com/help/en/ecs/user-guide/cron-expressions
"""

EXAMPLES = r"""
- name: Clean old logs every night at 02:30 Shanghai time on the web servers
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: nightly-log-cleanup
    region: cn-hangzhou
    command: !unsafe find /var/log/app -name '*.log' -mtime +{{days}} -delete
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

- name: Upload a backup on weekdays at 01:00 UTC+8, with a token that never shows
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: nightly-backup
    region: cn-hangzhou
    command: !unsafe |
      token=$(cat <<'ACS_END_OF_VALUE'
      {{token}}
      ACS_END_OF_VALUE
      )
      BACKUP_TOKEN="$token" /opt/backup/run.sh
    secret_parameters:
      token: "{{ backup_token }}"
    instance_tags: {role: db}
    unreachable: skip
    frequency: 0 0 1 ? * MON-FRI
    timezone: GMT+8:00
    timeout: 3600

- name: Register the agent with the monitoring server at every boot
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: monitoring-register
    region: cn-hangzhou
    command: /usr/local/bin/monitoring-register
    instance_tags: {monitored: "yes"}
    repeat_mode: EveryReboot

- name: Plan a change and show it (nothing is changed)
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule:
    name: disk-check
    region: cn-hangzhou
    command_name: check-disk
    instance_ids: [i-bp1xxxxxxxxxxxxxxxxx, i-bp1yyyyyyyyyyyyyyyyy]
    frequency: rate(30m)
  check_mode: true
  diff: true

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
    - C(unchanged) too when another run started the same schedule at the same moment and this run stopped its own
      invocation again (RV(stopped_invoke_ids) names it, a warning says so).
  returned: always
  type: str
  sample: replaced
schedule:
  description:
    - The schedule after the task (as ecs_cloud_assistant_schedule_info reports it when it was already running);
      empty after O(state=absent).
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
    repeat_mode:
      description: C(Period), C(EveryReboot) or C(NextRebootOnly).
      type: str
    frequency:
      description: The frequency as sent, with its time zone; empty for the reboot modes.
      type: str
      sample: 0 30 2 * * ? Asia/Shanghai
    instance_ids:
      description: The instances it runs on.
      type: list
      elements: str
    spec_digest:
      description: The digest of what defines the schedule (the C(ecs-ops-schedule-spec) tag).
      type: str
    parameters:
      description: The parameter values, secret ones masked.
      type: dict
stopped_invoke_ids:
  description: The invocations stopped (or that would be, in check mode).
  returned: always
  type: list
  elements: str
differences:
  description:
    - Why a running invocation was replaced - C(spec) (the options differ from those it started with), or the
      fields that were changed in place - C(command), C(repeat_mode), C(frequency), C(parameters),
      C(secret_parameters), C(instance_ids).
  returned: always
  type: list
  elements: str
diff:
  description: Before (what runs) and after (what is asked), secret values masked.
  returned: when diff mode is on and something changed
  type: dict
"""

import uuid

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import content as ca
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import frequency as freq
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import schedules as sch
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.commands import resolve_command
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant.invocations import (
    plan_invocations,
    stop_invocations,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule, ApiFailure
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import MASK, Redactor, secret_tags
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._token import client_token
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    ValidationError,
    tag_problems,
    validate_instance_ids,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import utc_now


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        command=dict(type="str"),
        command_id=dict(type="str"),
        command_name=dict(type="str"),
        type=dict(type="str", choices=list(ca.COMMAND_TYPES), default="RunShellScript", aliases=["command_type"]),
        instance_ids=dict(type="list", elements="str"),
        instance_tags=dict(type="dict"),
        unreachable=dict(type="str", choices=["fail", "skip"], default="fail"),
        repeat_mode=dict(type="str", choices=list(sch.REPEAT_MODES), default="Period"),
        frequency=dict(type="str"),
        timezone=dict(type="str"),
        parameters=dict(type="dict"),
        secret_parameters=dict(type="dict", no_log=True),
        username=dict(type="str"),
        timeout=dict(type="int", default=60),
        working_dir=dict(type="str"),
    )


# --- input ----------------------------------------------------------------------------------
def schedule_problems(params, year):
    """(problems, the frequency with its time zone): repeat mode, frequency and time zone together."""
    if params["repeat_mode"] != "Period":
        given = [n for n in ("frequency", "timezone") if params[n] is not None]
        return (["%s only used with repeat_mode=Period, not %s" % (
            " and ".join(given) + (" are" if len(given) > 1 else " is"), params["repeat_mode"])] if given else []), ""
    expression, inside = freq.split_zone(params["frequency"] or "")
    if not expression:
        return ["repeat_mode=Period needs frequency"], ""
    zone = (params["timezone"] or "").strip()
    problems = []
    if zone and freq.kind(expression) == "rate":
        problems.append("timezone is not used with a rate() frequency")
    elif zone and inside:
        problems.append("frequency %r already names the time zone %s; drop it or timezone" % (
            params["frequency"], inside))
    elif zone and freq.zone_info(zone)[1]:
        problems.append("timezone: %s" % freq.zone_info(zone)[1])
    else:
        inside = inside or zone
    full = freq.with_zone(expression, inside)
    problems.extend(freq.frequency_problems(full, params["timeout"], year))
    return problems, full


def validate(params, year):
    """(None, warnings, (the normalised spec, every parameter value)), or a ValidationError naming every input
    problem, before any call (the targets are in the spec: the ids, or the tags to read them by)."""
    problems, warnings = [], []
    if not sch.NAME_RE.match(params["name"] or ""):
        problems.append("name %r must be letters, digits and . _ : / @ - (up to 128, starting with a letter or "
                        "digit)" % params["name"])
    if params["state"] == "absent":
        if problems:
            raise ValidationError(problems)
        return None, warnings, ({}, {})
    contents = [n for n in ("command", "command_id", "command_name") if params[n] is not None]
    targets = [n for n in ("instance_ids", "instance_tags") if params[n] is not None]
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
    if not ca.MIN_TIMEOUT <= params["timeout"] <= ca.MAX_TIMEOUT:
        problems.append("timeout must be between %d and %d seconds, got %d" % (
            ca.MIN_TIMEOUT, ca.MAX_TIMEOUT, params["timeout"]))
    schedule, frequency = schedule_problems(params, year)
    problems.extend(schedule)
    problems.extend(ca.length_problems(params))
    values = ca.parameter_values(params, ("parameters", "secret_parameters"), problems)
    secret_names = sorted(str(k) for k in params["secret_parameters"] or {})
    enable = params["parameters"] is not None or bool(secret_names)
    if params["command"] is not None:
        problems.extend(ca.check_content(params["command"], enable, values))
    else:
        problems.extend(ca.content_size_problems("", values, kept=True))
    spec = dict(command=params["command"], command_id=params["command_id"], command_name=params["command_name"],
                type=params["type"] if params["command"] is not None else None, enable_parameter=enable,
                repeat_mode=params["repeat_mode"], frequency=frequency, instance_ids=sorted(ids) or None,
                instance_tags=sorted((str(k), "" if v is None else str(v))
                                     for k, v in (params["instance_tags"] or {}).items()) or None,
                parameters={k: v for k, v in values.items() if k not in secret_names}, secret_names=secret_names,
                username=params["username"], timeout=params["timeout"], working_dir=params["working_dir"])
    if problems:
        raise ValidationError(problems)
    return None, warnings, (spec, values)


# --- reading --------------------------------------------------------------------------------
def resolve(module, api, spec, values):
    """The spec with the saved command resolved to its id (and its parameters checked), and the command's type."""
    if spec["command"] is not None:
        return dict(spec, command_id=None, command_name=None), spec["type"]
    try:
        command = resolve_command(api, spec["command_id"], spec["command_name"])
    except ValidationError as exc:
        module.fail_validation(exc)
    if command is None:
        option = "command_id" if spec["command_id"] else "command_name"
        module.fail_json(msg="%s %s does not exist in %s" % (option, spec[option], module.region))
    where = "command %s" % command["command_id"]
    problems = ca.check_parameters(values, command["parameter_names"], where) \
        if command["enable_parameter"] else (["%s takes no parameters" % where] if values else [])
    problems.extend(ca.content_size_problems(command["content"], values, True, where))
    if problems:
        module.fail_validation(ValidationError(problems))
    return dict(spec, command_id=command["command_id"], command_name=None, enable_parameter=None), command["type"]


def read_targets(module, api, spec, command_type):
    """The instances the schedule should run on: ``wanted`` (the ids, or every instance carrying the tags), and
    of those ``ready`` (can take commands now), ``unready`` and ``mismatched`` (id -> why)."""
    if spec["instance_ids"]:
        views = read_instances(api, module.region, spec["instance_ids"])
    else:
        views = read_instances(api, module.region, tags=dict(spec["instance_tags"]))
    plan = plan_invocations(views, command_type=command_type, unreachable="skip", batch_size=len(views) or 1)
    ready = sorted(i for batch in plan["batches"] for i in batch["instance_ids"])
    return dict(wanted=sorted(views), ready=ready, unready=plan["skipped"], mismatched=plan["mismatched"])


def start_problems(module, spec, targets):
    """Why the schedule cannot start now (checked before anything changes); warns about instances left out."""
    problems = list(targets["mismatched"].values())
    unready = ["%s: %s" % item for item in sorted(targets["unready"].items())]
    if unready and module.params["unreachable"] == "fail":
        problems.append("%d instance(s) cannot run the schedule now: %s. Set unreachable=skip to start it on the "
                        "others" % (len(unready), "; ".join(unready[:10])))
    elif unready:
        module.warn("%d instance(s) left out of the schedule for now: %s" % (len(unready), "; ".join(unready[:10])))
    if not targets["wanted"]:
        problems.append("no instance in %s has the tags %s: nothing to run the schedule on (state=absent stops it)"
                        % (module.region, dict(spec["instance_tags"])))
    elif not targets["ready"] and not problems:
        problems.append("no targeted instance can run the schedule now")
    if len(targets["ready"]) > sch.MAX_INSTANCES:
        problems.append("%d instances carry the tags %s; a schedule is one invocation of at most %d instances" % (
            len(targets["ready"]), dict(spec["instance_tags"]), sch.MAX_INSTANCES))
    instant = freq.at_instant(spec["frequency"]) if spec["repeat_mode"] == "Period" else None
    if instant is not None and instant <= utc_now():
        problems.append("frequency %s is past (%s UTC) and no run of this schedule is recorded: give a time to "
                        "come" % (spec["frequency"], instant.strftime("%Y-%m-%d %H:%M:%S")))
    return problems


# --- acting ---------------------------------------------------------------------------------
def start(module, api, spec, digest, values, instance_ids):
    """RunCommand (inline) or InvokeCommand (saved): the new invocation's id. The ClientToken names the spec
    and this run, so a call retried after a lost answer gets the invocation it started, never another; a second
    run finds that invocation by its tags first."""
    tags = dict({sch.NAME_TAG: module.params["name"], sch.SPEC_TAG: digest}, **secret_tags(spec["secret_names"]))
    request = dict(RepeatMode=spec["repeat_mode"], Frequency=spec["frequency"] or None, Timeout=spec["timeout"],
                   Username=spec["username"], WorkingDir=spec["working_dir"], InstanceId=instance_ids,
                   Tag=[dict(Key=k, Value=v) for k, v in tags.items()],
                   ClientToken=client_token(dict(spec=digest, run=uuid.uuid4().hex), prefix="sched"))
    if values:
        request["Parameters"] = json_param(values)
    if spec["command"] is not None:
        action = "RunCommand"
        request.update(Type=spec["type"], CommandContent=ca.encode_content(spec["command"]), ContentEncoding="Base64",
                       Name=(sch.COMMAND_NAME_PREFIX + module.params["name"])[:128],
                       EnableParameter=spec["enable_parameter"])
    else:
        action = "InvokeCommand"
        request["CommandId"] = spec["command_id"]
    body = api.call(action, {k: v for k, v in request.items() if v is not None})
    return body.get("InvokeId", "")


def stop_all(module, api, invoke_ids):
    """StopInvocation for each (all tried); on an error, raise an ApiFailure naming the ones stopped."""
    stopped, error = stop_invocations(lambda _region: api, [dict(invoke_id=i, region=module.region) for i in invoke_ids])
    if error is not None:
        raise ApiFailure(error.error, changed=bool(stopped), stopped_invoke_ids=list(stopped))


def shown(spec, instance_ids, secret_changed=False):
    """What a person compares in the diff: the options as asked."""
    out = dict(command=spec["command"], command_id=spec["command_id"], type=spec["type"],
               repeat_mode=spec["repeat_mode"], frequency=spec["frequency"], instance_ids=instance_ids,
               instance_tags=dict(spec["instance_tags"]) if spec["instance_tags"] else None,
               parameters=spec["parameters"] if spec["enable_parameter"] is not False else None,
               secret_parameters={n: MASK + (" (changed)" if secret_changed else "") for n in spec["secret_names"]},
               username=spec["username"], timeout=spec["timeout"], working_dir=spec["working_dir"])
    return {k: v for k, v in out.items() if v not in (None, "", {})}


def started_with_tags(view, spec):
    """Whether the running invocation was started with the asked ``instance_tags``, which DescribeInvocations does
    not return: true when the asked spec, with every field the invocation does return taken from it, gives the
    digest it was started with (its ``ecs-ops-schedule-spec`` tag)."""
    if not spec["instance_tags"]:
        return False
    seen = dict(repeat_mode=view["repeat_mode"], timeout=view["timeout"])
    if view["repeat_mode"] == "Period":
        seen["frequency"] = " ".join(view["frequency"].split())
    if spec["command"] is not None:
        seen.update(command=view["command"], type=view["command_type"])
    else:
        seen["command_id"] = view["command_id"]
    if view["_values"] is not None:
        seen["parameters"] = {k: v for k, v in view["_values"].items() if k not in view["secret_parameter_names"]}
    seen.update({name: view[name] or None for name in ("username", "working_dir") if spec[name]})
    return sch.spec_digest(dict(spec, **seen)) == view["spec_digest"]


def shown_view(view, spec):
    """The same fields of a running invocation, as DescribeInvocations returns them, and the asked instance tags
    when the invocation provably was started with them (so a diff shows only what changed)."""
    out = dict(repeat_mode=view["repeat_mode"], frequency=view["frequency"], instance_ids=view["instance_ids"],
               timeout=view["timeout"], working_dir=view["working_dir"] if spec["working_dir"] else None,
               username=view["username"] if spec["username"] else None)
    parameters = view["parameters"] if isinstance(view["parameters"], dict) else {}
    secret = set(view["secret_parameter_names"])
    out["parameters"] = {k: v for k, v in parameters.items() if k not in secret}
    out["secret_parameters"] = {k: v for k, v in parameters.items() if k in secret}
    if spec["command"] is not None:
        out.update(command=view["command"], type=view["command_type"])
    else:
        out["command_id"] = view["command_id"]
    if started_with_tags(view, spec):
        out["instance_tags"] = dict(spec["instance_tags"])
    return {k: v for k, v in out.items() if v not in (None, "", {})}


def result_schedule(name, plan, spec, digest, invoke_id, instance_ids):
    if plan["keep"]:
        return dict(sch.public(plan["keep"]), name=name)
    return dict(name=name, invoke_id=invoke_id, repeat_mode=spec["repeat_mode"], frequency=spec["frequency"],
                instance_ids=instance_ids, spec_digest=digest,
                parameters=sch.shown_parameters(dict(spec["parameters"], **dict.fromkeys(spec["secret_names"], "")),
                                                spec["secret_names"]))


def settle(module, api, redactor, spec, desired, digest, invoke_id):
    """After this run started ``invoke_id``: ``(None, [])`` when it runs the schedule, or ``(kept, [invoke_id])``
    when an older invocation of the same spec does and this run must stop its own. Another run that started the same schedule at the same
    moment (both looked up before either started) is found here, and the oldest matching invocation stays - each
    run computes the same one. A run whose own invocation is younger stops only its own; the older run stops the
    invocations it replaced. A failed read keeps ``invoke_id`` (the next run converges, with a warning)."""
    one_shot = sch.is_one_shot(spec["repeat_mode"], spec["frequency"])
    try:
        found = sch.find_schedules(api, redactor, module.params["name"], ended=one_shot)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.warn("Started %s, then could not check whether another run started the same schedule at the same "
                    "time (%s); the next run keeps one if so" % (invoke_id, describe(exc)[0]))
        return None, []
    plan = sch.plan_schedule(found, "present", digest, lambda v: sch.live_differences(v, desired), one_shot)
    keep = plan["keep"]
    if keep is None or keep["invoke_id"] == invoke_id or invoke_id not in {v["invoke_id"] for v in plan["stop"]}:
        return None, []
    module.warn("Another run started the same schedule %s at the same time as this one: %s runs it; the "
                "invocation this run started, %s, was stopped before it ran"
                % (module.params["name"], keep["invoke_id"], invoke_id))
    return keep, [invoke_id]


def apply(module, api, redactor, plan, desired, spec, digest, values, targets):
    """Start the new invocation (when the plan says so) before stopping the ones it replaces, so a failure or a
    kill between the two steps never leaves the schedule without an invocation: ``(invoke_id, kept, stopped)``,
    ``kept`` the invocation another run started at the same moment, when that one stays instead."""
    replaced = [v["invoke_id"] for v in plan["stop"]]
    invoke_id, kept, own = "", None, []
    if plan["start"]:
        try:
            invoke_id = start(module, api, spec, digest, values, targets["ready"])
        except Exception as exc:  # pylint: disable=broad-exception-caught
            msg = "{error}. Nothing was stopped: %s still runs the schedule as before; run the task again" % (
                ", ".join(replaced)) if replaced else None
            raise ApiFailure(exc, msg, changed=False, stopped_invoke_ids=[]) from exc
        kept, own = settle(module, api, redactor, spec, desired, digest, invoke_id)
    try:
        stop_all(module, api, replaced + own)
    except ApiFailure as exc:
        if invoke_id:
            exc.msg = "Started %s, then: {error}. The invocation(s) it replaces may still run too: run the task " \
                      "again to stop them" % invoke_id
            exc.result.update(changed=True)
        raise
    return invoke_id, kept, replaced + own


def run_present(module, api, redactor, spec, values):
    params = module.params
    found = sch.find_schedules(api, redactor, params["name"],
                               ended=sch.is_one_shot(spec["repeat_mode"], spec["frequency"]))
    spec, command_type = resolve(module, api, spec, values)
    digest = sch.spec_digest(spec)
    targets = read_targets(module, api, spec, command_type)
    skip = params["unreachable"] == "skip"
    desired = dict(command=spec["command"], command_id=spec["command_id"], repeat_mode=spec["repeat_mode"],
                   frequency=spec["frequency"], values=values, secret_names=spec["secret_names"],
                   wanted=targets["wanted"], ignored=list(targets["unready"]) if skip else [])
    plan = sch.plan_schedule(found, "present", digest, lambda v: sch.live_differences(v, desired),
                             sch.is_one_shot(spec["repeat_mode"], spec["frequency"]))
    if plan["start"]:
        problems = start_problems(module, spec, targets)
        if problems:
            module.fail_validation(ValidationError(problems), prefix="Cannot start the schedule")
    stopped = [v["invoke_id"] for v in plan["stop"]]
    invoke_id, kept = "", None
    if not module.check_mode:
        invoke_id, kept, stopped = apply(module, api, redactor, plan, desired, spec, digest, values, targets)
    lost = kept is not None
    replaced = [i for i in stopped if i != invoke_id]
    if lost:
        plan = dict(plan, keep=kept)
        action = "replaced" if replaced else "unchanged"
    elif plan["start"]:
        action = "replaced" if stopped else "created"
    else:
        action = "deduplicated" if stopped else "unchanged"
    if action == "deduplicated":
        module.warn("%d other invocation(s) ran under the name %s and were stopped: %s" % (
            len(stopped), params["name"], ", ".join(stopped)))
    result = dict(changed=action != "unchanged", action=action, stopped_invoke_ids=stopped,
                  differences=plan["differences"], msg="%s: %s" % (params["name"], plan["reason"]),
                  schedule=result_schedule(params["name"], plan, spec, digest, invoke_id, targets["ready"]))
    if module._diff and result["changed"]:
        before = next((v for v in found if v["active"]), None)
        result["diff"] = dict(before=shown_view(before, spec) if before else {},
                              after=shown(spec, targets["ready"] if plan["start"] else plan["keep"]["instance_ids"],
                                          "secret_parameters" in plan["differences"]))
    return result


def run_absent(module, api, redactor):
    params = module.params
    plan = sch.plan_schedule(sch.find_schedules(api, redactor, params["name"]), "absent")
    stopped = [v["invoke_id"] for v in plan["stop"]]
    if not module.check_mode:
        stop_all(module, api, stopped)
    result = dict(changed=bool(stopped), action="stopped" if stopped else "unchanged", schedule={},
                  stopped_invoke_ids=stopped, differences=[], msg="%s: %s" % (params["name"], plan["reason"]))
    if module._diff and stopped:
        result["diff"] = dict(before=dict(invoke_ids=stopped), after={})
    return result


def main():
    module = AlicloudModule(argument_spec=argument_spec(), supports_check_mode=True)
    spec, values = module.validated(validate, module.params, utc_now().year)[1]
    redactor = Redactor(on_secret=module.add_secret)
    api = module.api("ecs")
    try:
        if module.params["state"] == "absent":
            result = run_absent(module, api, redactor)
        else:
            result = run_present(module, api, redactor, spec, values)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
