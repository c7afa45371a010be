# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: saved Cloud Assistant commands — find one by id or name (the region's own,
then the public ones) for the modules that invoke a saved command."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._paging import list_all
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError


def _describe_commands(api, query):
    return list_all(lambda q: api.call("DescribeCommands", q), dict(query, MaxResults=50), ("Commands", "Command"))


def find_commands(api, command_id=None, name=None):
    """The commands matching ``command_id`` or ``name``: the region's own, else the public ones.

    A ``command_id`` that does not start with ``c-`` is the name of a public command. Public commands are
    looked up by name with ``Latest=true``: without it every version of a public command is listed.
    """
    if command_id and not command_id.startswith("c-"):
        command_id, name, own = None, command_id, []
    else:
        own = _describe_commands(api, {"CommandId": command_id} if command_id else {"Name": name})
    if own:
        return own
    if command_id:
        return [c for c in _describe_commands(api, {"CommandId": command_id, "Provider": "AlibabaCloud"})
                if c.get("CommandId") == command_id]
    return [c for c in _describe_commands(api, {"Name": name, "Provider": "AlibabaCloud", "Latest": True})
            if c.get("Name") == name]


def resolve_command(api, command_id=None, name=None):
    """The existing command (private first, then public) as a dict, or None if it does not exist."""
    found = find_commands(api, command_id, name)
    if not found:
        return None
    if len(found) > 1:
        option = "command_id" if command_id else "command_name"
        raise ValidationError("%s %s matches %d commands (%s); use command_id with one of their ids" % (
            option, command_id or name, len(found), ", ".join(c["CommandId"] for c in found)))
    cmd = found[0]
    return dict(command_id=cmd["CommandId"], name=cmd.get("Name", ""), type=cmd.get("Type", ""),
                content=cmd.get("CommandContent") or "", enable_parameter=bool(cmd.get("EnableParameter")),
                parameter_names=((cmd.get("ParameterNames") or {}).get("ParameterName") or []))
