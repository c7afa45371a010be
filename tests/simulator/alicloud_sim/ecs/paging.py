"""ECS paging: ``MaxResults``/``NextToken`` (preferred) or the legacy ``PageNumber``/``PageSize``."""

from ..core.errors import ApiError
from ..core.params import decode_token, page


def ecs_page(params, items, default=10, maximum=50, clamp=False):
    """Slice ``items``; return (chunk, fields) with TotalCount, PageNumber, PageSize and NextToken.

    ``clamp`` (DescribeInstances) moves MaxResults into [10, maximum] instead of rejecting it.
    """
    if "MaxResults" in params or "NextToken" in params:
        size = params.int("MaxResults", default=default)
        if clamp:
            size = max(10, min(maximum, size))
        elif not 1 <= size <= maximum:
            raise ApiError("InvalidParam.MaxResults", f"The specified MaxResults must be between 1 and {maximum}.")
        token = params.str("NextToken")
        offset = decode_token(token) if token else 0
        chunk, next_token = page(items, size, offset)
        return chunk, {"TotalCount": len(items), "PageNumber": offset // size + 1, "PageSize": size,
                       "NextToken": next_token}
    number = params.int("PageNumber", default=1)
    size = params.int("PageSize", default=default)
    if number < 1:
        raise ApiError("InvalidParam.PageNumber", "The specified PageNumber must be at least 1.", 403)
    if not 1 <= size <= maximum:
        raise ApiError("InvalidParam.PageSize", f"The specified PageSize must be between 1 and {maximum}.", 403)
    start = (number - 1) * size
    return items[start:start + size], {"TotalCount": len(items), "PageNumber": number, "PageSize": size,
                                       "NextToken": ""}
