# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the one validator for common inputs, and a chunker.

Functions raise ``ValidationError`` naming every problem at once, before any API call.
"""

from __future__ import annotations

import re

REGION_RE = re.compile(r"^[a-z]{2,}(?:-[a-z0-9]+){1,5}$")
INSTANCE_ID_RE = re.compile(r"^i-[a-z0-9]{4,64}$")


class ValidationError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems) if isinstance(problems, (list, tuple)) else [problems]
        super().__init__("; ".join(self.problems))


def validate_region(value, name="region"):
    if not isinstance(value, str) or not REGION_RE.fullmatch(value):
        raise ValidationError("%s must be a region id such as cn-hangzhou, got %r" % (name, value))
    return value


def dedupe(items):
    """(items without repeats in first-seen order, sorted list of the repeated ones)."""
    seen = set()
    unique, repeated = [], set()
    for item in items:
        if item in seen:
            repeated.add(item)
        else:
            seen.add(item)
            unique.append(item)
    return unique, sorted(repeated)


def instance_id_problem(where, value):
    """The problem with ``value`` as an instance id (``where`` names it), or None if it is one."""
    if isinstance(value, str) and INSTANCE_ID_RE.fullmatch(value):
        return None
    return "%s %r is not an instance id (i- followed by lowercase letters and digits)" % (where, value)


def duplicates_warning(name, dropped, repeated):
    """The warning for ``dropped`` repeats of the ids in ``repeated`` (sorted, unique)."""
    return "%s: dropped %d duplicate(s): %s" % (
        name, dropped, ", ".join(repeated[:10]) + (" ..." if len(repeated) > 10 else ""))


def validate_instance_ids(values, name="instance_ids", max_items=None, allow_empty=False):
    """(unique ids in order, warnings). Rejects anything that is not ``i-`` + lowercase letters/digits."""
    if values is None:
        values = []
    if not isinstance(values, (list, tuple)):
        raise ValidationError("%s must be a list of instance ids" % name)
    problems = [p for p in (instance_id_problem("%s[%d]" % (name, idx), v) for idx, v in enumerate(values)) if p]
    if problems:
        raise ValidationError(problems)
    unique, repeated = dedupe(values)
    if not unique and not allow_empty:
        raise ValidationError("%s must not be empty" % name)
    check_size(unique, name, max_items)
    warnings = [duplicates_warning(name, len(values) - len(unique), repeated)] if repeated else []
    return unique, warnings


MAX_TAGS = 20           # tags per resource, and Tag.N filters per DescribeInstances
RESERVED_TAG_PREFIXES = ("aliyun", "acs:")


def resource_tag_problems(tags, max_key=128):
    """The problems with ``tags`` ({key: value}) as the tags of a resource the collection creates."""
    tags = tags or {}
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append("tags: at most %d tags, got %d" % (MAX_TAGS, len(tags)))
    for key, value in tags.items():
        key = str(key)
        if not key.strip() or len(key) > max_key or key.lower().startswith(RESERVED_TAG_PREFIXES):
            problems.append("tags: keys must be 1 to %d characters and must not start with aliyun or acs:; "
                            "%r is not a tag key" % (max_key, key))
        elif value is not None and len(str(value)) > 128:
            problems.append("tags: the value of %s is longer than 128 characters" % key)
    return problems


def tag_problems(tags, name="instance_tags"):
    """The problems with ``tags`` as a tag selector ({key: value}; an empty value matches any value)."""
    if not isinstance(tags, dict) or not tags:
        return ["%s must be a non-empty dict of tag key to value" % name]
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append("%s has %d tags; at most %d are allowed" % (name, len(tags), MAX_TAGS))
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 128:
            problems.append("%s key %r must be a non-empty string of at most 128 characters" % (name, key))
        if value is not None and not isinstance(value, (str, int, float)):
            problems.append("%s value of %r must be a string" % (name, key))
    return problems


def check_size(items, name, max_items):
    if max_items is not None and len(items) > max_items:
        raise ValidationError("%s has %d items; at most %d are allowed" % (name, len(items), max_items))
    return items


def chunked(items, size):
    """Consecutive slices of at most ``size`` items."""
    if size < 1:
        raise ValueError("chunk size must be >= 1")
    items = list(items)
    return [items[i:i + size] for i in range(0, len(items), size)]
