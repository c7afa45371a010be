#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_extension_install
short_description: Install, update or uninstall an ECS extension on any number of instances
version_added: 0.1.0
description:
  - Puts an ECS extension (an OOS template of type C(Package), such as Node.js, Docker CE, nginx or BT Panel)
    at the right version with the right parameters on ECS instances, or removes it.
  - Reads what each instance has installed (C(ListInstancePackageStates)), whether it is running with an
    online Cloud Assistant agent, and whether its operating system is one the extension supports; then acts
    only where needed. A second run with the same input changes nothing and starts nothing.
  - With O(wait=true) (and not in check mode) the module reads while it acts. It reads every instance's state
    first, then what each instance has installed, and starts a region's batches, each of
    O(batch_size) instances, as soon as they are read, while the rest of the region is still read. The
    remaining instances of a region start when its reads are done. The instances that decide whether the task
    fails (unreachable, unsupported, or in another execution) are read before anything starts, so
    O(unreachable=fail) and O(busy=fail) still fail before any change. Check mode and O(wait=false) read every
    instance first.
  - Changes are made with the public OOS template C(ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL),
    one execution per batch of at most O(batch_size) instances, several executions at once.
  - Each instance is acted on at most once at a time, across runs and jobs. Before starting, the module lists
    the unfinished executions of the template in every target region. An instance already in one that makes
    the same change (same extension, action, version and non-secret parameters) is adopted; the module waits
    for that execution and reports its result, and starts nothing for the instance. An instance in one that
    does something else (another extension, an uninstall, another version) is handled as O(busy) says.
    A re-run after an interrupted run (a cancelled AWX job, a killed playbook) therefore adopts what still
    runs and starts only what is left, and two jobs that overlap never put one instance into two executions
    (see the user guide for the one case of two jobs starting in the same instant).
  - Every execution also carries a C(ClientToken) derived from its content, a second guard against starting
    a batch twice when the answer to a start is lost.
  - O(parameters) are checked against the extension's declared parameters before anything is started.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.oos_run
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details: Reads the current state and returns the plan per instance; makes no change.
  diff_mode:
    support: full
    details: Shows the installed version (or C(absent)) of each instance that changes, before and after.
options:
  name:
    description:
      - The extension. Either its template name (for example C(ACS-Extension-node-1853370294850618)), or a
        friendly name that matches exactly one extension ignoring case (C(node), C(Node.js), C(BT Panel), C(宝塔面板)).
      - An unknown or ambiguous name fails with the candidates.
    type: str
    required: true
  version:
    description:
      - The template version to install, such as C(v27). Defaults to the latest version.
    type: str
  state:
    description:
      - V(present) installs the extension where it is missing and leaves other versions alone.
      - V(latest) also updates instances that have an older version than O(version) (or than the latest).
      - V(absent) uninstalls it where it is installed.
    type: str
    choices: [present, latest, absent]
    default: present
  parameters:
    description:
      - Install parameters of the extension. M(alibabacloud.ecs_ops.oos_extension_info) lists them, in the
        C(parameters) of each of its RV(alibabacloud.ecs_ops.oos_extension_info#module:extensions), when called with
        O(alibabacloud.ecs_ops.oos_extension_info#module:include_parameters=true).
      - Values are checked against the declared type, allowed values, range, length and pattern; numbers and
        booleans given as strings are converted.
    type: dict
    default: {}
  secret_parameters:
    description:
      - Install parameters that are secret, such as a panel password. Same rules as O(parameters); the values
        are masked in every result and log line of this task, and are not part of the C(ClientToken).
      - The value is stored B(in clear) in the OOS execution's parameters, readable by anyone allowed
        C(oos:ListExecutions) in the region until the execution is deleted. The executions carry the tag
        C(ecs-ops-secret-parameters) with the names (never the values) of these parameters, so that
        M(alibabacloud.ecs_ops.oos_execution_info) masks them when it shows the execution.
      - To keep the value out of the execution, store it as an OOS encryption parameter (kept with KMS) and give
        the reference C({{oos-secret:NAME}}) as the value (write it as an C(!unsafe) string, Ansible templates
        C({{ }})). A reference is passed as is and not checked against the parameter's rules; OOS resolves it
        when the task runs. See "Where secret values are stored" in the user guide for what is confirmed.
    type: dict
    default: {}
  instance_ids:
    description:
      - The instances, any number. A list of instance ids in O(region), a list of C({instance_id, region}),
        or a dict of region to a list of instance ids. Duplicates are dropped with a warning.
    type: raw
    required: true
  force:
    description:
      - Reinstall (uninstall, then install O(version)) where the extension is already installed.
      - Not allowed with O(state=absent).
    type: bool
    default: false
  max_concurrent_executions:
    description:
      - Executions running at once while O(wait=true). With O(wait=false) every batch is started at once.
    type: int
    default: 10
  wait_timeout:
    description:
      - Seconds to wait for all executions, including the time spent waiting for busy instances and starting
        later batches. Every API call after the wait started is bounded by it (the reads that build the report
        get 5 more seconds).
      - The wait starts with the look-up of the running executions, right before the first batch starts. The
        installed versions of most instances are read after that, while the first batches run, so those reads
        count in it; instances not read when it passes are reported C(cancelled) with the reason.
      - A read that fails after its retries with an error that may pass (throttling, a 5xx answer, a dropped
        connection, a timeout) does not end the wait; only this deadline, or an error that will not go away
        (a permission, a bad request), does.
      - On timeout the task fails with everything known so far; instances whose batch never started are
        reported C(cancelled) with the reason.
    type: int
    default: 1800
  description:
    description:
      - A description to put on the executions (at most 200 characters).
    type: str
  unreachable:
    description:
      - What to do with instances the change cannot reach because they do not exist, are not running, or have
        no online Cloud Assistant agent (result C(unreachable)), or run an operating system the extension does
        not support (result C(unsupported)).
      - V(fail) fails the task before anything is started; V(skip) reports them and goes on.
    type: str
    choices: [fail, skip]
    default: fail
  reinstall_on_drift:
    description:
      - Reinstall (update to the target version with the asked parameters) where the extension is installed with
        other values of the O(parameters) given here than OOS recorded at install. Without it such an instance is
        C(unchanged), its RV(instances.drift) says what differs, and the task warns.
      - Only the values OOS records in the package state (C(ListInstancePackageStates) C(Parameters), what an
        install through OOS received) are compared, and only for the parameters given in O(parameters);
        O(secret_parameters) are never compared, defaults the task does not give are not compared, and a change
        made on the instance by hand is invisible.
    type: bool
    default: false
notes:
  - C(max_errors) applies per execution, so a fleet split into several batches can have more failures in
    total; the task fails if any instance failed.
  - Only executions of C(ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL) are looked for. An execution that
    selects its targets otherwise than by instance ids (by tag, resource group) is seen on the instances it has
    already reached.
  - Executions the task started keep running in OOS if the task is killed; the next run adopts them.
    O(cancel_on_timeout) cancels only executions this task started, never adopted ones. Two tasks that start a
    batch with exactly the same content share one execution through the C(ClientToken); both then report it
    as started by them.
  - The RAM actions needed are C(oos:GetTemplate), C(oos:ListTemplates), C(oos:ListInstancePackageStates),
    C(oos:StartExecution), C(oos:ListExecutions), C(oos:CancelExecution), C(ecs:DescribeInstances) and
    C(ecs:DescribeCloudAssistantStatus), plus what the template itself uses (see the user guide).
seealso:
  - module: alibabacloud.ecs_ops.oos_extension_info
  - module: alibabacloud.ecs_ops.oos_execution_info
  - name: Extensions overview
    description: Alibaba Cloud's guide to ECS extensions.
    link: https://www.alibabacloud.com/help/en/ecs/user-guide/extensions
"""

EXAMPLES = r"""
- name: Install Node.js 22 on two web servers
  alibabacloud.ecs_ops.oos_extension_install:
    region: cn-hangzhou
    name: node
    parameters:
      version: v22.13.1
    instance_ids:
      - i-bp1g6zv0ce8oghu7****
      - i-bp1g6zv0ce8oghu8****
  register: node

- name: Keep Docker CE at the latest version on a fleet in two regions, 20 instances at a time per batch
  alibabacloud.ecs_ops.oos_extension_install:
    name: ACS-Extension-DockerCE-1853370294850618
    state: latest
    instance_ids:
      cn-hangzhou: "{{ hangzhou_ids }}"
      cn-shanghai: "{{ shanghai_ids }}"
    rate_control:
      concurrency: 20
      max_errors: 5%
    unreachable: skip

- name: BT Panel with a secret password
  alibabacloud.ecs_ops.oos_extension_install:
    region: cn-hangzhou
    name: BT Panel
    parameters:
      username: ops
      port: 8888
    secret_parameters:
      password: "{{ vault_bt_password }}"
    instance_ids: [i-bp1g6zv0ce8oghu7****]

- name: BT Panel with the password kept in an OOS encryption parameter (never in the execution)
  alibabacloud.ecs_ops.oos_extension_install:
    region: cn-hangzhou
    name: BT Panel
    parameters:
      username: ops
    secret_parameters:
      password: !unsafe "{{oos-secret:bt-panel-password}}"
    instance_ids: [i-bp1g6zv0ce8oghu7****]

- name: Start without waiting, then follow the executions
  alibabacloud.ecs_ops.oos_extension_install:
    region: cn-hangzhou
    name: nginx
    instance_ids: "{{ web_ids }}"
    wait: false
  register: started

- name: Wait until every execution has finished
  alibabacloud.ecs_ops.oos_execution_info:
    region: cn-hangzhou
    execution_ids: "{{ started.executions | map(attribute='execution_id') | list }}"
  register: progress
  until: progress.executions | rejectattr('done') | list | length == 0
  retries: 60
  delay: 20

- name: Remove the extension
  alibabacloud.ecs_ops.oos_extension_install:
    region: cn-hangzhou
    name: nginx
    state: absent
    instance_ids: "{{ web_ids }}"
"""

RETURN = r"""
extension:
  description: The extension acted on.
  returned: always
  type: dict
  contains:
    name:
      description: The template name.
      type: str
      sample: ACS-Extension-node-1853370294850618
    display_name_en:
      description: The English display name.
      type: str
      sample: Node.js
    version:
      description: The target version (per region in RV(extension.versions) when regions differ).
      type: str
      sample: v27
    versions:
      description: The target version in each region.
      type: dict
      sample: {cn-hangzhou: v27}
    parameters:
      description: The declared install parameters (name, type, required, default, secret).
      type: list
      elements: dict
instances:
  description: One entry per instance, keyed by instance id, in input order.
  returned: always
  type: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
    region:
      description: The instance's region.
      type: str
    name:
      description: The instance name.
      type: str
    action:
      description: What was (or would be) done. C(none) when the instance is already right, C(skip) when it is
        unreachable or unsupported, C(unknown) when the task ended before the installed version was read.
      type: str
      sample: install
    result:
      description:
        - C(succeeded), C(failed), C(cancelled) (also for an instance whose batch never started, with a message
          that starts with C(not started:) and says why, for example the deadline), C(unchanged), C(unreachable)
          (missing, not running or no online agent) and C(unsupported) (an operating system the extension does
          not support), both with O(unreachable=skip), C(busy) (another execution works on it, with O(busy=skip),
          O(busy=fail) or O(wait=false)), C(pending) (started but not finished, with O(wait=false) or after a
          timeout), C(planned) (check mode).
      type: str
      sample: succeeded
    adopted:
      description: The instance's execution was not started by this task but found already making the same
        change (an earlier run, another job) and adopted.
      type: bool
    waited_for:
      description: Executions doing something else on the instance that the task waited for before acting.
      type: list
      elements: str
    drift:
      description:
        - The parameters given in O(parameters) whose value differs from what OOS recorded when the extension was
          installed, each with C(installed) and C(wanted). Empty when they match or nothing is installed.
      type: dict
      sample: {port: {installed: 80, wanted: 8080}}
    previous_version:
      description: The version installed before; empty if none.
      type: str
      sample: v19
    new_version:
      description: The version installed after (expected, in check mode); empty when absent.
      type: str
      sample: v27
    message:
      description: Why the action was chosen, why the instance is unreachable, or why it failed.
      type: str
      sample: not installed; will install v27
    output:
      description: What the extension's script reported, when it succeeded.
      type: str
      sample: install node v22.13.1 success
    configuration:
      description: Configuration the extension reports after install (for example a panel URL); values of
        keys that look secret are masked.
      type: raw
    execution_id:
      description: The execution (batch) that acted on the instance.
      type: str
    child_execution_id:
      description: The instance's child execution within it.
      type: str
executions:
  description: The executions started (or adopted from an earlier attempt), one per batch.
  returned: always
  type: list
  elements: dict
  contains:
    execution_id:
      description: The execution id.
      type: str
    region:
      description: Its region.
      type: str
    action:
      description: C(install), C(update) or C(uninstall).
      type: str
    instance_ids:
      description: The instances of the batch.
      type: list
      elements: str
    status:
      description: The last known status (C(Started), C(Running), C(Success), C(Failed), C(Cancelled), ...).
      type: str
    status_message:
      description: The status message; the reason when it failed.
      type: str
    adopted:
      description:
        - The execution was not created by this task's own start but found already making the change, by the
          lookup of unfinished executions (an earlier run, another job), or as the ClientToken replay of a
          start whose answer was lost.
      type: bool
    superseded_by:
      description:
        - Set when this task cancelled the execution right after starting it because an older execution of
          another job already worked on some of its instances (the two jobs started in the same instant);
          the id of that older execution.
      type: str
    client_token:
      description: The ClientToken it was started with; empty for an adopted execution.
      type: str
summary:
  description:
    - The plan (C(to_install), C(to_update), C(to_uninstall), C(drifted)) and how many instances ended with each result.
  returned: always
  type: dict
  sample: {total: 3, to_install: 1, to_update: 1, to_uninstall: 0, drifted: 0, succeeded: 2, failed: 0, cancelled: 0,
           unchanged: 1, unreachable: 0, unsupported: 0, busy: 0, pending: 0, planned: 0}
timed_out:
  description: Whether O(wait_timeout) passed before every execution finished.
  returned: always
  type: bool
"""

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.catalog import (
    STATE_READ_WORKERS,
    ExtensionError,
    get_extension,
    installed_packages,
    package_state,
    resolve_extension,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.plan import (
    MUTATING_ACTIONS,
    NONE,
    SKIP,
    UNKNOWN,
    Desired,
    plan,
    plan_diff,
    plan_instance,
    summarise_plan,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.install import (
    BULKY_TEMPLATE,
    execution_list,
    execution_summary,
    extension_intent,
    failure_message,
    instance_results,
    preview_messages,
    validate_options,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.stream import PlanStream
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._extensions.templates import platform_matches, validate_parameters
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import oos_run_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.batches import utc_now
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.runner import BusyError, Runner
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._secrets import secret_tags
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import MAX_TAGS, ValidationError


def argument_spec():
    return dict(
        oos_run_argument_spec(),
        name=dict(type="str", required=True),
        version=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "latest", "absent"]),
        parameters=dict(type="dict", default={}),
        secret_parameters=dict(type="dict", default={}, no_log=True),
        instance_ids=dict(type="raw", required=True),
        force=dict(type="bool", default=False),
        max_concurrent_executions=dict(type="int", default=10),
        wait_timeout=dict(type="int", default=1800),
        description=dict(type="str"),
        unreachable=dict(type="str", default="fail", choices=["fail", "skip"]),
        reinstall_on_drift=dict(type="bool", default=False),
    )


class Installer:
    """The module's side of the runner: batches, what an execution does, and planning again."""

    def __init__(self, module):
        self.module = module
        self.targets, self.p = module.validated(validate_options, module.params, module.region)
        for value in self.p["secret_parameters"].values():
            module.add_secret(value)
        self.home = module.region or next(iter(self.targets))
        self.batch_size = self.p["batch_size"]
        self.entries = {}
        self.views = {}
        self.planned_at = None     # when the reads the plan rests on began (UTC)

    def oos(self, region):
        return self.module.api("oos", region)

    # --- read -------------------------------------------------------------------------------
    def read_extension(self):
        """Resolve the extension in every region and check the parameters: fails the task on a problem of the
        extension or its parameters; API errors are raised."""
        try:
            view, specs = resolve_extension(self.oos(self.home), self.p["name"].strip(), self.p["version"])
            name = view["name"]
            versions = {self.home: view["version"]}
            others = [r for r in self.targets if r != self.home]
            read = run_all(lambda r: get_extension(self.oos(r), name, self.p["version"], with_constraints=False),
                           others)
            versions.update((region, found[0]["version"]) for region, found in zip(others, read))
        except ExtensionError as exc:
            candidates = exc.candidates
            self.module.fail_json(msg="Extension %s: %s%s" % (
                self.p["name"], exc, (" (candidates: %s)" % ", ".join(candidates)) if candidates else ""),
                candidates=candidates)
        for spec in specs:
            if spec["secret"] and spec["name"] in self.p["parameters"]:
                self.module.add_secret(self.p["parameters"][spec["name"]])
                self.module.warn("parameters.%s is secret for %s; pass it in secret_parameters" % (spec["name"], name))
        self.values = {}
        if self.p["state"] != "absent":
            requested = dict(self.p["parameters"], **self.p["secret_parameters"])
            self.values, problems = validate_parameters(specs, requested)
            if problems:
                self.module.fail_validation(ValidationError(problems), prefix="Invalid parameters for %s" % name)
        self.extension = dict(name=name, display_name_en=view["display_name_en"], version=versions[self.home],
                              versions=versions, parameters=[dict((k, s[k]) for k in (
                                  "name", "type", "required", "default", "secret")) for s in specs])
        self.platforms = view["constraints"]["os_platforms"]
        self.secret_names = sorted({s["name"] for s in specs if s["secret"]} | set(self.p["secret_parameters"]))
        extra = len(secret_tags(self.secret_names))
        if len(self.p["tags"] or {}) + extra > MAX_TAGS:
            self.module.fail_validation(ValidationError(["tags: at most %d tags here: the executions also carry %d "
                                                         "tag(s) naming the secret parameters" % (MAX_TAGS - extra, extra)]))

    def desired(self, region):
        wanted = {k: v for k, v in self.values.items() if k in self.p["parameters"] and k not in self.secret_names}
        return Desired(self.p["state"], self.extension["versions"][region], self.p["force"], self.platforms,
                       wanted=wanted, reinstall_on_drift=self.p["reinstall_on_drift"])

    def read_views(self):
        """Every instance's view (DescribeInstances and the agent status; regions read concurrently). The report
        keeps the input order: every instance has its place before it is planned."""
        self.planned_at = utc_now()
        regions = list(self.targets)
        for found in run_all(lambda r: read_instances(self.module.api("ecs", r), r, self.targets[r]), regions):
            self.views.update(found)
        self.entries = dict.fromkeys(i for ids in self.targets.values() for i in ids)

    def read_states(self, ids_by_region):
        """Read the installed version of the instances ``ids_by_region`` names (those that exist; regions read
        concurrently), plan them, and record the plans; {instance id: action} of those planned."""
        regions = [r for r, ids in ids_by_region.items() if ids]

        def read(region):
            ids = ids_by_region[region]
            existing = [i for i in ids if self.views[i]["exists"]]
            return plan(self.desired(region), {i: self.views[i] for i in ids},
                        installed_packages(self.oos(region), existing, self.extension["name"]))

        planned = {}
        for entries in run_all(read, regions):
            planned.update(entries)
        self.accept(planned)
        return {i: e["action"] for i, e in planned.items()}

    def read_fleet(self):
        """Every instance's view and installed version, and the plan per instance (check mode, wait=false)."""
        self.read_views()
        self.read_states(self.targets)

    def accept(self, planned):
        """Record planned entries with their result so far; the work ({instance id: (region, action)}) they need."""
        for instance_id, entry in planned.items():
            if entry["action"] == SKIP:
                result = "unsupported" if entry["unsupported"] else "unreachable"
            else:
                result = "unchanged" if entry["action"] == NONE else "planned"
            entry.update(result=result, execution_id="", child_execution_id="", output="", configuration="",
                         adopted=False, waited_for=[])
            self.entries[instance_id] = entry
        return {i: (e["region"], e["action"]) for i, e in planned.items() if e["action"] in MUTATING_ACTIONS}

    # --- reading while acting -------------------------------------------------------------------
    def stream(self, deadline):
        """The runner's work source: the package states read while batches start (``_extensions.stream``); each
        read is bounded by ``deadline()`` (the runner's, which counts from its lookup)."""
        order = {r: [i for i in ids if self.views[i]["exists"]] for r, ids in self.targets.items()}
        name = self.extension["name"]
        return PlanStream(order, self.first, lambda r, i: package_state(self.oos(r), i, name, deadline()),
                          lambda r, i, installed: plan_instance(self.desired(r), self.views[i], installed),
                          self.accept, self.batch_size, STATE_READ_WORKERS)

    def first(self, covered):
        """What is planned before anything starts: the missing instances (no read), those not ready or of another
        OS (whether they are unreachable depends on what they have installed) and those the lookup shows in
        unfinished executions (busy=fail fails on them). unreachable=fail fails here (``Unreachable``).
        ``(planned ids, work)``."""
        platforms = self.platforms
        chosen = {r: [i for i in ids if not self.views[i]["exists"] or self.views[i]["reason"] or i in covered
                      or not platform_matches(platforms, self.views[i]["os_type"], self.views[i]["os_name"])]
                  for r, ids in self.targets.items()}
        actions = self.read_states(chosen)
        skipped = [self.entries[i] for i, action in actions.items() if action == SKIP]
        if skipped and self.p["unreachable"] == "fail":
            raise Unreachable(skipped)
        return set(actions), {i: (self.entries[i]["region"], a) for i, a in actions.items() if a in MUTATING_ACTIONS}

    def read_rest(self):
        """Plan the instances not planned yet (a task that fails before anything starts shows the whole plan); a
        read that fails leaves them unread."""
        try:
            self.read_states({r: [i for i in ids if self.entries[i] is None] for r, ids in self.targets.items()})
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.unread(describe(exc)[0])

    def unread(self, why):
        """The report of the instances whose package state was never read (the task ended first)."""
        for instance_id, entry in self.entries.items():
            if entry is None:
                view = self.views[instance_id]
                self.entries[instance_id] = dict(
                    instance_id=instance_id, region=view["region"], name=view.get("name", ""), action=UNKNOWN,
                    previous_version="", new_version="", message="not started: its package state was not read: %s"
                    % why, unreachable=False, unsupported=False, drift={}, result="cancelled", execution_id="",
                    child_execution_id="", output="", configuration="", adopted=False, waited_for=[])

    # --- the runner's side --------------------------------------------------------------------
    def batch(self, region, action, ids):
        """(template parameters, token content) of one execution."""
        rate = self.p["rate_control"]
        version = self.extension["versions"][region] if action != "uninstall" else ""
        values = self.values if action != "uninstall" else {}
        parameters = {
            "regionId": region, "action": action, "packageName": self.extension["name"],
            "packageVersion": version, "parameters": values,
            "targets": {"Type": "ResourceIds", "ResourceIds": list(ids), "RegionId": region},
            "rateControl": {"Mode": "Concurrency", "Concurrency": rate["concurrency"],
                            "MaxErrors": rate["max_errors"]},
            "OOSAssumeRole": "",
        }
        public = {k: v for k, v in values.items() if k not in self.secret_names}
        content = dict(template=BULKY_TEMPLATE, region=region, action=action, package=self.extension["name"],
                       version=version, parameters=public, secret_names=self.secret_names,
                       rate=parameters["rateControl"],
                       observed={i: self.entries[i]["previous_version"] for i in ids})
        return parameters, content

    @staticmethod
    def intent(parameters, secret_names):
        return extension_intent(parameters, secret_names)

    def replan(self, region, ids):
        """After an execution these instances waited for ended: read them again and plan."""
        installed = installed_packages(self.oos(region), ids, self.extension["name"])
        fresh = plan(self.desired(region), {i: self.views[i] for i in ids}, installed)
        actions = {}
        for instance_id, entry in fresh.items():
            fields = ("action", "previous_version", "new_version", "message")
            self.entries[instance_id].update((k, entry[k]) for k in fields)
            actions[instance_id] = entry["action"] if entry["action"] in MUTATING_ACTIONS else None
        return actions

    def runner(self, source=None):
        p = self.p
        return Runner(self.oos, BULKY_TEMPLATE, self, p["max_concurrent_executions"], p["wait_timeout"],
                      p["poll_interval"], wait=p["wait"], on_busy=p["busy"], user_token=p["client_token"],
                      tags=p["tags"], description=p["description"], secret_names=self.secret_names,
                      progress=self.module.progress.say, planned_at=self.planned_at, source=source)

    def work(self):
        return {i: (e["region"], e["action"]) for i, e in self.entries.items() if e["action"] in MUTATING_ACTIONS}


class Unreachable(Exception):
    """unreachable=fail and some instances cannot take the change: the task fails before anything starts."""

    def __init__(self, entries):
        super().__init__("%d unreachable or unsupported instance(s)" % len(entries))
        self.entries = entries


def fail_unreachable(module, entries, unreachable, base):
    counts = summarise_plan(entries.values())
    module.fail_json(msg="%d instance(s) cannot take the change (%d unsupported, %d unreachable): %s. Fix them, "
                     "or set unreachable=skip" % (len(unreachable), counts["unsupported"], counts["unreachable"],
                                                  failure_message(unreachable)),
                     summary=execution_summary(entries, counts), **base)


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    installer = Installer(module)
    # Check mode and wait=false read the whole plan first; a waiting run reads while it acts (the package states
    # are read while the first batches run; see docs/architecture.md, "Reading while acting").
    streaming = module.params["wait"] and not module.check_mode
    # The reads raise; an API error that ends the task becomes fail_api here, once.
    try:
        installer.read_extension()
        if streaming:
            installer.read_views()
        else:
            installer.read_fleet()
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc)
    entries, extension = installer.entries, installer.extension
    base = dict(instances=entries, executions=[], extension=extension, timed_out=False)
    if streaming:
        run_streaming(module, installer, base)
    counts = summarise_plan(entries.values())
    diff = plan_diff(entries.values())
    unreachable = [e for e in entries.values() if e["action"] == SKIP]
    if unreachable and module.params["unreachable"] == "fail":
        fail_unreachable(module, entries, unreachable, base)
    warn_drift(module, entries, extension)
    work = installer.work()
    runner = installer.runner()
    try:
        if module.check_mode:
            if work:
                preview_messages(runner.preview(work), entries, module.params["busy"])
            module.exit_json(changed=bool(work), summary=execution_summary(entries, counts), diff=diff, **base)
        if not work:
            module.exit_json(changed=False, summary=execution_summary(entries, counts), diff=diff, **base)
        runner.run(work)
    except BusyError as exc:
        fail_busy(module, exc, entries, counts, base)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc, summary=execution_summary(entries, counts), **base)
    report(module, installer, runner, base, counts, diff)


def run_streaming(module, installer, base):
    """Read while acting: look up what runs, plan what must be decided before anything starts, then start each
    region's batches as its package states are read. Ends the task."""
    entries = installer.entries
    stream = installer.stream(lambda: runner.deadline)
    runner = installer.runner(source=stream)
    try:
        runner.run({})
    except (Unreachable, BusyError) as exc:
        # Nothing started anywhere: read the rest, so that the failure shows the whole plan, as check mode does.
        stream.close()
        installer.read_rest()
        if isinstance(exc, Unreachable):
            fail_unreachable(module, entries, exc.entries, base)
        fail_busy(module, exc, entries, summarise_plan(entries.values()), base)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        stream.close()
        installer.unread("the task failed before: %s" % describe(exc)[0])
        module.fail_api(exc, summary=execution_summary(entries, summarise_plan(entries.values())), **base)
    installer.unread(runner.stopped or ("wait_timeout passed first" if runner.timed_out else "the task ended first"))
    warn_drift(module, entries, installer.extension)
    report(module, installer, runner, base, summarise_plan(entries.values()), plan_diff(entries.values()))


def warn_drift(module, entries, extension):
    drifted = [e for e in entries.values() if e["drift"] and e["action"] == NONE]
    if drifted:
        module.warn("%d instance(s) have %s installed with other parameters than asked; reinstall_on_drift=true "
                    "applies them: %s" % (len(drifted), extension["name"], failure_message(drifted, 5)))


def fail_busy(module, exc, entries, counts, base):
    for instance_id, ids in exc.busy.items():
        entries[instance_id].update(result="busy", message="busy with %s; nothing was started" % ", ".join(ids))
    module.fail_json(msg="%s. Nothing was started; set busy=wait to wait for them, or busy=skip" % exc,
                     summary=execution_summary(entries, counts), **base)


def report(module, installer, runner, base, counts, diff):
    """The end of a run that started or adopted executions: the per-instance results, and the task's outcome."""
    entries = installer.entries
    children, cancelled, warnings = runner.finish(module.params["cancel_on_timeout"])
    for warning in warnings:
        module.warn(warning)
    instance_results(runner, entries, children, module.params["wait"])
    result = dict(base)
    result.update(changed=any(b.started for b in runner.batches), executions=execution_list(runner, cancelled),
                  summary=execution_summary(entries, counts), timed_out=runner.timed_out, diff=diff)
    if runner.transient_errors:
        module.warn("%d read(s) or start(s) failed after their retries and were tried again: %s" % (
            len(runner.transient_errors), runner.transient_errors[-1]))
    if runner.timed_out:
        unfinished = list(cancelled) or [b.execution_id for b in runner.batches if b.started and not b.done]
        module.fail_json(msg="Timed out after %ss waiting for %d execution(s)%s%s" % (
            module.params["wait_timeout"], len(unfinished), (": " + ", ".join(unfinished)) if unfinished else "",
            "; cancelled them" if cancelled else ""), **result)
    unread = [b for b in runner.batches if b.started and b.error is not None]
    if unread:
        module.fail_json(msg="Could not read the status of %d execution(s) (%s): %s. Their instances are reported "
                         "as pending; follow them with oos_execution_info" % (
                             len(unread), ", ".join(b.execution_id for b in unread), unread[0].error[0]), **result)
    if runner.stop_kind == "read_error":
        module.fail_json(msg="%s%s. Nothing more was started; the %d execution(s) started before are reported with "
                         "their instances" % (runner.stopped[0].upper(), runner.stopped[1:].rstrip("."),
                                              len([b for b in runner.batches if b.started])), **result)
    failed = [e for e in entries.values() if e["result"] in ("failed", "cancelled")]
    if failed:
        module.fail_json(msg="%d of %d instance(s) failed: %s" % (len(failed), len(entries), failure_message(failed)),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
