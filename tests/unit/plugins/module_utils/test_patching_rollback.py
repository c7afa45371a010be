"""Which snapshot oos_patch_rollback uses and what it does per instance (_patching.rollback), pure."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.rollback import (
    ROLLED_BACK_TAG,
    StepFailed,
    wait_until,
    choose_snapshot,
    describe_steps,
    plan_instance,
    summary,
)
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._patching.snapshots import snapshot_entry
from ansible_collections.alibabacloud.ecs_ops.plugins.modules.oos_patch_rollback import validate
from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._validation import ValidationError

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
TAGS = {"ecs-ops-patch-run": "oos_patch_run"}
DISK = "d-bp1disk"


def parent(execution_id, tags=None, template="ACS-ECS-BulkyApplyPatchBaseline"):
    return dict(execution_id=execution_id, template_name=template, tags=TAGS if tags is None else tags,
                parent_execution_id="", parameters={})


def child(execution_id, parent_id, instance_id="i-bp1"):
    return dict(execution_id=execution_id, template_name="ACS::ECS::ApplyPatchBaseline", tags={},
                parent_execution_id=parent_id, parameters={"instanceId": instance_id})


VIEWS = {"exec-p1": parent("exec-p1"), "exec-c1": child("exec-c1", "exec-p1"),
         "exec-p2": parent("exec-p2"), "exec-c2": child("exec-c2", "exec-p2"),
         "exec-p3": parent("exec-p3", tags={}), "exec-c3": child("exec-c3", "exec-p3"),
         "exec-c4": child("exec-c4", "exec-p2", instance_id="i-other")}


def snap(snapshot_id, execution_id, created, status="accomplished", disk=DISK):
    return snapshot_entry(dict(SnapshotId=snapshot_id, SnapshotName="Snapshot-" + execution_id, CreationTime=created,
                               Status=status, SourceDiskId=disk), "cn-hangzhou", NOW)


OLD = snap("s-old", "exec-c1", "2026-11-20T02:00:00Z")
NEW = snap("s-new", "exec-c2", "2026-11-27T02:00:00Z")


def view(status="Running", tags=None, exists=True):
    return dict(exists=exists, region="cn-hangzhou", status=status, tags=tags or {})


def test_the_newest_proven_snapshot_of_the_disk_is_chosen():
    console = snap("s-console", "exec-c3", "2026-11-30T02:00:00Z")
    other_instance = snap("s-other", "exec-c4", "2026-11-30T03:00:00Z")
    other_disk = snap("s-disk", "exec-c2", "2026-11-30T04:00:00Z", disk="d-else")
    creating = snap("s-creating", "exec-c2", "2026-11-30T05:00:00Z", status="progressing")
    entries = [OLD, NEW, console, other_instance, other_disk, creating]
    chosen, reason = choose_snapshot("i-bp1", DISK, entries, VIEWS)
    assert chosen["snapshot_id"] == "s-new" and reason == ""
    chosen, reason = choose_snapshot("i-bp1", DISK, [console, other_instance, creating], VIEWS)
    assert chosen is None
    assert reason.startswith("no snapshot of system disk d-bp1disk was taken by oos_patch_run for this instance")
    assert "s-console: its execution exec-p3 was not started by oos_patch_run" in reason
    assert "s-other: its execution worked on i-other, not on this instance" in reason
    assert "s-creating: it is progressing, not accomplished" in reason


def test_a_pinned_execution_takes_its_own_snapshot():
    assert choose_snapshot("i-bp1", DISK, [OLD, NEW], VIEWS, "exec-p1")[0]["snapshot_id"] == "s-old"
    assert choose_snapshot("i-bp1", DISK, [OLD, NEW], VIEWS, "exec-c1")[0]["snapshot_id"] == "s-old"
    chosen, reason = choose_snapshot("i-bp1", DISK, [OLD, NEW], VIEWS, "exec-p9")
    assert chosen is None and reason.startswith("no snapshot of execution exec-p9 of system disk")


def test_plan_of_a_running_and_a_stopped_instance():
    assert plan_instance(view(), DISK, NEW, "", [OLD, NEW], True) == dict(
        result="", steps=["stop", "reset", "tag", "start"], message="")
    assert plan_instance(view("Stopped"), DISK, NEW, "", [NEW], False)["steps"] == ["reset", "tag"]
    assert describe_steps(["stop", "reset", "tag", "start"], DISK, "s-new") == (
        "stop it, reset system disk d-bp1disk to s-new, tag it ecs-ops-rolled-back=s-new, start it")


def test_plan_never_resets_twice_or_to_an_older_snapshot():
    done = view(tags={ROLLED_BACK_TAG: "s-new"})
    assert plan_instance(done, DISK, NEW, "", [OLD, NEW], True)["result"] == "unchanged"
    stopped = view("Stopped", tags={ROLLED_BACK_TAG: "s-new"})
    assert plan_instance(stopped, DISK, NEW, "", [NEW], True)["steps"] == ["start"]
    assert plan_instance(stopped, DISK, NEW, "", [NEW], False)["result"] == "unchanged"
    # rolled back to the newer one; the older one is not chosen over it, unless an execution is pinned
    plan = plan_instance(done, DISK, OLD, "", [OLD, NEW], True)
    assert plan["result"] == "unchanged" and "not older than s-old" in plan["message"]
    assert plan_instance(done, DISK, OLD, "", [OLD, NEW], True, pinned=True)["steps"][0] == "stop"
    # a later patch run's snapshot rolls back again
    assert plan_instance(view(tags={ROLLED_BACK_TAG: "s-old"}), DISK, NEW, "", [OLD, NEW], True)["steps"][1] == "reset"
    gone = plan_instance(view(tags={ROLLED_BACK_TAG: "s-gone"}), DISK, NEW, "", [NEW], True)
    assert gone["result"] == "no_snapshot" and "s-gone, which no longer exists" in gone["message"]


def test_plan_of_instances_that_cannot_be_rolled_back():
    assert plan_instance(view(exists=False), "", None, "", [], True)["message"] == "the instance does not exist in cn-hangzhou"
    assert plan_instance(view(), "", None, "", [], True)["result"] == "failed"
    assert plan_instance(view(), DISK, None, "why not", [], True) == dict(result="no_snapshot", steps=[], message="why not")
    starting = plan_instance(view("Starting"), DISK, NEW, "", [NEW], True)
    assert starting["result"] == "failed" and starting["message"].startswith("the instance is Starting")


def test_summary():
    assert summary([dict(result="succeeded"), dict(result="no_snapshot")]) == dict(
        total=2, succeeded=1, failed=0, unchanged=0, no_snapshot=1, busy=0, planned=0)


def test_wait_ends_at_the_deadline_and_survives_throttling():
    class Throttled(Exception):
        code = "Throttling.User"
        data = {"Code": "Throttling.User"}
        statusCode = 400

    reads = iter(["Stopping", Throttled(), "Stopping"] + ["Stopping"] * 1000)

    def poll():
        value = next(reads)
        if isinstance(value, Exception):
            raise value
        return value

    with pytest.raises(StepFailed) as info:
        wait_until(poll, "Stopped", "the instance", time.monotonic() + 0.5, 0.1)
    assert str(info.value).startswith("wait_timeout passed while waiting for the instance to be Stopped (it is Stopping")
    assert "1 read(s) failed with transient errors" in str(info.value)
    answers = iter(["Stopping", "Stopped"])
    wait_until(lambda: next(answers), "Stopped", "the instance", time.monotonic() + 5, 0.05)

    def denied():
        raise ValueError("denied")

    with pytest.raises(ValueError):
        wait_until(denied, "Stopped", "x", time.monotonic() + 5, 0.05)


@pytest.mark.parametrize("changes, problem", [
    (dict(execution_id="nope"), "execution_id must look like exec-<letters and digits>, got 'nope'"),
    (dict(wait_timeout=0), "wait_timeout must be at least 1 second"),
    (dict(poll_interval=0), "poll_interval must be between 0.1 and 600 seconds"),
    (dict(max_concurrent=51), "max_concurrent must be from 1 to 50"),
    (dict(instance_ids=["bad id"]), "instance_ids[0]"),
])
def test_validate_names_every_problem(changes, problem):
    params = dict(instance_ids=["i-bp1aaaaaaaaaaaaaaaaa"], execution_id=None, wait_timeout=60, poll_interval=1,
                  max_concurrent=5)
    params.update(changes)
    with pytest.raises(ValidationError) as info:
        validate(params, "cn-hangzhou")
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_validate_gives_the_targets():
    params = dict(instance_ids={"cn-shanghai": ["i-uf6aaaaaaaaaaaaaaaaa"]}, execution_id="exec-1a", wait_timeout=60,
                  poll_interval=1, max_concurrent=5)
    assert validate(params, None) == ({"cn-shanghai": ["i-uf6aaaaaaaaaaaaaaaaa"]}, [], None)
