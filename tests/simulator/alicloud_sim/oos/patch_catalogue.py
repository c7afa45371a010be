"""Patches available on an instance, the approval decision of a patch baseline, and the
validation of ``ApprovalRules``. Everything here is a pure function of its arguments."""

import hashlib
import random

from ..core import clock
from ..core.errors import invalid_parameter

DAY = 86400.0
OPERATION_SYSTEMS = ("Windows", "Ubuntu", "CentOS", "Debian", "AliyunLinux", "RedhatEnterpriseLinux",
                     "Anolis", "AlmaLinux", "Fedora", "Suse", "RockyLinux")
# the systems with a public ACS-<OS>-DefaultPatchBaseline; the others have a default only once one is registered
SYSTEM_DEFAULT_SYSTEMS = OPERATION_SYSTEMS[:8]
_OS_TOKENS = (("AliyunLinux", ("alibabacloudlinux", "aliyun", "alinux")), ("CentOS", ("centos",)),
              ("Ubuntu", ("ubuntu",)), ("Debian", ("debian",)), ("RedhatEnterpriseLinux", ("redhat", "rhel")),
              ("Anolis", ("anolis",)), ("AlmaLinux", ("almalinux",)), ("RockyLinux", ("rockylinux", "rocky")),
              ("Fedora", ("fedora",)), ("Suse", ("suse",)))
CLASSIFICATIONS = {
    "linux": ("Security", "Bugfix", "Enhancement", "Recommended", "Newpackage"),
    "windows": ("Security Updates", "Critical Updates", "Updates", "Update Rollups", "Definition Updates",
                "Feature Packs", "Service Packs", "Tools", "Drivers", "Upgrades"),
}
SEVERITIES = {"linux": ("Critical", "Important", "Medium", "Moderate", "Low"),
              "windows": ("Critical", "Important", "Moderate", "Low", "Unspecified")}
FILTER_KEYS = {"linux": ("Product", "Classification", "Severity", "Priority", "Section"),
               "windows": ("PatchSet", "ProductFamily", "Product", "Classification", "Severity")}
COMPLIANCE_LEVELS = ("Critical", "High", "Medium", "Low", "Informational", "Unspecified")
RULE_KEYS = ("PatchFilterGroup", "ApproveAfterDays", "ApproveUntilDate", "EnableNonSecurity", "ComplianceLevel")
PATCH_STATUSES = ("Installed", "InstalledOther", "InstalledPendingReboot", "InstalledRejected", "Missing", "Failed")
MAX_APPROVE_AFTER_DAYS = 100

_RPM_PACKAGES = ("kernel", "openssl-libs", "glibc", "systemd", "openssh-server", "sudo", "curl", "bash",
                 "python3", "libxml2", "nss", "tzdata", "polkit", "expat", "zlib", "vim-minimal")
_DEB_PACKAGES = ("linux-image-generic", "libssl3", "libc6", "systemd", "openssh-server", "sudo", "curl",
                 "bash", "python3.10", "libxml2", "isc-dhcp-common", "tzdata", "policykit-1", "zlib1g")
_REBOOT_PACKAGES = {"kernel", "glibc", "systemd", "linux-image-generic", "libc6"}


def _squash(text):
    return "".join(str(text).lower().split())


def family(os_name):
    """``linux`` or ``windows`` for an OperationSystem value."""
    return "windows" if os_name == "Windows" else "linux"


def operation_system(os_type, os_name, platform=""):
    """The baseline OperationSystem of an instance, or None when patching does not support it."""
    if str(os_type).lower() == "windows":
        return "Windows"
    name = _squash(f"{os_name} {platform}")
    for system, tokens in _OS_TOKENS:
        if any(token in name for token in tokens):
            return system
    return None


def generate(instance_id, os_type, os_name, now):
    """6-15 deterministic available patches for an instance (some already installed)."""
    rng = random.Random(hashlib.sha256(instance_id.encode()).hexdigest())
    windows = str(os_type).lower() == "windows"
    deb = any(t in _squash(os_name) for t in ("ubuntu", "debian"))
    patches = []
    for n in range(rng.randint(6, 15)):
        severity = rng.choice(SEVERITIES["windows"][:4] if windows else ("Critical", "Important", "Moderate", "Low"))
        if windows:
            kb = f"KB50{rng.randint(10000, 49999)}"
            classification = rng.choice(("Security Updates", "Critical Updates", "Updates", "Update Rollups",
                                         "Definition Updates"))
            title = f"{classification[:-1]} for {os_name} for x64-based Systems ({kb})"
            reboot = classification != "Definition Updates"
            if classification not in ("Security Updates", "Critical Updates"):
                severity = "Unspecified"
        else:
            name = (_DEB_PACKAGES if deb else _RPM_PACKAGES)[n % len(_DEB_PACKAGES if deb else _RPM_PACKAGES)]
            arch = "amd64" if deb else "x86_64"
            kb = f"{name}.{arch}"
            version = f"{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}-{rng.randint(1, 40)}"
            title = f"{kb}:{version}{'ubuntu1' if deb else '.al8'}"
            classification = rng.choice(("Security", "Security", "Bugfix", "Enhancement", "") if deb
                                        else ("Security", "Security", "Bugfix", "Enhancement"))
            reboot = name in _REBOOT_PACKAGES
        released_days_ago = rng.randint(1, 120)
        patches.append(make_patch(kb, title, classification, severity, reboot,
                                  rng.random() < 0.35, released_days_ago, now))
    return patches


def make_patch(kb_id, title, classification, severity, needs_reboot, installed, released_days_ago, now):
    released = now - float(released_days_ago) * DAY
    return {"kb_id": kb_id, "title": title, "classification": classification, "severity": severity,
            "needs_reboot": bool(needs_reboot), "installed": bool(installed), "released": released,
            "installed_time": released + DAY if installed else None, "pending_reboot": False,
            "failed": False, "status": None}


def from_fleet(entries, now):
    """Patches given in a fleet file (``kb_id``, ``title``, ``classification``, ``severity``,
    ``needs_reboot``, ``installed``, ``released_days_ago``)."""
    return [make_patch(e["kb_id"], e.get("title", e["kb_id"]), e.get("classification", "Security"),
                       e.get("severity", "Important"), e.get("needs_reboot", False), e.get("installed", False),
                       e.get("released_days_ago", 30), now) for e in entries]


# --- approval ---------------------------------------------------------------------------
def decide(patch, baseline, now, os_type="linux", product=""):
    """``approved``, ``rejected`` or ``not_approved`` for ``patch`` under ``baseline``.

    ``baseline`` is the API shape (``ApprovalRules`` object, ``ApprovedPatches``,
    ``RejectedPatches``). Rejected patches win over approved ones; approved patches are always
    approved; otherwise a patch is approved when any rule approves it.
    """
    ids = {patch["kb_id"], patch["title"]}
    if ids & set(baseline.get("RejectedPatches") or ()):
        return "rejected"
    if ids & set(baseline.get("ApprovedPatches") or ()):
        return "approved"
    rules = (baseline.get("ApprovalRules") or {}).get("PatchRules") or []
    if any(rule_approves(rule, patch, now, os_type, product) for rule in rules):
        return "approved"
    return "not_approved"


def rule_approves(rule, patch, now, os_type="linux", product=""):
    """One PatchRule: its filters match, and the patch is old enough (ApproveAfterDays) or
    released by ApproveUntilDate. On Linux a patch without classification (a plain package
    update) is only approved by a rule with ``EnableNonSecurity`` true."""
    groups = {g["Key"]: [str(v) for v in g.get("Values", [])] for g in rule.get("PatchFilterGroup", [])}

    def allows(key, value):
        values = groups.get(key)
        return values is None or "*" in values or str(value).lower() in {v.lower() for v in values}

    windows = str(os_type).lower() == "windows"
    if not windows and not patch["classification"]:
        if not rule.get("EnableNonSecurity", False):
            return False
    elif not allows("Classification", patch["classification"]):
        return False
    if patch["severity"] and not allows("Severity", patch["severity"]):
        return False
    products = groups.get("Product")
    if products and "*" not in products and not any(_squash(v) in _squash(product) for v in products):
        return False
    if windows and not (allows("PatchSet", "OS") and allows("ProductFamily", "Windows")):
        return False
    until = rule.get("ApproveUntilDate")
    if until:
        return patch["released"] <= clock.parse_iso(until) + DAY - 1
    return patch["released"] + float(rule.get("ApproveAfterDays", 0)) * DAY <= now


def status_of(patch, decision, rejected_action):
    """The ListInstancePatches status of a patch after a scan or install, or None (not listed)."""
    if patch["installed"]:
        if patch["pending_reboot"]:
            return "InstalledPendingReboot"
        if decision == "rejected":
            return "InstalledRejected" if rejected_action == "BLOCK" else "InstalledOther"
        return "Installed" if decision == "approved" else "InstalledOther"
    if decision == "approved":
        return "Failed" if patch["failed"] else "Missing"
    return None


# --- validation -------------------------------------------------------------------------
def validate_rules(rules, operation_system_name):
    """Check an ``ApprovalRules`` object for ``operation_system_name``; raises InvalidParameter."""
    fam = family(operation_system_name)

    def bad(detail):
        return invalid_parameter("ApprovalRules", detail)

    if not isinstance(rules, dict) or set(rules) != {"PatchRules"}:
        raise bad('It must be a JSON object {"PatchRules": [...]}.')
    patch_rules = rules["PatchRules"]
    if not isinstance(patch_rules, list) or not 1 <= len(patch_rules) <= 10:
        raise bad("PatchRules must be a list of 1 to 10 rules.")
    for index, rule in enumerate(patch_rules):
        where = f"PatchRules[{index}]"
        if not isinstance(rule, dict):
            raise bad(f"{where} must be an object.")
        unknown = set(rule) - set(RULE_KEYS)
        if unknown:
            raise bad(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        _validate_filters(rule.get("PatchFilterGroup"), fam, where, bad)
        _validate_timing(rule, where, bad)
        if "EnableNonSecurity" in rule and not isinstance(rule["EnableNonSecurity"], bool):
            raise bad(f"{where}.EnableNonSecurity must be a boolean.")
        if rule.get("ComplianceLevel", "Unspecified") not in COMPLIANCE_LEVELS:
            raise bad(f"{where}.ComplianceLevel must be one of {', '.join(COMPLIANCE_LEVELS)}.")
    return rules


def _validate_filters(groups, fam, where, bad):
    if not isinstance(groups, list) or not groups:
        raise bad(f"{where}.PatchFilterGroup must be a non-empty list.")
    seen = set()
    for group in groups:
        if not isinstance(group, dict) or set(group) != {"Key", "Values"}:
            raise bad(f'{where}.PatchFilterGroup items must be {{"Key": ..., "Values": [...]}}.')
        key, values = group["Key"], group["Values"]
        if key not in FILTER_KEYS[fam]:
            raise bad(f"{where}: filter key {key!r} is not valid for {fam}; use {', '.join(FILTER_KEYS[fam])}.")
        if key in seen:
            raise bad(f"{where}: filter key {key} appears twice.")
        seen.add(key)
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise bad(f"{where}: Values of {key} must be a non-empty list of strings.")
        allowed = {"Classification": CLASSIFICATIONS[fam], "Severity": SEVERITIES[fam]}.get(key)
        if allowed:
            lowered = {a.lower() for a in allowed}
            wrong = [v for v in values if v != "*" and v.lower() not in lowered]
            if wrong:
                raise bad(f"{where}: {key} values {wrong} are not valid; use * or {', '.join(allowed)}.")


def _validate_timing(rule, where, bad):
    days = rule.get("ApproveAfterDays")
    until = rule.get("ApproveUntilDate") or ""
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 0 <= days <= MAX_APPROVE_AFTER_DAYS):
        raise bad(f"{where}.ApproveAfterDays must be an integer from 0 to {MAX_APPROVE_AFTER_DAYS}.")
    if until:
        if days:
            raise bad(f"{where}: set ApproveAfterDays or ApproveUntilDate, not both.")
        try:
            clock.parse_iso(str(until))
        except ValueError:
            raise bad(f"{where}.ApproveUntilDate must be a date such as 2026-01-31.") from None
