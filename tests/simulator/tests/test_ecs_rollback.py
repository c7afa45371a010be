"""ECS StopInstance, StartInstance, DescribeDisks, ResetDisk and TagResources: what a rollback of an instance to
its pre-patch snapshot goes through, and a reset bringing back the patch state the snapshot recorded."""

import pytest

from alicloud_sim.ecs.models import system_disk_id
from oos_support import REGION, Direct

PATCHES = [{"kb_id": "openssl-libs.x86_64", "classification": "Security", "severity": "Important"}]
FLEET = {"regions": {REGION: {"instances": [
    {"id": "i-r1", "os_type": "linux", "patches": PATCHES, "tags": {"env": "dev"}},
    {"id": "i-r2", "os_type": "linux", "patches": PATCHES}]},
    "cn-shanghai": {"instances": [{"id": "i-r3", "os_type": "linux"}]}}}


@pytest.fixture(name="ecs")
def ecs_fixture():
    direct = Direct(FLEET)
    yield direct
    direct.close()


def status(ecs, instance_id):
    rows = ecs("DescribeInstances", product="ecs", RegionId=REGION, InstanceIds=[instance_id])
    return rows["Instances"]["Instance"][0]["Status"]


def call(ecs, action, **params):
    return ecs(action, product="ecs", **params)


def error(ecs, action, **params):
    return ecs.error(action, product="ecs", **params)


def flat(resource_ids=(), tags=()):
    """``ResourceId.N`` and ``Tag.N.Key``/``Tag.N.Value`` as the SDK sends them."""
    params = {"ResourceId.%d" % n: i for n, i in enumerate(resource_ids, 1)}
    for n, (key, value) in enumerate(tags, 1):
        params.update({"Tag.%d.Key" % n: key, "Tag.%d.Value" % n: value})
    return params


def states(ecs, instance_id):
    rows = ecs("ListInstancePatchStates", InstanceIds=[instance_id])["InstancePatchStates"]
    return rows[0] if rows else None


def test_stop_and_start_go_through_their_transitions(ecs):
    call(ecs, "StopInstance", InstanceId="i-r1", StoppedMode="KeepCharging")
    assert status(ecs, "i-r1") == "Stopping"
    assert error(ecs, "StopInstance", InstanceId="i-r1").code == "IncorrectInstanceStatus"
    assert error(ecs, "StartInstance", InstanceId="i-r1").code == "IncorrectInstanceStatus"
    ecs.advance(15)
    assert status(ecs, "i-r1") == "Stopped"
    assert error(ecs, "StopInstance", InstanceId="i-r1").code == "IncorrectInstanceStatus"
    boot = ecs.sim.instance("i-r1").boot_id
    call(ecs, "StartInstance", InstanceId="i-r1")
    assert status(ecs, "i-r1") == "Starting"
    ecs.advance(30)
    assert status(ecs, "i-r1") == "Running" and ecs.sim.instance("i-r1").boot_id != boot


def test_stop_and_start_errors(ecs):
    assert error(ecs, "StopInstance", InstanceId="i-nope").code == "InvalidInstanceId.NotFound"
    assert error(ecs, "StopInstance", InstanceId="i-r3").code == "InvalidInstanceId.NotFound"   # other region
    assert error(ecs, "StopInstance", InstanceId="i-r1", StoppedMode="Nap").code == "InvalidParameter"
    assert error(ecs, "StopInstance", InstanceId="i-r1", DryRun=True).code == "DryRunOperation"
    assert status(ecs, "i-r1") == "Running"
    assert error(ecs, "StartInstance", InstanceId="i-r2").code == "IncorrectInstanceStatus"


def test_describe_disks(ecs):
    disk = system_disk_id(ecs.sim.instance("i-r1"))
    rows = call(ecs, "DescribeDisks", RegionId=REGION, InstanceId="i-r1", DiskType="system")["Disks"]["Disk"]
    assert [(d["DiskId"], d["Type"], d["Status"], d["InstanceId"]) for d in rows] == [(disk, "system", "In_use", "i-r1")]
    assert call(ecs, "DescribeDisks", RegionId=REGION, InstanceId="i-r1", DiskType="data")["Disks"]["Disk"] == []
    assert call(ecs, "DescribeDisks", RegionId=REGION)["TotalCount"] == 2
    assert [d["DiskId"] for d in call(ecs, "DescribeDisks", RegionId=REGION, DiskIds=[disk])["Disks"]["Disk"]] == [disk]
    assert error(ecs, "DescribeDisks", RegionId=REGION, DiskType="boot").code == "InvalidParameter"


def test_reset_disk_brings_back_the_patch_state_of_the_snapshot(ecs):
    ecs.patch(["i-r1"], action="scan")
    ecs.advance(600)
    before = states(ecs, "i-r1")
    assert before["MissingCount"] == "1" and before["OperationType"] == "scan"
    ecs.patch(["i-r1"], action="install", whetherCreateSnapshot=True, retentionDays=7)
    ecs.advance(600)
    after = states(ecs, "i-r1")
    assert after["MissingCount"] == "0" and after["InstalledCount"] == "1"
    snap = call(ecs, "DescribeSnapshots", RegionId=REGION, InstanceId="i-r1")["Snapshots"]["Snapshot"][0]
    disk = snap["SourceDiskId"]

    assert error(ecs, "ResetDisk", DiskId=disk, SnapshotId=snap["SnapshotId"]).code == "IncorrectInstanceStatus"
    call(ecs, "StopInstance", InstanceId="i-r1")
    ecs.advance(15)
    assert error(ecs, "ResetDisk", DiskId=disk, SnapshotId="s-missing").code == "InvalidSnapshotId.NotFound"
    assert error(ecs, "ResetDisk", DiskId="d-missing", SnapshotId=snap["SnapshotId"]).code == "InvalidDiskId.NotFound"
    other = system_disk_id(ecs.sim.instance("i-r2"))
    assert error(ecs, "ResetDisk", DiskId=other, SnapshotId=snap["SnapshotId"]).code == "InvalidParameter"
    assert error(ecs, "ResetDisk", DiskId=disk, SnapshotId=snap["SnapshotId"], DryRun=True).code == "DryRunOperation"
    assert states(ecs, "i-r1")["InstalledCount"] == "1"

    call(ecs, "ResetDisk", DiskId=disk, SnapshotId=snap["SnapshotId"])
    rows = call(ecs, "DescribeDisks", RegionId=REGION, DiskIds=[disk])["Disks"]["Disk"]
    assert rows[0]["Status"] == "ReIniting"
    assert error(ecs, "ResetDisk", DiskId=disk, SnapshotId=snap["SnapshotId"]).code == "IncorrectDiskStatus"
    ecs.advance(10)
    assert call(ecs, "DescribeDisks", RegionId=REGION, DiskIds=[disk])["Disks"]["Disk"][0]["Status"] == "In_use"
    restored = states(ecs, "i-r1")
    assert (restored["MissingCount"], restored["InstalledCount"], restored["OperationType"]) == ("1", "0", "scan")
    patches = ecs("ListInstancePatches", InstanceId="i-r1")["Patches"]
    assert [p["Status"] for p in patches] == ["Missing"]


def test_reset_disk_refuses_a_snapshot_still_being_created(ecs):
    ecs.patch(["i-r2"], action="install", whetherCreateSnapshot=True)
    ecs.advance(1)
    snap = call(ecs, "DescribeSnapshots", RegionId=REGION, InstanceId="i-r2")["Snapshots"]["Snapshot"][0]
    assert snap["Status"] == "progressing"
    ecs.sim.components["instances"].change("i-r2", {"status": "Stopped"})
    assert error(ecs, "ResetDisk", DiskId=snap["SourceDiskId"], SnapshotId=snap["SnapshotId"]).code == \
        "IncorrectSnapshotStatus"


def test_tag_resources_on_instances(ecs):
    tag = dict(RegionId=REGION, ResourceType="instance")
    call(ecs, "TagResources", **tag, **flat(["i-r1", "i-r2"], [("ecs-ops-rolled-back", "s-1"), ("env", "prod")]))
    assert ecs.sim.instance("i-r1").tags == {"env": "prod", "ecs-ops-rolled-back": "s-1"}
    rows = call(ecs, "DescribeInstances", RegionId=REGION, **flat(tags=[("ecs-ops-rolled-back", "s-1")]))
    assert sorted(i["InstanceId"] for i in rows["Instances"]["Instance"]) == ["i-r1", "i-r2"]
    one = [("a", "b")]
    assert error(ecs, "TagResources", RegionId=REGION, ResourceType="disk",
                 **flat(["d-1"], one)).code == "InvalidResourceType.NotSupported"
    assert error(ecs, "TagResources", **tag, **flat(["i-r3"], one)).code == "InvalidResourceId.NotFound"
    assert error(ecs, "TagResources", **tag, **flat(["i-r1"], [("acs:x", "b")])).code == "InvalidTagKey.Malformed"
    many = [("k%d" % n, "v") for n in range(19)]
    assert error(ecs, "TagResources", **tag, **flat(["i-r1"], many)).code == "InvalidTagCount"
    assert ecs.sim.instance("i-r1").tags == {"env": "prod", "ecs-ops-rolled-back": "s-1"}
    assert error(ecs, "TagResources", **tag, **flat(tags=one)).code == "MissingParameter"
