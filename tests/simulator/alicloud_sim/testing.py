"""Run the simulator in-process for tests; also a pytest plugin (fixtures ``sim_server``, ``sim_server_factory``).

The SDKs are imported only when ``SimServer.oos()`` / ``.ecs()`` are called.
"""

import json
import urllib.error
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
    """A ``/_sim/`` request answered with an HTTP error."""

    def __init__(self, status, body):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


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
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_sim/{path.lstrip('/')}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise AdminError(err.code, json.loads(err.read() or b"{}")) from None

    def reset(self, fleet=None):
        return self.admin("POST", "reset", fleet)

    def calls(self, product=None, action=None):
        query = "&".join(f"{k}={v}" for k, v in (("product", product), ("action", action)) if v)
        return self.admin("GET", "calls" + (f"?{query}" if query else ""))["calls"]

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
