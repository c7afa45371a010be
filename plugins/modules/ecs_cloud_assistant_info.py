#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ecs_cloud_assistant_info
short_description: Report the Cloud Assistant agent status of ECS instances
version_added: 0.1.0
description:
  - Reports, per instance, whether the Cloud Assistant agent is installed and online, its version and
    last heartbeat, and the instance's name, status and operating system.
  - Give O(instance_ids) to look at those instances, O(instance_tags) to look at the instances that carry
    some tags, or neither to list every instance in the region.
  - The result tells which instances can run commands and extension or patch executions right now
    (RV(ready_instance_ids)), which is what the roles use to decide where to act.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.attributes
  - alibabacloud.ecs_ops.attributes.info_module
options:
  instance_ids:
    description:
      - The instances to report on. Duplicates are dropped with a warning.
      - Instances that do not exist in the region are reported in RV(instances) with C(exists=false).
      - If neither this nor O(instance_tags) is set, every instance in the region is reported.
      - Mutually exclusive with O(instance_tags).
    type: list
    elements: str
  instance_tags:
    description:
      - Report the instances in the region that carry all of these tags (DescribeInstances with C(Tag) filters).
        An empty value matches any value of the key. At most 20 tags.
      - This is how the roles select their targets by tag.
      - Mutually exclusive with O(instance_ids).
    type: dict
  os_type:
    description:
      - Only report instances with this operating system type.
    type: str
    choices: [linux, windows]
seealso:
  - name: DescribeCloudAssistantStatus API
    description: The API this module calls for the agent status.
    link: https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-describecloudassistantstatus
"""

EXAMPLES = r"""
- name: Agent status of two instances
  alibabacloud.ecs_ops.ecs_cloud_assistant_info:
    region: cn-hangzhou
    instance_ids:
      - i-bp1g6zv0ce8oghu7****
      - i-bp1g6zv0ce8oghu8****
  register: agents

- name: Fail early if an instance cannot take commands
  ansible.builtin.assert:
    that: agents.not_ready_instance_ids | length == 0
    fail_msg: "Not ready: {{ agents.not_ready_instance_ids | join(', ') }}"

- name: The production web servers, selected by tag
  alibabacloud.ecs_ops.ecs_cloud_assistant_info:
    region: cn-hangzhou
    instance_tags:
      env: prod
      role: web
  register: web

- name: Every Linux instance in the region with an online agent
  alibabacloud.ecs_ops.ecs_cloud_assistant_info:
    region: cn-shanghai
    os_type: linux
  register: linux_agents

- name: Show them
  ansible.builtin.debug:
    var: linux_agents.ready_instance_ids
"""

RETURN = r"""
instances:
  description: One entry per instance, keyed by instance id.
  returned: always
  type: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
      sample: i-bp1g6zv0ce8oghu7****
    region:
      description: The region of the instance.
      type: str
      sample: cn-hangzhou
    zone:
      description: The zone of the instance (empty when it does not exist).
      type: str
      sample: cn-hangzhou-g
    exists:
      description: Whether the instance exists in the region.
      type: bool
      sample: true
    name:
      description: The instance name.
      type: str
      sample: web-1
    status:
      description: The instance status (C(Running), C(Stopped), ...); empty if it does not exist.
      type: str
      sample: Running
    os_type:
      description: C(linux) or C(windows).
      type: str
      sample: linux
    os_name:
      description: The operating system name, in English.
      type: str
      sample: Alibaba Cloud Linux 3.2104 LTS 64 bit
    tags:
      description: The instance's tags.
      type: dict
      sample: {env: prod, role: web}
    agent_installed:
      description: Whether the Cloud Assistant agent is installed (it has a version or has ever sent a heartbeat).
      type: bool
    agent_online:
      description: Whether the agent sent a heartbeat in the last two minutes.
      type: bool
    agent_version:
      description: The agent version; empty when it is not installed or not running.
      type: str
      sample: 2.2.3.857
    last_heartbeat_time:
      description: When the agent last sent a heartbeat (UTC).
      type: str
      sample: "2026-11-21T09:00:00Z"
    last_invoked_time:
      description: When the agent last ran a command (UTC).
      type: str
    active_task_count:
      description: Commands running on the instance now.
      type: int
    invocation_count:
      description: Commands the agent has run.
      type: int
    support_session_manager:
      description: Whether the agent supports Session Manager.
      type: bool
    ready:
      description: The instance is running and its agent is online, so it can take commands now.
      type: bool
    reason:
      description: Why the instance is not ready; empty when it is.
      type: str
      sample: the Cloud Assistant agent is not installed
ready_instance_ids:
  description: Instances that are running with an online agent, in input order (or region order).
  returned: always
  type: list
  elements: str
not_ready_instance_ids:
  description: The other instances, including those that do not exist.
  returned: always
  type: list
  elements: str
summary:
  description: Counts over the reported instances.
  returned: always
  type: dict
  sample: {total: 4, ready: 2, agent_offline: 1, agent_not_installed: 0, not_running: 0, not_found: 1}
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances, summarise
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    ValidationError,
    tag_problems,
    validate_instance_ids,
)


def argument_spec():
    return dict(
        instance_ids=dict(type="list", elements="str"),
        instance_tags=dict(type="dict"),
        os_type=dict(type="str", choices=["linux", "windows"]),
    )


def validate(params):
    """(the instance ids without repeats or None, warnings, None), or a ValidationError naming every problem."""
    if params["instance_tags"] is not None:
        problems = tag_problems(params["instance_tags"])
        if problems:
            raise ValidationError(problems)
    if params["instance_ids"] is None:
        return None, [], None
    instance_ids, warnings = validate_instance_ids(params["instance_ids"])
    return instance_ids, warnings, None


def read(module, instance_ids):
    """The views of the instances asked for (the ids, the tags, or the whole region), of ``os_type`` if given."""
    views = read_instances(module.api("ecs"), module.region, instance_ids, tags=module.params["instance_tags"])
    return [v for v in views.values() if not module.params["os_type"] or v["os_type"] == module.params["os_type"]]


def report(entries):
    return dict(
        changed=False,
        instances={e["instance_id"]: e for e in entries},
        ready_instance_ids=[e["instance_id"] for e in entries if e["ready"]],
        not_ready_instance_ids=[e["instance_id"] for e in entries if not e["ready"]],
        summary=summarise(entries),
    )


def main():
    module = AlicloudModule(argument_spec=argument_spec(), mutually_exclusive=[("instance_ids", "instance_tags")],
                            supports_check_mode=True)
    instance_ids = module.validated(validate, module.params)[0]
    try:
        entries = read(module, instance_ids)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    module.exit_json(**report(entries))


if __name__ == "__main__":
    main()
