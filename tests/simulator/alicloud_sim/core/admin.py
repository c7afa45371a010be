"""The ``/_sim/`` admin API: JSON in, JSON out, no signature, loopback clients only by default.

Besides the fixed endpoints, ``POST /_sim/<component>/<verb>`` calls
``sim.components[<component>].admin_<verb>(body)`` under the state lock.
Components that care about instance changes made here may define
``instance_changed(instance, changes)``; ``changes`` holds the fields that changed plus
``"rebooted": True`` when the instance was rebooted or started again.
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from .errors import ApiError
from .state import instance_view

INSTANCE_STATUSES = {"Pending", "Running", "Starting", "Stopping", "Stopped"}
AGENT_STATES = {"online", "offline", "none"}


class AdminError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def handle(server, method, raw_path, body, client_ip):
    """Return (HTTP status, JSON-able payload) for one admin request."""
    from .server import is_loopback   # the server imports this module
    if not server.allow_remote and not is_loopback(client_ip):
        return 403, {"error": "the admin API only answers loopback clients"}
    split = urlsplit(raw_path)
    parts = [p for p in split.path.split("/") if p][1:]
    query = {k: v[-1] for k, v in parse_qs(split.query).items()}
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return 400, {"error": "the body is not valid JSON"}
    try:
        return 200, _route(server, method, parts, query, data)
    except AdminError as err:
        return err.status, {"error": err.message}
    except (ValueError, TypeError, ApiError) as err:
        return 400, {"error": str(err)}


def _route(server, method, parts, query, data):
    sim = server.sim
    key = (method, "/".join(parts))
    if key == ("GET", "health"):
        return health(sim)
    if key == ("POST", "reset"):
        return reset(sim, data)
    if key == ("POST", "instances"):
        return {"instance_ids": [i.id for i in sim.add_instances(_fleet(data))]}
    if len(parts) == 2 and parts[0] == "instances" and method in ("PATCH", "POST"):
        return patch_instance(sim, parts[1], data or {})
    if len(parts) == 2 and parts[0] == "instances" and method == "GET":
        return instance_view(_instance(sim, parts[1]))
    if key == ("GET", "calls"):
        since = int(query["since"]) if query.get("since") else None
        return {"calls": server.calllog.query(query.get("product"), query.get("action"), since)}
    if key == ("GET", "faults"):
        return {"faults": server.faults.list()}
    if key == ("POST", "faults"):
        return {"faults": server.faults.add(data)}
    if key == ("DELETE", "faults"):
        return {"cleared": server.faults.clear()}
    if key == ("GET", "state"):
        return sim.snapshot()
    if key == ("POST", "clock"):
        return clock(sim, data or {})
    if len(parts) == 2 and method == "POST":
        return component_hook(sim, parts[0], parts[1], data)
    raise AdminError(404, f"no admin endpoint {method} /_sim/{'/'.join(parts)}")


def health(sim):
    return {"status": "ok", "version": __version__, "time_scale": sim.clock.time_scale,
            "now": sim.clock.now(), "instances": len(sim.instances())}


def reset(sim, data):
    data = dict(data or {})
    time_scale = data.pop("time_scale", None)
    with sim.lock:
        sim.reset(_fleet(data) if data else None)
        if time_scale is not None:
            sim.clock.set_time_scale(float(time_scale))
    return health(sim)


def clock(sim, data):
    with sim.lock:
        sim.advance()
        if "time_scale" in data:
            sim.clock.set_time_scale(float(data["time_scale"]))
        if "advance" in data:
            seconds = float(data["advance"])
            if seconds < 0:
                raise ValueError("the clock only moves forward")
            sim.clock.advance(seconds)
        sim.advance()
        return {"now": sim.clock.now(), "time_scale": sim.clock.time_scale}


def patch_instance(sim, instance_id, data):
    unknown = set(data) - {"status", "agent", "tags", "released", "fail", "reboot"}
    if unknown:
        raise ValueError(f"unknown instance fields: {', '.join(sorted(unknown))}")
    with sim.lock:
        inst = _instance(sim, instance_id)
        sim.advance()   # settle everything up to now under the old state
        changes = {}
        if "status" in data:
            if data["status"] not in INSTANCE_STATUSES:
                raise ValueError(f"status must be one of {sorted(INSTANCE_STATUSES)}")
            if data["status"] == "Running" and inst.status != "Running":
                inst.start_time = sim.clock.now()
                changes["rebooted"] = True
            changes["status"] = inst.status = data["status"]
        if "agent" in data:
            if data["agent"] not in AGENT_STATES:
                raise ValueError(f"agent must be one of {sorted(AGENT_STATES)}")
            changes["agent"] = inst.agent = data["agent"]
        if "tags" in data:
            changes["tags"] = inst.tags = {str(k): str(v) for k, v in dict(data["tags"]).items()}
        if "released" in data:
            changes["released"] = inst.released = bool(data["released"])
        if "fail" in data:
            inst.fail = set(data["fail"] or ())
            changes["fail"] = sorted(inst.fail)
        if data.get("reboot"):
            inst.start_time = sim.clock.now()
            changes["rebooted"] = True
        for comp in sim.components.values():
            if hasattr(comp, "instance_changed"):
                comp.instance_changed(inst, changes)
        sim.advance()
        return instance_view(inst)


def component_hook(sim, name, verb, data):
    comp = sim.components.get(name)
    method = getattr(comp, f"admin_{verb}", None) if comp is not None else None
    if method is None or not re.fullmatch(r"[a-z_][a-z0-9_]*", verb):
        raise AdminError(404, f"no admin hook {name}/{verb}")
    with sim.lock:
        sim.advance()
        return method(data)


def _instance(sim, instance_id):
    inst = sim.instance(instance_id)
    if inst is None:
        raise AdminError(404, f"no instance {instance_id}")
    return inst


def _fleet(data):
    if not isinstance(data, dict) or "regions" not in data:
        raise ValueError('a fleet is {"regions": {REGION: {"instances": [...]}}}')
    return data
