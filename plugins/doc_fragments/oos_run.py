# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The options of a batched OOS run that oos_extension_install and oos_patch_run share, with the same
    # defaults (module_utils/_options.oos_run_argument_spec). Options whose defaults differ stay in the modules.
    DOCUMENTATION = r"""
options:
  rate_control:
    description:
      - How OOS paces each execution (each batch).
    type: dict
    default: {}
    suboptions:
      concurrency:
        description:
          - Instances worked on at once within one execution, a number or a percentage such as C(20%).
        type: raw
        default: 10
      max_errors:
        description:
          - Failed instances an execution tolerates before it stops starting more, a number or a percentage.
          - C(0) stops a batch at its first failure.
        type: raw
        default: 0
  batch_size:
    description:
      - Instances per execution, 1 to 50 (the templates take at most 50).
    type: int
    default: 50
  wait:
    description:
      - Wait for the executions to end and report per-instance results.
      - With V(false) the task returns the started executions at once; follow them with
        M(alibabacloud.ecs_ops.oos_execution_info).
    type: bool
    default: true
  poll_interval:
    description:
      - Seconds between status checks at first; the interval grows up to four times this while executions run.
    type: float
    default: 5
  cancel_on_timeout:
    description:
      - Cancel the executions this task started and that still run when O(wait_timeout) passes (never adopted
        ones).
    type: bool
    default: false
  client_token:
    description:
      - A token of your own (up to 64 printable ASCII characters) that starts the idempotency tokens of the
        executions, so they can be recognised in the console, and tells apart runs with the same content.
      - The tokens are derived from each batch's content either way, so a retried start never starts a batch
        twice; runs with the same token and content share their executions.
    type: str
  tags:
    description:
      - Tags to put on the executions. Keys starting with C(ecs-ops-) are reserved for the collection, which
        records there the names (never the values) of secret parameters.
    type: dict
  busy:
    description:
      - What to do with an instance that an unfinished execution of the same template (started by another job,
        a person, or an earlier run) works on and that does something else.
      - V(wait) waits for that execution to end, reads the instance again, and acts only if still needed. The
        default, so that an overlapping schedule or a re-run converges on its own within O(wait_timeout).
      - V(skip) leaves the instance alone and reports it C(busy); the task does not fail for it.
      - V(fail) fails the task before anything is started if any instance is busy.
      - An instance in an execution that makes the same change is always adopted, whatever this option says.
      - With O(wait=false) busy instances are reported C(busy).
    type: str
    choices: [wait, skip, fail]
    default: wait
"""
