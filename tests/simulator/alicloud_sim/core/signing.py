"""Request authentication: ACS3-HMAC-SHA256 (V3) and RPC HMAC-SHA1 (V2) signatures.

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


def v3_string_to_sign(method, path, query_pairs, headers, signed_names, body):
    """``headers``: lower-cased name -> value. Returns the string the V3 signature covers."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '')}\n" for name in signed_names)
    canonical_request = "\n".join([
        method, path or "/", canonical_query(query_pairs), canonical_headers,
        ";".join(signed_names), hashlib.sha256(body).hexdigest(),
    ])
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v2_string_to_sign(method, params):
    """``params``: every request parameter (query and form) except ``Signature``."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params.items()))}"


def v3_signature(secret, string_to_sign):
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def v2_signature(secret, string_to_sign):
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def sign_v3(method, path, query_pairs, headers, access_key, secret, body=b""):
    """Client side: the ``Authorization`` header for ``headers`` (all of them are signed)."""
    low = {k.lower(): str(v).strip() for k, v in headers.items()}
    names = sorted(low)
    sts = v3_string_to_sign(method, path, query_pairs, low, names, body)
    signature = v3_signature(secret, sts)
    return f"{V3_ALGORITHM} Credential={access_key},SignedHeaders={';'.join(names)},Signature={signature}"


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
                       "(ACS3-HMAC-SHA256) or the Signature parameter (HMAC-SHA1).")

    def _v3(self, method, path, query_pairs, headers, body):
        algorithm, _, rest = headers["authorization"].partition(" ")
        fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        if algorithm != V3_ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
            raise ApiError("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        access_key = fields["Credential"]
        secret, token = self._key(access_key)
        self._check_time(headers.get("x-acs-date"), "x-acs-date")
        signed = fields["SignedHeaders"].split(";")
        sts = v3_string_to_sign(method, path, query_pairs, headers, signed, body)
        if not hmac.compare_digest(v3_signature(secret, sts), fields["Signature"]):
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

    def _key(self, access_key):
        entry = self._credentials().get(access_key)
        if entry is None:
            raise ApiError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
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
