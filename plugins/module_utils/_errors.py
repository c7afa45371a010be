# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one place that understands SDK exceptions.

Works on the exceptions' attributes (duck typing), so nothing here imports the SDK.
"""

from __future__ import annotations

import json
import sys

_TRANSPORT_MARKERS = (
    "Read timed out", "ReadTimeout", "ConnectTimeout", "Connection refused", "Connection aborted",
    "Connection reset", "RemoteDisconnected", "ConnectionError", "Max retries exceeded",
    "timed out", "Failed to parse the value as json format", "IncompleteRead", "BadStatusLine",
)
_PERMISSION_CODES = ("Forbidden.RAM", "NoPermission", "User.NoPermission", "Forbidden.NoPermission",
                     "Forbidden.Unauthorized")


def _attr(exc, name, default=None):
    value = getattr(exc, name, default)
    if value in ("None", ""):
        return default
    return value


def _inner_chain(exc):
    seen = []
    while exc is not None and exc not in seen and len(seen) < 6:
        seen.append(exc)
        exc = getattr(exc, "inner_exception", None) or exc.__cause__ or exc.__context__
    return seen


class ErrorInfo:
    """What an exception tells us, in the collection's terms.

    ``kind`` is ``api`` (the service answered with an error), ``transport`` (no usable answer:
    connection error, read timeout, unparseable body), ``credentials`` (no credentials could be
    obtained) or ``other``.
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

    @staticmethod
    def _plain_message(exc):
        text = _attr(exc, "message") or str(exc)
        return str(text)

    @property
    def throttled(self):
        return bool(self.code) and ("Throttling" in self.code)

    @property
    def retryable(self):
        if self.kind == "transport":
            return True
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


def describe(exc, operation=None, denied_action=None):
    """(msg, error dict) for ``fail_json``; ``operation`` is e.g. ``"OOS StartExecution"``."""
    info = exc if isinstance(exc, ErrorInfo) else ErrorInfo(exc)
    operation = operation or getattr(info.exception, "ecs_ops_operation", None)
    denied_action = denied_action or getattr(info.exception, "ecs_ops_ram_action", None)
    prefix = "%s failed" % operation if operation else "Alibaba Cloud API call failed"
    if info.kind == "api":
        msg = "%s: %s: %s" % (prefix, info.code, _scrub(info.message or "").strip())
        extras = []
        if info.http_status:
            extras.append("HTTP %s" % info.http_status)
        if info.request_id:
            extras.append("request id %s" % info.request_id)
        if extras:
            msg += " (%s)" % ", ".join(extras)
    elif info.kind == "credentials":
        msg = ("%s: could not obtain credentials: %s. Set access_key and secret_key, profile, or the "
               "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET environment variables"
               % (prefix, _scrub(info.message)))
    elif info.kind == "transport":
        msg = "%s: no usable answer from the endpoint: %s" % (prefix, _scrub(info.message))
    else:
        msg = "%s: %s" % (prefix, _scrub(info.message))
    action = info.denied_action(denied_action)
    if action:
        msg += ". The RAM action %s was denied" % action
        if info.access_denied_detail and info.access_denied_detail.get("NoPermissionType"):
            msg += " (%s)" % info.access_denied_detail["NoPermissionType"]
        msg += "; grant it to the credentials in use"
    attempts = getattr(info.exception, "ecs_ops_attempts", None)
    if attempts and attempts > 1:
        msg += " [gave up after %d attempts]" % attempts
    error = dict(code=info.code, http_status=info.http_status, request_id=info.request_id,
                 recommend=info.recommend, kind=info.kind, message=_scrub(info.message or ""))
    if action:
        error["denied_action"] = action
    if info.access_denied_detail:
        error["access_denied_detail"] = {k: v for k, v in info.access_denied_detail.items()
                                         if k != "EncodedDiagnosticMessage"}
    if attempts:
        error["attempts"] = attempts
    return msg, error


def has_error_code(exc, *codes):
    """True if ``exc`` carries one of ``codes``; a code ending in ``.`` matches as a prefix."""
    code = ErrorInfo(exc).code or ""
    return any(code == c or (c.endswith(".") and code.startswith(c)) for c in codes)


class _NeverRaised(Exception):
    pass


def api_error_code(*codes):
    """For ``except api_error_code("EntityNotExists.Template"):`` while an exception is being handled.

    Returns the class of the exception in flight if it carries one of ``codes`` (prefix match for
    codes ending in ``.``), else a class that is never raised, so the ``except`` clause does not match.
    """
    exc = sys.exc_info()[1]
    if exc is not None and has_error_code(exc, *codes):
        return type(exc)
    return _NeverRaised
