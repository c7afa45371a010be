"""Shared helpers for the simulator tests (the server fixtures come from ``alicloud_sim.testing``)."""

import http.client
import json
import time
import uuid
from urllib.parse import urlencode

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException

from alicloud_sim.core.signing import sign_v2, sign_v3, utc_timestamp
from alicloud_sim.testing import ACCESS_KEY, SECRET_KEY

ECS_VERSION = "2014-05-26"
OOS_VERSION = "2019-06-01"
FINAL = {"Success", "Failed", "PartialFailed", "Stopped"}


class RawClient:
    """Hand-built signed requests, for the cases the SDK never produces (tampering, replay, ...)."""

    def __init__(self, server):
        self.server = server

    def call(self, action, params=None, version=ECS_VERSION, signing="v3", access_key=ACCESS_KEY,
             secret=SECRET_KEY, token=None, date=None, nonce=None, tamper=None, method="POST", form=False,
             fmt="json", accept="application/json", content_type="application/x-www-form-urlencoded"):
        """Return (status, headers, parsed JSON body). ``tamper(params)`` runs after signing. ``fmt``: the
        V2 ``Format`` parameter (None: not sent); ``accept``: the Accept header (None: not sent)."""
        params = dict(params or {})
        date = date or utc_timestamp()
        nonce = nonce or uuid.uuid4().hex
        headers = {"host": self.server.endpoint, "x-acs-action": action, "x-acs-version": version}
        if accept:
            headers["accept"] = accept
        if signing == "v3":
            headers.update({"x-acs-date": date, "x-acs-signature-nonce": nonce,
                            "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
            if token:
                headers.update({"x-acs-security-token": token, "x-acs-accesskey-id": access_key})
            headers["Authorization"] = sign_v3(method, "/", list(params.items()), headers, access_key, secret)
        elif signing == "v2":
            params.update({"Action": action, "Version": version, "Timestamp": date,
                           "SignatureNonce": nonce, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
                           "AccessKeyId": access_key})
            if fmt:
                params["Format"] = fmt
            if token:
                params["SecurityToken"] = token
            params["Signature"] = sign_v2(method, params, secret)
        if tamper:
            tamper(params)
        body = b""
        path = "/?" + urlencode(params)
        if form:
            body, path = urlencode(params).encode(), "/"
            headers["content-type"] = content_type
        return self.send(method, path, headers, body)

    def send(self, method, path, headers, body=b""):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            headers = {k.lower(): v for k, v in resp.getheaders()}
            is_json = headers.get("content-type", "").startswith("application/json")
            return resp.status, headers, (json.loads(data) if data and is_json else data)
        finally:
            conn.close()


@pytest.fixture
def raw(sim_server):
    return RawClient(sim_server)


def instance_ids(server, prefix, region="cn-hangzhou"):
    """Ids of the instances whose name starts with ``prefix``."""
    return [i.id for i in server.sim.instances(region) if i.name.startswith(prefix)]


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def run(server, content="echo hello", prefix="web-1", signing=None, **kw):
    """RunCommand in cn-hangzhou on the instances named ``prefix*``; returns the response body."""
    client = server.ecs(**({"signature_algorithm": signing} if signing else {}))
    kw.setdefault("instance_id", instance_ids(server, prefix))
    kw.setdefault("type", "RunShellScript")
    return client.run_command(ecs_models.RunCommandRequest(region_id="cn-hangzhou", command_content=content, **kw)).body


def invocation(server, invoke_id, statuses=FINAL, within=10.0, **kw):
    """Poll DescribeInvocations until the invocation is in one of ``statuses`` (at most ``within`` real
    seconds); return it."""
    def check():
        body = server.ecs().describe_invocations(ecs_models.DescribeInvocationsRequest(
            region_id="cn-hangzhou", invoke_id=invoke_id, include_output=True, **kw)).body
        inv = body.invocations.invocation[0]
        return inv if inv.invocation_status in statuses else None
    return wait_for(check, timeout=within)


def error_of(call):
    """(code, HTTP status) of the ClientException ``call()`` raises."""
    with pytest.raises(ClientException) as info:
        call()
    return info.value.code, info.value.status_code
