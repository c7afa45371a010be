# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one deterministic ``ClientToken`` builder.

The token is a hash of the canonical request content (plus the user's ``client_token`` when
given), never of the time, so a retried or re-run call with the same content cannot start a
second execution or invocation.
"""

from __future__ import annotations

import hashlib
import json
import re

MAX_TOKEN_LENGTH = 64
_USER_TOKEN_RE = re.compile(r"^[\x21-\x7e]{1,64}$")


class TokenError(ValueError):
    pass


def token_problems(user_token):
    """[problem] if ``user_token`` (a ``client_token`` option) cannot start a ClientToken, else []."""
    if user_token is None or _USER_TOKEN_RE.match(str(user_token)):
        return []
    return ["client_token must be 1 to 64 printable ASCII characters without spaces"]


def canonical(content):
    """Key-sorted compact JSON: equal content gives equal text whatever the dict order."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def client_token(content, user_token=None, prefix="ecsops"):
    """A ClientToken (<= 64 printable ASCII characters) for ``content``.

    With ``user_token`` the token starts with it (up to 31 characters) so it can be recognised
    in the console, and the hash covers it too, so two runs with different user tokens differ.
    """
    problems = token_problems(user_token)
    if problems:
        raise TokenError(problems[0])
    digest = hashlib.sha256(("%s\n%s" % (user_token or "", canonical(content))).encode("utf-8")).hexdigest()
    head = str(user_token)[:31] if user_token else prefix
    return ("%s-%s" % (head, digest))[:MAX_TOKEN_LENGTH]
