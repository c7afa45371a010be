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
    M(alibabacloud.ecs_ops.ecs_cloud_assistant_schedule)), or the one named O(name), with their frequency,
    targets, status, number of runs, last run and, for C(rate) schedules, next run.
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
      - Also list stopped invocations (earlier versions of replaced schedules, and schedules set absent).
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

- name: Show when each ran last
  ansible.builtin.debug:
    msg: "{{ found.schedules | map(attribute='name') | zip(found.schedules | map(attribute='last_run')) | list }}"
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
      description: The invocation status (C(Scheduled), C(Running), C(Pending) while it is active; C(Stopped) and
        others once it ended).
      type: str
    active:
      description: Whether it still runs (C(Pending), C(Running) or C(Scheduled)).
      type: bool
    frequency:
      description: The frequency, with its time zone.
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
    runs:
      description: How many times it ran, summed over its instances.
      type: int
    last_run:
      description: When it last started on any instance (UTC), or empty.
      type: str
    next_run:
      description: For an active C(rate) schedule, the last start plus the period (UTC); empty otherwise.
      type: str
    failed_instances:
      description: The instances whose last run failed.
      type: list
      elements: str
    created:
      description: When the invocation was created (UTC).
      type: str
    spec_digest:
      description: The digest of what defines the schedule.
      type: str
    parameters:
      description: The parameter values, as the JSON text the API returns.
      type: str
    username:
      description: The user it runs as (empty - the agent's default).
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


def main():
    module = AlicloudModule(argument_spec=dict(name=dict(type="str"), include_stopped=dict(type="bool", default=False)),
                            supports_check_mode=True)
    try:
        found = sch.find_schedules(module.api("ecs"), module.params["name"] or None)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    if not module.params["include_stopped"]:
        found = [v for v in found if v["status"] not in sch.STOPPED]
    module.exit_json(changed=False, schedules=found)


if __name__ == "__main__":
    main()
