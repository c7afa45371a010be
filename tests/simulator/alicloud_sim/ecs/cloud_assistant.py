"""ECS Cloud Assistant command actions."""

import dataclasses
import json

from ..core.errors import ApiError
from ..core.registry import action
from .command_input import (OS_OF_TYPE, check_content_size, check_eligible, client_token, command_content,
                            command_type, descriptive_fields, frequency_schedule, invocation_parameters,
                            parameter_names, resource_tags, schedule, target_instances, timeout)
from .common import encoding, require_region, tag_filters, tags_match
from .fleet import fleet
from .invocations import Command, overall_status
from .paging import ecs_page
from .views import INVOKE_STATUS, command_view, invocation_view, result_view

DEFAULT_USER = {"linux": "root", "windows": "System"}
DEFAULT_DIR = {"linux": "/root", "windows": "C:\\Windows\\system32"}
TERMINATION_MODES = {"Process", "ProcessTree"}


def _ca(sim):
    return sim.components["commands"]


def _idempotent(sim, req, region, build):
    """Same ClientToken + same request -> the first answer; a different request -> an error."""
    token = client_token(req.params)
    if token is None:
        return build()
    tokens = _ca(sim).tokens
    key = (region, req.action, token)
    fingerprint = json.dumps(sorted((k, v) for k, v in req.params.raw.items() if k != "ClientToken"))
    if key in tokens:
        if tokens[key][0] != fingerprint:
            raise ApiError("IdempotentParameterMismatch",
                           "The request uses the same client token as a previous, but non-identical request.", 403)
        return dict(tokens[key][1])
    result = build()
    tokens[key] = (fingerprint, result)
    return result


def _invoke_options(params, cmd_type, working_dir, timeout_seconds, tags):
    os_type = OS_OF_TYPE[cmd_type]
    username = params.str("Username") or DEFAULT_USER[os_type]
    if len(username) > 255:
        raise ApiError("Username.ExceedLimit", "The specified Username exceeds 255 characters.", 403)
    launcher = params.str("Launcher") or ""
    if len(launcher) > 1024:
        raise ApiError("InvalidLauncher.LengthLimitExceeded", "The specified Launcher exceeds 1 KB.", 403)
    mode = params.str("TerminationMode") or "Process"
    if mode not in TERMINATION_MODES:
        raise ApiError("InvalidTerminationMode.NotFound", "The specified TerminationMode does not exist.", 404)
    extra = {"ContainerId": params.str("ContainerId") or "", "ContainerName": params.str("ContainerName") or "",
             "Launcher": launcher, "TerminationMode": mode, "OssOutputDelivery": params.str("OssOutputDelivery") or ""}
    return {"timeout": timeout_seconds, "working_dir": working_dir or DEFAULT_DIR[os_type], "username": username,
            "tags": tags, "extra": extra}


def _start(sim, req, region, cmd, timeout_seconds, working_dir, kept):
    """Validate the invocation part of RunCommand/InvokeCommand and start it."""
    p = req.params
    values = invocation_parameters(p, cmd.parameter_names, cmd.enable_parameter)
    check_content_size(cmd.content, values, kept)
    now = sim.clock.now()
    sched = schedule(p, timeout_seconds, now)
    instances = target_instances(sim, region, p, cmd.type)
    options = _invoke_options(p, cmd.type, working_dir, timeout_seconds, resource_tags(p))
    if sched.repeat_mode == "DryRun":
        raise ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")
    return _ca(sim).invoke(region, cmd, instances, values, sched, options, now)


def _new_command(sim, req, region, default_encoding, keep):
    p = req.params
    cmd_type = command_type(p)
    content = command_content(p, default_encoding, keep)
    name, description, working_dir = descriptive_fields(p)
    enabled = p.bool("EnableParameter")
    return Command(id=_ca(sim).new_id("c", region), region=region, name=name, type=cmd_type, content=content,
                   description=description, working_dir=working_dir, timeout=timeout(p),
                   enable_parameter=enabled, parameter_names=parameter_names(content, enabled),
                   creation_time=sim.clock.now(), launcher=p.str("Launcher") or "", tags=resource_tags(p),
                   keep=keep)


@action("ecs", "RunCommand", mutating=True)
def run_command(sim, req):
    region = require_region(req)

    def build():
        cmd = _new_command(sim, req, region, "PlainText", keep=req.params.bool("KeepCommand"))
        inv = _start(sim, req, region, cmd, cmd.timeout, cmd.working_dir, kept=cmd.keep)
        _ca(sim).commands[cmd.id] = cmd
        return {"CommandId": cmd.id, "InvokeId": inv.id}

    return _idempotent(sim, req, region, build)


@action("ecs", "CreateCommand", mutating=True)
def create_command(sim, req):
    region = require_region(req)
    req.params.str("Name", required=True)

    def build():
        cmd = _new_command(sim, req, region, "Base64", keep=True)
        _ca(sim).commands[cmd.id] = cmd
        return {"CommandId": cmd.id}

    return _idempotent(sim, req, region, build)


def _existing_command(sim, region, params):
    cmd = _ca(sim).command(region, params.str("CommandId", required=True))
    if cmd is None:
        raise ApiError("InvalidCmdId.NotFound", "The specified command ID does not exist.", 404)
    return cmd


@action("ecs", "InvokeCommand", mutating=True)
def invoke_command(sim, req):
    region = require_region(req)

    def build():
        cmd = _existing_command(sim, region, req.params)
        inv = _start(sim, req, region, cmd, timeout(req.params, default=cmd.timeout),
                     req.params.str("WorkingDir") or cmd.working_dir, kept=True)
        return {"InvokeId": inv.id}

    return _idempotent(sim, req, region, build)


@action("ecs", "DescribeCommands")
def describe_commands(sim, req):
    p = req.params
    region = require_region(req)
    provider = p.str("Provider")
    if provider:
        cmds = [c for c in _ca(sim).commands.values() if c.region is None and (c.latest or not p.bool("Latest"))
                and (provider in (c.provider, c.category) or c.category.startswith(provider))]
    else:
        cmds = [c for c in _ca(sim).commands.values() if c.region == region]
    name = p.str("Name")
    if name:
        cmds = [c for c in cmds if (name.lower() in c.name.lower() if provider else c.name == name)]
    for field, attr in (("CommandId", "id"), ("Type", "type")):
        if p.str(field):
            cmds = [c for c in cmds if getattr(c, attr) == p.str(field)]
    filters = tag_filters(p)
    cmds = [c for c in reversed(cmds) if tags_match(c.tags, filters)]
    chunk, fields = ecs_page(p, cmds)
    enc = encoding(p, "Base64")
    return {**fields, "Commands": {"Command": [command_view(c, enc) for c in chunk]}}


@action("ecs", "DeleteCommand", mutating=True)
def delete_command(sim, req):
    region = require_region(req)
    cmd = _existing_command(sim, region, req.params)
    if cmd.region is None:
        raise ApiError("Operation.Forbidden", "Public commands cannot be deleted.", 403)
    del _ca(sim).commands[cmd.id]
    return {}


def will_run(inv):
    """DescribeInvocations' ``Timed`` filter: true for an invocation of RepeatMode Period, NextRebootOnly or
    EveryReboot that has not been stopped or completed; false for Once and for what was stopped or completed."""
    return inv.schedule.kind != "once" and overall_status(inv) in ("Pending", "Running", "Scheduled")


def _invocation(sim, region, invoke_id):
    inv = _ca(sim).invocations.get(invoke_id)
    if inv is None or inv.region != region:
        raise ApiError("InvalidInvokeId.NotFound", "The specified invoke ID does not exist.", 404)
    return inv


@action("ecs", "DescribeInvocations")
def describe_invocations(sim, req):
    p = req.params
    region = require_region(req)
    invs = [inv for inv in reversed(_ca(sim).invocations.values()) if inv.region == region]
    checks = {"InvokeId": lambda inv, v: inv.id == v, "CommandId": lambda inv, v: inv.command.id == v,
              "CommandName": lambda inv, v: inv.command.name == v, "CommandType": lambda inv, v: inv.command.type == v,
              "InstanceId": lambda inv, v: v in inv.items, "RepeatMode": lambda inv, v: inv.schedule.repeat_mode == v,
              "InvokeStatus": lambda inv, v: v in (overall_status(inv), INVOKE_STATUS[overall_status(inv)])}
    for name, check in checks.items():
        value = p.str(name)
        if value:
            invs = [inv for inv in invs if check(inv, value)]
    if "Timed" in p:
        invs = [inv for inv in invs if will_run(inv) == p.bool("Timed")]
    filters = tag_filters(p)
    invs = [inv for inv in invs if tags_match(inv.tags, filters)]
    chunk, fields = ecs_page(p, invs)
    include = p.bool("IncludeOutput") and bool(p.str("InvokeId") or p.str("InstanceId"))
    enc = encoding(p, "Base64")
    views = [invocation_view(inv, enc, include, p.str("InstanceId")) for inv in chunk]
    return {**fields, "Invocations": {"Invocation": views}}


@action("ecs", "DescribeInvocationResults")
def describe_invocation_results(sim, req):
    p = req.params
    region = require_region(req)
    invoke_id = p.str("InvokeId")
    invs = [_invocation(sim, region, invoke_id)] if invoke_id else \
        [inv for inv in reversed(_ca(sim).invocations.values()) if inv.region == region]
    if p.str("CommandId"):
        invs = [inv for inv in invs if inv.command.id == p.str("CommandId")]
    enc = encoding(p, "Base64")
    history = p.bool("IncludeHistory") and bool(invoke_id)
    rows = []
    for inv in invs:
        for item in inv.items.values():
            if p.str("InstanceId") and item.instance_id != p.str("InstanceId"):
                continue
            if history and inv.schedule.kind != "once":
                rows.extend(result_view(inv, item, enc, record) for record in reversed(item.history))
            else:
                rows.append(result_view(inv, item, enc))
    wanted = p.str("InvokeRecordStatus")
    if wanted:
        rows = [r for r in rows if wanted in (r["InvokeRecordStatus"], r["InvocationStatus"])]
    chunk, fields = ecs_page(p, rows)
    return {"Invocation": {**fields, "InvocationResults": {"InvocationResult": chunk}}}


@action("ecs", "StopInvocation", mutating=True)
def stop_invocation(sim, req):
    p = req.params
    region = require_region(req)
    inv = _invocation(sim, region, p.str("InvokeId", required=True))
    ids = list(dict.fromkeys(p.repeat("InstanceId")))
    if len(ids) > 50:
        raise ApiError("InstanceIds.ExceedLimit", "The number of instance IDs exceeds the upper limit.", 403)
    if any(i not in inv.items for i in ids):
        raise ApiError("InvalidInstanceId.NotFound", "The specified instance is not part of the invocation.", 404)
    _ca(sim).stop(inv, ids, sim.clock.now())
    return {}


@action("ecs", "ModifyInvocationAttribute", mutating=True)
def modify_invocation_attribute(sim, req):
    """Changes a scheduled invocation in place: its command content, parameters and frequency (Period only), and
    adds instances (InstanceId.N); its tags, id and creation time stay. A rate's next run keeps to the creation
    time."""
    p = req.params
    region = require_region(req)
    inv = _invocation(sim, region, p.str("InvokeId", required=True))

    def build():
        cmd = inv.command
        enabled = p.bool("EnableParameter") if "EnableParameter" in p else cmd.enable_parameter
        if p.str("CommandContent") is not None:
            content = command_content(p, "PlainText", cmd.keep)
            cmd = dataclasses.replace(cmd, content=content, enable_parameter=enabled,
                                      parameter_names=parameter_names(content, enabled))
        values = invocation_parameters(p, cmd.parameter_names, enabled) if "Parameters" in p else None
        check_content_size(cmd.content, inv.parameters if values is None else values, cmd.keep)
        now = sim.clock.now()
        sched = None
        if p.str("Frequency") and inv.schedule.repeat_mode == "Period":
            sched = frequency_schedule(p.str("Frequency").strip(), inv.timeout, now)
        added = []
        for instance_id in dict.fromkeys(p.repeat("InstanceId")):
            inst = fleet(sim).get(instance_id)
            if inst is None or inst.released or inst.region != region:
                raise ApiError("InvalidInstance.NotFound", "The specified instance does not exist.", 404)
            check_eligible(inst, cmd.type)
            added.append(inst)
        _ca(sim).modify(inv, cmd, values, sched, added, now)
        return {}

    return _idempotent(sim, req, region, build)
