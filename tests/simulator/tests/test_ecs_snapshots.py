"""ECS DescribeSnapshots over the snapshots patch executions create."""

import pytest

from alicloud_sim.ecs.models import system_disk_id
from oos_support import REGION, Direct

FLEET = {"regions": {REGION: {"instances": [{"id": "i-s1", "os_type": "linux"}, {"id": "i-s2", "os_type": "linux"}]},
                     "cn-shanghai": {"instances": [{"id": "i-s3", "os_type": "linux"}]}}}


@pytest.fixture(name="ecs")
def ecs_fixture():
    direct = Direct(FLEET)
    store = direct.sim.components["snapshots"]
    now = direct.sim.clock.now()
    ids = [store.create(direct.sim.instance(iid), f"Snapshot-exec-{n}", 7, now + n, 10)
           for n, iid in enumerate(["i-s1", "i-s1", "i-s2", "i-s2", "i-s2", "i-s3"])]
    direct.ids = ids
    yield direct
    direct.close()


def describe(ecs, **kw):
    result = ecs("DescribeSnapshots", product="ecs", RegionId=kw.pop("region_id", REGION), **kw)
    return result, [s["SnapshotId"] for s in result["Snapshots"]["Snapshot"]]


def test_shape_and_progress(ecs):
    result, ids = describe(ecs)
    assert result["TotalCount"] == 5 and (result["PageNumber"], result["PageSize"]) == (1, 10)
    assert ids == list(reversed(ecs.ids[:5]))
    snap = result["Snapshots"]["Snapshot"][-1]
    assert snap["Status"] == "progressing" and snap["Progress"] == "0%" and snap["Available"] is False
    assert snap["SourceDiskId"] == system_disk_id(ecs.sim.instance("i-s1")) and snap["SourceDiskType"] == "system"
    assert snap["RetentionDays"] == 7 and snap["CreationTime"].endswith("Z") and snap["SnapshotType"] == "user"
    ecs.advance(5)
    assert describe(ecs)[0]["Snapshots"]["Snapshot"][-1]["Progress"] == "50%"
    ecs.advance(100)
    snap = describe(ecs)[0]["Snapshots"]["Snapshot"][-1]
    assert (snap["Status"], snap["Progress"], snap["Available"]) == ("accomplished", "100%", True)


def test_filters(ecs):
    assert describe(ecs, InstanceId="i-s1")[1] == [ecs.ids[1], ecs.ids[0]]
    assert describe(ecs, SnapshotIds=f'["{ecs.ids[2]}", "{ecs.ids[5]}"]')[1] == [ecs.ids[2]]
    assert describe(ecs, SnapshotName="Snapshot-exec-3")[1] == [ecs.ids[3]]
    disk = system_disk_id(ecs.sim.instance("i-s2"))
    assert describe(ecs, DiskId=disk)[1] == [ecs.ids[4], ecs.ids[3], ecs.ids[2]]
    assert describe(ecs, region_id="cn-shanghai", region="cn-shanghai")[1] == [ecs.ids[5]]
    assert describe(ecs, Status="accomplished")[1] == []
    assert describe(ecs, Status="progressing")[0]["TotalCount"] == 5
    assert describe(ecs, SnapshotType="auto")[1] == []
    assert describe(ecs, SourceDiskType="data")[1] == []


def test_paging(ecs):
    first, ids1 = describe(ecs, PageSize=2, PageNumber=1)
    _, ids3 = describe(ecs, PageSize=2, PageNumber=3)
    assert first["TotalCount"] == 5 and len(ids1) == 2 and len(ids3) == 1
    page, ids = describe(ecs, MaxResults=3)
    rest, more = describe(ecs, MaxResults=3, NextToken=page["NextToken"])
    assert len(ids) == 3 and rest["NextToken"] == "" and ids + more == describe(ecs)[1]


def test_errors(ecs):
    assert ecs.error("DescribeSnapshots", product="ecs").code == "MissingParameter"
    too_many = "[" + ",".join(f'"s-{n}"' for n in range(101)) + "]"
    err = ecs.error("DescribeSnapshots", product="ecs", RegionId=REGION, SnapshotIds=too_many)
    assert (err.code, err.status) == ("InvalidParameter", 400)
    assert ecs.error("DescribeSnapshots", product="ecs", RegionId=REGION, PageSize=500).code == "InvalidParameter"


def test_delete(ecs):
    ecs("DeleteSnapshot", product="ecs", RegionId=REGION, SnapshotId=ecs.ids[0])
    assert ecs.ids[0] not in describe(ecs)[1] and len(describe(ecs)[1]) == 4
    # An id that does not exist (or no longer does, or is in another region) is ignored, as the reference says.
    ecs("DeleteSnapshot", product="ecs", RegionId=REGION, SnapshotId=ecs.ids[0])
    ecs("DeleteSnapshot", product="ecs", RegionId=REGION, SnapshotId=ecs.ids[5], Force=True)
    assert describe(ecs, region_id="cn-shanghai", region="cn-shanghai")[1] == [ecs.ids[5]]
    assert ecs.error("DeleteSnapshot", product="ecs", RegionId=REGION).code == "MissingParameter"


def test_released_after_retention(ecs):
    ecs.advance(7 * 86400 - 100)
    assert len(describe(ecs)[1]) == 5
    ecs.advance(102.5)
    assert describe(ecs)[1] == [ecs.ids[4], ecs.ids[3]]   # created at now + 3 and now + 4


def test_backdate_hook(ecs):
    store = ecs.sim.components["snapshots"]
    assert store.admin_backdate({"snapshot_ids": [ecs.ids[1], "s-none"], "days": 3}) == {"backdated": [ecs.ids[1]]}
    created = {s["SnapshotId"]: s["CreationTime"] for s in describe(ecs)[0]["Snapshots"]["Snapshot"]}
    assert created[ecs.ids[1]] < created[ecs.ids[0]]
    ecs.advance(4 * 86400 + 10)
    assert ecs.ids[1] not in describe(ecs)[1] and ecs.ids[0] in describe(ecs)[1]
    assert len(store.admin_backdate({"days": 1})["backdated"]) == 6     # without ids: every snapshot
