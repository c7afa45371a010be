# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one client factory for OOS and ECS.

Every call goes through the Tea SDK's generic RPC client (``alibabacloud_tea_openapi``), the same
code path the generated OOS and ECS clients use, signed with ACS3-HMAC-SHA256. It costs about half
the import time and memory of the generated ECS client (see docs/architecture.md). SDK imports
happen inside ``Clients`` methods only, so modules load fast and import without the SDK installed.
Packages the SDK imports for features the modules never use (its async transport, the credential
refresh scheduler) are loaded only if something touches them (``defer_unused_imports``).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import types

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._credentials import (
    build_credential_client,
    prepare_environment,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._errors import ErrorInfo
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._pacing import Pacers
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._retry import RetryPolicy
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._version import USER_AGENT

PRODUCTS = {
    "oos": {"version": "2019-06-01", "label": "OOS"},
    "ecs": {"version": "2014-05-26", "label": "ECS"},
}
ENDPOINT_ENV = {"oos": "ALIBABA_CLOUD_OOS_ENDPOINT", "ecs": "ALIBABA_CLOUD_ECS_ENDPOINT"}
DOMAIN = "aliyuncs.com"
TLS_PROBE_TIMEOUT = 3.0
DEFAULT_READ_TIMEOUT_MS = 30000     # api_timeout's default
MAX_CONNECT_TIMEOUT_MS = 10000      # connecting never waits longer than this
MIN_ATTEMPT_TIMEOUT_MS = 1000       # an attempt close to its deadline still gets this long to be answered

# Regions whose ECS endpoint is not ecs.<region>.aliyuncs.com (from the ECS SDK's endpoint map), without the domain.
_ECS_ENDPOINTS = {
    "cn-hangzhou": "ecs-cn-hangzhou",
    "cn-shanghai-finance-1": "ecs-cn-hangzhou",
    "cn-shenzhen-finance-1": "ecs-cn-hangzhou",
    "cn-fujian": "ecs-cn-hangzhou",
    "cn-hangzhou-finance": "ecs",
    "cn-north-2-gov-1": "ecs",
    "cn-beijing-gov-1": "ecs",
    "cn-hongkong-finance-pop": "ecs",
    "cn-wuhan": "ecs",
    "cn-zhangbei": "ecs",
}

_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")

MISSING_SDK_LIBS = "alibabacloud-tea-openapi, alibabacloud-credentials (install alibabacloud-oos20190601 and alibabacloud-ecs20140526)"


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is really used.

    ``placeholders`` are the names other modules import from it at load time (``from X import Name``);
    each is a class that, when instantiated, imports the real module and returns an instance of the real
    class, and that serves as a type annotation meanwhile. Any other attribute imports the real module,
    which then replaces this one in ``sys.modules``. ``isinstance`` against a placeholder is always false.
    """

    def __init__(self, name, placeholders):
        super().__init__(name)
        self.__dict__["_real"] = None
        for attr in placeholders:
            self.__dict__[attr] = self._placeholder(attr)

    def _placeholder(self, attr):
        module = self

        def __new__(cls, *args, **kwargs):  # pylint: disable=unused-argument
            return getattr(module._load(), attr)(*args, **kwargs)

        return type(attr, (), {"__new__": __new__, "__module__": self.__name__,
                               "__doc__": "Placeholder; instantiating it imports %s." % self.__name__})

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def _load(self):
        if self._real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            self.__dict__["_real"] = importlib.import_module(self.__name__)
        return self._real


# Modules the Tea SDK imports at load time for features the collection never uses: aiohttp for the
# async API, and APScheduler for refreshing ECS RAM role credentials (used only with that source).
# Deferring them takes about 45% off the SDK's import time (docs/performance.md, P2).
_DEFERRED_IMPORTS = {
    "aiohttp": ("ClientResponse", "ClientSession"),
    "apscheduler.schedulers.background": ("BackgroundScheduler",),
}


def defer_unused_imports():
    """Put a ``_DeferredModule`` in place of each of ``_DEFERRED_IMPORTS`` that is not imported yet."""
    for name, placeholders in _DEFERRED_IMPORTS.items():
        if name not in sys.modules:
            sys.modules[name] = _DeferredModule(name, placeholders)


def forget_pooled_connections():
    """Drop the SDK's kept-alive HTTP connections (class-level session caches of ``darabonba`` and ``Tea``).

    A process forked after the SDK made calls (Ansible forks its workers after the inventory plugin read the
    fleet) would otherwise share the parent's sockets with it and its siblings: two processes writing requests
    to one connection read each other's answers. The references are dropped, never closed: the parent still
    uses its connections."""
    for module_name, class_name in (("darabonba.core", "DaraCore"), ("Tea.core", "TeaCore")):
        core = getattr(sys.modules.get(module_name), class_name, None)
        if core is not None and isinstance(getattr(core, "_sessions", None), dict):
            core._sessions = {}  # pylint: disable=protected-access


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forget_pooled_connections)


class EndpointError(ValueError):
    pass


def parse_endpoint(value):
    """(``host[:port]``, ``"http"|"https"``) from a host, ``host:port`` or URL."""
    text = (value or "").strip()
    protocol = "https"
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text)
    if match:
        scheme, text = match.group(1).lower(), match.group(2)
        if scheme not in ("http", "https"):
            raise EndpointError("endpoint scheme must be http or https, got %r" % scheme)
        protocol = scheme
        text = text.rstrip("/")
        if "/" in text or "?" in text:
            raise EndpointError("endpoint must not have a path or query: %r" % value)
    host = _HOST_RE.fullmatch(text)
    if not host:
        raise EndpointError("endpoint must be a host, host:port or http(s)://host[:port] URL, got %r" % value)
    port = host.group(2)
    if port is not None and not 0 < int(port[1:]) < 65536:
        raise EndpointError("endpoint port out of range in %r" % value)
    return text, protocol


def default_endpoint(product, region):
    if product == "ecs":
        return "%s.%s" % (_ECS_ENDPOINTS.get(region, "ecs.%s" % region), DOMAIN)
    return "%s.%s.%s" % (product, region, DOMAIN)


def endpoint_setting(product, params, environ):
    """(value, origin) of the endpoint given for ``product``: the option, then its variable; else (None, None)."""
    option = "%s_endpoint" % product
    if params.get(option):
        return params[option], option
    if environ.get(ENDPOINT_ENV[product]):
        return environ[ENDPOINT_ENV[product]], ENDPOINT_ENV[product]
    return None, None


class Endpoint:
    """Where one product's calls go, where that came from, and whether it answered in this run.

    ``address`` is ``host[:port]`` as written, or the default host. ``setting`` is the option or
    environment variable it came from (None for a region's default endpoint). ``scheme_given`` is
    False when the value had no ``http://`` or ``https://``, so HTTPS was assumed.
    """

    def __init__(self, address, scheme, setting=None, scheme_given=True, product=None, region=None):
        match = _HOST_RE.fullmatch(address)
        self.address = address
        self.scheme = scheme
        self.setting = setting
        self.scheme_given = scheme_given
        self.product = product
        self.region = region
        self.host = match.group(1)
        self.port = int(match.group(2)[1:]) if match.group(2) else (443 if scheme == "https" else 80)
        self.answered = False
        self._speaks_tls = None

    @classmethod
    def given(cls, product, value, setting):
        address, scheme = parse_endpoint(value)
        return cls(address, scheme, setting, "://" in value, product)

    @classmethod
    def default(cls, product, region):
        return cls(default_endpoint(product, region), "https", None, False, product, region)

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)

    @property
    def origin(self):
        if self.setting:
            return self.setting
        return "the default %s endpoint of region %s" % (PRODUCTS[self.product]["label"], self.region)

    def speaks_tls(self, timeout=TLS_PROBE_TIMEOUT):
        """True if a TLS handshake with the endpoint succeeds (certificate not checked); probed once."""
        if self._speaks_tls is None:
            self._speaks_tls = tls_handshake(self.host.strip("[]"), self.port, timeout)
        return self._speaks_tls


def tls_handshake(host, port, timeout):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host):
                return True
    except (OSError, ValueError):
        return False


def json_param(value):
    """Compact JSON, the form OOS and ECS expect for JSON-string parameters."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _clean(params):
    return {k: v for k, v in (params or {}).items() if v is not None}


class PacedPastDeadline(Exception):
    """The shared pace of an API would start this call after the caller's deadline. Looks like throttling
    (the quota is what holds it), so waits treat it as a failure that may pass and end at their deadline."""

    def __init__(self, action):
        super().__init__("%s: the API's quota is spent until after the deadline" % action)
        self.code = "Throttling.Paced"
        self.status_code = 429
        self.data = {"Code": self.code, "Message": str(self), "statusCode": 429}


class ApiClient:
    """One product in one region. ``call`` returns the response body as a dict."""

    def __init__(self, product, region, tea_client, retry_policy, sdk, endpoint, pacers=None, timeouts=None):
        self.product = product
        self.timeouts = timeouts or (DEFAULT_READ_TIMEOUT_MS, MAX_CONNECT_TIMEOUT_MS)
        self.region = region
        self.endpoint = endpoint
        self._pacers = pacers or Pacers()
        self._client = tea_client
        self._retry = retry_policy
        self._sdk = sdk
        self.label = PRODUCTS[product]["label"]

    def call(self, action, params=None, deadline=None, attempts=None):
        """The response body of ``action``. ``attempts``, a list, gets one entry per attempt made."""
        query = _clean(params)
        if "RegionId" not in query:
            query["RegionId"] = self.region
        flat = self._sdk["Utils"].query(query)
        api = self._sdk["Params"](
            action=action, version=PRODUCTS[self.product]["version"], protocol="HTTPS", pathname="/",
            method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json")

        pacer = self._pacers.get(self.product, self.region, action)

        def once():
            if not pacer.wait(deadline):
                raise PacedPastDeadline(action)
            if attempts is not None:
                attempts.append(action)
            try:
                response = self._send(api, self._sdk["OpenApiRequest"](query=flat), deadline)
            except Exception as exc:
                info = ErrorInfo(exc)
                if info.code and "Throttling" in info.code:
                    pacer.throttled(float(info.retry_after_ms) / 1000 if info.retry_after_ms else None)
                raise
            pacer.succeeded()
            return response

        operation = "%s %s" % (self.label, action)
        try:
            response = self._retry.call(once, operation=operation, deadline=deadline)
        except Exception as exc:
            # Lets the module name the failed call and the RAM action without extra bookkeeping.
            exc.ecs_ops_operation = operation
            exc.ecs_ops_ram_action = "%s:%s" % (self.product, action)
            raise
        return (response or {}).get("body") or {}

    def runtime_timeouts(self, deadline, clock=time.monotonic):
        """(read, connect) timeouts in ms of one attempt: the client's, cut to the time left before ``deadline``
        (at least MIN_ATTEMPT_TIMEOUT_MS), so that a slow answer cannot carry a call far past the caller's
        deadline; the retries already stop there, but an attempt under way would otherwise run to api_timeout."""
        read, connect = self.timeouts
        if deadline is None:
            return read, connect
        left = max(MIN_ATTEMPT_TIMEOUT_MS, int((deadline - clock()) * 1000))
        return min(read, left), min(connect, left)

    def _send(self, api, request, deadline=None):
        read, connect = self.runtime_timeouts(deadline)
        try:
            response = self._client.call_api(api, request, self._sdk["RuntimeOptions"](
                read_timeout=read, connect_timeout=connect))
        except Exception as exc:
            self._note_failure(exc)
            raise
        self.endpoint.answered = True
        return response

    def _note_failure(self, exc):
        """Tell ``ErrorInfo`` which endpoint failed, whether it answered before, and, for a connection
        dropped by an ``http://`` endpoint that never answered, whether that port speaks TLS instead."""
        info = ErrorInfo(exc)
        if info.http_status:
            self.endpoint.answered = True
        exc.ecs_ops_endpoint = self.endpoint
        exc.ecs_ops_endpoint_answered = self.endpoint.answered
        if info.dropped and self.endpoint.scheme == "http" and not self.endpoint.answered:
            exc.ecs_ops_port_speaks_tls = self.endpoint.speaks_tls()


class Clients:
    """Builds and caches one ``ApiClient`` per (product, region), sharing one credential provider.

    An endpoint given by option or environment variable is one ``Endpoint`` per product for every
    region; otherwise each region has its default endpoint.
    """

    def __init__(self, params, credential_source, on_retry=None, environ=None):
        self.params = params
        self.credential_source = credential_source
        self.on_retry = on_retry
        self.pacers = Pacers()
        self._lock = threading.Lock()
        self._cache = {}
        self._credential = None
        self._sdk = None
        self._endpoints = {}
        environ = os.environ if environ is None else environ
        for product in PRODUCTS:
            value, origin = endpoint_setting(product, params, environ)
            self._endpoints[product] = Endpoint.given(product, value, origin) if value else None

    def endpoint_for(self, product, region):
        return self._endpoints[product] or Endpoint.default(product, region)

    def _load_sdk(self):
        prepare_environment(self.credential_source)
        defer_unused_imports()
        from alibabacloud_tea_openapi.client import Client as TeaClient
        from alibabacloud_tea_openapi.utils import Utils
        from alibabacloud_tea_openapi import models as open_api_models
        from darabonba.runtime import RuntimeOptions

        return dict(TeaClient=TeaClient, Utils=Utils, Config=open_api_models.Config,
                    Params=open_api_models.Params, OpenApiRequest=open_api_models.OpenApiRequest,
                    RuntimeOptions=RuntimeOptions)

    def get(self, product, region):
        if product not in PRODUCTS:
            raise ValueError("unknown product %r" % product)
        if not region:
            raise ValueError("a region is required")
        key = (product, region)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._build(product, region)
            return self._cache[key]

    def _build(self, product, region):
        if self._sdk is None:
            self._sdk = self._load_sdk()
            self._credential = build_credential_client(self.credential_source)
        endpoint = self.endpoint_for(product, region)
        timeout_ms = int(self.params["api_timeout"]) * 1000
        config = self._sdk["Config"](
            credential=self._credential, region_id=region, endpoint=endpoint.address, protocol=endpoint.scheme,
            read_timeout=timeout_ms, connect_timeout=min(timeout_ms, MAX_CONNECT_TIMEOUT_MS), user_agent=USER_AGENT,
            max_idle_conns=32)
        retry = RetryPolicy(retries=int(self.params["api_retries"]), on_retry=self.on_retry)
        return ApiClient(product, region, self._sdk["TeaClient"](config), retry, self._sdk, endpoint, self.pacers,
                         timeouts=(timeout_ms, min(timeout_ms, MAX_CONNECT_TIMEOUT_MS)))

    def oos(self, region):
        return self.get("oos", region)

    def ecs(self, region):
        return self.get("ecs", region)
