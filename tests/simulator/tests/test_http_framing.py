"""HTTP/1.1 framing: chunked request bodies (RFC 9112 §7.1) on kept-alive connections, and media types
matched without regard to case (RFC 9110 §8.3.1)."""

import hashlib
import http.client
import json
import socket
import uuid
from urllib.parse import urlencode

import pytest

from alicloud_sim.core.signing import sign_v2, sign_v3, utc_timestamp
from alicloud_sim.testing import ACCESS_KEY, SECRET_KEY

ECS_VERSION = "2014-05-26"


def v3_form(server, action, params, content_type="application/x-www-form-urlencoded"):
    """(headers, body) of a V3 request whose parameters travel in a form body."""
    body = urlencode(params).encode()
    headers = {"host": server.endpoint, "x-acs-action": action, "x-acs-version": ECS_VERSION,
               "x-acs-date": utc_timestamp(), "x-acs-signature-nonce": uuid.uuid4().hex,
               "x-acs-content-sha256": hashlib.sha256(body).hexdigest(), "accept": "application/json",
               "content-type": content_type}
    headers["Authorization"] = sign_v3("POST", "/", [], headers, ACCESS_KEY, SECRET_KEY, body)
    return headers, body


def v2_form(action, params):
    params = dict(params, Action=action, Version=ECS_VERSION, Format="JSON", Timestamp=utc_timestamp(),
                  SignatureNonce=uuid.uuid4().hex, SignatureMethod="HMAC-SHA1", SignatureVersion="1.0",
                  AccessKeyId=ACCESS_KEY)
    params["Signature"] = sign_v2("POST", params, SECRET_KEY)
    return urlencode(params).encode()


def chunks(body, size=7):
    """The body as an iterator, so that http.client sends it with Transfer-Encoding: chunked."""
    return iter([body[i:i + size] for i in range(0, len(body), size)])


def answer(conn):
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def raw_exchange(server, data):
    """Send bytes on a fresh socket; return everything the server answers until it closes."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                return received
            received += piece


@pytest.mark.parametrize("signing", ["v3", "v2"])
def test_chunked_form_body_is_read_and_keep_alive_survives(sim_server, signing):
    params = {"RegionId": "cn-hangzhou", "InstanceName": "web-*"}
    if signing == "v3":
        headers, body = v3_form(sim_server, "DescribeInstances", params)
    else:
        body = v2_form("DescribeInstances", params)
        headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    conn = http.client.HTTPConnection(sim_server.host, sim_server.port, timeout=10)
    try:
        conn.request("POST", "/", body=chunks(body), headers=headers, encode_chunked=True)
        status, resp_headers, data = answer(conn)
        assert status == 200, data
        names = [i["InstanceName"] for i in json.loads(data)["Instances"]["Instance"]]
        assert names and all(n.startswith("web-") for n in names)
        assert resp_headers.get("connection", "").lower() != "close"
        # The same connection carries the next request: nothing of the chunked body was left unread.
        conn.request("GET", "/_sim/health")
        status, _, data = answer(conn)
        assert status == 200 and json.loads(data)["status"] == "ok"
    finally:
        conn.close()
    call = sim_server.calls(action="DescribeInstances")[-1]
    assert call["params"]["InstanceName"] == "web-*" and call["http_status"] == 200


def test_chunk_extensions_and_trailers_are_accepted(sim_server):
    body = v2_form("DescribeRegions", {})
    framed = (f"{len(body[:10]):x};name=value\r\n".encode() + body[:10] + b"\r\n"
              + f"{len(body[10:]):X}\r\n".encode() + body[10:] + b"\r\n"
              + b"0\r\nX-Trailer: yes\r\n\r\n")
    request = (b"POST / HTTP/1.1\r\nHost: sim\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + framed)
    reply = raw_exchange(sim_server, request)
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), reply[:300]
    assert json.loads(payload)["Regions"]["Region"]


def test_transfer_encoding_wins_over_content_length_and_closes(sim_server):
    body = v2_form("DescribeRegions", {})
    framed = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    request = (b"POST / HTTP/1.1\r\nHost: sim\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + framed)
    reply = raw_exchange(sim_server, request)   # returns only because the server closes the connection
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
    assert reply.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize("framing, status", [
    (b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),           # size is not hex
    (b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n", 400),         # data longer than its size
    (b"Transfer-Encoding: chunked, identity\r\n\r\n", 400),                         # chunked not final
    (b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),                    # coding not implemented
])
def test_bad_framing_is_refused_and_the_connection_closed(sim_server, framing, status):
    reply = raw_exchange(sim_server, b"POST / HTTP/1.1\r\nHost: sim\r\n" + framing
                         + b"GET /_sim/health HTTP/1.1\r\nHost: sim\r\n\r\n")
    assert reply.startswith(f"HTTP/1.1 {status}".encode()), reply[:200]
    assert reply.count(b"HTTP/1.1 ") == 1    # the bytes after the broken body are not run as a request


@pytest.mark.parametrize("content_type", ["Application/X-WWW-Form-Urlencoded",
                                          "APPLICATION/X-WWW-FORM-URLENCODED; Charset=UTF-8"])
def test_form_media_type_is_case_insensitive(raw, sim_server, content_type):
    status, _, body = raw.call("DescribeInstances", {"RegionId": "cn-hangzhou", "InstanceName": "db-*"},
                               signing="v2", form=True, content_type=content_type)
    assert status == 200, body
    assert sim_server.calls(action="DescribeInstances")[-1]["params"]["InstanceName"] == "db-*"


def test_v3_form_body_with_mixed_case_media_type(sim_server):
    headers, body = v3_form(sim_server, "DescribeInstances", {"RegionId": "cn-hangzhou", "InstanceName": "web-1"},
                            content_type="application/X-WWW-form-urlencoded;charset=UTF-8")
    conn = http.client.HTTPConnection(sim_server.host, sim_server.port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        status, _, data = answer(conn)
    finally:
        conn.close()
    assert status == 200, data
    assert [i["InstanceName"] for i in json.loads(data)["Instances"]["Instance"]] == ["web-1"]
