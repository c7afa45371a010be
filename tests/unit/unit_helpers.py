"""Helpers shared by the unit tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._options import connection_argument_spec


class ScriptedServer:
    """Answers each request with the next scripted response; records every request.

    A response is a dict: ``status`` (default 200), ``body`` (dict → JSON, or str), ``headers``,
    ``delay`` (seconds before answering) or ``drop`` (close the socket without answering).
    When the script is empty it answers 200 ``{"RequestId": "R"}``.
    """

    def __init__(self):
        self.responses = queue.Queue()
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(dict(method=self.command, path=self.path,
                                            headers={k.lower(): v for k, v in self.headers.items()}, body=body))
                try:
                    spec = server.responses.get_nowait()
                except queue.Empty:
                    spec = {}
                if spec.get("delay"):
                    threading.Event().wait(spec["delay"])
                if spec.get("drop"):
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = spec.get("body", {"RequestId": "R"})
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(spec.get("status", 200))
                self.send_header("Content-Type", spec.get("content_type", "application/json;charset=utf-8"))
                self.send_header("Content-Length", str(len(data)))
                for key, value in (spec.get("headers") or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def script(self, *responses):
        for response in responses:
            self.responses.put(response)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def connection_params(**overrides):
    """Module params with every connection option at its default, plus ``overrides``."""
    params = {name: spec.get("default") for name, spec in connection_argument_spec().items()}
    params.update(overrides)
    return params


def warnings_of(result):
    """Warning texts of a module result (ansible-core 2.19 wraps them in WarningSummary events)."""
    texts = []
    for warning in result.get("warnings") or []:
        if isinstance(warning, dict):
            warning = (warning.get("event") or {}).get("msg") or warning.get("msg") or ""
        texts.append(warning)
    return texts


class ApiError(Exception):
    """An SDK error as the collection reads it (code, HTTP status, the response's ``Code``)."""

    def __init__(self, code, status=400):
        super().__init__(code)
        self.code = code
        self.status_code = status
        self.data = {"Code": code, "statusCode": status}


class FakeClock:
    """A monotonic clock and sleep for retry and wait tests: sleeping moves time forward."""

    def __init__(self, start=0.0):
        self.now = start
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


# --- the module tests against the in-process simulator (the sim_server fixtures) ------------------------------
def sim_args(server, **extra):
    """The connection options of a module talking to ``server`` (region cn-hangzhou), plus ``extra``."""
    return dict(dict(region="cn-hangzhou", access_key="sim-access-key", secret_key="sim-secret-key",
                     oos_endpoint=server.url, ecs_endpoint=server.url), **extra)


def instance_ids(server):
    """{instance name: instance id} of the simulator's fleet."""
    return {i.name: i.id for i in server.sim.instances()}


def api_calls(server, action=None, since=0):
    """The OOS and ECS calls the simulator received after call ``since`` (of ``action`` if given)."""
    return [c for c in server.calls() if c["product"] in ("ecs", "oos") and c["seq"] > since
            and (action is None or c["action"] == action)]


def mutating(server, since=0):
    """The actions of the mutating calls after call ``since``."""
    return [c["action"] for c in api_calls(server, since=since) if c["mutating"]]


def console_install(server, instance_id):
    """An install with a snapshot started outside the collection (no ecs-ops-patch-run tag); its execution id."""
    from alibabacloud_oos20190601 import models

    oos = server.oos()
    params = {"action": "install", "whetherCreateSnapshot": True, "retentionDays": 30,
              "targets": {"Type": "ResourceIds", "ResourceIds": [instance_id], "RegionId": "cn-hangzhou"}}
    execution_id = oos.start_execution(models.StartExecutionRequest(
        template_name="ACS-ECS-BulkyApplyPatchBaseline", parameters=json.dumps(params))).body.execution.execution_id
    for _attempt in range(200):
        found = oos.list_executions(models.ListExecutionsRequest(execution_id=execution_id)).body.executions
        if found and found[0].status in ("Success", "Failed", "Cancelled"):
            return execution_id
        time.sleep(0.05)
    raise AssertionError("the console install did not finish")
