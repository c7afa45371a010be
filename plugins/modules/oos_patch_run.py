#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oos_patch_run
short_description: Scan ECS instances for patches or install them in batches, with snapshots and a reboot policy
version_added: 0.1.0
description:
  - Runs the public OOS template C(ACS-ECS-BulkyApplyPatchBaseline) on any number of instances, in executions of
    at most O(batch_size) instances, across regions. Each instance is scanned or patched with the default patch
    baseline of its operating system (see M(alibabacloud.ecs_ops.oos_patch_baseline) with O(alibabacloud.ecs_ops.oos_patch_baseline#module:default=true)).
  - Before anything starts, every instance is checked (exists, running, Cloud Assistant agent online); see O(unreachable).
  - Returns per instance the patch counts before and after, the patches installed, whether a reboot is still
    needed, the snapshot ids, the execution ids, and whether the instance is compliant.
  - With O(canary=true) the first execution pauses after its first wave of O(rate_control.concurrency) instances;
    when all of them succeeded the rest is approved, otherwise everything is cancelled and the task fails.
  - Each instance is patched or scanned at most once at a time, across runs and jobs. Before starting, the module
    lists the unfinished executions of the template in every target region. An instance already in one with
    the same action (scan or install) is adopted; the module waits for it and reports its result. An instance
    in one with the other action is handled as O(busy) says. A re-run after an interrupted run adopts what
    still runs (a paused canary of the earlier run included, which is judged and approved or cancelled) and
    starts only what is left; two overlapping jobs never patch one instance twice at once.
author:
  - alibabacloud.ecs_ops maintainers (@alibabacloud-ecs-ops)
extends_documentation_fragment:
  - alibabacloud.ecs_ops.connection
  - alibabacloud.ecs_ops.oos_run
  - alibabacloud.ecs_ops.attributes
attributes:
  check_mode:
    support: full
    details:
      - Starts nothing. A scan returns the last known patch state; an install reports, from the last scan, which
        instances have missing patches and lists them in the C(missing_patches) of each entry in RV(instances), and
        which it would leave C(held) (O(rolled_back)).
  diff_mode:
    support: none
    details: The per-instance before and after counts are in RV(instances).
options:
  action:
    description: C(scan) records the patch state and changes nothing on the instances; C(install) installs the approved missing patches.
    type: str
    choices: [scan, install]
    required: true
  instance_ids:
    description:
      - The instances, any number. A list of instance ids in O(region), a list of C({instance_id, region}),
        or a dict of region to a list of instance ids. Duplicates are dropped with a warning.
    type: raw
    required: true
  reboot:
    description:
      - What happens to instances whose installed patches need a reboot. The template offers one switch,
        C(rebootIfNeed), so this is what OOS can do.
      - V(if_required) has each execution reboot such an instance right after installing, inside the batch (so
        within the window and the zone budget), then scan it again; it becomes compliant.
      - V(never) leaves those patches C(InstalledPendingReboot); the instance reports RV(instances.reboot_required)
        and is not compliant. A later install with V(never) or V(later) does not start on an instance whose only
        issue is the pending reboot (C(unchanged)); one with V(if_required) reboots it.
      - V(later) is V(never) for OOS, for a reboot done by a separate step (the role's hooks, a later window with
        V(if_required), or your own playbook); the instances to reboot are in RV(reboot_pending).
      - V(always) reboots every instance the batch patched, whether its patches need it or not, inside the batch
        (so within the window, the zone budget and the failure budget) and before O(post_hook). The execution runs
        with C(rebootIfNeed) (OOS reboots the instances whose patches need it, as with V(if_required)); when it has
        ended, the module reboots through C(RebootInstance) each instance whose install succeeded and that the
        execution did not reboot (its child execution has no succeeded C(ACS::ECS::RebootInstance) task; when that
        cannot be read, the instance is rebooted anyway), several at once, and waits until it is C(Running) with its
        Cloud Assistant agent online. An instance whose reboot failed or that is not back by O(wait_timeout) is
        C(failed) (the message names the step and the reason), counts in O(max_failure_percent) and gets no
        O(post_hook). Instances with nothing to install are C(unchanged) and not rebooted, so a re-run on a patched
        fleet reboots nothing. RV(instances.rebooted) says which were rebooted. Needs O(wait=true).
      - With V(always) or O(post_hook), each instance of a batch is tagged C(ecs-ops-patch-steps=pending STEPS until
        TIME) right before its execution starts and C(ecs-ops-patch-steps=done) once the reboot and the post-hook ran
        on its batch, so a run killed in between is noticed by the next one. An install run that finds an instance
        compliant with that tag still pending after TIME (the killed task's O(wait_timeout) plus 10 seconds) reboots
        it (V(always)) and runs O(post_hook), in groups of at most O(batch_size), then tags it done; before TIME it
        leaves it to the task that may still be running and says so. See docs/patching.md.
      - Default V(never), or V(if_required) with O(reboot_if_need=true).
    type: str
    choices: [if_required, never, later, always]
  reboot_if_need:
    description:
      - The older form of O(reboot) (V(true) is O(reboot=if_required), V(false) is O(reboot=never)); not together
        with O(reboot).
    type: bool
  create_snapshot:
    description: Snapshot the system disk of each instance before installing.
    type: bool
    default: false
  snapshot_retention_days:
    description: Days (1 to 65536) the snapshots are kept.
    type: int
    default: 7
  max_concurrent_executions:
    description: Executions running at once.
    type: int
    default: 5
  canary:
    description: Run the first wave of the first execution, check it, then approve the rest (or cancel and fail).
    type: bool
    default: false
  force:
    description:
      - With O(action=install), also run on instances that the latest scan shows compliant (no missing, failed or
        pending-reboot patch). Without it they are C(unchanged), no execution runs on them and no snapshot is
        taken, so a re-run on a patched fleet starts nothing.
      - Instances never scanned are always patched.
    type: bool
    default: false
  rolled_back:
    description:
      - What an install does with an instance that carries the tag C(ecs-ops-rolled-back), which
        M(alibabacloud.ecs_ops.oos_patch_rollback) puts on an instance it reset to its pre-patch snapshot (the value
        is the snapshot id).
      - V(skip) leaves it alone, whatever its patch state and O(force), so a second round the same night does not
        patch again what just failed (and, in a round that rolls failures back, stop, reset and start it again). It
        is reported C(held), with the tag and the snapshot in its message; no execution, hook or snapshot touches
        it, it is not counted in O(max_failure_percent) (neither as a failure nor among the instances the budget is
        a percentage of) and does not fail the task; it keeps the compliance of its last scan (a rolled-back instance
        is not compliant). Check mode reports it the same way. To release it after investigating, remove the tag
        from the instance (or give V(patch) for one run).
      - V(patch) installs on it like on any other instance (the tag stays until someone removes it).
      - Scans (O(action=scan)) run on every instance, tagged or not.
    type: str
    choices: [skip, patch]
    default: skip
  unreachable:
    description:
      - What to do with instances that do not exist, are not running or have no online Cloud Assistant agent.
      - V(fail) fails the task before anything is started; V(skip) reports them C(unreachable) and goes on.
    type: str
    choices: [fail, skip]
    default: fail
  wait_timeout:
    description:
      - Seconds to wait for everything, including the canary, busy instances and the starts of later batches.
        Every API call after the wait started is bounded by it (the reads that build the report get 5 more
        seconds).
      - A read that fails after its retries with an error that may pass (throttling, a 5xx answer, a dropped
        connection, a timeout) does not end the wait; only this deadline, or an error that will not go away,
        does. On timeout the task fails with all that is known; instances whose batch never started are
        reported C(cancelled) with the reason.
    type: int
    default: 3600
  window:
    description:
      - A maintenance window. Outside it (or in its last O(window_margin)) the task starts nothing and changes
        nothing; every instance with work is C(deferred) and RV(msg) says when the next window opens. Inside it,
        batches start until O(window_margin) before its end; instances whose batch could not start by then are
        C(deferred) (not a failure; the next run in the next window picks them up). What runs then is handled
        as O(window_end) says.
      - The window is judged against the real current time (UTC) of the host running the module, once, when the
        task starts; the last start time is then kept on a monotonic clock, so a clock change during the run
        does not move it.
      - In check mode the result says whether the window is open now and, per instance, what the run would do in
        the window (C(deferred) with the plan in its message when it is closed now).
    type: dict
    suboptions:
      start:
        description:
          - The local time the window opens, C(HH:MM) (24-hour clock) in O(window.timezone).
          - A start that does not exist on a day (the clocks jump over it in spring) opens the window at the
            instant it would have been, which the clock shows one hour later; a start that happens twice (autumn)
            opens it at the first.
        type: str
        required: true
      duration:
        description:
          - How long the window stays open, in elapsed time, with a unit, for example C(4h), C(90m), C(1h30m),
            C(2d) (1m to 7d). A window may cross midnight; it belongs to the day it opens. On the night the clocks
            change, a C(4h) window lasts four real hours (the clock shows three or five).
        type: str
        required: true
      days:
        description:
          - The days the window opens on, in O(window.timezone). C(mon) ... C(sun), full names, or ranges such as
            C(mon-fri) or C(fri-mon). Default every day.
        type: list
        elements: str
      timezone:
        description:
          - An IANA time zone name such as C(Asia/Shanghai) (needs Python 3.9+ and a time zone database on the
            host running the module, the system one or the C(tzdata) Python package), C(UTC), or a fixed offset
            such as C(+08:00).
        type: str
        default: UTC
  window_margin:
    description:
      - No batch starts within this time of the window's end (a duration such as C(15m), C(1h), C(0)). Set it to
        about the time one batch takes, so that batches end inside the window. Must be shorter than
        O(window.duration).
    type: str
    default: 15m
  window_end:
    description:
      - What happens to the executions still running when the window ends.
      - V(finish) lets them finish after the end.
      - V(cancel) cancels the executions this task started (never adopted ones) at the end; instances they had
        not reached are C(deferred); instances they were patching are C(cancelled) (their patches may be partly
        installed) and fail the task. Needs O(wait=true).
    type: str
    choices: [finish, cancel]
    default: finish
  max_failure_percent:
    description:
      - The failure budget of the whole run, across batches, in percent (0 to 100) of the instances it starts
        on. Once more instances failed than that (rounded down, 10% of 25 allows 2), no further batch starts
        (running ones finish); the instances not started are C(cancelled) with the reason and the task fails
        with C(Failure budget exceeded). Failures within the budget do not fail the task.
      - Failures are counted from the executions' counters while they run. O(rate_control.max_errors) still
        stops a single execution; set it (for example to C(100%)) to let an execution go on past a failure and
        leave the decision to this budget. Default no budget (any failure fails the task). Needs O(wait=true).
    type: float
  zone_disruption_budget:
    description:
      - The disruption budget per zone (the C(ZoneId) of each instance), at most this many of a zone's
        instances in running batches at once, as a number (C(2)) or a percentage of the zone's reachable
        instances in O(instance_ids) (C(25%), rounded down, at least 1).
      - Batches are formed and started so that no zone exceeds it. An instance counts from the start of its
        batch until the whole batch ended, so the budget holds even while a batch reboots its instances;
        instances of zones at their budget wait for running batches to end. Instances in executions of other
        jobs are not counted. Needs O(wait=true).
    type: raw
  pre_hook:
    description:
      - A script run through Cloud Assistant on the instances of each batch right before its execution starts (for
        example to drain the instance from a load balancer or stop a service). Only with O(action=install), and only
        around executions this task starts (an adopted execution already runs).
      - An instance where the script does not exit 0 (non-zero exit code, its timeout, not delivered, no result
        before O(wait_timeout)) is not patched; its result is C(skipped) with the reason and the end of the output in
        RV(instances.hooks) (C(pre)). Skipped instances do not fail the task (the task warns about them).
      - The batch's execution starts as soon as the script finished on all of its instances, so the time between
        the hook and the install is short; the hook runs once per batch, never for all targets at once.
    type: dict
    suboptions:
      command:
        description:
          - The script, at most 24 KB after Base64 encoding. It takes no parameters of its own; built-in
            parameters such as C({{ACS::InstanceId}}) and references to OOS parameters (C({{oos:NAME}}),
            C({{oos-secret:NAME}})) are resolved by Cloud Assistant on the instance.
          - The script is visible in the Cloud Assistant invocation records, so put no secret in it; refer to an OOS
            encrypted parameter as C({{oos-secret:NAME}}) instead.
        type: str
        required: true
      type:
        description: The command type; default from each instance's OS (V(RunShellScript) on Linux,
          V(RunPowerShellScript) on Windows). A fixed type that cannot run on some target fails the task before
          anything starts.
        type: str
        choices: [RunShellScript, RunPowerShellScript, RunBatScript]
      timeout:
        description: Seconds the script may run on an instance (10 to 86400). The wait for its results is this
          plus 60 seconds for delivery, and never goes past O(wait_timeout).
        type: int
        default: 300
      working_dir:
        description: The directory the script runs in.
        type: str
  post_hook:
    description:
      - A script run through Cloud Assistant on the instances of each batch whose patching succeeded, right after the
        batch's execution ended, so after its reboot when one was needed (O(reboot=if_required)), for example a health check,
        starting a service again, putting the instance back into a load balancer. With O(reboot=always) it runs after
        the module's reboot, only on the instances that came back. Same suboptions as O(pre_hook).
      - An instance where the script does not exit 0 becomes C(failed) (its patches stay installed) with the reason
        and the output in RV(instances.hooks) (C(post)); it counts in O(max_failure_percent). Instances whose patching
        failed get no post-hook, so an instance drained by the pre-hook stays out of service until someone looks.
    type: dict
    suboptions:
      command:
        description: The script (see O(pre_hook.command)).
        type: str
        required: true
      type:
        description: The command type (see O(pre_hook.type)).
        type: str
        choices: [RunShellScript, RunPowerShellScript, RunBatScript]
      timeout:
        description: Seconds the script may run (see O(pre_hook.timeout)).
        type: int
        default: 300
      working_dir:
        description: The directory the script runs in.
        type: str
notes:
  - Executions the task started keep running in OOS if the task is killed; the next run adopts them.
    O(cancel_on_timeout) cancels only executions this task started, never adopted ones. Two tasks that start a
    batch with exactly the same content share one execution through the C(ClientToken); both then report it
    as started by them.
  - The task fails if any instance failed or was cancelled (with O(max_failure_percent), if the budget was
    exceeded or any instance was cancelled). C(max_errors) applies per execution. Instances C(deferred) by the
    window and instances C(held) after a rollback (O(rolled_back)) do not fail the task (the task warns about
    the held ones).
  - An install reports C(changed=true) when it started an execution (which may snapshot and reboot instances),
    or an adopted one installed patches. A re-run on a fleet the latest scan shows compliant starts nothing and
    reports no change. For an instance that was never scanned, the number of patches installed is unknown
    (null).
  - The RAM actions needed are C(oos:StartExecution), C(oos:ListExecutions), C(oos:NotifyExecution),
    C(oos:CancelExecution), C(oos:ListInstancePatchStates), C(oos:ListInstancePatches), C(ecs:DescribeInstances),
    C(ecs:DescribeCloudAssistantStatus) and C(ecs:DescribeSnapshots); with O(pre_hook) or O(post_hook) also
    C(ecs:RunCommand), C(ecs:DescribeInvocations) and C(ecs:DescribeInvocationResults); with O(reboot=always) also
    C(ecs:RebootInstance) and C(oos:ListTaskExecutions); with O(reboot=always) or O(post_hook) also C(ecs:TagResources).
  - Hooks run in the task's wait loop, one batch at a time; while a hook runs, other batches are not polled (they
    keep running in OOS). Their time counts against O(wait_timeout).
  - Each execution this module starts carries the tag C(ecs-ops-patch-run=oos_patch_run), which
    M(alibabacloud.ecs_ops.oos_patch_snapshot_cleanup) uses to know the snapshots it took.
seealso:
  - module: alibabacloud.ecs_ops.oos_patch_baseline
  - module: alibabacloud.ecs_ops.oos_patch_compliance_info
  - name: ACS-ECS-BulkyApplyPatchBaseline
    description: The public template this module runs.
    link: https://www.alibabacloud.com/help/en/oos/user-guide/patch-management
"""

EXAMPLES = r"""
- name: Scan the web servers
  alibabacloud.ecs_ops.oos_patch_run:
    region: cn-hangzhou
    action: scan
    instance_ids: "{{ web_ids }}"
  register: scan

- name: Install with snapshots, without reboot, canary first
  alibabacloud.ecs_ops.oos_patch_run:
    region: cn-hangzhou
    action: install
    instance_ids: "{{ web_ids }}"
    create_snapshot: true
    snapshot_retention_days: 14
    reboot_if_need: false
    canary: true
    rate_control:
      concurrency: 5
      max_errors: 0
    wait_timeout: 7200
  register: install

- name: Instances that still need a reboot
  ansible.builtin.debug:
    msg: "{{ install.reboot_pending }}"

- name: Nightly round in a change window, at most a quarter of each zone at once, stop after 5% failures
  alibabacloud.ecs_ops.oos_patch_run:
    region: cn-hangzhou
    action: install
    instance_ids: "{{ web_ids }}"
    create_snapshot: true
    reboot: if_required
    window:
      start: "22:00"
      duration: 4h
      days: [mon-thu]
      timezone: Asia/Shanghai
    window_margin: 30m
    window_end: finish
    zone_disruption_budget: 25%
    max_failure_percent: 5
    rate_control:
      concurrency: 5
      max_errors: 100%
    wait_timeout: 18000
  register: nightly

- name: Say what was left for the next window
  ansible.builtin.debug:
    msg: "{{ nightly.summary.deferred }} instance(s) deferred; window {{ nightly.window.start_local }} to {{ nightly.window.end_local }}"

- name: Two regions, skipping stopped instances
  alibabacloud.ecs_ops.oos_patch_run:
    action: install
    reboot_if_need: true
    unreachable: skip
    instance_ids:
      cn-hangzhou: [i-bp1g6zv0ce8oghu7****]
      cn-shanghai: [i-uf6g6zv0ce8oghu9****]
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
    region:
      description: Its region.
      type: str
    zone:
      description: Its zone (what O(zone_disruption_budget) counts); empty if it does not exist.
      type: str
      sample: cn-hangzhou-g
    result:
      description:
        - C(succeeded) (also an instance whose killed round's reboot and post-hook this task finished, see O(reboot)),
          C(unchanged) (install with nothing to install), C(failed) (the patch command failed on the
          instance), C(cancelled) (cancelled, or not started because the execution ended first, for example after a
          failed canary wave, because the failure budget was exceeded, or because the deadline passed; the message
          says why), C(unreachable) (missing, not running or no online agent, with O(unreachable=skip)), C(busy)
          (another execution works on it, with O(busy=skip), O(busy=fail) or O(wait=false)), C(pending) (not
          finished, O(wait=false) or timeout), C(planned) (check mode), C(deferred) (not started because the
          maintenance window is closed or closed during the run; the next window's run picks it up), C(skipped)
          (its O(pre_hook) failed, so it was not patched), C(held) (an install left it alone because it was rolled
          back to its pre-patch snapshot, see O(rolled_back); the message names the tag, the snapshot and how to
          release it).
      type: str
      sample: succeeded
    adopted:
      description: The instance's execution was not started by this task but found already doing the same
        action (an earlier run, another job) and adopted.
      type: bool
    waited_for:
      description: Executions with the other action on the instance that the task waited for before acting.
      type: list
      elements: str
    message:
      description: What happened or why, for example the failure reason of the execution.
      type: str
    execution_id:
      description: The execution (batch) of the instance.
      type: str
      sample: exec-8a2aaf460fdf47c6b5ef
    child_execution_id:
      description: The per-instance child execution.
      type: str
    before:
      description: Patch counts before the run (see RV(alibabacloud.ecs_ops.oos_patch_compliance_info#module:instances.patch_state)); null if never scanned.
      type: dict
    after:
      description: Patch counts after the run; the same as RV(instances.before) in check mode.
      type: dict
    patches_installed:
      description: Patches installed by this run; null for scans and when the instance was never scanned before.
      type: int
    reboot_required:
      description: Installed patches still wait for a reboot.
      type: bool
    rebooted:
      description:
        - With O(reboot=always), the instance was rebooted in its batch after its install (the message says whether
          by the execution or by C(RebootInstance)), or by this task finishing a killed round's steps; false otherwise.
      type: bool
    compliant:
      description: No missing, failed or pending-reboot patch after the run.
      type: bool
    compliance:
      description: C(compliant), C(non_compliant) or C(never_scanned).
      type: str
    snapshot_ids:
      description: System disk snapshots taken before installing.
      type: list
      elements: str
    missing_patches:
      description: Check mode with O(action=install) only, the patches the last scan found missing or failed.
      type: list
      elements: dict
    hooks:
      description:
        - What O(pre_hook) and O(post_hook) did on the instance, under C(pre) and C(post) (absent when the hook did
          not run there), each with C(passed), C(reason) (empty when passed), C(exit_code) (null when it did not finish),
          C(status) (the Cloud Assistant invocation status), C(invoke_id), C(output) (its last 2 KB) and
          C(output_truncated).
      type: dict
      sample: {pre: {passed: true, reason: "", exit_code: 0, status: Success, invoke_id: t-hz0jdfwd9f****, output: "drained\n",
                     output_truncated: false}}
execution_ids:
  description: The executions started or adopted.
  returned: always
  type: list
  elements: str
executions:
  description: The executions with their region, status and instances.
  returned: always
  type: list
  elements: dict
  sample: [{execution_id: exec-8a2aaf460fdf47c6b5ef, region: cn-hangzhou, status: Success, status_message: "",
            instance_ids: [i-bp1g6zv0ce8oghu7****], canary: false, adopted: false, superseded_by: ""}]
summary:
  description: Counts over the instances.
  returned: always
  type: dict
  sample: {total: 80, succeeded: 78, failed: 0, unreachable: 2, unchanged: 0, cancelled: 0, busy: 0, pending: 0, planned: 0,
           deferred: 0, skipped: 0, held: 0, compliant: 40, non_compliant: 38, never_scanned: 0, reboot_required: 38, patches_installed: 412,
           snapshots: 78}
timed_out:
  description: Whether O(wait_timeout) passed.
  returned: always
  type: bool
reboot_pending:
  description:
    - The instances whose installed patches still wait for a reboot after the run, by region (sorted); what a
      reboot step after O(reboot=later) works on, and what O(instance_ids) of a later run takes as it is.
  returned: always
  type: dict
  sample: {cn-hangzhou: [i-bp1g6zv0ce8oghu7****]}
window:
  description: The maintenance window as the task judged it when it started; null without O(window).
  returned: always
  type: dict
  contains:
    open:
      description: Whether batches could start when the task started (inside the window and before its margin).
      type: bool
    start:
      description: Start (UTC) of the opening the task was in, else of the next one.
      type: str
      sample: "2026-12-01T14:00:00Z"
    end:
      description: Its end (UTC).
      type: str
    stop_starting_at:
      description: The last moment a batch may start (UTC), RV(window.end) minus O(window_margin).
      type: str
    start_local:
      description: RV(window.start) in the window's time zone.
      type: str
      sample: "2026-12-01 22:00 CST"
    end_local:
      description: RV(window.end) in the window's time zone.
      type: str
    stop_starting_at_local:
      description: RV(window.stop_starting_at) in the window's time zone.
      type: str
    timezone:
      description: The window's time zone.
      type: str
    margin:
      description: O(window_margin).
      type: str
msg:
  description: Why nothing was started, when the task ran outside the window.
  returned: outside the window
  type: str
"""

import time
from datetime import timedelta

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._concurrency import run_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import describe
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.executions import instance_of, report_deadline
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._fleet import read_instances
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import oos_run_argument_spec
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.hooks import HOOK_SPEC, hook_type_problems, run_hook
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.reboots import (
    STEPS_DONE,
    STEPS_GRACE,
    STEPS_TAG,
    pending_value,
    reboot_patched,
    tag_steps,
    unfinished_steps,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.run import (
    PATCH_RUN_TAG,
    PATCH_TEMPLATE,
    batch_parameters,
    finish_entry,
    install_needless,
    patch_intent,
    plan_entry,
    rolled_back_hold,
    run_entry,
    run_summary,
    validate_run_options,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.policy import (
    budget_verdict,
    deferred_entry,
    guards,
    outside_window_message,
    reboot_pending,
    window_cancelled_entry,
    window_summary,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.states import read_patch_states, read_patches
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._window import utc_now, window_state
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._oos.runner import BusyError, Runner


def argument_spec():
    return dict(
        oos_run_argument_spec(),
        action=dict(type="str", required=True, choices=["scan", "install"]),
        instance_ids=dict(type="raw", required=True),
        reboot=dict(type="str", choices=["if_required", "never", "later", "always"]),
        reboot_if_need=dict(type="bool"),
        create_snapshot=dict(type="bool", default=False),
        snapshot_retention_days=dict(type="int", default=7),
        max_concurrent_executions=dict(type="int", default=5),
        canary=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        rolled_back=dict(type="str", default="skip", choices=["skip", "patch"]),
        unreachable=dict(type="str", default="fail", choices=["fail", "skip"]),
        wait_timeout=dict(type="int", default=3600),
        window=dict(type="dict", options=dict(
            start=dict(type="str", required=True),
            duration=dict(type="str", required=True),
            days=dict(type="list", elements="str"),
            timezone=dict(type="str", default="UTC"),
        )),
        window_margin=dict(type="str", default="15m"),
        window_end=dict(type="str", default="finish", choices=["finish", "cancel"]),
        max_failure_percent=dict(type="float"),
        zone_disruption_budget=dict(type="raw"),
        pre_hook=dict(type="dict", options=HOOK_SPEC),
        post_hook=dict(type="dict", options=HOOK_SPEC),
    )


class PatchRun:
    """The module, and its side of the runner: batches, what an execution does, planning again."""

    def __init__(self, module):
        self.module = module
        self.targets, self.p = module.validated(validate_run_options, module.params, module.region)
        self.action = self.p["action"]
        self.entries = {}
        self.views = {}
        self.reboots = {}    # reboot=always: {instance id: verdict of its reboot in its batch}
        # the steps after a batch's install that live only in this process, recorded on the instances (STEPS_TAG)
        self.steps_after = [s for s, on in (("reboot", self.p["reboot"] == "always"), ("post_hook", self.p["post_hook"]))
                            if on and self.action == "install"]
        self.handled = set()     # instances whose steps after the install this task ran (after_batch or follow_up)
        self.unfinished = {}     # {instance id: unfinished_steps(its tags)} of a previous round, from STEPS_TAG
        self.followed = set()    # instances whose previous round's steps this task ran (follow_up)
        self.batch_size = self.p["batch_size"]
        p = self.p
        # The window is judged once, against the real time, and carried on the runner's monotonic clock.
        self.window = window_state(p["window"], p["window_margin"], utc_now()) if p["window"] else None
        self.judged_at = time.monotonic()
        self.runner = Runner(self.oos, PATCH_TEMPLATE, self, p["max_concurrent_executions"], p["wait_timeout"],
                             p["poll_interval"], wait=p["wait"], canary=p["canary"], on_busy=p["busy"],
                             user_token=p["client_token"], tags=dict(p["tags"] or {}, **dict([PATCH_RUN_TAG])),
                             progress=module.progress.say,
                             # the steps around each batch exist only with a hook or reboot=always (without, the
                             # reads stay as they were)
                             before_start=self.before_start if p["pre_hook"] or self.steps_after else None,
                             after_batch=self.after_batch if p["post_hook"] or p["reboot"] == "always" else None)

    @property
    def window_open(self):
        return self.window is None or self.window["open"]

    def oos(self, region):
        return self.module.api("oos", region)

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, **dict(self.result(), **extra))

    # --- read -------------------------------------------------------------------------------
    def read_fleet(self):
        """Pre-check every instance; read the patch state of the reachable ones."""
        unreachable = {}
        for region, ids in self.targets.items():
            views = read_instances(self.module.api("ecs", region), region, ids)
            self.views.update(views)
            ready = [i for i in ids if views[i]["ready"]]
            unreachable.update({i: views[i]["reason"] for i in ids if not views[i]["ready"]})
            states = read_patch_states(self.oos(region), ready) if ready else {}
            for instance_id in ids:
                self.entries[instance_id] = run_entry(instance_id, region, states.get(instance_id),
                                                      views[instance_id]["zone"])
        problems = [p for name in ("pre_hook", "post_hook") for p in hook_type_problems(name, self.p[name], self.views)]
        if problems:
            self.fail("Nothing was started: " + "; ".join(problems))
        for instance_id, reason in unreachable.items():
            self.entries[instance_id].update(result="unreachable", message=reason)
        if self.action == "install":
            now = utc_now()
            self.unfinished = {i: u for i, u in ((i, unfinished_steps(v.get("tags"), now)) for i, v in self.views.items())
                               if u is not None and i in self.entries and self.entries[i]["result"] != "unreachable"}
        if unreachable and self.p["unreachable"] == "fail" and self.window_open:
            for entry in self.entries.values():
                if entry["result"] != "unreachable":
                    entry.update(result="planned", message="not started: %d other instance(s) cannot be patched now"
                                 % len(unreachable))
            shown = "; ".join("%s: %s" % item for item in list(unreachable.items())[:10])
            self.fail("%d instance(s) cannot be patched now (nothing was started; set unreachable=skip to patch "
                      "the others): %s" % (len(unreachable), shown))

    def work(self):
        """The instances to run on: every reachable one for a scan; for an install, those the latest scan shows
        with something to do (unless ``force``), so a re-run starts nothing and snapshots nothing on a patched
        fleet, and none that a rollback left for a person to look at (unless ``rolled_back=patch``)."""
        work = {}
        for instance_id, entry in self.entries.items():
            if entry["result"] == "unreachable":
                continue
            hold = rolled_back_hold(self.views[instance_id]["tags"], self.p["rolled_back"]) if self.action == "install" else ""
            if hold:
                entry.update(result="held", message=hold)
                continue
            idle = install_needless(entry["before"], self.p["reboot"]) if self.action == "install" else ""
            if idle and not self.p["force"]:
                entry.update(result="unchanged", message="%s; force=true patches it anyway" % idle)
                continue
            work[instance_id] = (entry["region"], self.action)
        return work

    # --- the runner's side --------------------------------------------------------------------
    def batch(self, region, action, ids):
        params = batch_parameters(action, region, ids, self.p)
        return params, dict(params, canary=self.p["canary"])

    @staticmethod
    def intent(parameters, secret_names):
        return patch_intent(parameters, secret_names)

    def replan(self, region, ids):
        return {i: self.action for i in ids}

    def _hook(self, name, ids, deadline):
        verdicts = run_hook(lambda r: self.module.api("ecs", r), name, self.p[name + "_hook"],
                            {i: self.views[i] for i in ids}, deadline, self.p["poll_interval"], self.module.progress.say)
        for instance_id, verdict in verdicts.items():
            self.entries[instance_id]["hooks"][name] = verdict
        return verdicts

    def before_start(self, batches, deadline):
        """Right before the batches start: the pre-hook on their instances, then (with steps after the install) the
        pending tag on those it passed; {instance id: why it is not patched}."""
        failed = {}
        if self.p["pre_hook"]:
            verdicts = self._hook("pre", [i for b in batches for i in b.instance_ids], deadline)
            failed = {i: "not patched: the pre-hook failed: %s" % v["reason"] for i, v in verdicts.items() if not v["passed"]}
            if failed:
                self.module.progress.say("the pre-hook failed on %d instance(s); they are skipped" % len(failed))
        if self.steps_after:
            # until: when this task's wait ends (plus STEPS_GRACE for its last reads, which get 5 seconds); a later
            # run treats the tag as left by a task that is gone only after that
            until = utc_now() + timedelta(seconds=max(0.0, deadline - time.monotonic()) + STEPS_GRACE)
            for batch in batches:
                ids = [i for i in batch.instance_ids if i not in failed]
                try:
                    tag_steps(self.module.api("ecs", batch.region), ids, pending_value(self.steps_after, until), deadline)
                except Exception as exc:  # pylint: disable=broad-exception-caught
                    why = "not patched: could not record its pending %s (tag %s): %s" % (
                        " and ".join(self.steps_after), STEPS_TAG, describe(exc)[0])
                    failed.update({i: why for i in ids})
        return failed

    def after_batch(self, batch, children, deadline):
        """On the instances the ended batch patched: the reboot (reboot=always), then the post-hook on those that
        came back; how many instances the two failed."""
        patched = [i for i in batch.instance_ids if (children.get(i) or {}).get("status") == "Success"]
        failed = 0
        if self.p["reboot"] == "always" and patched:
            failed += len(self._reboot(batch.region, patched, children, deadline))
            patched = [i for i in patched if self.reboots[i]["passed"]]
        verdicts = self._hook("post", patched, deadline) if patched and self.p["post_hook"] else {}
        self._steps_done(batch.region, batch.instance_ids, deadline)
        return failed + sum(1 for v in verdicts.values() if not v["passed"])

    def _steps_done(self, region, instance_ids, deadline):
        """The steps after the install ran on the instances (passed or failed, this task reports them): tag done."""
        self.handled.update(instance_ids)
        try:
            tag_steps(self.module.api("ecs", region), instance_ids, STEPS_DONE, report_deadline(deadline))
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.module.warn("could not record that the %s ran on %s (tag %s=%s): %s; the next run does them again" % (
                " and ".join(self.steps_after), ", ".join(instance_ids), STEPS_TAG, STEPS_DONE, describe(exc)[0]))

    def _reboot(self, region, patched, children, deadline):
        """Reboot the patched instances the execution did not reboot; the ids whose reboot failed."""
        self.module.progress.say("reboot=always: rebooting the %d instance(s) the batch patched" % len(patched))
        items = [(i, region, children[i].get("execution_id") or "") for i in patched]
        self.reboots.update(reboot_patched(lambda r: self.module.api("ecs", r), self.oos, items, deadline,
                                           self.p["poll_interval"]))
        return [i for i in patched if not self.reboots[i]["passed"]]

    def guarded_work(self):
        """``work()``, with the runner's guards (window, failure budget, zone limits) set for it: the one place
        check mode and the real run get them from, so the two cannot drift apart."""
        work = self.work()
        zone_of = {i: self.entries[i]["zone"] for i in self.entries if self.entries[i]["result"] != "unreachable"}
        self.runner.guards = guards(self.p, self.window, self.judged_at, zone_of, len(work))
        return work

    # --- check mode ---------------------------------------------------------------------------
    def plan(self):
        work = self.guarded_work()
        for instance_id, (due, note) in self.leftovers().items():
            entry = self.entries[instance_id]
            entry["message"] += "; " + note
            if due:
                entry.update(result="planned", message=entry["message"] + "; would %s" % " and ".join(
                    dict(reboot="reboot it", post_hook="run the post-hook")[s] for s in self.steps_after))
                if not self.window_open:
                    deferred_entry(entry, self.window, entry["message"])
        hooks = " and ".join(n for n in ("pre", "post") if self.p[n + "_hook"])
        for instance_id in work:
            entry = plan_entry(self.entries[instance_id], self.action)
            if self.p["reboot"] == "always" and entry["result"] == "planned":
                entry["message"] += "; would reboot it after installing (reboot=always)"
            if hooks and entry["result"] == "planned":
                entry["message"] += "; would run the %s-hook%s" % (hooks, "s" if " and " in hooks else "")
            if not self.window_open and entry["result"] == "planned":
                deferred_entry(entry, self.window, entry["message"])
        if not work:
            return
        self.runner.preview(work)
        for instance_id, item in self.runner.work.items():
            entry = self.entries[instance_id]
            if item.batch is not None:
                entry.update(adopted=True, execution_id=item.batch.execution_id,
                             message="%s is already doing this: would adopt it" % item.batch.execution_id)
            for note in item.notes:
                entry["message"] += "; %s: %s" % (note, dict(
                    wait="would wait for it, then patch", skip="would be skipped",
                    fail="the task would fail before starting anything")[self.p["busy"]])
        if self.action != "install":
            return
        for region in self.targets:
            scanned = [i for i in work if work[i][0] == region and self.entries[i]["before"] is not None]
            patches = read_patches(self.oos(region), scanned, ["Missing", "Failed"]) if scanned else {}
            for instance_id in scanned:
                self.entries[instance_id]["missing_patches"] = patches.get(instance_id, [])

    # --- act ----------------------------------------------------------------------------------
    def defer(self):
        """Outside the window: nothing starts; every instance that has work is deferred to the next window."""
        for instance_id in self.work():
            deferred_entry(self.entries[instance_id], self.window)
        for instance_id, (due, note) in self.leftovers().items():
            if due:
                deferred_entry(self.entries[instance_id], self.window, note + "; would finish them")

    def run(self):
        work = self.guarded_work()
        try:
            self.runner.run(work)
        except BusyError as exc:
            for instance_id, ids in exc.busy.items():
                self.entries[instance_id].update(result="busy", message="busy with %s; nothing was started"
                                                 % ", ".join(ids))
            self.fail("%s. Nothing was started; set busy=wait to wait for them, or busy=skip" % exc)

    def finish(self):
        """Fill every entry from its execution (started or adopted), child, patch state after, and snapshots."""
        children, _cancelled, warnings = self.runner.finish(self.p["cancel_on_timeout"])
        for warning in warnings:
            self.module.warn(warning)
        deadline = report_deadline(self.runner.deadline)
        states = {}
        try:
            for region in self.targets if self.p["wait"] else ():
                acted = [i for i, w in self.runner.work.items() if w.region == region and w.batch is not None
                         and w.batch.started]
                states.update(read_patch_states(self.oos(region), acted, deadline=deadline) if acted else {})
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.module.warn("could not read the patch states after the run: %s" % describe(exc)[0])
        for instance_id, work in self.runner.work.items():
            entry = self.entries[instance_id]
            entry["waited_for"] = list(work.waited_for)
            batch = work.batch
            if batch is None:
                entry["result"], entry["message"] = work.outcome or ("cancelled", "not started")
            elif not batch.started:
                entry.update(result="failed", message="could not start the execution: %s" % batch.error[0])
            elif batch.execution_id not in children and not batch.done:
                entry.update(execution_id=batch.execution_id, adopted=batch.adopted, result="pending",
                             message="still running (execution %s)" % batch.execution_id)
            else:
                entry.update(execution_id=batch.execution_id, adopted=batch.adopted)
                child = children.get(batch.execution_id, {}).get(instance_id)
                finish_entry(entry, self.action, child, states.get(instance_id, entry["before"]), batch.execution)
                if batch.error and entry["result"] == "pending":
                    entry["message"] = "could not read execution %s: %s" % (batch.execution_id, batch.error[0])
            if batch is not None and batch.execution_id in self.runner.window_cancelled:
                window_cancelled_entry(entry, batch.execution_id)
            self.judge_reboot(entry, batch)
            self.judge_post_hook(entry, batch)
            if batch is not None and batch.adopted:
                entry["message"] += " (adopted %s, which was already doing this)" % batch.execution_id
            for note in work.notes:
                entry["message"] += "; " + note
        if self.action == "install" and self.p["create_snapshot"] and self.p["wait"]:
            self.read_snapshots(children, deadline)
        self.follow_up()

    # --- a previous round's steps after the install ---------------------------------------------
    def leftovers(self):
        """The instances whose previous round ended before its steps after the install (STEPS_TAG pending) and that
        this task does not patch again (the latest scan shows them compliant): {instance id: (due, note)}, where
        ``due`` says this task runs the steps now."""
        found = {}
        for instance_id, left in self.unfinished.items():
            entry = self.entries[instance_id]
            if instance_id in self.runner.work or entry["result"] != "unchanged":
                continue   # patched again (it gets its steps with its batch) or held, deferred...
            what = "its previous round ended before its %s after the install (tag %s)" % (
                " and ".join(s.replace("_", "-") for s in left["steps"]), STEPS_TAG)
            if not left["overdue"]:
                found[instance_id] = (False, "%s; the task that set it may still be running them (until %s), so this "
                                             "one does not" % (what, left["until"]))
            elif not self.steps_after:
                found[instance_id] = (False, "%s; needs attention: run with reboot=always and/or post_hook to finish "
                                             "them" % what)
            else:
                found[instance_id] = (True, what)
        return found

    def follow_up(self):
        """Finish what a previous round left undone after its install on instances that need no install now: this
        task's reboot (reboot=always) and post-hook, per region in groups of at most batch_size, then tag done."""
        found = self.leftovers()
        stopped = self.runner.timed_out
        attention = []
        for instance_id, (due, note) in found.items():
            self.entries[instance_id]["message"] += "; " + note
            if not due or stopped:
                attention.append(instance_id)
                found[instance_id] = (False, note)
        if stopped:
            for instance_id in attention:
                self.entries[instance_id]["message"] += "; not finished now: wait_timeout passed first"
        if attention:
            self.module.warn("%d instance(s) were patched by a round that did not finish its steps after the install: %s"
                             % (len(attention), "; ".join("%s: %s" % (i, found[i][1]) for i in attention[:5])))
        deadline = self.runner.deadline if self.runner.deadline is not None else self.judged_at + self.p["wait_timeout"]
        for region in self.targets:
            ids = [i for i in found if found[i][0] and self.entries[i]["region"] == region]
            for start in range(0, len(ids), self.batch_size):
                if time.monotonic() >= deadline:
                    for instance_id in ids[start:]:
                        self.entries[instance_id].update(result="failed", message=self.entries[instance_id]["message"]
                                                         + "; not finished: wait_timeout passed first")
                    break
                self._finish_steps(region, ids[start:start + self.batch_size], deadline)

    def _finish_steps(self, region, ids, deadline):
        self.followed.update(ids)
        back = ids
        if self.p["reboot"] == "always":
            self.module.progress.say("rebooting %d instance(s) a previous round left unrebooted" % len(ids))
            self.reboots.update(reboot_patched(lambda r: self.module.api("ecs", r), self.oos,
                                               [(i, region, "") for i in ids], deadline, self.p["poll_interval"]))
            back = [i for i in ids if self.reboots[i]["passed"]]
        verdicts = self._hook("post", back, deadline) if back and self.p["post_hook"] else {}
        self._steps_done(region, ids, deadline)
        for instance_id in ids:
            entry = self.entries[instance_id]
            reboot, hook = self.reboots.get(instance_id), verdicts.get(instance_id)
            done = []
            if reboot is not None and not reboot["passed"]:
                entry.update(result="failed", message=entry["message"] + "; the reboot failed: %s" % reboot["reason"])
                continue
            if reboot is not None:
                entry["rebooted"] = True
                done.append("rebooted it")
            if hook is not None and not hook["passed"]:
                entry.update(result="failed", message=entry["message"] + "; the post-hook failed: %s" % hook["reason"])
                continue
            if hook is not None:
                done.append("the post-hook passed")
            entry.update(result="succeeded", message=entry["message"] + "; finished them: " + ", ".join(done))

    def judge_reboot(self, entry, batch):
        """reboot=always: a patched instance says it was rebooted, or is failed with why it was not."""
        if self.p["reboot"] != "always" or entry["result"] not in ("succeeded", "unchanged") or batch is None:
            return
        if not batch.mine or not batch.started:
            return
        verdict = self.reboots.get(entry["instance_id"])
        if verdict is None:
            if batch.execution_id not in self.runner.hooked:
                entry.update(result="failed", message=entry["message"] + "; not rebooted: wait_timeout passed first")
        elif not verdict["passed"]:
            entry.update(result="failed", message=entry["message"] + "; the reboot failed: %s" % verdict["reason"])
        else:
            entry["rebooted"] = True
            entry["message"] += "; rebooted by %s" % ("the execution (its patches needed it)" if verdict["by"] == "execution"
                                                      else "RebootInstance (reboot=always)")

    def judge_post_hook(self, entry, batch):
        """A failed post-hook makes a patched instance failed; one that could not run before the deadline says so."""
        if not self.p["post_hook"] or entry["result"] not in ("succeeded", "unchanged") or batch is None:
            return
        if not batch.mine or not batch.started:
            return
        verdict = entry["hooks"].get("post")
        if verdict is None:
            if batch.execution_id not in self.runner.hooked:
                entry.update(result="failed",
                             message=entry["message"] + "; the post-hook did not run: wait_timeout passed first")
        elif not verdict["passed"]:
            entry.update(result="failed", message=entry["message"] + "; the post-hook failed: %s" % verdict["reason"])

    def read_snapshots(self, children, deadline):
        wanted = [(i, c["execution_id"], self.entries[i]["region"]) for by_instance in children.values()
                  for i, c in by_instance.items() if i in self.entries]

        def snapshots(item):
            instance_id, child_id, region = item
            ecs = self.module.api("ecs", region)
            found = list_all(lambda q: ecs.call("DescribeSnapshots", q, deadline=deadline), {
                "InstanceId": instance_id, "SnapshotName": "Snapshot-%s" % child_id, "MaxResults": 100},
                ("Snapshots", "Snapshot"))
            return [s["SnapshotId"] for s in found]

        try:
            for (instance_id, _child, _region), found in zip(wanted, run_all(snapshots, wanted)):
                self.entries[instance_id]["snapshot_ids"] = found
        except Exception as exc:  # pylint: disable=broad-exception-caught
            self.module.warn("could not read the snapshots taken by the run: %s" % describe(exc)[0])

    # --- report -------------------------------------------------------------------------------
    def changed(self):
        """A scan records the patch state and changes nothing on the instances. An install changed something
        when it started an execution (which may take snapshots and reboot), or would (check mode), or an adopted
        one installed patches."""
        if self.action == "scan":
            return False
        if any(b.mine and b.started for b in self.runner.batches):
            return True
        if any(e["hooks"] or e["rebooted"] for e in self.entries.values()):
            return True   # a hook ran a script on the instances, or the task rebooted one (a previous round's steps)
        return any(e["result"] == "planned" or (e["patches_installed"] or 0) > 0 or e["snapshot_ids"]
                   for e in self.entries.values())

    def result(self):
        executions = [dict(execution_id=b.execution_id, region=b.region, instance_ids=b.instance_ids,
                           status=(b.execution or {}).get("status", ""),
                           status_message=(b.execution or {}).get("status_message", ""),
                           adopted=b.adopted, canary=b.canary, superseded_by=b.superseded_by)
                      for b in self.runner.executions() if b.started]
        entries = list(self.entries.values())
        return dict(changed=self.changed(), instances=self.entries, summary=run_summary(entries),
                    execution_ids=[e["execution_id"] for e in executions], executions=executions,
                    timed_out=self.runner.timed_out, window=window_summary(self.window),
                    reboot_pending=reboot_pending(entries))

    def canary_failure(self):
        children = self.runner.canary_children
        bad = [c for c in children if c["status"] in ("Failed", "Cancelled")]
        reasons = "; ".join("%s: %s" % (instance_of(c), c["status_message"] or c["status"]) for c in bad[:10])
        canary = self.runner.canary.execution if self.runner.canary else {}
        not_started = sum(1 for e in self.entries.values() if e["result"] == "cancelled")
        return "The canary wave failed on %d of %d instance(s), %d instance(s) were not patched: %s" % (
            len(bad), len(children), not_started,
            reasons or canary.get("status_message") or canary.get("status") or "no reason given")


def main():
    module = AlicloudModule(argument_spec=argument_spec(), region_required=False, supports_check_mode=True)
    run = PatchRun(module)
    # The methods raise; an API error that ends the task becomes fail_api here, once, with what is known.
    try:
        run.read_fleet()
        if module.check_mode:
            run.plan()
            module.exit_json(**run.result())
        if not run.window_open:
            run.defer()
            module.exit_json(msg="Nothing was started: %s" % outside_window_message(run.window), **run.result())
        run.run()
    except Exception as exc:  # pylint: disable=broad-exception-caught
        module.fail_api(exc, **run.result())
    run.finish()
    result = run.result()
    if run.runner.transient_errors:
        module.warn("%d read(s) or start(s) failed after their retries and were tried again: %s" % (
            len(run.runner.transient_errors), run.runner.transient_errors[-1]))
    skipped = [e for e in run.entries.values() if e["result"] == "skipped"]
    if skipped:
        module.warn("%d instance(s) were not patched because the pre-hook failed: %s" % (
            len(skipped), "; ".join("%s: %s" % (e["instance_id"], e["message"]) for e in skipped[:5])))
    held = [e for e in run.entries.values() if e["result"] == "held"]
    if held:
        module.warn("%d instance(s) rolled back earlier were not patched: %s" % (
            len(held), "; ".join("%s: %s" % (e["instance_id"], e["message"]) for e in held[:5])))
    if not module.params["wait"]:
        module.exit_json(**result)
    unstarted = [b for b in run.runner.batches if b.error and not b.started]
    if unstarted:
        run.fail("Could not run execution for %d instance(s) in %s: %s" % (
            len(unstarted[0].instance_ids), unstarted[0].region, unstarted[0].error[0]), error=unstarted[0].error[1])
    if run.runner.stopped == "the canary batch failed":
        run.fail(run.canary_failure())
    if run.runner.timed_out:
        module.fail_json(msg="Timed out after %ds; %d instance(s) not finished%s" % (
            module.params["wait_timeout"], result["summary"]["pending"] + result["summary"]["cancelled"],
            " (cancelled)" if module.params["cancel_on_timeout"] else ""), **result)
    # the instances a previous round's steps were finished on count too (their failures are failures)
    budget = budget_verdict(list(run.entries.values()), run.p, len(run.runner.work) + len(run.followed),
                            run.runner.stop_kind == "failure_budget")
    if budget:
        module.fail_json(msg=budget, **result)
    failing = ("cancelled",) if run.p["max_failure_percent"] is not None else ("failed", "cancelled")
    failed = [e for e in run.entries.values() if e["result"] in failing]
    if failed:
        shown = "; ".join("%s: %s" % (e["instance_id"], e["message"]) for e in failed[:10])
        module.fail_json(msg="Patch %s failed on %d instance(s): %s" % (run.action, len(failed), shown), **result)
    unknown = [e for e in run.entries.values() if e["result"] == "pending"]
    if unknown:
        module.fail_json(msg="The result of %d instance(s) is unknown: %s" % (len(unknown), unknown[0]["message"]),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
