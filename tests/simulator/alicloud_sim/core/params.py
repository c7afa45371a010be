"""Reading request parameters exactly as the Tea SDK sends them.

Scalars arrive as ``str(value)`` (booleans as ``True``/``False``), repeat lists as
``Name.1``, ``Name.2`` and lists of structs as ``Name.1.Key``; "shrink" parameters are
JSON strings.
"""

import json
import re

from .errors import ApiError, invalid_parameter, missing_parameter

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Params:
    def __init__(self, raw):
        self.raw = dict(raw)

    def __contains__(self, name):
        return name in self.raw and self.raw[name] != ""

    def str(self, name, required=False, default=None, allowed=None, max_len=None):
        value = self.raw.get(name)
        if value is None or value == "":
            if required:
                raise missing_parameter(name)
            return default
        if allowed is not None and value not in allowed:
            raise invalid_parameter(name, f"Allowed values: {', '.join(allowed)}.")
        if max_len is not None and len(value) > max_len:
            raise invalid_parameter(name, f"Length must be at most {max_len}.")
        return value

    def int(self, name, required=False, default=None, minimum=None, maximum=None):
        value = self.str(name, required=required)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid_parameter(name, "It must be an integer.") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise invalid_parameter(name, f"It must be between {minimum} and {maximum}.")
        return number

    def bool(self, name, default=False):
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise invalid_parameter(name, "It must be a boolean.")

    def json(self, name, required=False, default=None, kind=None):
        value = self.str(name, required=required)
        if value is None:
            return default
        try:
            data = json.loads(value)
        except ValueError:
            raise invalid_parameter(name, "It must be valid JSON.") from None
        if kind is not None and not isinstance(data, kind):
            raise invalid_parameter(name, f"It must be a JSON {kind.__name__}.")
        return data

    def repeat(self, name):
        """``Name.1``, ``Name.2``, ... in index order."""
        pattern = re.compile(re.escape(name) + r"\.(\d+)$")
        items = []
        for key, value in self.raw.items():
            m = pattern.match(key)
            if m:
                items.append((int(m.group(1)), value))
        return [v for _, v in sorted(items)]

    def struct_list(self, name):
        """``Name.1.Key`` / ``Name.1.Value`` ... as a list of dicts in index order."""
        pattern = re.compile(re.escape(name) + r"\.(\d+)\.(\w+)$")
        groups = {}
        for key, value in self.raw.items():
            m = pattern.match(key)
            if m:
                groups.setdefault(int(m.group(1)), {})[m.group(2)] = value
        return [groups[i] for i in sorted(groups)]

    def paging(self, default=50, minimum=1, maximum=100):
        """(MaxResults, NextToken-as-offset). Tokens are opaque offsets issued by ``page()``."""
        max_results = self.int("MaxResults", default=default)
        if max_results is not None:
            max_results = max(minimum, min(maximum, max_results))
        token = self.str("NextToken")
        offset = 0
        if token:
            offset = decode_token(token)
        return max_results, offset


def encode_token(offset):
    import base64

    return base64.urlsafe_b64encode(f"sim:{offset}".encode()).decode().rstrip("=")


def decode_token(token):
    import base64

    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        if not text.startswith("sim:"):
            raise ValueError
        return int(text[4:])
    except (ValueError, UnicodeDecodeError):
        raise ApiError("InvalidNextToken", "The specified NextToken is not valid.") from None


def page(items, max_results, offset):
    """Slice ``items`` and return (page, next_token) where next_token is "" on the last page."""
    chunk = items[offset:offset + max_results]
    nxt = offset + max_results
    return chunk, (encode_token(nxt) if nxt < len(items) else "")
