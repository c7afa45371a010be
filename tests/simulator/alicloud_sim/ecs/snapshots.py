"""ECS DescribeSnapshots and DeleteSnapshot over the system-disk snapshots patch executions create.
Component ``snapshots``.

A snapshot is released automatically once its ``RetentionDays`` have passed (ECS does so); DeleteSnapshot
of an id that does not exist is ignored, and deleting a snapshot still being created cancels its creation
(both as the API reference says). The simulator creates no images or disks from snapshots, so the errors of a
snapshot in use (``SnapshotCreatedImage``, ``Force``) never arise; inject them as faults."""

from ..core.errors import invalid_parameter
from ..core.params import page
from ..core.registry import action, component
from .common import hex_digest
from .models import system_disk_id
from .views import snapshot_view


@component("ecs", "snapshots")
class SnapshotStore:
    def __init__(self, sim):
        self.sim = sim
        self.now = sim.clock.now()
        self._items = []

    def advance(self, now):
        self.now = max(self.now, now)

    def create(self, inst, name, retention_days, t, seconds, description=""):
        """Start a system-disk snapshot at ``t`` that completes ``seconds`` later; returns its id."""
        snapshot_id = "s-" + inst.id[2:4] + hex_digest(f"snap/{inst.id}/{len(self._items)}/{t}", 18)
        self._items.append({"id": snapshot_id, "name": name, "instance_id": inst.id, "region": inst.region,
                            "disk_id": system_disk_id(inst), "retention_days": int(retention_days),
                            "start": t, "seconds": float(seconds), "description": description})
        return snapshot_id

    def all(self, region):
        """The snapshots of ``region`` not yet released (their retention not passed)."""
        return [s for s in self._items if s["region"] == region and not self._expired(s)]

    def _expired(self, snap):
        return self.now >= snap["start"] + snap["retention_days"] * 86400

    def delete(self, region, snapshot_id):
        """Remove the snapshot (a snapshot being created has its creation cancelled); True if it existed."""
        before = len(self._items)
        self._items = [s for s in self._items if not (s["id"] == snapshot_id and s["region"] == region)]
        return len(self._items) < before

    def admin_backdate(self, body):
        """Test hook: ``{"snapshot_ids": [...], "days": n}`` moves those snapshots' (without ``snapshot_ids``:
        every snapshot's) creation ``days`` earlier, their retention with it, so a test can have old snapshots
        without running the clock for days."""
        ids, days = body.get("snapshot_ids"), float(body.get("days") or 0)
        moved = [s for s in self._items if ids is None or s["id"] in ids]
        for snap in moved:
            snap["start"] -= days * 86400
        return {"backdated": [s["id"] for s in moved]}

    def view(self, snap):
        return snapshot_view(snap, self.now)

    def snapshot(self):
        return {s["id"]: {"name": s["name"], "instance_id": s["instance_id"], "status": self.view(s)["Status"]}
                for s in self._items if not self._expired(s)}


def _matches(snap, view, p, ids):
    if ids is not None and view["SnapshotId"] not in ids:
        return False
    if p.str("InstanceId") and snap["instance_id"] != p.str("InstanceId"):
        return False
    for param, key in (("DiskId", "SourceDiskId"), ("SnapshotName", "SnapshotName"),
                       ("SourceDiskType", "SourceDiskType")):
        wanted = p.str(param)
        if wanted is not None and view[key].lower() != wanted.lower():
            return False
    status = p.str("Status", allowed=("progressing", "accomplished", "failed", "all"))
    if status not in (None, "all") and view["Status"] != status:
        return False
    return p.str("SnapshotType", allowed=("auto", "user", "all")) != "auto"


@action("ecs", "DescribeSnapshots")
def describe_snapshots(sim, req):
    p = req.params
    p.str("RegionId", required=True)
    ids = p.json("SnapshotIds", default=None, kind=list)
    if ids is not None and (len(ids) > 100 or not all(isinstance(i, str) for i in ids)):
        raise invalid_parameter("SnapshotIds", "It must be a JSON array of at most 100 snapshot ids.")
    store = sim.components["snapshots"]
    snaps = sorted(store.all(req.region), key=lambda s: s["start"], reverse=True)
    views = [v for s, v in ((s, store.view(s)) for s in snaps) if _matches(s, v, p, ids)]
    result = {"TotalCount": len(views)}
    if "MaxResults" in p or "NextToken" in p:
        max_results, offset = p.paging(default=10, minimum=1, maximum=100)
        chunk, token = page(views, max_results, offset)
        result.update({"NextToken": token, "PageNumber": 1, "PageSize": max_results})
    else:
        number = p.int("PageNumber", default=1, minimum=1)
        size = p.int("PageSize", default=10, minimum=1, maximum=100)
        chunk = views[(number - 1) * size:number * size]
        result.update({"NextToken": "", "PageNumber": number, "PageSize": size})
    result["Snapshots"] = {"Snapshot": chunk}
    return result


@action("ecs", "DeleteSnapshot", mutating=True)
def delete_snapshot(sim, req):
    p = req.params
    snapshot_id = p.str("SnapshotId", required=True)
    p.bool("Force")
    sim.components["snapshots"].delete(req.region, snapshot_id)
    return {}
