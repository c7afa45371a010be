"""Small helpers shared by the ECS handlers."""

import base64
import binascii
import hashlib

from ..core.errors import ApiError, missing_parameter

ACCOUNT_ID = "1309208528360047"
REGION_ABBR = {"cn-hangzhou": "hz", "cn-shanghai": "sh", "cn-beijing": "bj", "cn-shenzhen": "sz",
               "cn-qingdao": "qd", "cn-zhangjiakou": "zb", "cn-hongkong": "hk", "ap-southeast-1": "sg",
               "ap-northeast-1": "jp", "eu-central-1": "eu", "us-west-1": "us", "us-east-1": "ue"}


def require_region(req):
    """ECS Cloud Assistant and instance actions need RegionId (the server already validated it)."""
    if not req.params.str("RegionId"):
        raise missing_parameter("RegionId")
    return req.region


def tags_view(tags):
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}


def tag_filters(params, name="Tag"):
    """``Tag.N.Key``/``Tag.N.Value`` as a list of (key, value-or-None)."""
    result = []
    for tag in params.struct_list(name):
        if not tag.get("Key"):
            raise ApiError(f"MissingParameter.{name}Key", f"The parameter {name}.N.Key is required.")
        result.append((tag["Key"], tag.get("Value")))
    return result


def tags_match(tags, filters):
    return all(key in tags and (value is None or tags[key] == value) for key, value in filters)


def hex_digest(seed, length):
    """The first ``length`` hex digits of the SHA-256 of ``seed``: stable ids and suffixes."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def new_id(prefix, region, seed):
    """An ECS-style id such as ``t-hz0jdfwd9f1a2b3c``; ``seed`` makes it unique."""
    digest = int(hashlib.sha256(f"{region}/{seed}".encode()).hexdigest(), 16)
    chars = []
    for _ in range(14):
        digest, rem = divmod(digest, 36)
        chars.append("0123456789abcdefghijklmnopqrstuvwxyz"[rem])
    return f"{prefix}-{REGION_ABBR.get(region, region[:2])}{''.join(chars)}"


def encoding(params, default="Base64"):
    """ContentEncoding, case-insensitive; an unknown value means the default."""
    value = (params.str("ContentEncoding") or "").lower()
    return {"plaintext": "PlainText", "base64": "Base64"}.get(value, default)


def b64encode(data):
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text):
    """Decode Base64 or raise ValueError."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as err:
        raise ValueError(str(err)) from None


def encode_output(data, enc):
    """Output bytes as the API returns them: Base64, or UTF-8 text (invalid bytes replaced)."""
    return data.decode("utf-8", "replace") if enc == "PlainText" else b64encode(data)
