"""The other V3 signature algorithms: ACS3-HMAC-SM3 and ACS3-RSA-SHA256, signed by the Tea SDK itself."""

import hashlib

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_tea_openapi.exceptions import ClientException
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from alicloud_sim.core import signing

SM3 = "ACS3-HMAC-SM3"
RSA = "ACS3-RSA-SHA256"


def describe_regions(client):
    return client.describe_regions(ecs_models.DescribeRegionsRequest())


def error(call):
    with pytest.raises(ClientException) as info:
        call()
    return info.value


def test_this_python_offers_sm3():
    """The simulator's own test machines have it (OpenSSL with SM3): the SM3 tests below then run for real."""
    assert signing.SM3_AVAILABLE == ("sm3" in hashlib.algorithms_available)
    assert signing.SM3_AVAILABLE, "hashlib has no sm3 here: the SM3 verification path is not exercised"


def test_sm3_signature_verifies(sim_server):
    resp = describe_regions(sim_server.ecs(signature_algorithm=SM3))
    assert resp.status_code == 200 and resp.body.regions.region
    assert sim_server.calls(action="DescribeRegions")[-1]["access_key"] == "sim-access-key"


def test_sm3_wrong_secret_is_a_mismatch(sim_server):
    err = error(lambda: describe_regions(sim_server.ecs(signature_algorithm=SM3, access_key_secret="wrong")))
    assert (err.code, err.status_code) == ("SignatureDoesNotMatch", 400)
    assert "server string to sign is:ACS3-HMAC-SM3\n" in err.data["Message"]


def test_sm3_without_hashlib_support_is_a_clear_error(sim_server, monkeypatch):
    monkeypatch.setattr(signing, "SM3_AVAILABLE", False)
    err = error(lambda: describe_regions(sim_server.ecs(signature_algorithm=SM3)))
    assert (err.code, err.status_code) == ("InvalidSignatureMethod", 400)
    assert "sm3" in err.data["Message"]


def test_unknown_algorithm_is_incomplete(raw):
    status, _, body = raw.send("POST", "/?RegionId=cn-hangzhou", {
        "x-acs-action": "DescribeRegions", "x-acs-version": "2014-05-26",
        "Authorization": "ACS3-HMAC-MD5 Credential=sim-access-key,SignedHeaders=host,Signature=00"})
    assert (status, body["Code"]) == (400, "IncompleteSignature")


@pytest.fixture(scope="module")
def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def test_rsa_signature_verifies_with_public_key_or_private_secret(sim_server_factory, rsa_key):
    private, public = rsa_key
    server = sim_server_factory(credentials={"rsa-public": {"secret": "unused", "public_key": public},
                                             "rsa-private": {"secret": private}})
    for key_id in ("rsa-public", "rsa-private"):
        client = server.ecs(signature_algorithm=RSA, access_key_id=key_id, access_key_secret=private)
        assert describe_regions(client).status_code == 200
    assert [c["access_key"] for c in server.calls(action="DescribeRegions")] == ["rsa-public", "rsa-private"]


def test_rsa_signature_of_another_key_is_a_mismatch(sim_server_factory, rsa_key):
    _, public = rsa_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    server = sim_server_factory(credentials={"rsa-public": {"secret": "unused", "public_key": public}})
    client = server.ecs(signature_algorithm=RSA, access_key_id="rsa-public", access_key_secret=other)
    err = error(lambda: describe_regions(client))
    assert (err.code, err.status_code) == ("SignatureDoesNotMatch", 400)


def test_rsa_for_a_key_without_a_key_pair(sim_server, rsa_key):
    private, _ = rsa_key
    client = sim_server.ecs(signature_algorithm=RSA, access_key_secret=private)   # sim-access-key: an HMAC secret
    err = error(lambda: describe_regions(client))
    assert (err.code, err.status_code) == ("InvalidSignatureMethod", 400)
