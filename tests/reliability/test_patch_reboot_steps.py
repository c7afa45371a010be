"""A patch round with reboot=always and a post-hook killed (SIGKILL) after the reboot and before the post-hook:
the install already made the instances compliant, so a re-run would leave them alone and the health check after
the reboot would never run. The round records its pending steps on the instances (tag ``ecs-ops-patch-steps``,
cloud state, not a local file): a re-run while the killed task could still be running (before the tag's ``until``)
leaves them alone and says so; one after it reboots them and runs the post-hook, once; the next changes nothing."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time

from harness import instance_ids, run_module, run_module_async, wait_until

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]
STEPS_TAG = "ecs-ops-patch-steps"


def fleet(count):
    # reboot 600 simulated seconds: 6 s at the suite's time scale, time enough to kill the task while it waits
    return {"regions": {R: {"instances": [dict(name="web", count=count, os_type="linux",
                                               os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit", patches=PATCHES,
                                               durations={"patch_install": 200, "reboot": 600})]}}}


def test_a_round_killed_after_its_reboot_runs_its_post_hook_on_the_next_run(sim):
    sim.reset(fleet(2))
    ids = instance_ids(sim, R)
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "post.log")
        post = dict(command='echo "post {{ACS::InstanceId}} $ALICLOUD_SIM_BOOT_ID" >> %s' % record, timeout=30)
        task = dict(region=R, action="install", instance_ids=ids, reboot="always", post_hook=post, poll_interval=0.3,
                    wait_timeout=25)

        first = run_module_async(sim, "oos_patch_run", task, timeout=120)
        try:
            wait_until(lambda: len(sim.calls(action="RebootInstance")) >= len(ids), 60, 0.1, "the reboots")
            first.send_signal(signal.SIGKILL)
            first.result(30)
        finally:
            first.stop()
        assert not sim.calls(action="RunCommand"), "the post-hook ran before the kill"
        pending = {i: v["tags"].get(STEPS_TAG, "") for i, v in sim.state()["instances"].items() if i in ids}
        assert all(v.startswith("pending reboot+post_hook until ") for v in pending.values()), pending
        wait_until(lambda: all(v["status"] == "Running" and not v["rebooting"]
                               for i, v in sim.state()["instances"].items() if i in ids), 60, 0.2, "the instances back")

        # Right away: the killed task's deadline has not passed, so it may still be running; nothing is done twice.
        mark = sim.mark()
        rc, early, _out, err = run_module(sim, "oos_patch_run", dict(task, wait_timeout=60))
        assert rc == 0, (early.get("msg"), err[-2000:])
        assert not early["changed"]
        for instance_id in ids:
            entry = early["instances"][instance_id]
            assert entry["result"] == "unchanged" and not entry["rebooted"], entry
            assert "may still be running" in entry["message"] and STEPS_TAG in entry["message"], entry["message"]
        assert "did not finish its steps after the install" in json.dumps(early.get("warnings")), early.get("warnings")
        acting = ("RebootInstance", "RunCommand", "TagResources", "StartExecution")
        assert [c for c in sim.calls(since=mark) if c["action"] in acting] == []

        # Once the killed task's deadline (25 s + the grace) has passed, check mode says what a run would do.
        time.sleep(max(0.0, first.started + 25 + 10 + 1 - time.monotonic()))
        mark = sim.mark()
        rc, plan, _out, err = run_module(sim, "oos_patch_run", dict(task, wait_timeout=60), check=True)
        assert rc == 0, (plan.get("msg"), err[-2000:])
        assert [c for c in sim.calls(since=mark) if not c["action"].startswith(("Describe", "List", "Get"))] == []
        for instance_id in ids:
            entry = plan["instances"][instance_id]
            assert entry["result"] == "planned", entry
            assert "would reboot it and run the post-hook" in entry["message"], entry["message"]

        # The re-run finishes the killed round: one reboot and one post-hook per instance, after the reboot.
        mark = sim.mark()
        rc, again, _out, err = run_module(sim, "oos_patch_run", dict(task, wait_timeout=60))
        assert rc == 0, (again.get("msg"), err[-2000:])
        assert again["changed"]
        calls = sim.calls(since=mark)
        assert [c for c in calls if c["action"] == "StartExecution"] == [], "nothing is installed again"
        assert sorted(c["params"].get("InstanceId") for c in calls if c["action"] == "RebootInstance") == sorted(ids)
        for instance_id in ids:
            entry = again["instances"][instance_id]
            assert entry["result"] == "succeeded" and entry["rebooted"], entry
            assert entry["hooks"]["post"]["passed"], entry["hooks"]
            assert "finished them: rebooted it, the post-hook passed" in entry["message"], entry["message"]
        with open(record, encoding="utf-8") as handle:
            ran = [line.split() for line in handle.read().splitlines()]
        assert sorted(i for _stage, i, _boot in ran) == sorted(ids), ran
        reboots = {c["params"]["InstanceId"]: c["time"] for c in calls if c["action"] == "RebootInstance"}
        hooks = [c for c in calls if c["action"] == "RunCommand"]
        assert hooks and all(c["time"] > max(reboots.values()) for c in hooks), "the post-hook ran before the reboot"

        assert all(v["tags"][STEPS_TAG] == "done" for i, v in sim.state()["instances"].items() if i in ids)

        # The next run: the steps are recorded done, the fleet compliant; nothing happens.
        mark = sim.mark()
        rc, third, _out, err = run_module(sim, "oos_patch_run", dict(task, wait_timeout=60))
        assert rc == 0, (third.get("msg"), err[-2000:])
        assert not third["changed"], third
        assert all(e["result"] == "unchanged" and not e["rebooted"] for e in third["instances"].values())
        assert [c for c in sim.calls(since=mark) if not c["action"].startswith(("Describe", "List", "Get"))] == []
