"""Patch baselines (Create/Get/Update/Delete/List, RegisterDefaultPatchBaseline) and the per-instance
patch data behind ListInstancePatches / ListInstancePatchStates. Component ``patching``."""

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field

from ..core import clock
from ..core.errors import ApiError, entity_not_exists, invalid_parameter
from ..core.params import page
from ..core.registry import action, component
from . import patch_catalogue as pc
from .catalogue import ACCOUNT_UID

PUBLIC_CREATED = clock.parse_iso("2021-06-01T00:00:00Z")
REJECTED_ACTIONS = ("ALLOW_AS_DEPENDENCY", "BLOCK")
_NAME = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")


def default_rules(system):
    if system == "Windows":
        groups = [{"Key": "PatchSet", "Values": ["OS"]}, {"Key": "ProductFamily", "Values": ["Windows"]},
                  {"Key": "Product", "Values": ["*"]},
                  {"Key": "Classification", "Values": ["Security Updates", "Critical Updates"]},
                  {"Key": "Severity", "Values": ["Critical", "Important"]}]
    else:
        groups = [{"Key": "Product", "Values": ["*"]}, {"Key": "Classification", "Values": ["Security", "Bugfix"]},
                  {"Key": "Severity", "Values": ["Critical", "Important"]}]
    return {"PatchRules": [{"PatchFilterGroup": groups, "ApproveAfterDays": 7, "ApproveUntilDate": "",
                            "EnableNonSecurity": False, "ComplianceLevel": "Unspecified"}]}


@dataclass
class Baseline:
    id: str
    name: str
    region: str
    operation_system: str
    approval_rules: dict
    created: float
    share_type: str = "Private"
    approved_patches: list = field(default_factory=list)
    approved_non_security: bool = False
    rejected_patches: list = field(default_factory=list)
    rejected_action: str = "ALLOW_AS_DEPENDENCY"
    sources: list = field(default_factory=list)
    description: str = ""
    resource_group_id: str = ""
    tags: list = field(default_factory=list)      # [{"TagKey": ..., "TagValue": ...}]
    updated: float = None

    @property
    def owner(self):
        return "ACS" if self.share_type == "Public" else f"root({ACCOUNT_UID})"

    def rules_view(self):
        return {"ApprovalRules": self.approval_rules, "ApprovedPatches": self.approved_patches,
                "RejectedPatches": self.rejected_patches}

    def view(self, is_default=None, full=True):
        data = {"Id": self.id, "Name": self.name, "OperationSystem": self.operation_system,
                "Description": self.description, "ShareType": self.share_type,
                "ApprovedPatches": list(self.approved_patches),
                "ApprovedPatchesEnableNonSecurity": self.approved_non_security, "Sources": list(self.sources),
                "ResourceGroupId": self.resource_group_id, "Tags": [dict(t) for t in self.tags],
                "CreatedBy": self.owner, "CreatedDate": clock.iso(self.created), "UpdatedBy": self.owner,
                "UpdatedDate": clock.iso(self.updated or self.created)}
        if full:
            data.update({"ApprovalRules": self.approval_rules, "RejectedPatches": list(self.rejected_patches),
                         "RejectedPatchesAction": self.rejected_action})
        if is_default is not None:
            data["IsDefault"] = is_default
        return data


def _baseline_id(region, name):
    return "pb-" + hashlib.sha256(f"{region}/{name}".encode()).hexdigest()[:20]


@component("oos", "patching")
class PatchStore:
    """Baselines and defaults per region; available patches and the last patch operation per instance."""

    def __init__(self, sim):
        self.sim = sim
        self.now = sim.clock.now()
        self._baselines = {}     # region -> {name: Baseline}
        self._defaults = {}      # region -> {OperationSystem: name}
        self._patches = {}       # instance id -> [patch dicts]
        self.states = {}         # instance id -> last operation record
        self._tokens = {}

    def advance(self, now):
        self.now = max(self.now, now)

    def token(self, region, token):
        """(fingerprint, baseline name) of an earlier CreatePatchBaseline with this ClientToken."""
        return self._tokens.get((region, token))

    def remember_token(self, region, token, fingerprint, name):
        self._tokens[(region, token)] = (fingerprint, name)

    # --- baselines -----------------------------------------------------------------
    def region(self, region):
        if region not in self._baselines:
            public = {}
            for system in pc.SYSTEM_DEFAULT_SYSTEMS:
                name = f"ACS-{system}-DefaultPatchBaseline"
                public[name] = Baseline(_baseline_id(region, name), name, region, system, default_rules(system),
                                        PUBLIC_CREATED, share_type="Public",
                                        description=f"Default patch baseline for {system} provided by Alibaba Cloud")
            self._baselines[region] = public
            self._defaults[region] = {s: f"ACS-{s}-DefaultPatchBaseline" for s in pc.SYSTEM_DEFAULT_SYSTEMS}
        return self._baselines[region]

    def get(self, region, name):
        baseline = self.region(region).get(name)
        if baseline is None:
            raise entity_not_exists("PatchBaseline", name)
        return baseline

    def is_default(self, baseline):
        self.region(baseline.region)
        return self._defaults[baseline.region].get(baseline.operation_system) == baseline.name

    def set_default(self, baseline):
        self.region(baseline.region)
        self._defaults[baseline.region][baseline.operation_system] = baseline.name

    def default_for(self, inst):
        """The default baseline for the instance's OS in its region, or None (``no_default_reason`` says why)."""
        system = pc.operation_system(inst.os_type, inst.os_name, inst.platform)
        self.region(inst.region)
        name = self._defaults[inst.region].get(system)
        return self._baselines[inst.region][name] if name else None

    @staticmethod
    def no_default_reason(inst):
        system = pc.operation_system(inst.os_type, inst.os_name, inst.platform)
        if system is None:
            return f"The operating system of instance {inst.id} ({inst.os_name}) is not supported by patch management."
        return (f"There is no default patch baseline for {system} in region {inst.region}: Alibaba Cloud provides "
                f"none for {system}; register one with RegisterDefaultPatchBaseline.")

    # --- instance patches ----------------------------------------------------------
    def patches(self, inst):
        if inst.id not in self._patches:
            if inst.patches is not None:
                self._patches[inst.id] = pc.from_fleet(inst.patches, self.now)
            else:
                self._patches[inst.id] = pc.generate(inst.id, inst.os_type, inst.os_name, self.now)
        return self._patches[inst.id]

    def _decisions(self, inst, baseline, now):
        return [(p, pc.decide(p, baseline.rules_view(), now, inst.os_type, inst.os_name)) for p in self.patches(inst)]

    def _record(self, inst, baseline, operation, start, end, decisions):
        counts = dict.fromkeys(pc.PATCH_STATUSES, 0)
        for patch, decision in decisions:
            patch["status"] = pc.status_of(patch, decision, baseline.rejected_action)
            if patch["status"]:
                counts[patch["status"]] += 1
        self.states[inst.id] = {"baseline_id": baseline.id, "operation": operation, "start": start, "end": end,
                                "counts": counts}
        return counts

    def scan(self, inst, baseline, start, end):
        return self._record(inst, baseline, "scan", start, end, self._decisions(inst, baseline, end))

    def install(self, inst, baseline, start, end, failed):
        """Install the approved missing patches (or mark them Failed); returns the counts."""
        decisions = self._decisions(inst, baseline, end)
        for patch, decision in decisions:
            if decision == "approved" and not patch["installed"]:
                if failed:
                    patch["failed"] = True
                else:
                    patch.update(installed=True, installed_time=end, pending_reboot=patch["needs_reboot"],
                                 failed=False)
        return self._record(inst, baseline, "install", start, end, decisions)

    def rebooted(self, inst, baseline, t):
        """After a reboot nothing is pending any more; the install record is refreshed."""
        for patch in self.patches(inst):
            patch["pending_reboot"] = False
        state = self.states.get(inst.id)
        start = state["start"] if state else t
        return self._record(inst, baseline, "install", start, t, self._decisions(inst, baseline, t))

    def instance_changed(self, inst, changes):
        """Admin hook: after a reboot no installed patch waits for one (the next scan shows it)."""
        if changes.get("rebooted"):
            for patch in self._patches.get(inst.id, ()):
                patch["pending_reboot"] = False

    def disk_state(self, inst):
        """The instance's patches and last patch operation, as a system-disk snapshot records them."""
        return copy.deepcopy({"patches": self._patches.get(inst.id), "state": self.states.get(inst.id)})

    def restore_disk_state(self, inst, saved):
        """A reset of the system disk to a snapshot: the patches and the patch state it recorded are back."""
        for store, value in ((self._patches, saved["patches"]), (self.states, saved["state"])):
            if value is None:
                store.pop(inst.id, None)
            else:
                store[inst.id] = copy.deepcopy(value)

    def snapshot(self):
        return {"baselines": {r: sorted(b) for r, b in self._baselines.items()},
                "defaults": {r: dict(d) for r, d in self._defaults.items()},
                "patch_states": {i: {"operation": s["operation"], "counts": s["counts"]}
                                 for i, s in self.states.items()}}


# --- request parsing ----------------------------------------------------------------------
def _string_list(p, name):
    value = p.json(name, default=None, kind=list)
    if value is None:
        return None
    if len(value) > 100 or not all(isinstance(v, str) for v in value):
        raise invalid_parameter(name, "It must be a JSON array of at most 100 strings.")
    return value


def _tags(p):
    """Tags as ``[{"Key","Value"}]`` JSON (SDK) or ``Tags.N.Key`` (form clients) -> response shape."""
    raw = p.json("Tags", default=None, kind=list) if "Tags" in p else p.struct_list("Tags") or None
    if raw is None:
        return None
    if len(raw) > 20 or not all(isinstance(t, dict) and t.get("Key") for t in raw):
        raise invalid_parameter("Tags", 'It must be a list of at most 20 {"Key": ..., "Value": ...} objects.')
    return [{"TagKey": str(t["Key"]), "TagValue": str(t.get("Value", ""))} for t in raw]


def _rules(p, system, required):
    rules = p.json("ApprovalRules", required=required, kind=dict)
    return None if rules is None else pc.validate_rules(rules, system)


def _apply_updates(baseline, p, system):
    """The optional fields shared by Create and Update."""
    rules = _rules(p, system, required=False)
    if rules is not None:
        baseline.approval_rules = rules
    for name, attr in (("ApprovedPatches", "approved_patches"), ("RejectedPatches", "rejected_patches"),
                       ("Sources", "sources")):
        value = _string_list(p, name)
        if value is not None:
            setattr(baseline, attr, value)
    if "ApprovedPatchesEnableNonSecurity" in p:
        baseline.approved_non_security = p.bool("ApprovedPatchesEnableNonSecurity")
    baseline.rejected_action = p.str("RejectedPatchesAction", default=baseline.rejected_action,
                                     allowed=REJECTED_ACTIONS)
    baseline.description = p.str("Description", default=baseline.description, max_len=200)
    baseline.resource_group_id = p.str("ResourceGroupId", default=baseline.resource_group_id)
    tags = _tags(p)
    if tags is not None:
        baseline.tags = tags


def _fingerprint(p):
    return json.dumps({k: v for k, v in sorted(p.raw.items()) if k in (
        "Name", "OperationSystem", "ApprovalRules", "ApprovedPatches", "ApprovedPatchesEnableNonSecurity",
        "RejectedPatches", "RejectedPatchesAction", "Sources", "Description", "ResourceGroupId", "Tags")})


# --- handlers -----------------------------------------------------------------------------
@action("oos", "CreatePatchBaseline", mutating=True)
def create_patch_baseline(sim, req):
    p = req.params
    store = sim.components["patching"]
    token = p.str("ClientToken", max_len=64)
    seen = store.token(req.region, token) if token else None
    if seen is not None:
        fingerprint, name = seen
        if fingerprint != _fingerprint(p):
            raise ApiError("IdempotentParameterMismatch",
                           "The request uses the same client token as a previous, but non-identical request.",
                           403)
        return {"PatchBaseline": store.get(req.region, name).view()}
    name = p.str("Name", required=True)
    if not _NAME.match(name) or name.upper().startswith(("ACS", "ALIYUN", "ALIBABA", "ALICLOUD")):
        raise invalid_parameter("Name", "It must be 1-128 characters of letters, digits, _ - and ., and "
                                "must not start with ACS, ALIYUN, ALIBABA or ALICLOUD.")
    system = p.str("OperationSystem", required=True, allowed=pc.OPERATION_SYSTEMS)
    rules = _rules(p, system, required=True)
    if name in store.region(req.region):
        raise ApiError("EntityAlreadyExists.PatchBaseline", f"The PatchBaseline ({name}) already exists.")
    baseline = Baseline(_baseline_id(req.region, name), name, req.region, system, rules, store.now)
    _apply_updates(baseline, p, system)
    store.region(req.region)[name] = baseline
    if token:
        store.remember_token(req.region, token, _fingerprint(p), name)
    return {"PatchBaseline": baseline.view()}


@action("oos", "GetPatchBaseline")
def get_patch_baseline(sim, req):
    store = sim.components["patching"]
    baseline = store.get(req.region, req.params.str("Name", required=True))
    return {"PatchBaseline": baseline.view(is_default=store.is_default(baseline))}


def _private(baseline, verb):
    if baseline.share_type == "Public":
        raise ApiError("Forbidden.PublicPatchBaseline",
                       f"The public patch baseline {baseline.name} cannot be {verb}.", 403)


@action("oos", "UpdatePatchBaseline", mutating=True)
def update_patch_baseline(sim, req):
    p = req.params
    store = sim.components["patching"]
    baseline = store.get(req.region, p.str("Name", required=True))
    _private(baseline, "updated")
    if p.str("OperationSystem") not in (None, baseline.operation_system):
        raise invalid_parameter("OperationSystem", "The operating system of a patch baseline cannot be changed.")
    _apply_updates(baseline, p, baseline.operation_system)
    baseline.updated = store.now
    return {"PatchBaseline": baseline.view()}


@action("oos", "DeletePatchBaseline", mutating=True)
def delete_patch_baseline(sim, req):
    store = sim.components["patching"]
    baseline = store.get(req.region, req.params.str("Name", required=True))
    _private(baseline, "deleted")
    if store.is_default(baseline):
        raise ApiError("Forbidden.DefaultPatchBaseline",
                       f"The patch baseline {baseline.name} is the default baseline of "
                       f"{baseline.operation_system}; register another default first.", 403)
    del store.region(req.region)[baseline.name]
    return {}


@action("oos", "RegisterDefaultPatchBaseline", mutating=True)
def register_default_patch_baseline(sim, req):
    store = sim.components["patching"]
    baseline = store.get(req.region, req.params.str("Name", required=True))
    store.set_default(baseline)
    view = baseline.view(full=False)
    keep = ("Id", "Name", "OperationSystem", "Description", "ShareType", "ResourceGroupId",
            "CreatedBy", "CreatedDate", "UpdatedBy", "UpdatedDate")
    result = {k: view[k] for k in keep}
    result["ApprovalRules"] = baseline.approval_rules
    return {"PatchBaseline": result}


def _list_match(baseline, p, tags):
    name = p.str("Name")
    if name and name.lower() not in baseline.name.lower():
        return False
    for param, value in (("OperationSystem", baseline.operation_system), ("ShareType", baseline.share_type),
                         ("ResourceGroupId", baseline.resource_group_id)):
        if p.str(param) is not None and p.str(param) != value:
            return False
    for param, have in (("Sources", baseline.sources), ("ApprovedPatches", baseline.approved_patches)):
        wanted = _string_list(p, param)
        if wanted and not set(wanted) <= set(have):
            return False
    if "ApprovedPatchesEnableNonSecurity" in p and \
            p.bool("ApprovedPatchesEnableNonSecurity") != baseline.approved_non_security:
        return False
    return all(t in baseline.tags for t in tags)


@action("oos", "ListPatchBaselines")
def list_patch_baselines(sim, req):
    p = req.params
    store = sim.components["patching"]
    max_results = p.int("MaxResults", default=50, minimum=1, maximum=100)
    offset = p.paging()[1]
    p.str("ShareType", allowed=("Public", "Private"))
    p.str("OperationSystem", allowed=pc.OPERATION_SYSTEMS)
    tags = _tags(p) or []
    items = [b for b in store.region(req.region).values() if _list_match(b, p, tags)]
    items.sort(key=lambda b: (b.share_type != "Public", b.created, b.name))
    chunk, token = page(items, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token,
            "PatchBaselines": [b.view(is_default=store.is_default(b), full=False) for b in chunk]}
