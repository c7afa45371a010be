"""The HTTP front end: routing, authentication, faults, the call log and the JSON envelope."""

import ipaddress
import json
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from . import admin
from .calllog import CallLog
from .errors import ApiError, missing_parameter
from .faults import FaultInjector
from .params import Params
from .products import DEFAULT_REGION
from .registry import ACTIONS, Request, is_mutating
from .signing import AUTH_PARAMS, Authenticator

MAX_REQUEST_LINE = 1 << 20   # the SDK puts every parameter in the URL; 64 KB templates need ~120 KB
JSON_TYPE = "application/json;charset=utf-8"


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


class _Dropped(Exception):
    """The connection is closed without an answer (an injected fault)."""


def is_loopback(host):
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def error_reply(err, product, region, request_id):
    """The JSON error body of ``err``; ``product`` is the declared Product, or None for an unknown version."""
    if product is None:
        host, recommend = "aliyuncs.com", ""
    else:
        host = product.host_id(region if region in product.regions else DEFAULT_REGION)
        recommend = product.recommend
    body = {
        "RequestId": request_id,
        "HostId": host,
        "Code": err.code,
        "Message": err.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={err.code}&product={recommend}&requestId={request_id}",
        **err.extra,
    }
    return Reply(err.status, body, dict(err.headers))


class ApiServer(ThreadingHTTPServer):
    """One simulated endpoint serving the simulator's products and the ``/_sim/`` admin API."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, sim, address, allow_remote=False, log_calls=False):
        if not allow_remote and not is_loopback(address[0]):
            raise ValueError(f"refusing to listen on non-loopback address {address[0]!r} without allow_remote")
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sim = sim
        self.allow_remote = allow_remote
        self.auth = Authenticator(lambda: sim.credentials)
        self.calllog = CallLog(sim, echo=log_calls)
        self.faults = FaultInjector(sim)
        super().__init__(address, RequestHandler)

    def server_bind(self):
        # HTTPServer.server_bind would resolve the host name (slow without DNS); not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def serve_in_thread(self):
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="alicloud-sim-http", daemon=True)
        thread.start()
        return thread

    def handle_api(self, method, raw_path, headers, body):
        """Answer one API request; None means: drop the connection."""
        started = time.monotonic()
        request_id = str(uuid.uuid4()).upper()
        split = urlsplit(raw_path)
        query_pairs = parse_qsl(split.query, keep_blank_values=True)
        form_pairs = []
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form_pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = dict(query_pairs + form_pairs)
        action = headers.get("x-acs-action") or params.get("Action", "")
        version = headers.get("x-acs-version") or params.get("Version")
        spec = self.sim.product_of_version(version or "")
        product = spec.name if spec else None
        region = params.get("RegionId") or DEFAULT_REGION
        api_params = {k: v for k, v in params.items() if k not in AUTH_PARAMS}
        entry = {"time": time.time(), "sim_time": self.sim.clock.now(), "product": product, "action": action,
                 "region": region, "params": api_params, "access_key": None,
                 "user_agent": headers.get("user-agent", ""),
                 "mutating": is_mutating(product, action), "fault": None, "dropped": False}
        rule = None
        try:
            self._route(action, version, product)
            entry["access_key"] = self.auth.authenticate(method, split.path, query_pairs, form_pairs, headers, body)
            if region not in spec.regions:
                raise spec.unknown_region(region)
            rule = self.faults.pick(product, action)
            if rule:
                entry["fault"] = rule.id
                if rule.latency_ms:
                    time.sleep(rule.latency_ms / 1000.0)
                if rule.drop == "before":
                    raise _Dropped()
                if rule.code:
                    raise rule.error()
            req = Request(product=product, action=action, region=region, params=Params(api_params),
                          access_key=entry["access_key"], request_id=request_id, user_agent=entry["user_agent"])
            reply = Reply(200, {**self.sim.dispatch(req), "RequestId": request_id})
            if rule and rule.drop == "after":
                raise _Dropped()
        except _Dropped:
            reply = None
        except ApiError as err:
            reply = error_reply(err, spec, region, request_id)
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(ApiError("InternalError", "The request processing has failed due to some "
                                         "unknown error, exception or failure.", 500), spec, region, request_id)
        entry.update(http_status=reply.status if reply else None,
                     error_code=reply.body.get("Code") if reply and reply.status >= 400 else None,
                     dropped=reply is None, duration_ms=round((time.monotonic() - started) * 1000, 3))
        self.calllog.append(entry)
        return reply

    @staticmethod
    def _route(action, version, product):
        if not action:
            raise missing_parameter("Action")
        if not version:
            raise missing_parameter("Version")
        if product is None:
            raise ApiError("InvalidVersion", "Specified parameter Version is not valid.")
        if (product, action) not in ACTIONS:
            raise ApiError("InvalidAction.NotFound",
                           "Specified api is not found, please check your url and method.", 404)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"alicloud-sim/{__version__}"
    sys_version = ""
    # Headers and body go out in two writes; with Nagle's algorithm on, the second waits for the
    # client's delayed ACK (about 40 ms per request on Linux), a stall the real API does not have.
    disable_nagle_algorithm = True

    def handle_one_request(self):
        """``BaseHTTPRequestHandler.handle_one_request`` with a 1 MiB request-line limit (stdlib: 64 KiB)."""
        try:
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
            if len(self.raw_requestline) > MAX_REQUEST_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._dispatch()
            self.wfile.flush()
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the call log records API traffic."""

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        path = urlsplit(self.path).path
        if path == "/_sim" or path.startswith("/_sim/"):
            status, payload = admin.handle(self.server, self.command, self.path, body, self.client_address[0])
            self._send(status, payload, {})
            return
        headers = {}
        for name in {k.lower() for k in self.headers.keys()}:
            headers[name] = ",".join(sorted(v.strip() for v in self.headers.get_all(name)))
        reply = self.server.handle_api(self.command, self.path, headers, body)
        if reply is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._send(reply.status, reply.body, reply.headers)

    def _send(self, status, payload, headers):
        data = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
