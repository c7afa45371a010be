# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one place that understands SDK exceptions.

Works on the exceptions' attributes (duck typing), so nothing here imports the SDK.
"""

from __future__ import annotations

import json

_TRANSPORT_MARKERS = (
    "Read timed out", "ReadTimeout", "ConnectTimeout", "Connection refused", "Connection aborted",
    "Connection reset", "RemoteDisconnected", "ConnectionError", "Max retries exceeded",
    "timed out", "Failed to parse the value as json format", "IncompleteRead", "BadStatusLine",
)
_PERMISSION_CODES = ("Forbidden.RAM", "NoPermission", "User.NoPermission", "Forbidden.NoPermission",
                     "Forbidden.Unauthorized")
_DROPPED_MARKERS = ("Connection aborted", "Connection reset", "ConnectionResetError", "RemoteDisconnected",
                    "BadStatusLine")
# Transport failures that retrying cannot fix, first match wins: (problem, markers in the exception chain).
_ENDPOINT_PROBLEMS = (
    ("certificate", ("CERTIFICATE_VERIFY_FAILED", "SSLCertVerificationError")),
    ("tls_to_plain_http", ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG",
                           "RECORD_LAYER_FAILURE")),
    ("plain_http_to_tls", ("plain HTTP request was sent to HTTPS port", "HTTP request to an HTTPS server")),
    ("name_not_resolved", ("NameResolutionError", "gaierror", "Failed to resolve", "Name or service not known",
                           "nodename nor servname", "Temporary failure in name resolution")),
    ("connection_refused", ("ConnectionRefusedError", "Connection refused", "actively refused")),
)
# Problems that can be passing once the endpoint has answered in this run (a restart, a DNS hiccup).
_PASSING_AFTER_AN_ANSWER = ("name_not_resolved", "connection_refused")


def _attr(exc, name, default=None):
    value = getattr(exc, name, default)
    if value in ("None", ""):
        return default
    return value


def _inner_chain(exc):
    seen = []
    while exc is not None and exc not in seen and len(seen) < 10:
        seen.append(exc)
        exc = getattr(exc, "inner_exception", None) or exc.__cause__ or exc.__context__
    return seen


class ErrorInfo:
    """What an exception tells us, in the collection's terms.

    ``kind`` is ``api`` (the service answered with an error), ``transport`` (no usable answer:
    connection error, read timeout, unparseable body), ``credentials`` (no credentials could be
    obtained) or ``other``. A transport failure that retrying cannot fix has a ``problem``:
    ``name_not_resolved``, ``connection_refused``, ``tls_to_plain_http`` (HTTPS to a plain HTTP port),
    ``plain_http_to_tls`` or ``certificate``. ``ApiClient`` tags the exception with the ``Endpoint``
    it used (``ecs_ops_endpoint``), whether that endpoint had answered before in this run, and
    whether a port that dropped a plain HTTP request speaks TLS.
    """

    def __init__(self, exc):
        self.exception = exc
        data = _attr(exc, "data") if isinstance(_attr(exc, "data"), dict) else {}
        self.code = _attr(exc, "code") or data.get("Code")
        self.http_status = _attr(exc, "status_code") or _attr(exc, "statusCode") or data.get("statusCode")
        self.request_id = _attr(exc, "request_id") or data.get("RequestId")
        self.message = data.get("Message") or self._plain_message(exc)
        self.recommend = data.get("Recommend")
        self.retry_after_ms = _attr(exc, "retry_after")
        detail = _attr(exc, "access_denied_detail") or data.get("AccessDeniedDetail")
        if isinstance(detail, str):
            try:
                detail = json.loads(detail)
            except ValueError:
                detail = {"raw": detail}
        self.access_denied_detail = detail if isinstance(detail, dict) else None
        chain_text = " ".join("%s %s" % (type(e).__name__, e) for e in _inner_chain(exc))
        if self.code and self.http_status:
            self.kind = "api"
        elif "CredentialException" in chain_text or "credentials" in type(exc).__name__.lower():
            self.kind = "credentials"
        elif any(marker in chain_text for marker in _TRANSPORT_MARKERS):
            self.kind = "transport"
        elif self.code:
            self.kind = "api"
        else:
            self.kind = "other"
        self._chain_text = chain_text
        self.endpoint = getattr(exc, "ecs_ops_endpoint", None)
        self.problem = self._endpoint_problem(exc, chain_text) if self.kind == "transport" else None

    @staticmethod
    def _endpoint_problem(exc, chain_text):
        if getattr(exc, "ecs_ops_port_speaks_tls", False):
            return "plain_http_to_tls"
        for problem, markers in _ENDPOINT_PROBLEMS:
            if any(marker in chain_text for marker in markers):
                return problem
        return None

    @property
    def dropped(self):
        """The connection was reset or closed without an answer (no other problem found)."""
        return self.kind == "transport" and self.problem is None and any(
            marker in self._chain_text for marker in _DROPPED_MARKERS)

    def reason(self, type_name, attr):
        """``attr`` of the first exception of class ``type_name`` in the chain (e.g. a DNS error's text)."""
        for item in _inner_chain(self.exception):
            if type(item).__name__ == type_name and getattr(item, attr, None):
                return str(getattr(item, attr))
        return None

    @staticmethod
    def _plain_message(exc):
        text = _attr(exc, "message") or str(exc)
        return str(text)

    @property
    def retryable(self):
        if self.kind == "transport":
            return self.problem is None or (self.problem in _PASSING_AFTER_AN_ANSWER and bool(
                getattr(self.exception, "ecs_ops_endpoint_answered", False)))
        if self.kind != "api":
            return False
        code = self.code or ""
        if code.startswith(("Throttling", "ServiceUnavailable", "InternalError")) or "Throttling" in code:
            return True
        try:
            return int(self.http_status) >= 500
        except (TypeError, ValueError):
            return False

    @property
    def permission_denied(self):
        code = self.code or ""
        return code in _PERMISSION_CODES or code.startswith("Forbidden.RAM") or "NoPermission" in code

    def denied_action(self, fallback=None):
        if self.access_denied_detail and self.access_denied_detail.get("AuthAction"):
            return self.access_denied_detail["AuthAction"]
        return fallback if self.permission_denied else None

    def short(self):
        """One line for retry messages."""
        if self.kind == "api":
            return "%s (HTTP %s)" % (self.code, self.http_status)
        return "%s error: %s" % (self.kind, _scrub(self._chain_text)[:200])


def _scrub(text):
    """Drop the part of a signature error that echoes the request (it may hold secret parameters)."""
    for marker in ("server string to sign is:", "string to sign is:", "StringToSign"):
        idx = text.find(marker)
        if idx >= 0:
            text = text[:idx].rstrip(" :,") + " (server string to sign omitted)"
    return text


_NO_NETWORK = "; if the name is right, this machine has no working network or DNS"


def _endpoint_fix(info):
    """What is wrong with the endpoint and what to do, for a transport ``problem``."""
    ep = info.endpoint
    if ep is None:
        return "the endpoint cannot be used (%s)" % info.problem.replace("_", " ")
    where = "in %s" % (ep.setting or "%s_endpoint" % ep.product)
    if info.problem == "name_not_resolved":
        dns = info.reason("gaierror", "strerror") or "no address"
        check = "the host name in %s" % ep.setting if ep.setting else "the region id %s" % ep.region
        return "%s does not resolve (%s): check %s%s" % (ep.host, dns, check, _NO_NETWORK)
    if info.problem == "connection_refused":
        check = ("check the port %s and that the service runs" % where if ep.setting
                 else "something between this machine and Alibaba Cloud refuses it (a firewall?)")
        return "connection refused: nothing listens on %s:%d: %s" % (ep.host, ep.port, check)
    if info.problem == "tls_to_plain_http":
        said = ("%s was given without a scheme, so HTTPS was used" % ep.address if not ep.scheme_given
                else "%s was asked for" % ep.url)
        return "%s; the server answered in plain HTTP: write http://%s %s" % (said, ep.address, where)
    if info.problem == "plain_http_to_tls":
        return "%s was asked for; the server speaks HTTPS (TLS): write https://%s %s" % (ep.url, ep.address, where)
    verify = info.reason("SSLCertVerificationError", "verify_message") or "certificate verify failed"
    return ("the TLS certificate of %s was not accepted (%s): use the host name it was issued for, or an endpoint "
            "whose certificate this machine trusts (system CA store or certifi)" % (ep.address, verify))


def _transport_message(info):
    ep = info.endpoint
    if info.problem:
        return "%s (endpoint %s from %s)" % (_endpoint_fix(info), ep.url, ep.origin) if ep else _endpoint_fix(info)
    where = " %s (%s)" % (ep.url, ep.origin) if ep else ""
    return "no usable answer from the endpoint%s: %s" % (where, _scrub(info.message))


def _main_message(info, prefix):
    if info.kind == "api":
        msg = "%s: %s: %s" % (prefix, info.code, _scrub(info.message or "").strip())
        extras = ["HTTP %s" % info.http_status] if info.http_status else []
        if info.request_id:
            extras.append("request id %s" % info.request_id)
        return msg + (" (%s)" % ", ".join(extras) if extras else "")
    if info.kind == "credentials":
        return ("%s: could not obtain credentials: %s. Set access_key and secret_key, profile, or the "
                "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET environment variables"
                % (prefix, _scrub(info.message)))
    if info.kind == "transport":
        return "%s: %s" % (prefix, _transport_message(info))
    return "%s: %s" % (prefix, _scrub(info.message))


def _attempts_note(info, attempts, elapsed):
    if attempts and attempts > 1:
        return " [gave up after %d attempts in %.1f s]" % (attempts, elapsed or 0.0)
    if info.problem and not info.retryable:
        return " [not retried: retrying cannot fix this]"
    return ""


def describe(exc, operation=None, denied_action=None):
    """(msg, error dict) for ``fail_json``; ``operation`` is e.g. ``"OOS StartExecution"``."""
    info = exc if isinstance(exc, ErrorInfo) else ErrorInfo(exc)
    operation = operation or getattr(info.exception, "ecs_ops_operation", None)
    denied_action = denied_action or getattr(info.exception, "ecs_ops_ram_action", None)
    msg = _main_message(info, "%s failed" % operation if operation else "Alibaba Cloud API call failed")
    action = info.denied_action(denied_action)
    if action:
        msg += ". The RAM action %s was denied" % action
        if info.access_denied_detail and info.access_denied_detail.get("NoPermissionType"):
            msg += " (%s)" % info.access_denied_detail["NoPermissionType"]
        msg += "; grant it to the credentials in use"
    attempts = getattr(info.exception, "ecs_ops_attempts", None)
    elapsed = getattr(info.exception, "ecs_ops_elapsed", None)
    msg += _attempts_note(info, attempts, elapsed)
    return msg, _error_dict(info, action, attempts, elapsed)


def _error_dict(info, action, attempts, elapsed):
    error = dict(code=info.code, http_status=info.http_status, request_id=info.request_id,
                 recommend=info.recommend, kind=info.kind, message=_scrub(info.message or ""))
    if action:
        error["denied_action"] = action
    if info.access_denied_detail:
        error["access_denied_detail"] = {k: v for k, v in info.access_denied_detail.items()
                                         if k != "EncodedDiagnosticMessage"}
    if info.endpoint is not None:
        error["endpoint"] = info.endpoint.url
        error["endpoint_origin"] = info.endpoint.origin
    if info.problem:
        error["problem"] = info.problem
    if attempts:
        error["attempts"] = attempts
        error["elapsed"] = elapsed
    return error


def has_error_code(exc, *codes):
    """True if ``exc`` carries one of ``codes``; a code ending in ``.`` matches as a prefix."""
    code = ErrorInfo(exc).code or ""
    return any(code == c or (c.endswith(".") and code.startswith(c)) for c in codes)
