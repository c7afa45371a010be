# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: Cloud Assistant command content — encoding, placeholders, parameters,
the size limits and output decoding (pure). ``check_content`` validates what is sent."""

from __future__ import annotations

import base64
import binascii
import json
import re


COMMAND_TYPES = ("RunShellScript", "RunPowerShellScript", "RunBatScript")
OS_OF_TYPE = {"RunShellScript": "linux", "RunPowerShellScript": "windows", "RunBatScript": "windows"}
DEFAULT_TYPE = {"linux": "RunShellScript", "windows": "RunPowerShellScript"}
REPEAT_MODES = ("Once", "Period", "NextRebootOnly", "EveryReboot")

RUN_CONTENT_LIMIT = 24 * 1024    # CommandContent after Base64, RunCommand without KeepCommand
KEPT_CONTENT_LIMIT = 18 * 1024   # the same for a kept command (KeepCommand, CreateCommand, InvokeCommand)
MAX_PARAMETER_VALUES = 10
MAX_PLACEHOLDERS = 20
MIN_TIMEOUT = 10                 # Timeout of RunCommand / InvokeCommand
MAX_TIMEOUT = 86400
OUTPUT_LIMIT = 24 * 1024
LENGTH_LIMITS = dict(working_dir=200, username=255, launcher=1024, container_id=128, container_name=128)


PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
NOT_CUSTOM = ("acs::", "oos:", "oos-secret:")
PARAMETER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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


def length_problems(params):
    """Problems of the options of ``params`` that LENGTH_LIMITS bounds (those present in ``params``)."""
    return ["%s is longer than %d characters" % (name, limit) for name, limit in LENGTH_LIMITS.items()
            if params.get(name) is not None and len(params[name]) > limit]


def parameter_values(params, options, problems):
    """{name: value as text} from the dict options ``options`` of ``params``; appends a problem for a bad name,
    a name given twice (in any case, across the options) or a value that is not a scalar."""
    values = {}
    for option in options:
        for key, value in (params[option] or {}).items():
            if not PARAMETER_NAME_RE.match(str(key)):
                problems.append("%s: %r is not a parameter name (letters, digits, _ and -, up to 64)" % (option, key))
            elif str(key).lower() in (k.lower() for k in values):
                problems.append("%s: parameter %s is given twice" % (option, key))
            elif isinstance(value, (dict, list)):
                problems.append("%s: the value of %s must be a string, number or boolean" % (option, key))
            else:
                values[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return values


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
