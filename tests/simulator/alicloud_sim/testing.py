"""Run the simulator in-process for tests; also a pytest plugin (fixtures ``sim_server``, ``sim_server_factory``).

:class:`AdminClient` is the one client of the admin API, for an in-process server or a process.
The SDKs are imported only when ``SimServer.oos()`` / ``.ecs()`` are called.
"""

import json
import urllib.error
import urllib.parse
import urllib.request

from .core.server import ApiServer
from .simulator import Simulator

try:
    import pytest
except ImportError:  # pragma: no cover - the helpers work without pytest
    pytest = None

ACCESS_KEY = "sim-access-key"
SECRET_KEY = "sim-secret-key"


class AdminError(Exception):
    """A ``/_sim/`` request answered with an HTTP error: ``status``, ``body`` (parsed JSON) and ``raw`` (bytes)."""

    def __init__(self, status, body, raw=b""):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.raw = raw


class AdminClient:
    """The admin API (``/_sim/``) of a simulator at ``url`` (``http://HOST:PORT``), over plain HTTP.

    Every method returns the parsed JSON answer and raises :class:`AdminError` on 4xx/5xx.
    """

    def __init__(self, url, timeout=30):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def request(self, method, path, body=None):
        """``method /_sim/<path>`` with ``body`` as JSON (None: no body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_sim/{path.lstrip('/')}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"error": raw.decode("utf-8", "replace")}
            raise AdminError(err.code, body, raw) from None

    def health(self):
        return self.request("GET", "health")

    def reset(self, fleet=None, time_scale=None):
        """New state from ``fleet`` (None: the default fleet); ``time_scale`` changes the speed too."""
        body = {} if fleet is None else fleet
        if time_scale is not None:
            body = {**body, "time_scale": time_scale}
        return self.request("POST", "reset", body)

    def add_instances(self, fleet):
        """Add a fleet's instances; returns their ids."""
        return self.request("POST", "instances", fleet)["instance_ids"]

    def instance(self, instance_id):
        return self.request("GET", f"instances/{instance_id}")

    def change_instance(self, instance_id, **changes):
        """Change one instance (status, agent, tags, released, fail, reboot); returns its new view."""
        return self.request("POST", f"instances/{instance_id}", changes)

    def calls(self, since=None, action=None, product=None, throttled=None):
        """The call log (after ``since``, a ``seq``), optionally of one action and/or product, and only the
        throttled calls (``throttled=True``) or only the others (``False``)."""
        if throttled is not None:
            throttled = "true" if throttled else "false"
        query = urllib.parse.urlencode({k: v for k, v in (("since", since), ("action", action), ("product", product),
                                                          ("throttled", throttled))
                                        if v is not None and v != ""})
        return self.request("GET", "calls" + (f"?{query}" if query else ""))["calls"]

    def quotas(self):
        """The quota configuration and every bucket (tokens left, calls allowed and throttled)."""
        return self.request("GET", "quotas")

    def set_quotas(self, enabled=None, default=None, actions=None, retry_after=None, per_region=None, clock=None):
        """Change the quotas now: ``enabled``, ``default`` (``"300/60"``), ``actions``
        (``{"ecs": {"RunCommand": "10/1"}}``), ``retry_after``, ``per_region``, ``clock`` (``"simulated"``);
        the arguments left None stay as they are."""
        body = {k: v for k, v in (("enabled", enabled), ("default", default), ("actions", actions),
                                  ("retry_after", retry_after), ("per_region", per_region), ("clock", clock))
                if v is not None}
        return self.request("POST", "quotas", body)

    def refill_quotas(self):
        """Every bucket full again; returns how many buckets there were."""
        return self.request("DELETE", "quotas")["refilled"]

    def faults(self, *rules):
        """Add fault rules and return them; without rules, list the rules (with their fire counts)."""
        if not rules:
            return self.request("GET", "faults")
        return self.request("POST", "faults", list(rules))

    def clear_faults(self):
        return self.request("DELETE", "faults")

    def state(self):
        return self.request("GET", "state")

    def clock(self, advance=None, time_scale=None):
        """Jump simulated time forward by ``advance`` seconds and/or change the speed from now on."""
        body = {}
        if time_scale is not None:
            body["time_scale"] = time_scale
        if advance is not None:
            body["advance"] = advance
        return self.request("POST", "clock", body)

    def component(self, name, verb, body=None):
        """``POST /_sim/<name>/<verb>``: a component's test hook, e.g. ``component("templates", "publish", {...})``."""
        return self.request("POST", f"{name}/{verb}", body)


class SimServer:
    """A simulator and its HTTP server running in a background thread."""

    def __init__(self, fleet=None, time_scale=1.0, host="127.0.0.1", port=0, credentials=None,
                 allow_remote=False, log_calls=False, **sim_kwargs):
        self.sim = Simulator(fleet=fleet, time_scale=time_scale, credentials=credentials, **sim_kwargs)
        try:
            self.httpd = ApiServer(self.sim, (host, port), allow_remote=allow_remote, log_calls=log_calls)
        except Exception:
            self.sim.close()
            raise
        self.host, self.port = self.httpd.server_address[:2]
        self.client = AdminClient(self.url)
        self._thread = self.httpd.serve_in_thread()

    @property
    def endpoint(self):
        return f"{self.host}:{self.port}"

    @property
    def url(self):
        return f"http://{self.endpoint}"

    def config(self, **overrides):
        """An SDK ``Config`` pointing at this server with the default credentials."""
        from alibabacloud_tea_openapi.models import Config
        values = {"access_key_id": ACCESS_KEY, "access_key_secret": SECRET_KEY, "region_id": "cn-hangzhou",
                  "endpoint": self.endpoint, "protocol": "http"}
        values.update(overrides)
        return Config(**values)

    def oos(self, **config_overrides):
        from alibabacloud_oos20190601.client import Client
        return Client(self.config(**config_overrides))

    def ecs(self, **config_overrides):
        from alibabacloud_ecs20140526.client import Client
        return Client(self.config(**config_overrides))

    def admin(self, method, path, body=None):
        """Call ``/_sim/<path>`` and return the parsed JSON; raises AdminError on 4xx/5xx."""
        return self.client.request(method, path, body)

    def reset(self, fleet=None):
        return self.client.reset(fleet)

    def calls(self, product=None, action=None):
        return self.client.calls(product=product, action=action)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
        self.sim.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server(fleet=None, time_scale=1.0, host="127.0.0.1", port=0, credentials=None, **kw):
    """Start a simulator on ``host:port`` (port 0 = any free port) in a background thread."""
    return SimServer(fleet=fleet, time_scale=time_scale, host=host, port=port, credentials=credentials, **kw)


if pytest is not None:
    @pytest.fixture
    def sim_server():
        """A fresh simulator with the default fleet, 1 simulated second = 1 ms."""
        with start_server(time_scale=0.001) as server:
            yield server

    @pytest.fixture
    def sim_server_factory():
        """``factory(fleet=..., time_scale=..., ...)`` -> SimServer; all are stopped at teardown."""
        servers = []

        def factory(**kw):
            kw.setdefault("time_scale", 0.001)
            server = start_server(**kw)
            servers.append(server)
            return server

        yield factory
        for server in servers:
            server.stop()
