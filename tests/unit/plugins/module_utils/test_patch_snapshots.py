"""Which snapshots oos_patch_snapshot_cleanup may delete (_patching.snapshots), pure."""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.snapshots import (
    cleanup_summary,
    execution_of,
    judge,
    provenance,
    snapshot_entry,
)

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
TAGS = {"ecs-ops-patch-run": "oos_patch_run"}
PARENT = dict(execution_id="exec-p1", template_name="ACS-ECS-BulkyApplyPatchBaseline", tags=TAGS,
              parent_execution_id="", parameters={})
CHILD = dict(execution_id="exec-c1", template_name="ACS::ECS::ApplyPatchBaseline", tags={},
             parent_execution_id="exec-p1", parameters={"instanceId": "i-bp1"})


def entry(name="Snapshot-exec-c1", created="2026-11-20T02:00:00Z", status="accomplished"):
    return snapshot_entry(dict(SnapshotId="s-1", SnapshotName=name, CreationTime=created, Status=status), "cn-hangzhou",
                          NOW)


def test_names():
    assert execution_of("Snapshot-exec-8a2aaf460fdf47c6b5ef") == "exec-8a2aaf460fdf47c6b5ef"
    assert [execution_of(n) for n in ("snapshot-exec-1", "Snapshot-exec-1-copy", "Snapshot-", "", None)] == [None] * 5


def test_provenance_of_a_child_is_its_parents():
    assert provenance("exec-c1", {"exec-c1": CHILD, "exec-p1": PARENT}) == ("i-bp1", "")
    assert provenance("exec-p1", {"exec-p1": PARENT}) == ("", "")
    orphan = {"exec-c1": CHILD, "exec-p1": None}
    assert "parent of its execution exec-c1 no longer exists" in provenance("exec-c1", orphan)[1]
    assert "exec-x no longer exists" in provenance("exec-x", {"exec-x": None})[1]
    other = dict(PARENT, template_name="ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL")
    assert "is not a run of ACS-ECS-BulkyApplyPatchBaseline" in provenance("exec-p1", {"exec-p1": other})[1]
    forged = dict(PARENT, tags={"ecs-ops-patch-run": "someone-else"})
    assert "no ecs-ops-patch-run tag" in provenance("exec-p1", {"exec-p1": forged})[1]


def test_judge():
    views = {"exec-c1": CHILD, "exec-p1": PARENT}
    assert entry()["age_days"] == 10.92
    assert judge(entry(), 7, views)["action"] == "would_delete"
    assert judge(entry(), 11, views)["reason"] == "younger than retention_days (10.92 of 11 days)"
    assert judge(entry(status="progressing"), 7, views)["reason"] == "it is still being created"
    assert judge(entry(created="yesterday"), 7, views)["reason"] == "its creation time 'yesterday' cannot be read"
    assert judge(entry(created="2026-11-20T02:00Z"), 7, views)["action"] == "would_delete"
    assert cleanup_summary([judge(entry(), 7, views), judge(entry(), 11, views)]) == dict(
        found=2, deleted=0, would_delete=1, kept=1, failed=0)
