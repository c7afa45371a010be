"""R4 bad input: every bad input fails the task with a clear message and makes no mutating call.

``MODULE_CASES`` and ``ROLE_CASES`` are the table: one bad input each, with the fragment the failure
message must contain. A module case runs the module as a separate process (``run_module``); a role case
runs the role with ``ansible-playbook`` the way the molecule converge playbooks include it. Each case
asserts that the task failed, that the message of the failure contains the fragment, and that the
simulator's call log shows no mutating call (any action not starting with Describe/List/Get) since the
case started. A case whose bad input is not rejected (or only after a mutating call, or with an unclear
message) is a bug in the collection; such cases stay in the table with the message the collection
SHOULD give, and fail until it is fixed.

Instance ids are written as ``@<instance name>`` of the simulator's default fleet (``@web-1``,
``@stopped``, ``@win``, ``@sh-web-1``...) and resolved per test.
"""

from __future__ import annotations

import json
import re

import pytest

from harness import ROOT, names_to_ids, resolve, run_module, run_playbook

ROLES_PATH = str(ROOT / "roles")
BIG_SCRIPT = "echo " + "x" * 20000          # 24 KB+ after Base64
NODE = "ACS-Extension-node-1853370294850618"


def case(module, args, expect, id, env=None, setup=()):  # noqa: A002 - the pytest id
    return pytest.param(dict(module=module, args=args, expect=expect, env=env or {}, setup=list(setup)), id=id)


# (module, args, fragment of the failure message, id). Connection options are shared by every module;
# each module gets a few of them, so all nine are covered.
MODULE_CASES = [
    # --- connection options (shared layer) ------------------------------------------------------------
    case("ecs_cloud_assistant_info", {"region": "Hangzhou"}, "region must be a region id such as cn-hangzhou",
         "info-bad-region"),
    case("ecs_cloud_assistant_info", {"region": "cn_hangzhou"}, "region must be a region id",
         "info-bad-region-underscore"),
    case("oos_extension_info", {"api_timeout": 0}, "api_timeout must be >= 1 second", "extinfo-api-timeout-0"),
    case("oos_execution_info", {"api_retries": -1}, "api_retries must be >= 0", "execinfo-api-retries-negative"),
    case("oos_patch_baseline_info", {"oos_endpoint": "ftp://oos.example.com"}, "endpoint scheme must be http or https",
         "baselineinfo-bad-endpoint-scheme"),
    case("oos_patch_compliance_info", {"ecs_endpoint": "http://ecs.example.com/path"},
         "endpoint must not have a path or query", "compliance-endpoint-with-path"),
    case("ecs_cloud_assistant_info", {"access_key": "R4-AK-ONLY"}, "access_key is set but secret_key is not",
         "info-access-key-without-secret"),
    case("ecs_cloud_assistant_info", {"security_token": "R4-TOKEN-ONLY"},
         "security_token needs access_key and secret_key", "info-token-without-keys"),
    case("oos_extension_info", {"assume_role_arn": "arn:aws:iam::1:role/x"},
         "assume_role_arn must look like acs:ram::", "extinfo-bad-role-arn"),
    case("oos_extension_info", {"assume_role_arn": "acs:ram::123:role/ops", "assume_role_duration": 60},
         "assume_role_duration must be between 900 and 43200", "extinfo-role-duration-too-short"),
    case("ecs_cloud_assistant_info", {"api_timeout": "soon"},
         "argument 'api_timeout' is of type str and we were unable to convert to int",
         "info-api-timeout-not-int"),

    # --- ecs_cloud_assistant_info ------------------------------------------------------------------------
    case("ecs_cloud_assistant_info", {"instance_ids": ["web-1"]}, "instance_ids[0] 'web-1' is not an instance id",
         "info-name-instead-of-id"),
    case("ecs_cloud_assistant_info", {"instance_ids": ["i-BP1UPPERCASE"]}, "is not an instance id",
         "info-uppercase-instance-id"),
    case("ecs_cloud_assistant_info", {"instance_ids": []}, "instance_ids must not be empty", "info-empty-ids"),
    case("ecs_cloud_assistant_info", {"os_type": "solaris"}, "value of os_type must be one of: linux, windows",
         "info-unknown-os-type"),
    case("ecs_cloud_assistant_info", {"instance_ids": ["@web-1"], "instance_tags": {"role": "web"}},
         "mutually exclusive", "info-ids-and-tags"),

    # --- ecs_cloud_assistant_schedule(_info) ----------------------------------------------------------------
    case("ecs_cloud_assistant_schedule", {"name": "nightly", "command": "id", "instance_ids": ["@web-1"],
                                          "frequency": "rate(5m)", "timezone": "Asia/Shanghai"},
         "timezone is not used with a rate() frequency", "sched-rate-with-timezone"),
    case("ecs_cloud_assistant_schedule", {"name": "night ly", "command": "id", "command_name": "x",
                                          "instance_ids": ["@web-1"], "frequency": "0 0 25 * * ?x"},
         "name 'night ly' must be", "sched-every-problem-at-once"),
    case("ecs_cloud_assistant_schedule_info", {"region": "Hangzhou"}, "region must be a region id",
         "schedinfo-bad-region"),
    # --- ecs_cloud_assistant_command ---------------------------------------------------------------------
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"]},
         "give exactly one of command, command_id and command_name", "cmd-no-command"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "command_id": "c-abc"},
         "give exactly one of command, command_id and command_name (got command, command_id)",
         "cmd-command-and-command-id"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "instance_tags": {"role": "web"}, "command": "id"},
         "give exactly one of instance_ids and instance_tags (got both)", "cmd-ids-and-tags"),
    case("ecs_cloud_assistant_command", {"instance_tags": {}, "command": "id"},
         "instance_tags must be a non-empty dict of tag key to value",
         "cmd-empty-tags"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "   "}, "command must not be empty",
         "cmd-blank-command"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": BIG_SCRIPT},
         "after Base64 encoding, more than the 24576 (24 KB) a command that is not kept allows",
         "cmd-script-too-large"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "timeout": 0},
         "timeout must be between 10 and 86400 seconds", "cmd-timeout-0"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "timeout": 86401},
         "timeout must be between 10 and 86400 seconds, got 86401", "cmd-timeout-too-long"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "wait_timeout": 0},
         "wait_timeout must be >= 1 second", "cmd-wait-timeout-0"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "poll_interval": 0},
         "poll_interval must be > 0", "cmd-poll-interval-0"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "working_dir": "/" + "d" * 200},
         "working_dir is longer than 200 characters", "cmd-working-dir-too-long"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "repeat_mode": "Period"},
         "repeat_mode=Period needs frequency", "cmd-period-without-frequency"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "repeat_mode": "Once",
                                         "frequency": "rate(5m)"},
         "frequency is only used with repeat_mode=Period, not Once", "cmd-frequency-with-once"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "frequency": "rate(30s)"},
         "must be between 60 seconds", "cmd-frequency-too-short"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "frequency": "rate(5x)"},
         "is not rate(N<s|m|h|d>)", "cmd-frequency-bad-unit"),
    # Bug: only rate() is checked; anything else goes to RunCommand, which rejects it (InvalidParam.Frequency).
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "frequency": "every day"},
         "frequency 'every day' is not", "cmd-frequency-not-a-schedule"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "repeat_mode": "Hourly"},
         "value of repeat_mode must be one of", "cmd-unknown-repeat-mode"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "type": "RunPythonScript"},
         "value of type must be one of: RunShellScript, RunPowerShellScript, RunBatScript", "cmd-unknown-type"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@win"], "command": "id", "type": "RunShellScript"},
         "type RunShellScript cannot run on a Windows instance", "cmd-shell-on-windows"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "echo {{name}}",
                                         "parameters": {"other": "x"}},
         "parameter(s) other are not used by command", "cmd-unknown-parameter"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "echo {{name}}", "parameters": {}},
         "command needs a value for parameter(s) name", "cmd-missing-parameter"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "echo {{name}}",
                                         "parameters": {"name": ["a", "b"]}},
         "the value of name must be a string, number or boolean", "cmd-parameter-list-value"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "echo {{a}}",
                                         "parameters": {"a": "1"}, "secret_parameters": {"a": "2"}},
         "parameter a is given twice", "cmd-parameter-given-twice"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id",
                                         "tags": {"t%d" % n: "v" for n in range(21)}},
         "tags: at most 20 tags, got 21", "cmd-too-many-tags"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "tags": {"acs:owner": "x"}},
         "is not a tag key", "cmd-reserved-tag-key"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "client_token": "two words"},
         "client_token must be 1 to 64 printable ASCII characters", "cmd-client-token-with-space"),
    case("ecs_cloud_assistant_command", {"state": "absent"}, "state=absent needs invoke_id",
         "cmd-absent-without-invoke-id"),
    case("ecs_cloud_assistant_command", {"state": "absent", "invoke_id": "inv-123"}, "is not an invocation id (t-...)",
         "cmd-absent-bad-invoke-id"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "invoke_id": "t-abcd1234"},
         "invoke_id is only used with state=absent", "cmd-invoke-id-with-present"),
    case("ecs_cloud_assistant_command", {"state": "stopped", "invoke_id": "t-abcd1234"},
         "value of state must be one of: present, absent", "cmd-unknown-state"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command_id": "c-doesnotexist0001"},
         "command_id c-doesnotexist0001 does not exist in cn-hangzhou", "cmd-unknown-command-id"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@stopped"], "command": "id"},
         "Nothing ran: 1 instance(s) cannot run the command", "cmd-stopped-instance"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id"},
         "instance_ids is a list of ids, so region is required", "cmd-ids-without-region",
         env={"ALIBABA_CLOUD_REGION_ID": ""}),
    case("ecs_cloud_assistant_command", {"instance_ids": {"Hangzhou": ["@web-1"]}, "command": "id"},
         "'Hangzhou' is not a region id", "cmd-bad-region-key"),
    case("ecs_cloud_assistant_command", {"instance_ids": ["@web-1"], "command": "id", "fail_on": "some"},
         "value of fail_on must be one of: any, none", "cmd-unknown-fail-on"),

    # --- oos_extension_info ------------------------------------------------------------------------------
    case("oos_extension_info", {"name": "node js!"}, "name must be a template name", "extinfo-bad-name"),
    case("oos_extension_info", {"version": "v3"}, "version needs name", "extinfo-version-without-name"),
    case("oos_extension_info", {"name": NODE, "version": "27"}, "version must look like v1, v27, ... got '27'",
         "extinfo-bad-version"),
    case("oos_extension_info", {"search": "   "}, "search must not be empty", "extinfo-blank-search"),
    case("oos_extension_info", {"share_type": "everyone"}, "value of share_type must be one of: public, private, all",
         "extinfo-unknown-share-type"),

    # --- oos_extension_install ---------------------------------------------------------------------------
    case("oos_extension_install", {"name": "node"}, "missing required arguments: instance_ids",
         "ext-missing-instance-ids"),
    case("oos_extension_install", {"name": "node", "instance_ids": []}, "instance_ids must not be empty",
         "ext-empty-ids"),
    case("oos_extension_install", {"name": "node", "instance_ids": "i-bp1abcdef"},
         "instance_ids must be a list of instance ids, a list of {instance_id, region}", "ext-ids-as-string"),
    case("oos_extension_install", {"name": "node", "instance_ids": [{"instance_id": "@web-1", "zone": "a"}]},
         "has unknown key(s) zone", "ext-unknown-target-key"),
    case("oos_extension_install", {"name": "node",
                                   "instance_ids": {"cn-hangzhou": ["@web-1"], "cn-shanghai": ["@web-1"]}},
         "is listed in both cn-hangzhou and cn-shanghai", "ext-id-in-two-regions"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "state": "installed"},
         "value of state must be one of: present, latest, absent", "ext-unknown-state"),
    case("oos_extension_install", {"name": "  ", "instance_ids": ["@web-1"]}, "name must not be empty",
         "ext-blank-name"),
    case("oos_extension_install", {"name": "no-such-extension", "instance_ids": ["@web-1"]}, "no extension is called",
         "ext-unknown-extension"),
    case("oos_extension_install", {"name": "database", "instance_ids": ["@web-1"]}, "candidates: ",
         "ext-ambiguous-name"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "version": "27"},
         "version must look like v1, v27", "ext-bad-version-shape"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "version": "v99"}, "has no version v99",
         "ext-unknown-version"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "state": "absent", "force": True},
         "force cannot be used with state=absent", "ext-force-with-absent"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "batch_size": 51},
         "batch_size must be between 1 and 50, got 51", "ext-oversized-batch"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "batch_size": 0},
         "batch_size must be between 1 and 50, got 0", "ext-batch-size-0"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "max_concurrent_executions": 101},
         "max_concurrent_executions must be between 1 and 100, got 101", "ext-too-many-executions"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "rate_control": {"concurrency": 0}},
         "rate_control.concurrency must be at least 1, got 0", "ext-concurrency-0"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "rate_control": {"max_errors": "120%"}},
         "rate_control.max_errors must be a number >= 0 or a percentage", "ext-max-errors-over-100-percent"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "rate_control": {"concurrency": True}},
         "rate_control.concurrency must be a number or a percentage", "ext-concurrency-bool"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "rate_control": {"max_errors": "-1"}},
         "rate_control.max_errors must be a number >= 0", "ext-max-errors-negative"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "rate_control": {"speed": 3}},
         "rate_control.speed", "ext-unknown-rate-control-key"),
    # Bug: execution tags with the reserved prefixes reach StartExecution (Cloud Assistant tags are checked).
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "tags": {"acs:owner": "ops"}},
         "must not start with aliyun or acs:", "ext-reserved-tag-key"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "region": "us-nowhere-9"},
         "InvalidRegionId", "ext-unknown-region"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "wait_timeout": 0},
         "wait_timeout must be at least 1 second", "ext-wait-timeout-0"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "poll_interval": 0},
         "poll_interval must be between 0.1 and 600 seconds", "ext-poll-interval-0"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "description": "d" * 201},
         "description must be at most 200 characters", "ext-description-too-long"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "parameters": {"nodeVersion": "v1"}},
         "parameters.nodeVersion: the extension has no such parameter (it takes: version)",
         "ext-unknown-extension-parameter"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "parameters": {"version": "v1"}},
         "parameters.version: 'v1' is not one of the allowed values", "ext-parameter-not-allowed-value"),
    case("oos_extension_install", {"name": "nginx", "instance_ids": ["@web-1"], "parameters": {"port": "eighty"}},
         "parameters.port: must be a Number, got str", "ext-parameter-wrong-type"),
    case("oos_extension_install", {"name": "nginx", "instance_ids": ["@web-1"], "parameters": {"port": 70000}},
         "parameters.port: 70000 is outside 1..65535", "ext-parameter-out-of-range"),
    case("oos_extension_install", {"name": "redis", "instance_ids": ["@web-1"],
                                   "parameters": {"enablePersistence": "perhaps"}},
         "parameters.enablePersistence: must be a Boolean", "ext-parameter-not-boolean"),
    case("oos_extension_install", {"name": "BT Panel", "instance_ids": ["@web-1"], "parameters": {"username": "a!"},
                                   "secret_parameters": {"password": "R4-Secret-pass-1"}},
         "parameters.username: 'a!' does not match the pattern", "ext-parameter-pattern"),
    case("oos_extension_install", {"name": "BT Panel", "instance_ids": ["@web-1"]},
         "parameters.password: required by the extension but not given", "ext-required-secret-missing"),
    case("oos_extension_install", {"name": "BT Panel", "instance_ids": ["@web-1"],
                                   "secret_parameters": {"password": "short"}},
         "parameters.password: the length must be between 8 and 32 characters", "ext-secret-too-short"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "parameters": ["version=v1"]},
         "argument 'parameters' is of type list and we were unable to convert to dict", "ext-parameters-not-a-dict"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "parameters": {"a": 1},
                                   "secret_parameters": {"a": 2}},
         "parameters and secret_parameters both set a", "ext-parameter-twice"),
    case("oos_extension_install", {"name": "IIS", "instance_ids": ["@web-1"]},
         "1 instance(s) cannot take the change", "ext-windows-extension-on-linux"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"], "unreachable": "ignore"},
         "value of unreachable must be one of: fail, skip", "ext-unknown-unreachable-policy"),
    case("oos_extension_install", {"name": "node", "instance_ids": ["@web-1"],
                                   "tags": {"t%d" % n: "v" for n in range(21)}},
         "tags: at most 20 tags, got 21", "ext-too-many-tags"),

    # --- oos_execution_info ------------------------------------------------------------------------------
    case("oos_execution_info", {"execution_ids": ["e-123"]}, "execution_ids[0] 'e-123' is not an execution id",
         "execinfo-bad-execution-id"),
    case("oos_execution_info", {"execution_ids": ["exec-abc123"], "status": "Running"},
         "execution_ids cannot be combined with status", "execinfo-ids-with-filter"),
    case("oos_execution_info", {"started_after": "yesterday"}, "started_after must be a UTC time like",
         "execinfo-bad-time"),
    case("oos_execution_info", {"max_results": 0}, "max_results must be between 1 and 1000", "execinfo-max-results-0"),
    case("oos_execution_info", {"status": "Done"}, "value of status must be one of", "execinfo-unknown-status"),

    # --- oos_patch_baseline ------------------------------------------------------------------------------
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Urgent"]}]},
         "approval_rules[0].severities: 'Urgent' is not valid; use * or one of Critical", "baseline-unknown-severity"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"classifications": ["Hotfix"]}]},
         "approval_rules[0].classifications: 'Hotfix' is not valid", "baseline-unknown-classification"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "Windows",
                                "approval_rules": [{"classifications": ["Security"]}]},
         "'Security' is not valid; use * or one of Security Updates", "baseline-linux-classification-on-windows"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"approve_after_days": 101}]},
         "approve_after_days must be an integer from 0 to 100, got 101", "baseline-approve-after-days-101"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"approve_until_date": "2024/01/31"}]},
         "approve_until_date must be a date YYYY-MM-DD", "baseline-bad-until-date"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"approve_after_days": 7, "approve_until_date": "2024-01-31"}]},
         "set approve_after_days or approve_until_date, not both", "baseline-after-days-and-until-date"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"patch_set": ["OS"]}]},
         "patch_set applies to Windows baselines only", "baseline-patch-set-on-linux"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"compliance_level": "Severe"}]},
         "value of compliance_level must be one of", "baseline-unknown-compliance-level"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severity": ["Critical"]}]},
         "approval_rules.severity", "baseline-unknown-rule-key"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux", "approval_rules": []},
         "approval_rules must be a list of 1 to 10 rules", "baseline-no-rules"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}] * 11},
         "approval_rules must be a list of 1 to 10 rules", "baseline-eleven-rules"),
    case("oos_patch_baseline", {"name": "r4-base", "approval_rules": [{"severities": ["Low"]}]},
         "approval_rules needs operation_system", "baseline-rules-without-os"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "Solaris",
                                "approval_rules": [{"severities": ["Low"]}]},
         "value of operation_system must be one of", "baseline-unknown-os"),
    case("oos_patch_baseline", {"name": "ACS-mine", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}]},
         "reserved for public baselines", "baseline-reserved-name"),
    case("oos_patch_baseline", {"name": "my baseline", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}]},
         "name must be 1 to 128 letters, digits", "baseline-name-with-space"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux"},
         "creating a baseline needs approval_rules", "baseline-create-without-rules"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}], "rejected_patches_action": "DROP"},
         "value of rejected_patches_action must be one of: ALLOW_AS_DEPENDENCY, BLOCK",
         "baseline-unknown-rejected-action"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}], "description": "d" * 201},
         "description must be at most 200 characters", "baseline-description-too-long"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}], "approved_patches": ["kb1", ""]},
         "approved_patches must be a list of at most 100 non-empty patch names", "baseline-empty-approved-patch"),
    # Bug: an empty tag key reaches CreatePatchBaseline, which rejects it (InvalidParameter).
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}], "tags": {"": "empty key"}},
         "tags: keys must be 1 to 128 characters", "baseline-empty-tag-key"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux",
                                "approval_rules": [{"severities": ["Low"]}], "region": "us-nowhere-9"},
         "InvalidRegionId", "baseline-unknown-region"),
    case("oos_patch_baseline", {"name": "r4-base", "operation_system": "AliyunLinux", "state": "default"},
         "value of state must be one of: present, absent", "baseline-unknown-state"),
    case("oos_patch_baseline", {"name": "r4-existing", "operation_system": "Ubuntu"},
         "the operation_system of baseline r4-existing is AliyunLinux and cannot be changed", "baseline-change-os",
         setup=[("oos_patch_baseline", {"name": "r4-existing", "operation_system": "AliyunLinux",
                                        "approval_rules": [{"severities": ["Critical"]}]})]),

    # --- oos_patch_baseline_info -------------------------------------------------------------------------
    case("oos_patch_baseline_info", {"name": "a", "name_contains": "b"}, "mutually exclusive: name|name_contains",
         "baselineinfo-name-and-name-contains"),
    case("oos_patch_baseline_info", {"share_type": "public"}, "value of share_type must be one of: Public, Private",
         "baselineinfo-lowercase-share-type"),
    case("oos_patch_baseline_info", {"operation_system": "Windows11"}, "value of operation_system must be one of",
         "baselineinfo-unknown-os"),

    # --- oos_patch_compliance_info -----------------------------------------------------------------------
    case("oos_patch_compliance_info", {"patch_statuses": ["Pending"]}, "value of patch_statuses must be one or more of",
         "compliance-unknown-patch-status"),
    case("oos_patch_compliance_info", {"instance_ids": ["i-"]}, "instance_ids[0] 'i-' is not an instance id",
         "compliance-truncated-instance-id"),
    case("oos_patch_compliance_info", {}, "it is needed when instance_ids is not set",
         "compliance-no-region-no-ids", env={"ALIBABA_CLOUD_REGION_ID": ""}),

    # --- oos_patch_snapshot_cleanup -----------------------------------------------------------------------
    case("oos_patch_snapshot_cleanup", {"retention_days": 0}, "retention_days must be from 1 to 65536, got 0",
         "snapcleanup-retention-0"),
    case("oos_patch_snapshot_cleanup", {"retention_days": 7, "regions": ["cn-hangzhou", "shanghai"]},
         "regions must be a region id such as cn-hangzhou, got 'shanghai'", "snapcleanup-bad-region"),

    # --- oos_patch_rollback ------------------------------------------------------------------------------
    case("oos_patch_rollback", {"instance_ids": ["@web-1"], "execution_id": "42"},
         "execution_id must look like exec-<letters and digits>, got '42'", "rollback-bad-execution-id"),
    case("oos_patch_rollback", {"instance_ids": {"cn-hangzhou": "@web-1"}, "wait_timeout": 0},
         "wait_timeout must be at least 1 second; instance_ids['cn-hangzhou'] must be a list of instance ids",
         "rollback-timeout-and-targets"),

    # --- oos_patch_run -----------------------------------------------------------------------------------
    case("oos_patch_run", {"action": "upgrade", "instance_ids": ["@web-1"]},
         "value of action must be one of: scan, install",
         "patch-unknown-action"),
    case("oos_patch_run", {"action": "scan", "instance_ids": ["@web-1"], "create_snapshot": True},
         "create_snapshot only applies to action=install", "patch-snapshot-with-scan"),
    case("oos_patch_run", {"action": "scan", "instance_ids": ["@web-1"], "reboot_if_need": True},
         "reboot_if_need only applies to action=install", "patch-reboot-with-scan"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "reboot_if_need": "sometimes"},
         "argument 'reboot_if_need' is of type str and we were unable to convert to bool", "patch-bad-reboot-policy"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "snapshot_retention_days": 0},
         "snapshot_retention_days must be from 1 to 65536, got 0", "patch-retention-0"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "canary": True, "wait": False},
         "canary needs wait=true", "patch-canary-without-wait"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "max_concurrent_executions": 21},
         "max_concurrent_executions must be between 1 and 20, got 21", "patch-too-many-executions"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "batch_size": 100},
         "batch_size must be between 1 and 50, got 100", "patch-oversized-batch"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "rate_control": {"concurrency": "0%"}},
         "rate_control.concurrency must be a number >= 1 or a percentage from 1% to 100%",
         "patch-concurrency-0-percent"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "wait_timeout": -5},
         "wait_timeout must be at least 1 second", "patch-negative-wait-timeout"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1", "@stopped"]},
         "1 instance(s) cannot be patched now (nothing was started", "patch-stopped-instance"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"],
                           "window": {"start": "10pm", "duration": "4 hours", "timezone": "Asia/Shangai"}},
         "window.start must be a local time HH:MM (00:00 to 23:59), got '10pm'; window.duration must be a duration "
         "with a unit such as 4h, 90m, 1h30m or 45s, got '4 hours'; window.timezone 'Asia/Shangai' is not a known "
         "time zone", "patch-window-typos"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"],
                           "window": {"start": "22:00", "duration": "4h", "days": ["Mo", "Tu"]}},
         "window.days: 'Mo' is not a day", "patch-window-bad-days"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"],
                           "window": {"start": "22:00", "duration": "1h"}, "window_margin": "2h"},
         "window_margin (2h) must be shorter than window.duration (1h)", "patch-window-margin-too-long"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "window_end": "cancel"},
         "window_end=cancel needs a window", "patch-window-end-without-window"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "max_failure_percent": 150},
         "max_failure_percent must be from 0 to 100, got 150", "patch-failure-budget-over-100"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "zone_disruption_budget": "-1"},
         "zone_disruption_budget must be a number >= 1 or a percentage from 1% to 100%", "patch-zone-budget-negative"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "reboot": "sometimes"},
         "value of reboot must be one of: if_required, never, later, always", "patch-reboot-unknown"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "reboot": "always", "wait": False},
         "reboot=always needs wait=true (it is applied while the task waits)", "patch-reboot-always-without-wait"),
    case("oos_patch_run", {"action": "install", "instance_ids": ["@web-1"], "client_token": "x" * 65},
         "client_token must be 1 to 64 printable ASCII characters", "patch-client-token-too-long"),
]


def role_case(role, variables, expect, id):  # noqa: A002 - the pytest id
    return pytest.param(dict(role=role, vars=variables, expect=expect), id=id)


_EXT = [{"name": "node"}]
# Each role case gives the role valid targets unless the case is about them.
ROLE_CASES = [
    # --- extension_rollout: argument_specs --------------------------------------------------------------
    role_case("extension_rollout", {"extension_rollout_extensions": [{"version": "v27"}]},
              "missing required arguments: name", "rollout-extension-without-name"),
    role_case("extension_rollout", {"extension_rollout_extensions": [{"name": "node", "state": "installed"}]},
              "value of state must be one of: present, latest, absent, got: installed", "rollout-unknown-state"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_unreachable": "ignore"},
              "value of extension_rollout_unreachable must be one of: fail, skip", "rollout-unknown-unreachable"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_canary_size": "a few"},
              "extension_rollout_canary_size", "rollout-canary-size-not-int"),
    # --- extension_rollout: its own checks ----------------------------------------------------------------
    role_case("extension_rollout", {"extension_rollout_extensions": []},
              "extension_rollout_extensions must list at least one extension", "rollout-no-extensions"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_instance_ids": []},
              "No target instances", "rollout-no-targets"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_hosts": ["ghost"]},
              "hosts not in the inventory: ghost", "rollout-host-not-in-inventory"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_hosts": "localhost"},
              "hosts without the ecs_instance_id variable: localhost", "rollout-host-without-instance-id"),
    # Bug: the role's own Jinja made the targets "@", "w", "e", ... of a region's single id; the modules refuse it.
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_instance_ids": {"cn-hangzhou": "@web-1"}},
              "instance ids of region cn-hangzhou must be a list, got str", "rollout-region-ids-as-string"),
    # A single id given as a string was once iterated character by character; strings of ids are now accepted
    # (AWX survey answers) and split on commas, spaces and newlines: test_awx_runner.py checks both roles.
    # Bug: a negative canary size is accepted; the canary becomes all targets but the last ones, and it runs.
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_canary_size": -1},
              "extension_rollout_canary_size must be 0 (no canary) or more", "rollout-negative-canary-size"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_prune_history": 0},
              "extension_rollout_prune_history must be from 1 to 1000, got 0", "rollout-prune-history-0"),
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_prune": "perhaps"},
              "extension_rollout_prune", "rollout-prune-not-bool"),
    # --- extension_rollout: checks of the module it calls -------------------------------------------------
    role_case("extension_rollout", {"extension_rollout_extensions": _EXT, "extension_rollout_batch_size": 500},
              "batch_size must be between 1 and 50, got 500", "rollout-oversized-batch"),
    role_case("extension_rollout",
              {"extension_rollout_extensions": [{"name": "nginx", "parameters": {"port": "http"}}]},
              "parameters.port: must be a Number", "rollout-extension-parameter-type"),
    # --- patch_management: argument_specs -----------------------------------------------------------------
    role_case("patch_management", {"patch_management_mode": "upgrade"},
              "value of patch_management_mode must be one of: scan_only, install, got: upgrade",
              "patch-role-unknown-mode"),
    role_case("patch_management", {"patch_management_gate_action": "stop"},
              "value of patch_management_gate_action must be one of: fail, end", "patch-role-unknown-gate-action"),
    role_case("patch_management", {"patch_management_reboot_if_need": "sometimes"},
              "patch_management_reboot_if_need", "patch-role-bad-reboot-policy"),
    role_case("patch_management", {"patch_management_report_formats": ["pdf"]},
              "patch_management_report_formats", "patch-role-unknown-report-format"),
    role_case("patch_management", {"patch_management_plan_fail_on_changes": "if any"},
              "patch_management_plan_fail_on_changes", "patch-role-plan-fail-not-bool"),
    # --- patch_management: its own checks ------------------------------------------------------------------
    role_case("patch_management", {"patch_management_max_failure_percent": 150},
              "patch_management_max_failure_percent must be from 0 to 100, got 150", "patch-role-failure-percent-150"),
    role_case("patch_management", {"patch_management_instance_ids": []}, "No target", "patch-role-no-targets"),
    role_case("patch_management", {"patch_management_hosts": ["ghost"]}, "hosts not in the inventory: ghost",
              "patch-role-host-not-in-inventory"),
    role_case("patch_management", {"patch_management_hosts": "localhost"}, "hosts without the ecs_instance_id variable: localhost",
              "patch-role-host-without-instance-id"),
    role_case("patch_management", {"patch_management_instance_ids": {"cn-hangzhou": "@web-1"}},
              "instance ids of region cn-hangzhou must be a list, got str", "patch-role-region-ids-as-string"),
    role_case("patch_management", {"patch_management_instance_ids": ["@web-1", "@stopped"]},
              "Set patch_management_unreachable=skip", "patch-role-unreachable-target"),
    # --- patch_management: checks of the modules it calls --------------------------------------------------
    role_case("patch_management", {"patch_management_region": "Hangzhou"}, "region must be a region id",
              "patch-role-bad-region"),
    role_case("patch_management", {"patch_management_batch_size": 100}, "batch_size must be between 1 and 50",
              "patch-role-oversized-batch"),
    role_case("patch_management", {"patch_management_baselines": [{
        "name": "r4-role-base", "operation_system": "AliyunLinux", "approval_rules": [{"severities": ["Urgent"]}]}]},
        "'Urgent' is not valid", "patch-role-baseline-unknown-severity"),
    # Bug: an install option that only the install task checks; the role scans (StartExecution) first.
    role_case("patch_management", {"patch_management_mode": "install", "patch_management_approved": True,
                                   "patch_management_snapshot_retention_days": 0},
              "patch_management_snapshot_retention_days must be from 1 to 65536", "patch-role-retention-0-before-scan"),
    role_case("patch_management", {"patch_management_mode": "install", "patch_management_approved": True,
                                   "patch_management_rollback_failed": True, "patch_management_create_snapshot": False},
              "patch_management_rollback_failed=true needs patch_management_create_snapshot=true",
              "patch-role-rollback-without-snapshots"),
    role_case("patch_management", {"patch_management_mode": "install", "patch_management_approved": True,
                                   "patch_management_pre_hook": {"timeout": 60}},
              "patch_management_pre_hook must be empty or a mapping with a non-empty command", "patch-role-hook-no-command"),
]

ROLE_DEFAULTS = {
    "extension_rollout": lambda tmp: {"extension_rollout_instance_ids": ["@web-1", "@web-2"],
                                      "extension_rollout_region": "cn-hangzhou",
                                      "extension_rollout_preflight_agents": False, "extension_rollout_report": False,
                                      "extension_rollout_poll_interval": 0.2, "extension_rollout_wait_timeout": 120,
                                      "extension_rollout_report_dir": str(tmp / "reports")},
    "patch_management": lambda tmp: {"patch_management_instance_ids": ["@web-1", "@web-2"],
                                     "patch_management_region": "cn-hangzhou",
                                     "patch_management_poll_interval": 0.2, "patch_management_wait_timeout": 120,
                                     "patch_management_report_dir": str(tmp / "reports")},
}


def describe_calls(calls):
    return ", ".join("%s %s" % (c["product"], c["action"]) for c in calls)


def test_the_table_is_large_enough():
    """R4 asks for at least 40 bad inputs over all nine modules and both roles."""
    modules = {p.values[0]["module"] for p in MODULE_CASES}
    roles = {p.values[0]["role"] for p in ROLE_CASES}
    shipped_modules = {p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_")}
    shipped_roles = {p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()}
    assert len(MODULE_CASES) + len(ROLE_CASES) >= 40
    assert modules == shipped_modules, "modules without a bad-input case: %s" % sorted(shipped_modules - modules)
    assert roles == shipped_roles, "roles without a bad-input case: %s" % sorted(shipped_roles - roles)
    ids = [p.id for p in MODULE_CASES + ROLE_CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"


@pytest.mark.parametrize("spec", MODULE_CASES)
def test_module_rejects_bad_input(sim, spec):
    ids = names_to_ids(sim)
    for module, args in spec["setup"]:
        rc, result, _out, err = run_module(sim, module, resolve(args, ids))
        assert rc == 0 and not result.get("failed"), "setup %s failed: %s %s" % (module, result.get("msg"), err[-500:])
    mark = sim.mark()
    rc, result, stdout, stderr = run_module(sim, spec["module"], resolve(spec["args"], ids), env=spec["env"])
    mutating = sim.mutating_calls(mark)
    msg = str(result.get("msg", ""))
    assert result.get("failed") is True and rc != 0, "the task did not fail (rc %s): %s" % (
        rc, stdout[-800:] or stderr[-800:])
    assert spec["expect"] in msg, "expected %r in the message, got %r" % (spec["expect"], msg)
    assert not mutating, "bad input made mutating call(s): %s" % describe_calls(mutating)
    assert "Traceback" not in stderr, stderr[-1500:]


# "fatal: [host]: FAILED! => {...}" or, for a loop item, "failed: [host] (item=...) => {...}"
FATAL_RE = re.compile(r"^(?:fatal|failed): \[[^\]]+\](?: \(item=.*\))?(?:: FAILED!)? => (\{.*\})\s*$")


def play_failures(stdout):
    """The result dicts of the failed tasks that were not ignored, in order."""
    results = []
    lines = stdout.splitlines()
    for n, line in enumerate(lines):
        match = FATAL_RE.match(line)
        if match and not (n + 1 < len(lines) and lines[n + 1].strip() == "...ignoring"):
            try:
                results.append(json.loads(match.group(1)))
            except ValueError:
                results.append({"msg": match.group(1)})
    return results


def include_role_play(role, variables):
    """A play that includes ``role`` with ``variables``, the way the molecule converge playbooks do."""
    return ("- name: R4 %s\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
            "    - name: Include the role\n      ansible.builtin.include_role:\n        name: %s\n"
            "      vars: %s\n" % (role, role, json.dumps(variables)))


@pytest.mark.parametrize("spec", ROLE_CASES)
def test_role_rejects_bad_input(sim, tmp_path, spec):
    ids = names_to_ids(sim)
    variables = dict(ROLE_DEFAULTS[spec["role"]](tmp_path), **spec["vars"])
    mark = sim.mark()
    proc = run_playbook(sim, include_role_play(spec["role"], resolve(variables, ids)),
                        env={"ANSIBLE_ROLES_PATH": ROLES_PATH, "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    mutating = sim.mutating_calls(mark)
    failures = play_failures(proc.stdout)
    messages = [str(f.get("msg", "")) for f in failures]
    assert proc.returncode != 0, "the play did not fail:\n%s" % proc.stdout[-2500:]
    assert failures, "no failed task in the output:\n%s\n%s" % (proc.stdout[-2500:], proc.stderr[-1500:])
    assert spec["expect"] in messages[-1], "expected %r in the failure, got %r" % (spec["expect"], messages)
    assert not mutating, "bad input made mutating call(s): %s" % describe_calls(mutating)
