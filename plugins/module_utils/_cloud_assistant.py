# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: Cloud Assistant commands — content, plan, polling and result views.

``plan_invocations`` decides which instance runs which command type in which batch (a pure
function of the instances' views and the requested type); ``check_content`` validates what is
sent; ``result_view`` turns a DescribeInvocationResults row into the collection's snake_case
per-instance result with the output decoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import chunked

COMMAND_TYPES = ("RunShellScript", "RunPowerShellScript", "RunBatScript")
OS_OF_TYPE = {"RunShellScript": "linux", "RunPowerShellScript": "windows", "RunBatScript": "windows"}
DEFAULT_TYPE = {"linux": "RunShellScript", "windows": "RunPowerShellScript"}
REPEAT_MODES = ("Once", "Period", "NextRebootOnly", "EveryReboot")

MAX_INSTANCES_PER_CALL = 100     # InstanceId.N of RunCommand / InvokeCommand
RUN_CONTENT_LIMIT = 24 * 1024    # CommandContent after Base64, RunCommand without KeepCommand
KEPT_CONTENT_LIMIT = 18 * 1024   # the same for a kept command (KeepCommand, CreateCommand, InvokeCommand)
MAX_PARAMETER_VALUES = 10
MAX_PLACEHOLDERS = 20
MIN_TIMEOUT = 10                 # Timeout of RunCommand / InvokeCommand
MAX_TIMEOUT = 86400
OUTPUT_LIMIT = 24 * 1024

TERMINAL = frozenset(("Success", "Failed", "Timeout", "Error", "Aborted", "Invalid", "Cancelled", "Terminated"))
FAILED = frozenset(("Failed", "Timeout", "Error", "Aborted", "Invalid"))
STOPPED = frozenset(("Cancelled", "Terminated"))

PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
NOT_CUSTOM = ("acs::", "oos:", "oos-secret:")
PARAMETER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RATE_RE = re.compile(r"^rate\((\d+)([smhd])\)$")
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def encode_content(text):
    """The command text as Base64 (the form sent with ``ContentEncoding=Base64``)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_output(value):
    """Base64 ``Output`` as text; invalid UTF-8 is replaced, never an error."""
    if not value:
        return ""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return str(value)
    return data.decode("utf-8", "replace")


def placeholders(text):
    """Custom ``{{name}}`` parameter names in ``text``, in order. Built-ins (``{{ACS::...}}``) and references
    to OOS parameters (``{{oos:NAME}}``, ``{{oos-secret:NAME}}``, which Cloud Assistant resolves) are not."""
    names = []
    for token in PLACEHOLDER_RE.findall(text):
        if token.lower().startswith(NOT_CUSTOM) or token.lower() in (n.lower() for n in names):
            continue
        names.append(token)
    return names


def rate_seconds(frequency):
    """The period of a ``rate(N<unit>)`` frequency in seconds, or None for ``at()``/cron."""
    match = RATE_RE.match((frequency or "").strip())
    return int(match.group(1)) * RATE_UNITS[match.group(2)] if match else None


def check_parameters(values, names, where_names):
    """Problems with ``values`` (all parameters given) against ``names`` (the command's placeholders)."""
    problems = []
    if len(values) > MAX_PARAMETER_VALUES:
        problems.append("at most %d parameters may be given, got %d" % (MAX_PARAMETER_VALUES, len(values)))
    known = {n.lower() for n in names}
    given = {str(k).lower() for k in values}
    unknown = sorted(str(k) for k in values if str(k).lower() not in known)
    if unknown:
        problems.append("parameter(s) %s are not used by %s (it uses: %s)"
                        % (", ".join(unknown), where_names, ", ".join(names) or "none"))
    missing = [n for n in names if n.lower() not in given]
    if missing:
        problems.append("%s needs a value for parameter(s) %s (in parameters or secret_parameters)"
                        % (where_names, ", ".join(missing)))
    return problems


def content_size(content_b64, values):
    """What counts toward the content limit: the length of the Base64 content plus the length of the
    parameter ``values`` as Base64 of their compact UTF-8 JSON (``{"name":"value"}``), as sent."""
    if not values:
        return len(content_b64)
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return len(content_b64) + len(encode_content(text))


def content_size_problems(content_b64, values, kept, what="command"):
    """A problem when ``what`` (Base64 content, with parameter ``values``) is over the limit of a kept
    (18 KB) or not kept (24 KB) command; empty content checks the values alone."""
    limit = KEPT_CONTENT_LIMIT if kept else RUN_CONTENT_LIMIT
    size = content_size(content_b64, values)
    if size <= limit:
        return []
    if values:
        what = "%s and parameter values" % what if content_b64 else "parameter values"
    return ["%s: %d bytes after Base64 encoding, more than the %d (%d KB) a %s allows" % (
        what, size, limit, limit // 1024, "kept command" if kept else "command that is not kept")]


def check_content(command, enable_parameter, values, kept=False):
    """Problems with an inline ``command`` and the parameter ``values`` it gets (``kept``: keep_command)."""
    problems = []
    if not command.strip():
        problems.append("command must not be empty")
    problems.extend(content_size_problems(encode_content(command), values, kept))
    if enable_parameter:
        names = placeholders(command)
        bad = [n for n in names if not PARAMETER_NAME_RE.match(n)]
        if bad:
            problems.append("command has invalid parameter name(s) %s (letters, digits, _ and -, up to 64)"
                            % ", ".join(bad))
        if len(names) > MAX_PLACEHOLDERS:
            problems.append("command uses %d parameters; at most %d are allowed" % (len(names), MAX_PLACEHOLDERS))
        problems.extend(check_parameters(values, [n for n in names if n not in bad], "command"))
    return problems


def os_group(view):
    return "windows" if view.get("os_type") == "windows" else "linux"


def plan_invocations(views, requested_type=None, command_type=None, unreachable="fail",
                     batch_size=MAX_INSTANCES_PER_CALL):
    """Which instance runs which command type, in batches of at most ``batch_size`` per region and type.

    ``views``: ``{instance_id: instance_view}`` in input order (``_fleet.instance_view``).
    ``requested_type``: the ``type`` option (None: from each instance's OS); ``command_type``: the type
    of an existing command (fixed). Returns a dict with ``batches`` (``[{region, type, instance_ids}]``),
    ``types`` (id -> type), ``skipped`` and ``unreachable`` (id -> reason, by the ``unreachable``
    policy) and ``mismatched`` (id -> problem): a non-empty ``mismatched``, or ``unreachable`` under
    ``fail``, means nothing may run.
    """
    fixed = command_type or requested_type
    groups, types, skipped, not_ready, mismatched = {}, {}, {}, {}, {}
    for instance_id, view in views.items():
        if view.get("exists"):
            os_type = os_group(view)
            chosen = fixed or DEFAULT_TYPE[os_type]
            if OS_OF_TYPE[chosen] != os_type:
                mismatched[instance_id] = "%s: type %s cannot run on a %s instance" % (
                    instance_id, chosen, os_type.capitalize())
                continue
            types[instance_id] = chosen
        if not view.get("ready"):
            (skipped if unreachable == "skip" else not_ready)[instance_id] = view.get("reason") or "not ready"
            continue
        groups.setdefault((view["region"], types[instance_id]), []).append(instance_id)
    # Sorted, so that the same instances in any order make the same batches (and the same ClientTokens).
    batches = [dict(region=region, type=cmd_type, instance_ids=chunk)
               for (region, cmd_type), ids in groups.items() for chunk in chunked(sorted(ids), batch_size)]
    return dict(batches=batches, types=types, skipped=skipped, unreachable=not_ready, mismatched=mismatched)


NOT_RUN = {"WouldRun": "planned", "Unreachable": "unreachable", "Unsupported": "unsupported",
           "NotStarted": "cancelled"}   # statuses of instances the command did not run on


def outcome(status, error_code="", repeats=0):
    """The result of a per-instance status, in the collection's vocabulary: succeeded, failed, cancelled,
    pending, scheduled (a periodic command between runs), planned, unreachable, unsupported."""
    if status == "Success":
        return "succeeded"
    if status == "Scheduled":
        return "failed" if error_code and repeats else "scheduled"
    if status in FAILED:
        return "failed"
    if status in STOPPED:
        return "cancelled"
    return NOT_RUN.get(status, "pending")


def is_settled(row, wait_for_first_run):
    """True when an instance needs no more waiting: terminal, or scheduled (after its first run if asked)."""
    status = row.get("InvocationStatus")
    if status in TERMINAL:
        return True
    return status == "Scheduled" and (int(row.get("Repeats") or 0) >= 1 or not wait_for_first_run)


def base_view(view, cmd_type=None, status="", reason=""):
    """A per-instance result before anything ran (planned, unreachable or unsupported)."""
    return dict(instance_id=view["instance_id"], region=view["region"], name=view.get("name", ""),
                os_type=view.get("os_type", ""), type=cmd_type or "", status=status, result=outcome(status),
                reason=reason,
                invoke_id="", exit_code=None, stdout="", stdout_lines=[], output_truncated=False,
                dropped_bytes=0, error_code="", error_info="", start_time="", finish_time="",
                stop_time="", repeats=0)


def result_view(base, row, hide_output=False):
    """``base`` updated from a DescribeInvocationResults ``row`` (None: not reported yet)."""
    result = dict(base)
    if row is None:
        result.update(status="Pending", result="pending")
        return result
    dropped = int(row.get("Dropped") or 0)
    stdout = "" if hide_output else decode_output(row.get("Output"))
    status = row.get("InvocationStatus") or "Pending"
    finished = status in TERMINAL or (status == "Scheduled" and int(row.get("Repeats") or 0) > 0)
    result.update(
        status=status,
        invoke_id=row.get("InvokeId") or base.get("invoke_id", ""),
        exit_code=int(row["ExitCode"]) if finished and row.get("ExitCode") is not None else None,
        stdout=stdout,
        stdout_lines=stdout.splitlines(),
        output_truncated=dropped > 0,
        dropped_bytes=dropped,
        error_code=row.get("ErrorCode") or "",
        error_info=row.get("ErrorInfo") or "",
        start_time=row.get("StartTime") or "",
        finish_time=row.get("FinishedTime") or row.get("FinishTime") or "",
        stop_time=row.get("StopTime") or "",
        repeats=int(row.get("Repeats") or 0),
    )
    result["result"] = outcome(status, result["error_code"], result["repeats"])
    return result


def summarise(results):
    """Counts per result, and ``rc``: 0 if nothing failed or was cancelled, else the first failure's exit code
    (or 1)."""
    summary = dict(total=0, succeeded=0, failed=0, cancelled=0, pending=0, scheduled=0, unreachable=0,
                   unsupported=0, planned=0)
    rc = 0
    for entry in results.values():
        summary["total"] += 1
        summary[entry["result"]] += 1
        if rc == 0 and entry["result"] in ("failed", "cancelled"):
            code = entry.get("exit_code")
            rc = code if isinstance(code, int) and code > 0 else 1
    return summary, rc
