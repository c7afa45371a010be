"""ECS DescribeDisks and ResetDisk over the instances' system disks (one per instance, ``system_disk_id``).
Component ``disks``.

ResetDisk follows the API reference: the disk's instance must be ``Stopped`` (else ``IncorrectInstanceStatus``),
the snapshot must exist (``InvalidSnapshotId.NotFound``) and have been taken of that disk. The disk is then
``ReIniting`` for ``durations.disk_reset`` seconds and ``In_use`` again, holding what the snapshot recorded
(``snapshots.restore_guest``). The reference names no error code for a snapshot of another disk or one still
being created; the simulator answers ``InvalidParameter`` for the first and ``IncorrectSnapshotStatus`` for the
second (decisions, README)."""

from ..core.errors import ApiError, invalid_parameter
from ..core.clock import iso
from ..core.registry import action, component
from .common import require_region
from .fleet import fleet
from .models import SYSTEM_DISK_GIB, system_disk_id
from .paging import ecs_page
from .snapshots import restore_guest


@component("ecs", "disks")
class DiskStore:
    def __init__(self, sim):
        self.sim = sim
        self.now = sim.clock.now()
        self._reiniting = {}     # disk id -> simulated time its reset ends

    def advance(self, now):
        self.now = max(self.now, now)
        for disk_id in [d for d, until in self._reiniting.items() if now >= until]:
            del self._reiniting[disk_id]

    def find(self, region, disk_id):
        """The instance whose system disk ``disk_id`` is, in ``region``, or None."""
        return next((i for i in fleet(self.sim).all(region) if system_disk_id(i) == disk_id), None)

    def status(self, disk_id):
        return "ReIniting" if disk_id in self._reiniting else "In_use"

    def reset(self, inst, snap, t):
        restore_guest(self.sim, inst, snap["guest"])
        self._reiniting[system_disk_id(inst)] = t + inst.duration("disk_reset", self.sim)

    def view(self, inst):
        disk_id = system_disk_id(inst)
        return {
            "DiskId": disk_id, "DiskName": "", "Description": "", "Type": "system", "Category": "cloud_essd",
            "PerformanceLevel": "PL0", "Size": SYSTEM_DISK_GIB, "Status": self.status(disk_id),
            "InstanceId": inst.id, "RegionId": inst.region, "ZoneId": inst.zone, "Device": "/dev/xvda",
            "Portable": False, "DeleteWithInstance": True, "DeleteAutoSnapshot": True, "Encrypted": False,
            "EnableAutoSnapshot": False, "DiskChargeType": "PostPaid", "SourceSnapshotId": "",
            "ImageId": "", "CreationTime": iso(inst.creation_time), "AttachedTime": iso(inst.creation_time),
            "Tags": {"Tag": []},
            "Attachments": {"Attachment": [{"InstanceId": inst.id, "Device": "/dev/xvda",
                                            "AttachedTime": iso(inst.creation_time)}]},
        }


@action("ecs", "DescribeDisks")
def describe_disks(sim, req):
    p = req.params
    region = require_region(req)
    store = sim.components["disks"]
    items = fleet(sim).all(region)
    if p.str("InstanceId"):
        items = [i for i in items if i.id == p.str("InstanceId")]
    ids = p.json("DiskIds", default=None, kind=list)
    if ids is not None:
        if len(ids) > 100:
            raise invalid_parameter("DiskIds", "It must be a JSON array of at most 100 disk ids.")
        items = [i for i in items if system_disk_id(i) in set(map(str, ids))]
    disk_type = p.str("DiskType", allowed=("all", "system", "data"))
    if disk_type == "data":
        items = []
    status = p.str("Status")
    views = [store.view(i) for i in items]
    if status not in (None, "All"):
        views = [v for v in views if v["Status"] == status]
    chunk, fields = ecs_page(p, views, default=10, maximum=100)
    return {**fields, "Disks": {"Disk": chunk}}


@action("ecs", "ResetDisk", mutating=True)
def reset_disk(sim, req):
    p = req.params
    disk_id = p.str("DiskId", required=True)
    snapshot_id = p.str("SnapshotId", required=True)
    store = sim.components["disks"]
    inst = store.find(req.region, disk_id)
    if inst is None:
        raise ApiError("InvalidDiskId.NotFound", "The specified disk does not exist.", 404)
    snap = sim.components["snapshots"].get(req.region, snapshot_id)
    if snap is None:
        raise ApiError("InvalidSnapshotId.NotFound", "The specified snapshot does not exist.", 404)
    if snap["disk_id"] != disk_id:
        raise invalid_parameter("SnapshotId", "The specified snapshot was not created from the specified disk.")
    if store.status(disk_id) != "In_use":
        raise ApiError("IncorrectDiskStatus", "The current disk status does not support this operation.", 403)
    if inst.status != "Stopped":
        raise ApiError("IncorrectInstanceStatus", "The current status of the resource does not support this "
                       "operation.", 403)
    if sim.components["snapshots"].view(snap)["Status"] != "accomplished":
        raise ApiError("IncorrectSnapshotStatus", "The current status of the snapshot does not support this "
                       "operation.", 403)
    if p.bool("DryRun"):
        raise ApiError("DryRunOperation", "Request validation has been passed with DryRun flag set.")
    store.reset(inst, snap, sim.clock.now())
    return {}
