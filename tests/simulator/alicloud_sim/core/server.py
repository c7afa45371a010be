"""The HTTP front end: HTTP/1.1 framing, routing, authentication, quotas, faults, the call log and the
JSON or XML envelope."""

import ipaddress
import json
import math
import re
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
from xml.sax.saxutils import escape as xml_escape

from .. import __version__
from . import admin
from .calllog import CallLog
from .errors import ApiError, missing_parameter
from .quotas import THROTTLING_CODE, THROTTLING_MESSAGE
from .faults import FaultInjector
from .params import Params
from .products import DEFAULT_REGION
from .registry import ACTIONS, Request, is_mutating
from .signing import AUTH_PARAMS, Authenticator

MAX_REQUEST_LINE = 1 << 20   # the SDK puts every parameter in the URL; 64 KB templates need ~120 KB
MAX_BODY = 16 << 20          # a chunked body larger than this is refused (413)
MAX_CHUNK_LINE = 4096        # a chunk-size line (with extensions) or a trailer line
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"     # the Tea SDKs parse an error as XML only with exactly this type
FORM_TYPE = "application/x-www-form-urlencoded"
_HEX = re.compile(rb"^[0-9A-Fa-f]+$")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass
class Reply:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)
    format: str = "JSON"      # JSON | XML
    root: str = "Error"       # the XML root element


class _BadFraming(Exception):
    """The request body is not framed as HTTP/1.1 requires; answered with ``status`` and a closed connection."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def media_type(value):
    """The media type of a Content-Type/Accept item, lower-cased (RFC 9110 §8.3.1: case-insensitive)."""
    return (value or "").split(";", 1)[0].strip().lower()


def response_format(params, headers):
    """JSON or XML. ``Format`` wins (any case); without it an Accept header naming exactly one of
    JSON/XML decides; otherwise a V3 request (Authorization header) gets JSON and anything else gets
    XML, the documented default of the RPC ``Format`` parameter."""
    given = (params.get("Format") or "").strip().upper()
    if given in ("JSON", "XML"):
        return given
    accepted = {media_type(item) for item in headers.get("accept", "").split(",")}
    wants_json = bool(accepted & {"application/json", "text/json"})
    wants_xml = bool(accepted & {"application/xml", "text/xml"})
    if wants_json != wants_xml:
        return "JSON" if wants_json else "XML"
    return "JSON" if "authorization" in headers else "XML"


def to_xml(root, body):
    """The XML form of a JSON answer: an object is an element per key, a list repeats its key's element
    once per item (so ``{"Instances": {"Instance": [a, b]}}`` is ``<Instances><Instance>a</Instance>
    <Instance>b</Instance></Instances>``), booleans are ``true``/``false``, null is an empty element."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    _xml_element(out, root, body)
    return "".join(out)


def _xml_element(out, name, value):
    if isinstance(value, list):
        for item in value:
            _xml_element(out, name, item)
        return
    if _XML_NAME.match(name) and not name.lower().startswith("xml"):
        start, end = f"<{name}>", f"</{name}>"
    else:   # a key that is no XML name (a user's tag key, say): keep it as an attribute
        start, end = f'<Entry Key="{xml_escape(name, {chr(34): "&quot;"})}">', "</Entry>"
    out.append(start)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_element(out, str(key), item)
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif value is not None:
        out.append(xml_escape(str(value)))
    out.append(end)


class _Dropped(Exception):
    """The connection is closed without an answer (an injected fault)."""


def is_loopback(host):
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def error_reply(err, product, region, request_id, fmt="JSON"):
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
    return Reply(err.status, body, dict(err.headers), fmt, "Error")


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
        if media_type(headers.get("content-type")) == FORM_TYPE:
            form_pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        params = dict(query_pairs + form_pairs)
        fmt = response_format(params, headers)
        action = headers.get("x-acs-action") or params.get("Action", "")
        version = headers.get("x-acs-version") or params.get("Version")
        spec = self.sim.product_of_version(version or "")
        product = spec.name if spec else None
        region = params.get("RegionId") or DEFAULT_REGION
        api_params = {k: v for k, v in params.items() if k not in AUTH_PARAMS}
        entry = {"time": time.time(), "sim_time": self.sim.clock.now(), "product": product, "action": action,
                 "region": region, "params": api_params, "access_key": None,
                 "user_agent": headers.get("user-agent", ""),
                 "mutating": is_mutating(product, action), "fault": None, "dropped": False,
                 "throttled": False, "format": fmt}
        rule = None
        try:
            self._route(action, version, product)
            entry["access_key"] = self.auth.authenticate(method, split.path, query_pairs, form_pairs, headers, body)
            self._check_quota(entry, product, action)
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
            reply = Reply(200, {**self.sim.dispatch(req), "RequestId": request_id}, {}, fmt, f"{action}Response")
            if rule and rule.drop == "after":
                raise _Dropped()
        except _Dropped:
            reply = None
        except ApiError as err:
            reply = error_reply(err, spec, region, request_id, fmt)
        except Exception:  # pylint: disable=broad-except
            traceback.print_exc(file=sys.stderr)
            reply = error_reply(ApiError("InternalError", "The request processing has failed due to some "
                                         "unknown error, exception or failure.", 500), spec, region, request_id, fmt)
        entry.update(http_status=reply.status if reply else None,
                     error_code=reply.body.get("Code") if reply and reply.status >= 400 else None,
                     dropped=reply is None, duration_ms=round((time.monotonic() - started) * 1000, 3))
        self.calllog.append(entry)
        return reply

    def _check_quota(self, entry, product, action):
        """Raise the real throttling error when the caller's bucket for this action is empty."""
        quotas = self.sim.quotas
        wait = quotas.take(entry["access_key"], product, action, entry["region"])
        if wait is None:
            return
        if quotas.config.get("clock") == "simulated":
            wait = self.sim.clock.real_seconds(wait)
        entry["throttled"] = True
        headers = {}
        if quotas.send_retry_after():
            headers["x-acs-retry-after"] = str(max(1, math.ceil(wait * 1000)))
        raise ApiError(THROTTLING_CODE, THROTTLING_MESSAGE, 400, headers=headers)

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

    def _read_body(self):
        """The request body, framed by Transfer-Encoding: chunked (RFC 9112 §7.1) or Content-Length."""
        codings = [c.strip().lower() for value in (self.headers.get_all("Transfer-Encoding") or [])
                   for c in value.split(",") if c.strip()]
        if codings:
            # RFC 9112 §6.1: chunked must be the final coding; other codings are not understood here.
            if codings[-1] != "chunked":
                raise _BadFraming(400, "Transfer-Encoding without chunked as the final coding")
            if codings != ["chunked"]:
                raise _BadFraming(501, f"transfer coding not implemented: {', '.join(codings[:-1])}")
            if self.headers.get("Content-Length") is not None:
                # §6.3: Transfer-Encoding wins, and the connection must be closed after the answer.
                self.close_connection = True
            return self._read_chunked()
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isdigit():
            raise _BadFraming(400, "invalid Content-Length")
        length = int(text)
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            raise _BadFraming(400, "the body is shorter than its Content-Length")
        return body

    def _read_chunked(self):
        body = bytearray()
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            if not line.endswith(b"\n") or len(line) > MAX_CHUNK_LINE:
                raise _BadFraming(400, "bad chunk-size line")
            size_text = line.split(b";", 1)[0].strip()
            if not _HEX.match(size_text):
                raise _BadFraming(400, "bad chunk size")
            size = int(size_text, 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise _BadFraming(413, "request body too large")
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.read(2) != b"\r\n":
                raise _BadFraming(400, "chunk data not followed by CRLF")
            body += data
        for _ in range(100):   # trailer section, ignored (§7.1.2), up to the empty line
            line = self.rfile.readline(MAX_CHUNK_LINE + 1)
            if line in (b"\r\n", b"\n"):
                return bytes(body)
            if not line.endswith(b"\n"):
                break
        raise _BadFraming(400, "bad trailer section")

    def _dispatch(self):
        try:
            body = self._read_body()
        except _BadFraming as err:
            self.send_error(err.status, err.reason)   # closes the connection: the framing is lost
            self.close_connection = True
            return
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
        self._send(reply.status, reply.body, reply.headers, reply.format, reply.root)

    def _send(self, status, payload, headers, fmt="JSON", root="Error"):
        if fmt == "XML":
            data, content_type = to_xml(root, payload).encode("utf-8"), XML_TYPE
        else:
            data, content_type = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8"), JSON_TYPE
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
