# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: which instances in which regions a fleet module acts on.

``instance_ids`` may be a list of ids (all in the module's ``region``), a list of
``{instance_id, region}`` items, or a dict mapping region to a list of ids.
"""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import (
    REGION_RE,
    ValidationError,
    check_size,
    duplicates_warning,
    instance_id_problem,
)


def normalise_targets(value, default_region, name="instance_ids", max_items=None):
    """({region: [ids]} in first-seen order, warnings). Raises ValidationError naming every problem."""
    pairs, problems = [], []
    if isinstance(value, dict):
        for region, ids in value.items():
            if not isinstance(ids, (list, tuple)):
                problems.append("%s[%r] must be a list of instance ids" % (name, region))
                continue
            pairs.extend((str(region), i, "%s[%r][%d]" % (name, region, n)) for n, i in enumerate(ids))
    elif isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            where = "%s[%d]" % (name, n)
            if isinstance(item, dict):
                unknown = sorted(set(item) - {"instance_id", "region"})
                if unknown:
                    problems.append("%s has unknown key(s) %s (use instance_id and region)" % (where, ", ".join(unknown)))
                pairs.append((item.get("region") or default_region, item.get("instance_id"), where))
            else:
                pairs.append((default_region, item, where))
    else:
        raise ValidationError("%s must be a list of instance ids, a list of {instance_id, region}, "
                              "or a dict of region to instance ids" % name)

    targets, seen, repeated = {}, {}, []
    for region, instance_id, where in pairs:
        if not region:
            problems.append("%s: no region given and the module has no region" % where)
            continue
        if not isinstance(region, str) or not REGION_RE.fullmatch(region):
            problems.append("%s: %r is not a region id" % (where, region))
            continue
        problem = instance_id_problem(where, instance_id)
        if problem:
            problems.append(problem)
            continue
        if instance_id in seen:
            if seen[instance_id] != region:
                problems.append("%s: %s is listed in both %s and %s" % (where, instance_id, seen[instance_id], region))
            else:
                repeated.append(instance_id)
            continue
        seen[instance_id] = region
        targets.setdefault(region, []).append(instance_id)
    if problems:
        raise ValidationError(problems)
    if not seen:
        raise ValidationError("%s must not be empty" % name)
    check_size(list(seen), name, max_items)
    warnings = [duplicates_warning(name, len(repeated), sorted(set(repeated)))] if repeated else []
    return targets, warnings
