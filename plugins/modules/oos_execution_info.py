#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_execution_info
short_description: Look up OOS executions, their per-instance results and logs
version_added: 0.1.0
description:
  - Reads OOS executions by id or by filters (template, status, start time, tags) and returns their status,
    status message and parsed outputs.
  - With O(include_instances=true) it also reads the child executions of each execution, which for the bulky
    extension and patch templates gives one result per instance.
  - Use it to follow an M(alibabacloud.ecs_ops.oos_extension_install) or M(alibabacloud.ecs_ops.oos_patch_run)
    started with C(wait=false), in an C(until:) loop on RV(all_done).
  - Secret parameters are masked in RV(executions[].parameters), at any depth (so C(parameters.password) inside
    the C(parameters) object of an extension execution). They are those named in the execution's
    C(ecs-ops-secret-parameters) tags (C(-2), C(-3), ... when the names need several tags), which every
    execution the collection starts carries, those named in its parent's tags for a child execution, and those
    the extension marks secret (C(NoEcho)).
  - The values of those parameters are also replaced by C(********) wherever else they appear in the result
    (outputs, status messages, per-instance results, task outputs, logs), and are masked in warnings and
    failure messages.
  - A value that is only a reference to an OOS encryption parameter (C({{oos-secret:NAME}})) is masked in
    RV(executions[].parameters) too, but is not a secret itself; the module never reads the encryption
    parameter.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
  - alibabacloud.ecs_ops.attributes.info_module
options:
  execution_ids:
    description:
      - The executions to read. Ids that do not exist are listed in RV(missing_execution_ids).
      - When set, the filters below are not allowed.
    type: list
    elements: str
  template_name:
    description:
      - Only executions of templates whose name contains this text.
    type: str
  status:
    description:
      - Only executions in this status.
      - V(Queued) is a status an execution can have but not a status filter of ListExecutions, so for it the
        module lists without a status filter and keeps the queued executions itself (reading more pages). The
        other values are sent as the API's filter.
    type: str
    choices: [Started, Queued, Running, Waiting, Success, Failed, Cancelled]
  started_after:
    description:
      - Only executions started at or after this UTC time, C(YYYY-MM-DDThh:mm:ssZ).
    type: str
  started_before:
    description:
      - Only executions started at or before this UTC time, C(YYYY-MM-DDThh:mm:ssZ).
    type: str
  tags:
    description:
      - Only executions carrying all these tags.
    type: dict
  max_results:
    description:
      - At most this many executions (newest first) when filtering.
    type: int
    default: 100
  include_instances:
    description:
      - Also read the child executions and return one result per instance in RV(executions[].instances).
    type: bool
    default: false
  include_tasks:
    description:
      - Also return the task executions of each execution.
    type: bool
    default: false
  include_logs:
    description:
      - Also return the execution logs.
    type: bool
    default: false
seealso:
  - module: alibabacloud.ecs_ops.oos_extension_install
  - name: ListExecutions API
    description: The API this module calls.
    link: https://www.alibabacloud.com/help/en/oos/developer-reference/api-oos-2019-06-01-listexecutions
"""

EXAMPLES = r"""
- name: Start an extension rollout without waiting
  alibabacloud.ecs_ops.oos_extension_install:
    region: cn-hangzhou
    name: DockerCE
    instance_ids: "{{ docker_hosts }}"
    wait: false
  register: rollout

- name: Come back later and wait until every execution has finished
  alibabacloud.ecs_ops.oos_execution_info:
    region: cn-hangzhou
    execution_ids: "{{ rollout.executions | map(attribute='execution_id') | list }}"
    include_instances: true
  register: progress
  until: progress.all_done
  retries: 90
  delay: 20

- name: Fail if an instance failed
  ansible.builtin.assert:
    that: progress.executions | map(attribute='instances') | map('dict2items') | flatten
          | selectattr('value.status', 'ne', 'Success') | list | length == 0

- name: Failed extension executions of the last day
  alibabacloud.ecs_ops.oos_execution_info:
    region: cn-hangzhou
    template_name: BulkyConfigureOOSPackage
    status: Failed
    started_after: "{{ '%Y-%m-%dT%H:%M:%SZ' | strftime(ansible_date_time.epoch | int - 86400, utc=true) }}"
    include_logs: true
"""

RETURN = r"""
executions:
  description: The executions, in the order of O(execution_ids) or newest first.
  returned: always
  type: list
  elements: dict
  contains:
    execution_id:
      description: The execution id.
      type: str
      sample: exec-8a2aaf460fdf47c6b5ef
    template_name:
      description: The template it runs.
      type: str
    template_version:
      description: The template version.
      type: str
    status:
      description: C(Started), C(Queued), C(Running), C(Waiting), C(Success), C(Failed) or C(Cancelled).
      type: str
    status_message:
      description: Why it failed or what it waits for.
      type: str
    done:
      description: Whether the status is final (C(Success), C(Failed), C(Cancelled)).
      type: bool
    parameters:
      description: The parameters it was started with, secret ones masked (see the description above).
      type: dict
    outputs:
      description: Its outputs, parsed.
      type: raw
    counters:
      description: Item counts of a loop (C(Total), C(Success), C(Failed), C(Running), ...).
      type: dict
    current_tasks:
      description: The tasks running now.
      type: list
      elements: dict
    tags:
      description: Its tags.
      type: dict
    description:
      description: Its description.
      type: str
    is_parent:
      description: Whether it has child executions.
      type: bool
    parent_execution_id:
      description: The parent execution, for a child.
      type: str
    mode:
      description: The execution mode.
      type: str
    loop_mode:
      description: The loop mode (C(Automatic), C(FirstBatchPause), C(EveryBatchPause)).
      type: str
    create_date:
      description: When it was created (UTC).
      type: str
    start_date:
      description: When it started (UTC).
      type: str
    end_date:
      description: When it ended (UTC); empty while it runs.
      type: str
    update_date:
      description: When it last changed (UTC).
      type: str
    instances:
      description: Per instance, from the child executions (with O(include_instances=true)).
      type: dict
      returned: when O(include_instances=true)
      contains:
        status:
          description: The child execution's status.
          type: str
        status_message:
          description: Why it failed.
          type: str
        execution_id:
          description: The child execution id.
          type: str
        outputs:
          description: The child execution's outputs.
          type: raw
    tasks:
      description: The task executions (with O(include_tasks=true)).
      type: list
      elements: dict
      returned: when O(include_tasks=true)
    logs:
      description: The execution logs (with O(include_logs=true)), each C(timestamp), C(message), C(log_type), C(task_execution_id).
      type: list
      elements: dict
      returned: when O(include_logs=true)
missing_execution_ids:
  description: Ids of O(execution_ids) that do not exist.
  returned: always
  type: list
  elements: str
all_done:
  description: Whether every execution found has a final status.
  returned: always
  type: bool
summary:
  description: Executions per status.
  returned: always
  type: dict
  sample: {Success: 2, Running: 1}
"""

import re
from itertools import islice

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._client import json_param
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all, run_bounded
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import (
    child_executions,
    execution_view,
    get_executions,
    instance_of,
    parse_json,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.catalog import (
    ExtensionError,
    get_extension,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all, paginate
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import Redactor, tagged_names
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError, dedupe

EXECUTION_ID_RE = re.compile(r"^exec-[A-Za-z0-9]{1,64}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
FILTERS = ("template_name", "status", "started_after", "started_before", "tags")
# the Status filter values ListExecutions documents (an execution can also be Queued)
LIST_STATUS_FILTERS = ("Running", "Started", "Success", "Failed", "Waiting", "Cancelled", "Pending", "Skipped")
DETAILS = ("instances", "tasks", "logs")


def argument_spec():
    return dict(
        execution_ids=dict(type="list", elements="str"),
        template_name=dict(type="str"),
        status=dict(type="str", choices=["Started", "Queued", "Running", "Waiting", "Success", "Failed", "Cancelled"]),
        started_after=dict(type="str"),
        started_before=dict(type="str"),
        tags=dict(type="dict"),
        max_results=dict(type="int", default=100),
        include_instances=dict(type="bool", default=False),
        include_tasks=dict(type="bool", default=False),
        include_logs=dict(type="bool", default=False),
    )


def validate(p):
    """(None, [], None), or a ValidationError naming every problem, before any call."""
    problems = []
    if p["execution_ids"] is not None:
        problems += ["execution_ids[%d] %r is not an execution id (exec-...)" % (n, i)
                     for n, i in enumerate(p["execution_ids"]) if not EXECUTION_ID_RE.match(str(i))]
        given = [f for f in FILTERS if p[f]]
        if given:
            problems.append("execution_ids cannot be combined with %s" % ", ".join(given))
    for name in ("started_after", "started_before"):
        if p[name] is not None and not TIME_RE.match(p[name]):
            problems.append("%s must be a UTC time like 2026-11-21T08:00:00Z, got %r" % (name, p[name]))
    if not 1 <= p["max_results"] <= 1000:
        problems.append("max_results must be between 1 and 1000")
    if problems:
        raise ValidationError(problems)
    return None, [], None


def list_filtered(api, p):
    """The newest ``max_results`` executions that match the filters. A status ListExecutions does not take as
    a filter (``Queued``) is matched here, on a listing without the status filter."""
    here = p["status"] is not None and p["status"] not in LIST_STATUS_FILTERS
    params = {"TemplateName": p["template_name"], "Status": None if here else p["status"],
              "StartDateAfter": p["started_after"], "StartDateBefore": p["started_before"],
              "Tags": json_param(p["tags"]) if p["tags"] else None, "SortField": "StartDate",
              "SortOrder": "Descending", "MaxResults": 100 if here else min(100, max(10, p["max_results"]))}
    views = (execution_view(i) for i in paginate(lambda q: api.call("ListExecutions", q), params, ("Executions",)))
    return list(islice((v for v in views if not here or v["status"] == p["status"]), p["max_results"]))


def read_views(api, p):
    """(views, missing ids) of the executions asked for."""
    if p["execution_ids"] is None:
        return list_filtered(api, p), []
    ids, _repeated = dedupe(p["execution_ids"])
    found = get_executions(api, ids)
    return [found[i] for i in ids if found[i] is not None], [i for i in ids if found[i] is None]


def package_of(view):
    name = (view["parameters"] or {}).get("packageName") if isinstance(view["parameters"], dict) else None
    return name if isinstance(name, str) and name else None


def noecho_names(module, api, views):
    """{extension name: the parameters it marks secret (NoEcho)} for the extensions ``views`` configure."""
    names = sorted({package_of(v) for v in views} - {None})
    found = {}
    for outcome in run_bounded(lambda n: get_extension(api, n, with_constraints=False), names):
        if outcome.ok:
            found[outcome.item] = {s["name"] for s in outcome.value[1] if s["secret"]}
        elif not isinstance(outcome.error, ExtensionError):
            raise outcome.error
    return found


def parents_of(api, views):
    """{execution id: view} of the parents of the child executions among ``views``."""
    ids = sorted({v["parent_execution_id"] for v in views if v["parent_execution_id"]})
    return {i: v for i, v in get_executions(api, ids).items() if v is not None} if ids else {}


def secret_names(module, api, views, parents):
    """{execution id: the names of its secret parameters}: those its tags list, those the extension it
    configures marks NoEcho, and for a child execution its parent's."""
    executions = views + list(parents.values())
    noecho = noecho_names(module, api, executions)
    names = {v["execution_id"]: tagged_names(v["tags"]) | noecho.get(package_of(v), set()) for v in executions}
    for view in views:
        names[view["execution_id"]] |= names.get(view["parent_execution_id"], set())
    return names


def mask_secrets(module, api, views, redactor):
    """Mask the secret parameters of ``views`` (and remember the values of their parents' too);
    {execution id: names of its secret parameters}."""
    parents = parents_of(api, views)
    names = secret_names(module, api, views, parents)
    for parent in parents.values():
        redactor.mask(parent["parameters"], names[parent["execution_id"]])
    for view in views:
        view["parameters"] = redactor.mask(view["parameters"], names[view["execution_id"]])
    return names


def instance_results(api, view, redactor, names):
    """Per instance, from the child executions; the values of their secret parameters (``names``, the
    parent's, and those their own tags list) are remembered for the redaction."""
    results = {}
    for child in child_executions(api, view["execution_id"]):
        redactor.mask(child["parameters"], names | tagged_names(child["tags"]))
        results[instance_of(child) or child["execution_id"]] = dict(
            status=child["status"], status_message=child["status_message"], execution_id=child["execution_id"],
            outputs=child["outputs"])
    return results


def tasks_of(api, view):
    items = list_all(lambda q: api.call("ListTaskExecutions", q),
                     {"ExecutionId": view["execution_id"], "MaxResults": 100}, ("TaskExecutions",))
    return [dict(task_execution_id=t.get("TaskExecutionId", ""), task_name=t.get("TaskName", ""),
                 task_action=t.get("TaskAction", ""), status=t.get("Status", ""),
                 status_message=t.get("StatusMessage", ""), child_execution_id=t.get("ChildExecutionId", ""),
                 loop_item=t.get("LoopItem", ""), outputs=parse_json(t.get("Outputs")),
                 start_date=t.get("StartDate", ""), end_date=t.get("EndDate", "")) for t in items]


def logs_of(api, view):
    items = list_all(lambda q: api.call("ListExecutionLogs", q),
                     {"ExecutionId": view["execution_id"], "MaxResults": 100}, ("ExecutionLogs",))
    return [dict(timestamp=i.get("Timestamp", ""), message=i.get("Message", ""), log_type=i.get("LogType", ""),
                 task_execution_id=i.get("TaskExecutionId", "")) for i in items]


def add_details(api, p, views, redactor, names):
    """The instances, tasks and logs asked for, read concurrently for every view."""
    readers = dict(instances=lambda v: instance_results(api, v, redactor, names[v["execution_id"]]),
                   tasks=lambda v: tasks_of(api, v), logs=lambda v: logs_of(api, v))
    for key in DETAILS:
        if p["include_" + key]:
            for view, value in zip(views, run_all(readers[key], views)):
                view[key] = value


def main():
    module = AlicloudModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    module.validated(validate, p)
    api = module.api("oos")
    redactor = Redactor(on_secret=module.add_secret)
    try:
        views, missing = read_views(api, p)
        names = mask_secrets(module, api, views, redactor)
        add_details(api, p, views, redactor, names)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    summary = {}
    for view in views:
        summary[view["status"]] = summary.get(view["status"], 0) + 1
    module.exit_json(changed=False, executions=redactor.redact(views), missing_execution_ids=missing,
                     all_done=all(v["done"] for v in views), summary=summary)


if __name__ == "__main__":
    main()
