"""The ``/_sim/`` admin API: JSON in, JSON out, no signature, loopback clients only by default.

Besides the fixed endpoints (health, reset, calls, faults, quotas, state, clock), a path that starts with a
component's name belongs to that component:

- ``admin_request(method, path, body)``, when the component defines it, answers any request under
  ``/_sim/<component>/`` (``path`` is the list of the parts after the name); it takes the state lock
  itself and returns ``NotImplemented`` for a path it does not serve;
- otherwise ``POST /_sim/<component>/<verb>`` calls ``admin_<verb>(body)`` under the state lock,
  after the state was advanced.

Handlers raise :class:`AdminError` for an HTTP error, ValueError/TypeError for a bad body (400).
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

from .. import __version__
from .errors import ApiError


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
    if key == ("GET", "calls"):
        since = int(query["since"]) if query.get("since") else None
        throttled = None
        if query.get("throttled"):
            throttled = query["throttled"].lower() in ("1", "true", "yes")
        return {"calls": server.calllog.query(query.get("product"), query.get("action"), since, throttled)}
    if key == ("GET", "faults"):
        return {"faults": server.faults.list()}
    if key == ("POST", "faults"):
        return {"faults": server.faults.add(data)}
    if key == ("DELETE", "faults"):
        return {"cleared": server.faults.clear()}
    if key == ("GET", "quotas"):
        return sim.quotas.view()
    if key == ("POST", "quotas"):
        if data is None:
            raise ValueError("POST /_sim/quotas takes a JSON object (enabled, default, actions, retry_after)")
        return sim.quotas.update(data)
    if key == ("DELETE", "quotas"):
        return {"refilled": sim.quotas.refill()}
    if key == ("GET", "state"):
        return sim.snapshot()
    if key == ("POST", "clock"):
        return clock(sim, data or {})
    comp = sim.components.get(parts[0]) if parts else None
    if hasattr(comp, "admin_request"):
        answer = comp.admin_request(method, parts[1:], data)
        if answer is not NotImplemented:
            return answer
    if len(parts) == 2 and method == "POST":
        return component_hook(sim, parts[0], parts[1], data)
    raise AdminError(404, f"no admin endpoint {method} /_sim/{'/'.join(parts)}")


def health(sim):
    return {"status": "ok", "version": __version__, "time_scale": sim.clock.time_scale,
            "now": sim.clock.now(), "quotas_enabled": sim.quotas.enabled, **sim.health()}


def reset(sim, data):
    data = dict(data or {})
    time_scale = data.pop("time_scale", None)
    if data:
        sim.check_fleet(data)
    with sim.lock:
        sim.reset(data or None)
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


def component_hook(sim, name, verb, data):
    comp = sim.components.get(name)
    method = getattr(comp, f"admin_{verb}", None) if comp is not None else None
    if method is None or not re.fullmatch(r"[a-z_][a-z0-9_]*", verb):
        raise AdminError(404, f"no admin hook {name}/{verb}")
    with sim.lock:
        sim.advance()
        return method(data)
