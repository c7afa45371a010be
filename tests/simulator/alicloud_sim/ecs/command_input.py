"""Request validation for the Cloud Assistant command actions, with the real error codes."""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.errors import ApiError
from .common import b64decode_strict, b64encode, encoding
from .fleet import fleet

OS_OF_TYPE = {"RunShellScript": "linux", "RunBatScript": "windows", "RunPowerShellScript": "windows"}
REPEAT_MODES = {"Once", "Period", "NextRebootOnly", "EveryReboot", "DryRun"}
BUILTINS = {"regionid", "accountid", "instanceid", "instancename", "invokeid", "commandid"}
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
PARAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RUN_CONTENT_LIMIT = 24 * 1024      # a RunCommand whose command is not kept
KEPT_CONTENT_LIMIT = 18 * 1024     # KeepCommand=true, CreateCommand, InvokeCommand
MIN_TIMEOUT = 10
MAX_TIMEOUT = 86400
MAX_INSTANCES = 100
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
GMT_ZONE = re.compile(r"^GMT([+-])([1-9]\d?|0):([0-5]\d)$")
CRON_YEAR = re.compile(r"^[0-9*,/-]+$")


@dataclass
class Schedule:
    repeat_mode: str
    frequency: str = ""
    kind: str = "once"          # once | rate | at | cron | reboot
    period: float = None        # seconds, for rate()
    at: float = None            # epoch, for at()


def command_type(params):
    value = params.str("Type", required=True)
    if value not in OS_OF_TYPE:
        raise ApiError("InvalidCmdType.NotFound", "The specified command type does not exist.", 404)
    return value


def command_content(params, default_encoding, kept):
    """The content as stored (Base64 text), checked for encoding and size."""
    raw = params.str("CommandContent", required=True)
    if encoding(params, default_encoding) == "Base64":
        try:
            b64decode_strict(raw)
        except ValueError:
            raise ApiError("CmdContent.DecodeError", "The command content is not a valid Base64 string.") from None
        stored = raw
    else:
        stored = b64encode(raw.encode("utf-8"))
    check_content_size(stored, {}, kept)
    return stored


def content_size(content_b64, values):
    """What counts toward the content limit: the Base64 content plus the Base64 of the custom
    parameter values as compact UTF-8 JSON (``{"name":"value"}``)."""
    if not values:
        return len(content_b64)
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return len(content_b64) + len(b64encode(text.encode("utf-8")))


def check_content_size(content_b64, values, kept):
    limit = KEPT_CONTENT_LIMIT if kept else RUN_CONTENT_LIMIT
    if content_size(content_b64, values) > limit:
        raise ApiError("CmdContent.ExceedLimit", f"The command content, custom parameter values included, exceeds "
                       f"{limit // 1024} KB after Base64 encoding.", 403)


def descriptive_fields(params):
    """Name, Description and WorkingDir with their length limits."""
    name = params.str("Name") or ""
    description = params.str("Description") or ""
    working_dir = params.str("WorkingDir") or ""
    if len(name) > 128:
        raise ApiError("CmdName.ExceedLimit", "The command name exceeds 128 characters.", 403)
    if len(description) > 512:
        raise ApiError("CmdDesc.ExceedLimit", "The command description exceeds 512 characters.", 403)
    if len(working_dir) > 200:
        raise ApiError("InvalidParameter.WorkingDir", "The specified WorkingDir is not valid.")
    return name, description, working_dir


def timeout(params, default=60):
    """``Timeout`` in seconds, 10 to 86400; the one documented code, ``InvalidTimeout.ExceedLimit``, for both ends."""
    value = params.int("Timeout", default=default)
    if value < MIN_TIMEOUT:
        raise ApiError("InvalidTimeout.ExceedLimit",
                       f"The specified Timeout is below the lower limit of {MIN_TIMEOUT} seconds.", 403)
    if value > MAX_TIMEOUT:
        raise ApiError("InvalidTimeout.ExceedLimit", "The specified Timeout exceeds the upper limit.", 403)
    return value


def parameter_names(content_b64, enabled):
    """Custom ``{{name}}`` parameters of a command (built-ins and ``{{oos:NAME}}``/``{{oos-secret:NAME}}``
    references to OOS parameters excluded), in first-use order."""
    if not enabled:
        return []
    text = plain_text(content_b64)
    names = []
    for token in PLACEHOLDER.findall(text):
        if token.lower().startswith(("acs::", "oos:", "oos-secret:")):
            continue
        if not PARAM_NAME.match(token):
            raise ApiError("CmdParam.InvalidParamName", f"The parameter name {token} is not valid.")
        if token.lower() not in {n.lower() for n in names}:
            names.append(token)
    if len(names) > 20:
        raise ApiError("CmdParamCount.ExceedLimit", "The number of custom parameters exceeds 20.", 403)
    return names


def invocation_parameters(params, names, enabled):
    """The ``Parameters`` map checked against the command's parameter names."""
    values = params.json("Parameters", default={})
    if not isinstance(values, dict):
        raise ApiError("InvalidParameter.Parameters", "The specified Parameters is not a JSON object.")
    if values and not enabled:
        raise ApiError("Parameter.Disabled", "Parameters are given but EnableParameter is false for the command.")
    if len(values) > 10:
        raise ApiError("ParameterCount.ExceedLimit", "The number of parameters exceeds 10.", 403)
    if any(not str(k) for k in values):
        raise ApiError("CmdParam.EmptyKey", "A parameter name is empty.")
    known = {n.lower(): n for n in names}
    result = {}
    for key, value in values.items():
        if str(key).lower() not in known:
            raise ApiError("Parameter.NotMatched", f"The parameter {key} is not defined in the command.", 403)
        result[known[str(key).lower()]] = value if isinstance(value, str) else str(value)
    missing = [n for n in names if n not in result]
    if missing:
        raise ApiError("Parameter.MissingValue", f"No value is given for the parameter {missing[0]}.")
    return result


def schedule(params, timeout_seconds, now):
    frequency = params.str("Frequency") or ""
    mode = params.str("RepeatMode") or ("Period" if frequency else "Once")
    if mode not in REPEAT_MODES:
        raise ApiError("InvalidRepeatMode.NotFound", "The specified RepeatMode does not exist.", 404)
    if mode in ("NextRebootOnly", "EveryReboot"):
        return Schedule(mode, frequency, kind="reboot")
    if mode != "Period":
        return Schedule(mode)
    if not frequency:
        raise ApiError("MissingParam.Frequency", "Frequency is required when RepeatMode is Period.")
    return frequency_schedule(frequency.strip(), timeout_seconds, now)


def frequency_schedule(frequency, timeout_seconds, now, mode="Period"):
    """The Schedule of a Period ``frequency``; InvalidParam.Frequency for anything RunCommand does not take."""
    bad = ApiError("InvalidParam.Frequency", f"The specified Frequency {frequency} is not valid.")
    rate = re.fullmatch(r"rate\((\d+)([smhd])\)", frequency)
    if rate:
        period = int(rate.group(1)) * RATE_UNITS[rate.group(2)]
        if not 60 <= period <= 7 * 86400 or period < timeout_seconds:
            raise bad
        return Schedule(mode, frequency, kind="rate", period=float(period))
    at = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\s+(\S+))?\)", frequency)
    if at:
        zone = time_zone(at.group(2) or "UTC")
        if zone is None:
            raise bad
        try:
            when = datetime.strptime(at.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).timestamp()
        except ValueError:
            raise bad from None
        if when <= now:
            raise bad
        return Schedule(mode, frequency, kind="at", at=when)
    fields = frequency.split()
    if 6 <= len(fields) <= 8:
        if (len(fields) == 8 or (len(fields) == 7 and not CRON_YEAR.match(fields[6]))) and \
                time_zone(fields[-1]) is None:
            raise bad
        return Schedule(mode, frequency, kind="cron")
    raise bad


def time_zone(text):
    """The tzinfo of a Frequency's time zone - an IANA name, GMT+H:MM (no leading zero in the hour) or UTC (the
    three forms RunCommand documents) - or None."""
    if text == "UTC":
        return timezone.utc
    gmt = GMT_ZONE.match(text)
    if gmt:
        delta = timedelta(hours=int(gmt.group(2)), minutes=int(gmt.group(3)))
        return timezone(-delta if gmt.group(1) == "-" else delta)
    if "/" not in text:
        return None
    try:
        return ZoneInfo(text)
    except (ValueError, ZoneInfoNotFoundError):
        return None


def client_token(params):
    token = params.str("ClientToken")
    if token is not None and (len(token) > 64 or not token.isascii()):
        raise ApiError("InvalidClientToken.Malformed", "The specified ClientToken is not valid.")
    return token


def resource_tags(params, name="Tag"):
    tags = {}
    for item in params.struct_list(name):
        if not item.get("Key"):
            raise ApiError(f"MissingParameter.{name}Key", f"The parameter {name}.N.Key is required.")
        tags[item["Key"]] = item.get("Value", "")
    if len(tags) > 20:
        raise ApiError(f"NumberExceed.{name}s", f"The number of {name}.N exceeds 20.")
    return tags


def target_instances(sim, region, params, cmd_type):
    """The instances of InstanceId.N or ResourceTag.N; every one must be able to run the command."""
    ids = list(dict.fromkeys(params.repeat("InstanceId")))
    selector = resource_tags(params, "ResourceTag")
    if ids and selector:
        raise ApiError("InvalidResourceTag.ConflictWithInstanceIds",
                       "InstanceId and ResourceTag are mutually exclusive.")
    if not ids and not selector:
        raise ApiError("MissingParam.InstanceId", "InstanceId or ResourceTag is required.")
    if len(ids) > MAX_INSTANCES:
        raise ApiError("InstanceIds.ExceedLimit", "The number of instance IDs exceeds the upper limit.", 403)
    if selector:
        instances = [i for i in fleet(sim).all(region)
                     if all(k in i.tags and (not v or i.tags[k] == v) for k, v in selector.items())]
        if not instances:
            raise ApiError("InvalidResourceTag.InstanceNotFound", "No instance matches the specified ResourceTag.")
    else:
        instances = [fleet(sim).get(i) for i in ids]
        if any(i is None or i.released or i.region != region for i in instances):
            raise ApiError("InvalidInstance.NotFound", "The specified instance does not exist.", 404)
    if len(instances) > MAX_INSTANCES:
        raise ApiError("InstanceIds.ExceedLimit", "More than 100 instances match the specified ResourceTag.", 403)
    for inst in instances:
        check_eligible(inst, cmd_type)
    return instances


def check_eligible(inst, cmd_type=None):
    """Request-level checks: Running, Cloud Assistant installed, OS matching the command type (if one is given)."""
    if inst.status != "Running":
        raise ApiError("InvalidInstance.NotMatch", f"The specified instance {inst.id} is not in the Running state.")
    if not inst.agent_installed:
        raise ApiError("InvalidInstance.NoClient",
                       "The specified instances have no cloud assistant client installed.")
    if cmd_type and OS_OF_TYPE[cmd_type] != inst.os_type:
        raise ApiError("InvalidInstance.NotMatch",
                       f"The command type {cmd_type} does not match the OS type of instance {inst.id}.")


def plain_text(content_b64):
    return b64decode_strict(content_b64).decode("utf-8", "replace")


def render(content_b64, values, builtins):
    """The script text with ``{{name}}`` and ``{{ACS::Name}}`` placeholders substituted."""
    text = plain_text(content_b64)
    lower_values = {k.lower(): v for k, v in values.items()}

    def substitute(match):
        token = match.group(1)
        low = token.lower()
        if low.startswith("acs::") and low[5:] in BUILTINS:
            return builtins[low[5:]]
        return lower_values.get(low, match.group(0))

    return PLACEHOLDER.sub(substitute, text)
