# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one paginator for ``NextToken``/``MaxResults`` APIs.

OOS returns plain arrays (``{"Templates": [...]}``), ECS wraps them (``{"Instances": {"Instance":
[...]}}``) and DescribeInvocationResults nests even the token (``Invocation.NextToken``); the
paths say where to look.
"""

from __future__ import annotations


class PagingError(RuntimeError):
    pass


def dig(body, path):
    """``body[path[0]][path[1]]...``, or None where a level is missing."""
    node = body
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def paginate(call, params, items_path, token_path=("NextToken",), page_size=None, limit=None, max_pages=10000):
    """Yield items from every page. ``call(params) -> body``; ``items_path``/``token_path`` are key tuples.

    Stops when the token is empty, after ``limit`` items, or fails on a token that repeats.
    """
    request = dict(params or {})
    if page_size:
        request["MaxResults"] = page_size
    seen_tokens = set()
    count = 0
    for _page in range(max_pages):
        body = call(dict(request))
        items = dig(body, items_path) or []
        if not isinstance(items, list):
            raise PagingError("expected a list at %s, got %s" % (".".join(items_path), type(items).__name__))
        for item in items:
            yield item
            count += 1
            if limit is not None and count >= limit:
                return
        token = dig(body, token_path)
        if not token or not isinstance(token, str):
            return
        if token in seen_tokens:
            raise PagingError("the API returned the same NextToken twice; stopping to avoid a loop")
        seen_tokens.add(token)
        request["NextToken"] = token
    raise PagingError("more than %d pages; giving up" % max_pages)


def list_all(call, params, items_path, **kwargs):
    return list(paginate(call, params, items_path, **kwargs))
