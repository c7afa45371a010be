#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_cloud_assistant_schedule_info
short_description: List the periodic Cloud Assistant tasks managed by ecs_cloud_assistant_schedule
version_added: 0.1.0
description:
  - Lists the schedules of a region (the invocations tagged C(ecs-ops-schedule) by
    M(alibabacloud.ecs_ops.ecs_cloud_assistant_schedule)), or the one named O(name), with their frequency, time
    zone, targets, status, per-instance results, number of runs, last run and (for C(rate) and C(at) schedules)
    next run.
  - Everything comes from DescribeInvocations (C(Timed=true), and C(Timed=false) with O(include_stopped)). The API
    has no next-run time; RV(schedules[].next_run) is computed from the documented rules and left empty where the API
    data cannot tell it.
  - Parameter values named in the C(ecs-ops-secret-parameters) tag are masked.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
  - alibabacloud.ecs_ops.attributes.info_module
options:
  name:
    description:
      - Only the schedule of this name.
    type: str
  include_stopped:
    description:
      - Also list the invocations that ended - earlier versions of replaced schedules, schedules set absent,
        one-shot schedules that ran.
    type: bool
    default: false
notes:
  - RAM action used - C(ecs:DescribeInvocations).
seealso:
  - module: alibabacloud.ecs_ops.ecs_cloud_assistant_schedule
"""

EXAMPLES = r"""
- name: List the schedules of the region
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule_info:
    region: cn-hangzhou
  register: found

- name: Show when each ran last and runs next
  ansible.builtin.debug:
    msg: "{{ item.name }}: last {{ item.last_run or 'never' }}, next {{ item.next_run or 'see its frequency' }}"
  loop: "{{ found.schedules }}"
  loop_control:
    label: "{{ item.name }}"

- name: Fail when the last run of the nightly cleanup failed somewhere
  alibabacloud.ecs_ops.ecs_cloud_assistant_schedule_info:
    region: cn-hangzhou
    name: nightly-log-cleanup
  register: cleanup
  failed_when: cleanup.schedules | map(attribute='failed_instances') | flatten | length > 0
"""

RETURN = r"""
schedules:
  description: One entry per invocation, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The schedule's name.
      type: str
    invoke_id:
      description: The invocation id.
      type: str
    status:
      description: The invocation status (C(Scheduled), C(Running), C(Pending) while it is active; C(Stopped),
        C(Success) and others once it ended).
      type: str
    active:
      description: Whether it still runs (C(Pending), C(Running) or C(Scheduled)).
      type: bool
    repeat_mode:
      description: C(Period), C(EveryReboot) or C(NextRebootOnly).
      type: str
    frequency:
      description: The frequency, with its time zone; empty for the reboot modes.
      type: str
    timezone:
      description: The time zone ending the frequency, or empty (a cron schedule then uses the instance's).
      type: str
    command_id:
      description: The command's id.
      type: str
    command_name:
      description: The command's name (C(ecs-ops-schedule-NAME) for an inline command).
      type: str
    command_type:
      description: The command's type.
      type: str
    command:
      description: The command's content.
      type: str
    instance_ids:
      description: The instances it runs on.
      type: list
      elements: str
    instances:
      description: Per instance, as DescribeInvocations gives it - C(instance_id), C(status), C(result) (the
        collection's vocabulary - C(scheduled), C(failed), C(succeeded) ...), C(runs), C(exit_code) and
        C(error_code)/C(error_info) of the latest run, C(last_start), C(last_finish), C(stopped).
      type: list
      elements: dict
    runs:
      description: How many times it ran, summed over its instances.
      type: int
    last_run:
      description: When it last started on any instance (UTC), or empty.
      type: str
    next_run:
      description:
        - For an active C(rate) schedule, the next multiple of the period after the creation time that follows the
          last run (UTC); for an C(at) schedule that has not run, its time (UTC). Empty otherwise.
      type: str
    failed_instances:
      description: The instances whose latest run failed.
      type: list
      elements: str
    created:
      description: When the invocation was created (UTC).
      type: str
    spec_digest:
      description: The digest of what defines the schedule.
      type: str
    parameters:
      description: The parameter values, secret ones masked.
      type: dict
    secret_parameter_names:
      description: The names of the secret parameters (their values are masked).
      type: list
      elements: str
    username:
      description: The user it runs as.
      type: str
    timeout:
      description: Seconds one run may take.
      type: int
    working_dir:
      description: The working directory.
      type: str
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._cloud_assistant import schedules as sch
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import Redactor


def argument_spec():
    return dict(name=dict(type="str"), include_stopped=dict(type="bool", default=False))


def read(module):
    """The schedules named ``name`` (or all), only the active ones unless ``include_stopped``; secrets masked."""
    redactor = Redactor(on_secret=module.add_secret)
    found = sch.find_schedules(module.api("ecs"), redactor, module.params["name"] or None,
                               ended=module.params["include_stopped"])
    return [v for v in found if module.params["include_stopped"] or v["active"]]


def main():
    module = AlicloudModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        found = read(module)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    module.exit_json(changed=False, schedules=[sch.public(v) for v in found])


if __name__ == "__main__":
    main()
