# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: patch baselines as data.

``approval_rules`` as users write them (snake_case YAML) translate to and from the API's
``{"PatchRules": [...]}``; a baseline from any API call (Get, List, Create, Update; rules as an
object or a JSON string, tags as ``TagKey``/``Key`` lists) normalises to one comparable shape; the
plan of a present/absent run is a pure function of (desired, current). No API calls here.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError, resource_tag_problems

OPERATION_SYSTEMS = ("AlmaLinux", "AliyunLinux", "Anolis", "CentOS", "Debian", "Fedora", "RedhatEnterpriseLinux",
                     "RockyLinux", "Suse", "Ubuntu", "Windows")
# the systems Alibaba Cloud provides a default baseline for (ACS-<OS>-DefaultPatchBaseline)
SYSTEM_DEFAULT_SYSTEMS = ("AlmaLinux", "AliyunLinux", "Anolis", "CentOS", "Debian", "RedhatEnterpriseLinux",
                          "Ubuntu", "Windows")
CLASSIFICATIONS = {
    "linux": ("Security", "Bugfix", "Enhancement", "Recommended", "Newpackage"),
    "windows": ("Security Updates", "Critical Updates", "Updates", "Update Rollups", "Definition Updates",
                "Feature Packs", "Service Packs", "Tools", "Drivers", "Upgrades"),
}
SEVERITIES = {"linux": ("Critical", "Important", "Medium", "Moderate", "Low"),
              "windows": ("Critical", "Important", "Moderate", "Low", "Unspecified")}
COMPLIANCE_LEVELS = ("Critical", "High", "Medium", "Low", "Informational", "Unspecified")
REJECTED_PATCHES_ACTIONS = ("ALLOW_AS_DEPENDENCY", "BLOCK")
RULE_KEYS = ("classifications", "severities", "products", "patch_set", "product_family", "approve_after_days",
             "approve_until_date", "enable_non_security", "compliance_level")
MAX_APPROVE_AFTER_DAYS = 100
MAX_RULES = 10
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
RESERVED_PREFIXES = ("ACS", "ALIYUN", "ALIBABA", "ALICLOUD")
# filter key in PatchFilterGroup -> rule key, in the order the API examples use
_FILTERS = (("PatchSet", "patch_set"), ("ProductFamily", "product_family"), ("Product", "products"),
            ("Classification", "classifications"), ("Severity", "severities"))
# fields of the normalised baseline that a user sets, in display order
SETTABLE = ("operation_system", "description", "approval_rules", "approved_patches",
            "approved_patches_enable_non_security", "rejected_patches", "rejected_patches_action", "sources",
            "tags", "resource_group_id", "default")


def family(operation_system):
    return "windows" if operation_system == "Windows" else "linux"


def system_default_name(operation_system):
    """The public baseline that is the OS default unless another one is registered; None for the systems
    without one (Fedora, RockyLinux, Suse)."""
    if operation_system not in SYSTEM_DEFAULT_SYSTEMS:
        return None
    return "ACS-%s-DefaultPatchBaseline" % operation_system


def hand_back_problem(baseline, what):
    """Why ``what`` (undoing the default of ``baseline``) is impossible, or None: an OS without a system
    default has no baseline to hand its default back to."""
    system = baseline.get("operation_system")
    if not baseline.get("default") or system_default_name(system):
        return None
    return ("%s is impossible: %s is the default baseline of %s, and only %s have a system default to hand the "
            "default back to; register another %s baseline as the default (default: true) first"
            % (what, baseline.get("name"), system, ", ".join(SYSTEM_DEFAULT_SYSTEMS), system))


# --- approval rules ------------------------------------------------------------------------
def _canonical_values(values, allowed, where, problems):
    """Values spelled as the API spells them (case-insensitive match), ``*`` kept, sorted."""
    if values is None:
        return ["*"]
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)) or not values:
        problems.append("%s must be a non-empty list" % where)
        return ["*"]
    by_lower = {a.lower(): a for a in allowed or ()}
    result = []
    for value in values:
        text = str(value).strip()
        if text == "*":
            result.append("*")
        elif allowed is None:
            if not text:
                problems.append("%s contains an empty value" % where)
            result.append(text)
        elif text.lower() in by_lower:
            result.append(by_lower[text.lower()])
        else:
            problems.append("%s: %r is not valid; use * or one of %s" % (where, value, ", ".join(allowed)))
    return sorted(set(result))


def _date_problem(value):
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except (TypeError, ValueError):
        return True
    return False


def normalise_rule(rule, operation_system, where="approval_rules[0]", problems=None):
    """One user rule (snake_case keys) -> the normalised rule; problems are appended to ``problems``."""
    problems = [] if problems is None else problems
    fam = family(operation_system)
    if not isinstance(rule, dict):
        problems.append("%s must be a dict" % where)
        return None
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        problems.append("%s has unknown key(s) %s (use %s)" % (where, ", ".join(unknown), ", ".join(RULE_KEYS)))
    result = dict(
        classifications=_canonical_values(rule.get("classifications"), CLASSIFICATIONS[fam],
                                          where + ".classifications", problems),
        severities=_canonical_values(rule.get("severities"), SEVERITIES[fam], where + ".severities", problems),
        products=_canonical_values(rule.get("products"), None, where + ".products", problems),
    )
    for key in ("patch_set", "product_family"):
        if rule.get(key) is not None:
            if fam != "windows":
                problems.append("%s.%s applies to Windows baselines only" % (where, key))
            result[key] = _canonical_values(rule.get(key), None, "%s.%s" % (where, key), problems)
    days, until = rule.get("approve_after_days"), rule.get("approve_until_date") or ""
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 0 <= days <= MAX_APPROVE_AFTER_DAYS):
        problems.append("%s.approve_after_days must be an integer from 0 to %d, got %r"
                        % (where, MAX_APPROVE_AFTER_DAYS, days))
    if until:
        until = str(until)
        if _date_problem(until):
            problems.append("%s.approve_until_date must be a date YYYY-MM-DD, got %r" % (where, until))
        if days:
            problems.append("%s: set approve_after_days or approve_until_date, not both" % where)
    result["approve_after_days"] = 0 if until or days is None else days
    result["approve_until_date"] = until
    non_security = rule.get("enable_non_security")
    non_security = False if non_security is None else non_security
    if not isinstance(non_security, bool):
        problems.append("%s.enable_non_security must be a boolean" % where)
    result["enable_non_security"] = bool(non_security)
    level = rule.get("compliance_level") or "Unspecified"
    by_lower = {c.lower(): c for c in COMPLIANCE_LEVELS}
    if str(level).lower() not in by_lower:
        problems.append("%s.compliance_level must be one of %s, got %r" % (where, ", ".join(COMPLIANCE_LEVELS), level))
    result["compliance_level"] = by_lower.get(str(level).lower(), level)
    return result


def normalise_rules(rules, operation_system):
    """User ``approval_rules`` -> sorted normalised rules. Raises ValidationError naming every problem."""
    problems = []
    if not isinstance(rules, (list, tuple)) or not 1 <= len(rules) <= MAX_RULES:
        raise ValidationError("approval_rules must be a list of 1 to %d rules" % MAX_RULES)
    result = [normalise_rule(rule, operation_system, "approval_rules[%d]" % n, problems) for n, rule in enumerate(rules)]
    if problems:
        raise ValidationError(problems)
    return sort_rules(result)


def sort_rules(rules):
    """Rules in a stable order: any rule approves a patch, so their order carries no meaning."""
    return sorted(rules, key=lambda r: json.dumps(r, sort_keys=True))


def rules_to_api(rules):
    """Normalised rules -> the ``ApprovalRules`` object (send it with ``json_param``)."""
    patch_rules = []
    for rule in rules:
        groups = [{"Key": key, "Values": list(rule[name])} for key, name in _FILTERS if rule.get(name)]
        item = {"PatchFilterGroup": groups, "EnableNonSecurity": rule["enable_non_security"],
                "ComplianceLevel": rule["compliance_level"]}
        if rule["approve_until_date"]:
            item["ApproveUntilDate"] = rule["approve_until_date"]
        else:
            item["ApproveAfterDays"] = rule["approve_after_days"]
        patch_rules.append(item)
    return {"PatchRules": patch_rules}


def rules_from_api(value):
    """``ApprovalRules`` as the API returns it (object or JSON string) -> normalised rules, or None."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = json.loads(value)
    result = []
    for item in (value or {}).get("PatchRules") or []:
        groups = {g.get("Key"): g.get("Values") or [] for g in item.get("PatchFilterGroup") or []}
        rule = {}
        for key, name in _FILTERS:
            values = groups.get(key)
            if name in ("patch_set", "product_family"):
                if values:
                    rule[name] = sorted(set(str(v) for v in values))
            else:
                rule[name] = sorted(set(str(v) for v in values)) if values else ["*"]
        until = item.get("ApproveUntilDate") or ""
        rule["approve_after_days"] = 0 if until else int(item.get("ApproveAfterDays") or 0)
        rule["approve_until_date"] = until
        rule["enable_non_security"] = bool(item.get("EnableNonSecurity", False))
        rule["compliance_level"] = item.get("ComplianceLevel") or "Unspecified"
        result.append(rule)
    return sort_rules(result)


# --- baselines -----------------------------------------------------------------------------
def tags_from_api(value):
    """Tags in any shape the API uses (``[{TagKey,TagValue}]``, ``[{Key,Value}]``, a dict) -> dict."""
    if not value:
        return {}
    if isinstance(value, dict):
        items = value.get("Tag") if isinstance(value.get("Tag"), list) else None
        if items is None:
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        value = items
    tags = {}
    for tag in value:
        key = tag.get("TagKey", tag.get("Key"))
        if key is not None:
            val = tag.get("TagValue", tag.get("Value"))
            tags[str(key)] = "" if val is None else str(val)
    return tags


def tags_to_api(tags):
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def baseline_from_api(raw, is_default=None):
    """Any API view of a baseline -> the normalised shape the modules return and compare."""
    default = raw.get("IsDefault") if is_default is None else is_default
    return dict(
        name=raw.get("Name", ""),
        id=raw.get("Id", ""),
        operation_system=raw.get("OperationSystem", ""),
        description=raw.get("Description") or "",
        approval_rules=rules_from_api(raw.get("ApprovalRules")),
        approved_patches=sorted(set(raw.get("ApprovedPatches") or [])),
        approved_patches_enable_non_security=bool(raw.get("ApprovedPatchesEnableNonSecurity", False)),
        rejected_patches=sorted(set(raw["RejectedPatches"])) if "RejectedPatches" in raw else None,
        rejected_patches_action=raw.get("RejectedPatchesAction") or None,
        sources=list(raw.get("Sources") or []),
        tags=tags_from_api(raw.get("Tags")),
        resource_group_id=raw.get("ResourceGroupId") or "",
        share_type=raw.get("ShareType", ""),
        default=None if default is None else bool(default),
        created_by=raw.get("CreatedBy", ""),
        created_date=raw.get("CreatedDate", ""),
        updated_by=raw.get("UpdatedBy", ""),
        updated_date=raw.get("UpdatedDate", ""),
    )


def validate_name(name):
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        return "name must be 1 to 128 letters, digits, '_', '-' or '.', got %r" % (name,)
    if name.upper().startswith(RESERVED_PREFIXES):
        return "name must not start with %s (reserved for public baselines), got %r" % (
            ", ".join(RESERVED_PREFIXES), name)
    return None


def desired_from_params(params):
    """The fields a present run manages (None = leave as is). Raises ValidationError naming every problem."""
    problems = []
    name_problem = validate_name(params.get("name"))
    if name_problem:
        problems.append(name_problem)
    system = params.get("operation_system")
    desired = {key: params.get(key) for key in SETTABLE if key not in ("approval_rules",)}
    desired["approval_rules"] = None
    desired["name"] = params.get("name")
    if params.get("approval_rules") is not None:
        if system is None:
            problems.append("approval_rules needs operation_system (classification and severity names depend on it)")
        else:
            try:
                desired["approval_rules"] = normalise_rules(params["approval_rules"], system)
            except ValidationError as exc:
                problems.extend(exc.problems)
    for key in ("approved_patches", "rejected_patches"):
        if desired[key] is not None:
            if len(desired[key]) > 100 or not all(isinstance(v, str) and v.strip() for v in desired[key]):
                problems.append("%s must be a list of at most 100 non-empty patch names or KB ids" % key)
            desired[key] = sorted(set(desired[key]))
    if desired["sources"] is not None and len(desired["sources"]) > 100:
        problems.append("sources must have at most 100 entries")
    if desired["description"] is not None and len(desired["description"]) > 200:
        problems.append("description must be at most 200 characters")
    if desired["tags"] is not None:
        problems.extend(resource_tag_problems(desired["tags"]))
        desired["tags"] = {str(k): "" if v is None else str(v) for k, v in desired["tags"].items()}
    if problems:
        raise ValidationError(problems)
    return desired


def plan_baseline(desired, current, purge_tags=True):
    """What a present run does: (changes {field: (before, after)}, the after-state, error or None).

    ``current`` is the normalised baseline (None when it does not exist); ``changes`` holds only
    fields the user set that differ. Creating needs operation_system and approval_rules.
    """
    if current is None:
        missing = [k for k in ("operation_system", "approval_rules") if desired.get(k) is None]
        if missing:
            return {}, None, "creating a baseline needs %s" % " and ".join(missing)
        after = dict(desired, id="", share_type="Private", description=desired["description"] or "",
                     approved_patches=desired["approved_patches"] or [],
                     approved_patches_enable_non_security=bool(desired["approved_patches_enable_non_security"]),
                     rejected_patches=desired["rejected_patches"] or [],
                     rejected_patches_action=desired["rejected_patches_action"] or "ALLOW_AS_DEPENDENCY",
                     sources=desired["sources"] or [], tags=desired["tags"] or {},
                     resource_group_id=desired["resource_group_id"] or "", default=bool(desired["default"]))
        changes = {k: (None, after[k]) for k in SETTABLE if desired.get(k) is not None}
        return changes, after, None
    if current.get("share_type") == "Public":
        return {}, current, "%s is a public baseline and cannot be changed; choose another name" % current["name"]
    if desired.get("operation_system") not in (None, current["operation_system"]):
        return {}, current, ("the operation_system of baseline %s is %s and cannot be changed to %s; delete it "
                             "(state=absent) and create it again" % (current["name"], current["operation_system"],
                                                                     desired["operation_system"]))
    wanted = {k: v for k, v in desired.items() if v is not None and k not in ("operation_system", "name")}
    if "tags" in wanted and not purge_tags:
        wanted["tags"] = dict(current.get("tags") or {}, **wanted["tags"])
    changes = {k: (current.get(k), v) for k, v in wanted.items() if current.get(k) != v}
    if "default" in changes and not wanted["default"]:
        problem = hand_back_problem(current, "default: false")
        if problem:
            return {}, current, problem
    after = dict(current)
    after.update({k: v[1] for k, v in changes.items()})
    return changes, after, None


def update_request(name, changes):
    """UpdatePatchBaseline parameters for ``changes`` (default is not an Update field)."""
    params = {"Name": name}
    for key, (_before, after) in changes.items():
        if key == "approval_rules":
            params["ApprovalRules"] = json.dumps(rules_to_api(after), separators=(",", ":"))
        elif key in ("approved_patches", "rejected_patches", "sources"):
            params[_api_name(key)] = json.dumps(after, separators=(",", ":"), ensure_ascii=False)
        elif key == "tags":
            params["Tags"] = json.dumps(tags_to_api(after), separators=(",", ":"), ensure_ascii=False)
        elif key in ("description", "rejected_patches_action", "resource_group_id",
                     "approved_patches_enable_non_security"):
            params[_api_name(key)] = after
    return params


def create_request(after):
    params = update_request(after["name"], {k: (None, after[k]) for k in SETTABLE if k not in (
        "operation_system", "default") and after.get(k) not in (None, "", [], {})})
    params["OperationSystem"] = after["operation_system"]
    return params


def _api_name(key):
    return {"approved_patches_enable_non_security": "ApprovedPatchesEnableNonSecurity",
            "resource_group_id": "ResourceGroupId"}.get(key, "".join(p.capitalize() for p in key.split("_")))
