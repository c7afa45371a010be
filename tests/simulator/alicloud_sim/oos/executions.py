"""OOS executions: StartExecution, ListExecutions, CancelExecution, NotifyExecution,
DeleteExecutions. Component ``executions`` (runs every execution forward in simulated time)."""

import hashlib
import heapq
import json

from ..core.errors import ApiError, entity_not_exists, invalid_parameter, missing_parameter
from ..core.params import page
from ..core.registry import action, component
from . import parameters, views
from .bulky_package import PackageRunner
from .bulky_patch import PatchRunner
from .catalogue import ACCOUNT_UID
from .engine import EPSILON, TERMINAL, LoopRun, rate_limits
from .records import Execution, new_execution_id
from .targets import instance_problem
from .templates import PACKAGE_TEMPLATE, PATCH_TEMPLATE

MODES = ("Automatic", "FailurePause", "Debug")
LOOP_MODES = ("Automatic", "FirstBatchPause", "EveryBatchPause")
SAFETY_CHECKS = ("ConfirmEveryHighRiskAction", "Skip")
# ListExecutions' Status filter; Queued is a status an execution can have but not a documented filter value
STATUS_FILTERS = ("Running", "Started", "Success", "Failed", "Waiting", "Cancelled", "Pending", "Skipped")
NOTIFY_TYPES = ("Approve", "Reject", "ExecuteTask", "CancelTask", "CompleteExecution", "RetryTask", "SkipTask")


@component("oos", "executions")
class ExecutionStore:
    """Every execution (parents and children) by id, plus the time-ordered schedule."""

    def __init__(self, sim):
        self.sim = sim
        self.now = sim.clock.now()
        self._by_id = {}
        self._heap = []
        self._seq = 0
        self._tokens = {}
        self.runners = {PACKAGE_TEMPLATE: PackageRunner(sim), PATCH_TEMPLATE: PatchRunner(sim)}
        # fleet option child_execution_tags: false gives child executions no tags (whether the real
        # service copies the parent's tags to them is not documented)
        self.child_tags = str(sim.fleet.get("child_execution_tags", True)).lower() not in ("false", "0", "no")

    # --- time ----------------------------------------------------------------------
    def advance(self, now):
        while self._heap and self._heap[0][0] <= now + EPSILON:
            when, _, exe_id = heapq.heappop(self._heap)
            exe = self._by_id.get(exe_id)
            if exe is None or exe.run is None or exe.run.next_time() != when:
                continue
            exe.run.step(when)
            self.schedule(exe)
        self.now = max(self.now, now)

    def schedule(self, exe):
        when = exe.run.next_time()
        if when is not None:
            self._seq += 1
            heapq.heappush(self._heap, (when, self._seq, exe.id))

    # --- records -------------------------------------------------------------------
    def get(self, exe_id, region=None):
        exe = self._by_id.get(exe_id)
        return exe if exe is not None and region in (None, exe.region) else None

    def require(self, exe_id, region):
        exe = self.get(exe_id, region)
        if exe is None:
            raise entity_not_exists("Execution", exe_id)
        return exe

    def all(self, region):
        return [e for e in self._by_id.values() if e.region == region]

    def new_child(self, parent, template_name, params, t):
        child = Execution(
            id=new_execution_id(), region=parent.region, template_name=template_name,
            template_id="t-" + hashlib.sha256(template_name.encode()).hexdigest()[:20], template_version="v1",
            parameters=params, created=t, mode=parent.mode, safety_check=parent.safety_check,
            tags=dict(parent.tags) if self.child_tags else {}, parent_id=parent.id, executed_by=parent.executed_by,
            resource_ids=[params.get("instanceId")])
        self._by_id[child.id] = child
        return child

    def start(self, region, tpl, ver, values, options):
        exe = Execution(
            id=new_execution_id(), region=region, template_name=tpl.name, template_id=tpl.id,
            template_version=ver.name, parameters=values, created=self.now, is_parent=True,
            executed_by=f"root({ACCOUNT_UID})",
            targets=json.dumps({"ResourceType": "ALIYUN::ECS::Instance", "Filters": [values.get("targets")]}),
            **options)
        exe.updated = self.now
        self._by_id[exe.id] = exe
        LoopRun(self, exe, self.runners[tpl.name], values.get("rateControl"))
        self.schedule(exe)
        return exe

    def remember_token(self, region, token, fingerprint, exe_id):
        self._tokens[(region, token)] = (fingerprint, exe_id)

    def token(self, region, token):
        return self._tokens.get((region, token))

    def delete(self, exe):
        for child in [e for e in self._by_id.values() if e.parent_id == exe.id]:
            self._by_id.pop(child.id, None)
        self._by_id.pop(exe.id, None)

    def instance_changed(self, inst, changes):
        """Admin hook: items running on an instance that was stopped, released or lost its agent fail."""
        if not ({"status", "released", "agent"} & set(changes)):
            return
        problem = instance_problem(self.sim, inst.id, inst.region)
        if not problem:
            return
        for exe in list(self._by_id.values()):
            if exe.run is not None and exe.status not in TERMINAL:
                exe.run.interrupt(self.now, inst.id, f"The instance changed during the task: {problem}")
                self.schedule(exe)

    def snapshot(self):
        children = {}
        for child in self._by_id.values():
            if child.parent_id:
                children.setdefault(child.parent_id, []).append(
                    {"execution_id": child.id, "instance": (child.resource_ids or [""])[0], "status": child.status,
                     "start": child.start, "end": child.end})
        return {e.id: {"template": e.template_name, "status": e.status, "region": e.region,
                       "counters": views.counters(e), "created": e.created, "end": e.end,
                       "action": (e.parameters or {}).get("action", ""), "tags": dict(e.tags),
                       "children": children.get(e.id, [])}
                for e in self._by_id.values() if e.is_parent}


def _options(p):
    mode = p.str("Mode", default="Automatic", allowed=MODES)
    safety = p.str("SafetyCheck", default="ConfirmEveryHighRiskAction", allowed=SAFETY_CHECKS)
    if safety == "Skip" and mode != "Automatic":
        raise invalid_parameter("SafetyCheck", "Skip is only valid when Mode is Automatic.")
    tags = p.json("Tags", default={}, kind=dict)
    return {"mode": mode, "loop_mode": p.str("LoopMode", default="Automatic", allowed=LOOP_MODES),
            "safety_check": safety, "description": p.str("Description", default="", max_len=200),
            "tags": {str(k): str(v) for k, v in tags.items()},
            "parent_id": p.str("ParentExecutionId", default="")}


@action("oos", "StartExecution", mutating=True)
def start_execution(sim, req):
    p = req.params
    if "TemplateContent" in p or "TemplateURL" in p:
        raise invalid_parameter("TemplateContent", "The simulator only runs the stored public templates "
                                f"{PACKAGE_TEMPLATE} and {PATCH_TEMPLATE}.")
    name = p.str("TemplateName")
    if not name:
        raise missing_parameter("TemplateName")
    options = _options(p)
    values = p.json("Parameters", default={}, kind=dict)
    store = sim.components["executions"]
    tpl, ver = sim.components["templates"].require(name, req.region, p.str("TemplateVersion"))
    if tpl.name not in store.runners:
        raise invalid_parameter("TemplateName", f"The template {tpl.name} ({tpl.template_type}) cannot be "
                                "started in the simulator.")
    problems = parameters.check(ver.parameters, values)
    if problems:
        parameters.raise_problems(problems, tpl.name)
    resolved = parameters.resolve(ver.parameters, values, {"ACS::RegionId": req.region})
    rate_limits(resolved.get("rateControl"), 1)
    token = p.str("ClientToken", max_len=64)
    fingerprint = json.dumps([tpl.name, ver.name, values, options], sort_keys=True)
    if token:
        seen = store.token(req.region, token)
        if seen is not None:
            if seen[0] != fingerprint:
                raise ApiError("IdempotentParameterMismatch",
                               "The request uses the same client token as a previous, but non-identical request.",
                               403)
            previous = store.get(seen[1])
            if previous is not None:
                return {"Execution": views.start_view(previous)}
    exe = store.start(req.region, tpl, ver, resolved, options)
    if token:
        store.remember_token(req.region, token, fingerprint, exe.id)
    return {"Execution": views.start_view(exe)}


def _visible(exe, p):
    if p.str("ParentExecutionId"):
        return exe.parent_id == p.str("ParentExecutionId")
    if not exe.parent_id:
        return True
    return p.bool("IncludeChildExecution") or p.str("Depth") == "FirstChildDepth"


def _list_filter(exe, p, tags):
    for param, value in (("Status", exe.status), ("Mode", exe.mode), ("ExecutedBy", exe.executed_by),
                         ("Category", "Other"), ("ResourceGroupId", "")):
        wanted = p.str(param)
        if wanted is not None and wanted != value:
            return False
    name = p.str("TemplateName")
    if name and name.lower() not in exe.template_name.lower():
        return False
    desc = p.str("Description")
    if desc and desc not in exe.description:
        return False
    if p.str("ResourceId") and p.str("ResourceId") not in exe.resource_ids:
        return False
    if not all(exe.tags.get(k) == str(v) for k, v in tags.items()):
        return False
    return (views.in_range(exe.created, p, "StartDateBefore", "StartDateAfter")
            and views.in_range(exe.end, p, "EndDateBefore", "EndDateAfter"))


@action("oos", "ListExecutions")
def list_executions(sim, req):
    p = req.params
    max_results = p.int("MaxResults", default=50, minimum=10, maximum=100)
    offset = p.paging()[1]
    p.str("Depth", allowed=("RootDepth", "FirstChildDepth"))
    p.str("Status", allowed=STATUS_FILTERS)
    sort_field = p.str("SortField", default="StartDate", allowed=("StartDate", "EndDate", "Status"))
    descending = p.str("SortOrder", default="Descending", allowed=("Ascending", "Descending")) == "Descending"
    tags = p.json("Tags", default={}, kind=dict)
    store = sim.components["executions"]
    if p.str("ExecutionId"):
        exe = store.get(p.str("ExecutionId"), req.region)
        candidates = [exe] if exe is not None else []
    else:
        candidates = [e for e in store.all(req.region) if _visible(e, p)]
    items = [e for e in candidates if _list_filter(e, p, tags)]
    key = {"StartDate": lambda e: e.created, "EndDate": lambda e: e.end or 0, "Status": lambda e: e.status}
    items.sort(key=key[sort_field], reverse=descending)
    chunk, token = page(items, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "TotalCount": len(items),
            "Executions": [views.list_view(e) for e in chunk]}


@action("oos", "CancelExecution", mutating=True)
def cancel_execution(sim, req):
    store = sim.components["executions"]
    exe = store.require(req.params.str("ExecutionId", required=True), req.region)
    if exe.status in TERMINAL:
        raise ApiError("InvalidStatus.Execution",
                       f"The execution {exe.id} is already {exe.status} and cannot be cancelled.")
    _cancel(store, exe)
    return {}


def _cancel(store, exe):
    if exe.run is not None:
        exe.run.cancel(store.now)
        store.schedule(exe)
    else:
        parent = store.get(exe.parent_id)
        parent.run.cancel_child(store.now, exe.id)
        store.schedule(parent)


@action("oos", "NotifyExecution", mutating=True)
def notify_execution(sim, req):
    p = req.params
    store = sim.components["executions"]
    exe = store.require(p.str("ExecutionId", required=True), req.region)
    notify = p.str("NotifyType", required=True, allowed=NOTIFY_TYPES)
    parent, child_id = (exe, None) if exe.run is not None else (store.get(exe.parent_id), exe.id)
    if exe.status in TERMINAL or notify not in ("Approve", "Reject"):
        raise ApiError("InvalidStatus.Execution", f"The execution {exe.id} is in status {exe.status} and does "
                       f"not accept NotifyType {notify}.")
    if notify == "Approve":
        parent.run.approve(store.now, child_id)
    else:
        parent.run.reject(store.now, p.str("NotifyNote", default=""), child_id)
    store.schedule(parent)
    return {}


@action("oos", "DeleteExecutions", mutating=True)
def delete_executions(sim, req):
    p = req.params
    ids = p.json("ExecutionIds", required=True, kind=list)
    if not ids or len(ids) > 100 or not all(isinstance(i, str) for i in ids):
        raise invalid_parameter("ExecutionIds", "It must be a JSON array of 1 to 100 execution ids.")
    force = p.bool("Force")
    store = sim.components["executions"]
    found = [e for e in (store.get(i, req.region) for i in ids) if e is not None]
    busy = [e.id for e in found if e.status not in TERMINAL]
    if busy and not force:
        raise ApiError("InvalidStatus.Execution", f"The executions {', '.join(busy)} are still running; "
                       "cancel them first or set Force to true.")
    for exe in found:
        if exe.status not in TERMINAL:
            _cancel(store, exe)
        store.delete(exe)
    return {}
