"""Request authentication: V3 signatures (ACS3-HMAC-SHA256, ACS3-HMAC-SM3, ACS3-RSA-SHA256) and RPC HMAC-SHA1 (V2).

ACS3-HMAC-SM3 hashes and signs with SM3 where this Python's ``hashlib`` offers ``sm3`` (OpenSSL built
with SM3); elsewhere such a request is refused with ``InvalidSignatureMethod``. ACS3-RSA-SHA256 is
verified with the access key's ``public_key`` (PEM) or, without one, the public half of its secret
when that secret is an RSA private key (what the SDKs sign with); it needs the ``cryptography``
package (a dependency of ansible-core), and without it the request gets ``InvalidSignatureMethod``.

Verification follows alibaba-api.md section 1.4 and checks, in this order: the access key,
the timestamp (15 minutes either way of real wall time), the signature, the STS token and
finally the nonce (remembered for 15 minutes, so a replayed request fails).
The ``sign_*`` helpers are the client side of the same algorithms; tests use them to craft
raw requests.
"""

import base64
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from urllib.parse import quote

from .errors import ApiError, missing_parameter

V3_ALGORITHM = "ACS3-HMAC-SHA256"
SM3_ALGORITHM = "ACS3-HMAC-SM3"
RSA_ALGORITHM = "ACS3-RSA-SHA256"
V3_ALGORITHMS = (V3_ALGORITHM, SM3_ALGORITHM, RSA_ALGORITHM)
SM3_AVAILABLE = "sm3" in hashlib.algorithms_available
SKEW_SECONDS = 15 * 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Common RPC parameters that are about transport and authentication, not the action.
AUTH_PARAMS = frozenset({
    "Action", "Version", "Format", "Timestamp", "SignatureNonce", "SignatureMethod",
    "SignatureVersion", "SignatureType", "Signature", "AccessKeyId", "SecurityToken",
})


def percent_encode(text):
    """RFC 3986 encoding as both signature versions use it (space -> %20, * -> %2A, ~ kept)."""
    return quote(text, safe="~")


def canonical_query(pairs):
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(pairs))


def v3_hash(algorithm, data):
    """Hex digest of ``data`` as ``algorithm`` hashes (SM3 for ACS3-HMAC-SM3, else SHA-256)."""
    if algorithm == SM3_ALGORITHM:
        return hashlib.new("sm3", data).hexdigest()
    return hashlib.sha256(data).hexdigest()


def v3_string_to_sign(method, path, query_pairs, headers, signed_names, body, algorithm=V3_ALGORITHM):
    """``headers``: lower-cased name -> value. Returns the string the V3 signature covers."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '')}\n" for name in signed_names)
    canonical_request = "\n".join([
        method, path or "/", canonical_query(query_pairs), canonical_headers,
        ";".join(signed_names), v3_hash(algorithm, body),
    ])
    return f"{algorithm}\n{v3_hash(algorithm, canonical_request.encode())}"


def v2_string_to_sign(method, params):
    """``params``: every request parameter (query and form) except ``Signature``."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params.items()))}"


def v3_signature(secret, string_to_sign, algorithm=V3_ALGORITHM):
    """The HMAC signature (hex) of ``string_to_sign``; RSA signatures are checked by :func:`rsa_verify`."""
    digest = "sm3" if algorithm == SM3_ALGORITHM else hashlib.sha256
    return hmac.new(secret.encode(), string_to_sign.encode(), digest).hexdigest()


def _pem(text, kind):
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    return f"-----BEGIN {kind}-----\n{text}\n-----END {kind}-----\n".encode()


def rsa_verify(entry, string_to_sign, signature_hex):
    """Whether ``signature_hex`` is the RSA PKCS#1 v1.5 SHA-256 signature of ``string_to_sign`` by
    the key of credentials ``entry``. Raises ApiError when RSA cannot be checked here."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:
        raise ApiError("InvalidSignatureMethod", f"{RSA_ALGORITHM} needs the Python package 'cryptography', "
                       "which this simulator does not have.") from None
    try:
        if entry.get("public_key"):
            key = serialization.load_pem_public_key(_pem(entry["public_key"], "PUBLIC KEY"))
        else:
            key = serialization.load_pem_private_key(_pem(entry["secret"], "PRIVATE KEY"), password=None).public_key()
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        raise ApiError("InvalidSignatureMethod", f"{RSA_ALGORITHM}: this access key has no RSA key pair "
                       "(give it a public_key, or an RSA private key as its secret).") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ApiError("InvalidSignatureMethod", f"{RSA_ALGORITHM}: the key of this access key is not an RSA key.")
    try:
        key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def v2_signature(secret, string_to_sign):
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign_v3(method, path, query_pairs, headers, access_key, secret, body=b"", algorithm=V3_ALGORITHM):
    """Client side: the ``Authorization`` header for ``headers`` (all of them are signed; HMAC algorithms)."""
    low = {k.lower(): str(v).strip() for k, v in headers.items()}
    names = sorted(low)
    sts = v3_string_to_sign(method, path, query_pairs, low, names, body, algorithm)
    signature = v3_signature(secret, sts, algorithm)
    return f"{algorithm} Credential={access_key},SignedHeaders={';'.join(names)},Signature={signature}"


def sign_v2(method, params, secret):
    """Client side: the ``Signature`` parameter for ``params``."""
    return v2_signature(secret, v2_string_to_sign(method, params))


def utc_timestamp(ts=None):
    return datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class NonceCache:
    """Nonces seen in the last ``ttl`` seconds, at most ``capacity`` of them."""

    def __init__(self, ttl=SKEW_SECONDS, capacity=200_000):
        self.ttl = ttl
        self.capacity = capacity
        self._seen = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key, now):
        """Remember ``key``; False if it was already seen within the window."""
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now and len(self._seen) < self.capacity:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now + self.ttl
            return True


class Authenticator:
    """Checks one API request against the simulator's credentials."""

    def __init__(self, credentials, skew=SKEW_SECONDS):
        self._credentials = credentials   # callable -> {access key id: {"secret", "token"}}
        self.skew = skew
        self.nonces = NonceCache(ttl=skew)

    def authenticate(self, method, path, query_pairs, form_pairs, headers, body):
        """Return the access key id or raise ApiError. ``headers``: lower-cased name -> value."""
        if "authorization" in headers:
            return self._v3(method, path, query_pairs, headers, body)
        params = dict(query_pairs + form_pairs)
        if "Signature" in params:
            return self._v2(method, params)
        raise ApiError("MissingSignature", "The request has no signature: send an Authorization header "
                       "(ACS3-HMAC-SHA256, ACS3-HMAC-SM3 or ACS3-RSA-SHA256) or the Signature parameter (HMAC-SHA1).")

    def _v3(self, method, path, query_pairs, headers, body):
        algorithm, _, rest = headers["authorization"].partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if algorithm not in V3_ALGORITHMS or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
            raise ApiError("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        if algorithm == SM3_ALGORITHM and not SM3_AVAILABLE:
            raise ApiError("InvalidSignatureMethod", f"{SM3_ALGORITHM} needs a Python whose hashlib offers sm3 "
                           "(OpenSSL with SM3); this simulator's does not. Use ACS3-HMAC-SHA256.")
        access_key = fields["Credential"]
        entry = self._entry(access_key)
        secret, token = entry["secret"], entry.get("token")
        self._check_time(headers.get("x-acs-date"), "x-acs-date")
        signed = fields["SignedHeaders"].split(";")
        sts = v3_string_to_sign(method, path, query_pairs, headers, signed, body, algorithm)
        if algorithm == RSA_ALGORITHM:
            valid = rsa_verify(entry, sts, fields["Signature"])
        else:
            valid = hmac.compare_digest(v3_signature(secret, sts, algorithm), fields["Signature"])
        if not valid:
            raise _mismatch(sts)
        self._check_token(token, headers.get("x-acs-security-token"))
        self._check_nonce(access_key, headers.get("x-acs-signature-nonce"), "x-acs-signature-nonce")
        return access_key

    def _v2(self, method, params):
        access_key = params.get("AccessKeyId")
        if not access_key:
            raise missing_parameter("AccessKeyId")
        secret, token = self._key(access_key)
        self._check_time(params.get("Timestamp"), "Timestamp")
        signature = params.pop("Signature")
        sts = v2_string_to_sign(method, params)
        if not hmac.compare_digest(v2_signature(secret, sts), signature):
            raise _mismatch(sts)
        self._check_token(token, params.get("SecurityToken"))
        self._check_nonce(access_key, params.get("SignatureNonce"), "SignatureNonce")
        return access_key

    def _entry(self, access_key):
        entry = self._credentials().get(access_key)
        if entry is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        return entry

    def _key(self, access_key):
        entry = self._entry(access_key)
        return entry["secret"], entry.get("token")

    def _check_time(self, value, name):
        if not value:
            raise missing_parameter(name)
        try:
            stamp = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            raise ApiError("InvalidTimeStamp.Format",
                           "Specified time stamp or date value is not well formatted.") from None
        if abs(time.time() - stamp) > self.skew:
            raise ApiError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")

    @staticmethod
    def _check_token(expected, given):
        if not expected:
            return
        if not given:
            raise ApiError("MissingSecurityToken", "SecurityToken is mandatory for this access key.")
        if not hmac.compare_digest(expected, given):
            raise ApiError("InvalidSecurityToken.MismatchWithAccessKey",
                           "Specified SecurityToken mismatch with the AccessKey.")

    def _check_nonce(self, access_key, nonce, name):
        if not nonce:
            raise missing_parameter(name)
        if not self.nonces.add((access_key, nonce), time.time()):
            raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")


def _mismatch(string_to_sign):
    return ApiError("SignatureDoesNotMatch", "Specified signature does not match our calculation. "
                    f"server string to sign is:{string_to_sign}")
