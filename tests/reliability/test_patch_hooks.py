"""R12 the pre and post hooks of a patch round, against the simulator (which runs the Linux hook scripts for
real): each batch's pre-hook runs on exactly its instances right before its execution starts, its post-hook
on the instances it patched after the execution ended; a failing pre-hook skips its instance (never patched),
a failing post-hook marks it failed (patched, counted in the failure budget); a second round changes nothing
and runs no hook. Timing is read from the simulator's call log and execution records."""

from __future__ import annotations

import json
import os
import tempfile

from harness import instance_ids, run_module

R = "cn-hangzhou"
PATCHES = [dict(kb_id="openssl-libs.x86_64", classification="Security", severity="Important")]


def fleet(count):
    return {"regions": {R: {"instances": [dict(name="web", count=count, os_type="linux",
                                               os_name="Alibaba Cloud Linux 3.2104 LTS 64 bit", patches=PATCHES,
                                               durations={"patch_install": 200})]}}}


def listed(params, name):
    """The values of a repeated request parameter (``InstanceId.1``, ``InstanceId.2``, ... as the SDK sends it)."""
    values = [v for k, v in params.items() if k.startswith(name + ".")]
    if name in params:
        value = params[name]
        values += json.loads(value) if isinstance(value, str) and value.startswith("[") else [value]
    return sorted(values)


def script(record, fail_on, stage):
    """A hook that appends ``<stage> <instance id>`` to ``record`` and exits 3 on ``fail_on``."""
    return ('echo "%s {{ACS::InstanceId}}" >> %s\n'
            'case "{{ACS::InstanceId}}" in %s) echo "%s refused" ; exit 3 ;; esac\n'
            'echo "%s ok"\n') % (stage, record, fail_on or "none", stage, stage)


def test_hooks_wrap_each_batch_and_their_failures_skip_or_fail(sim):
    sim.reset(fleet(6))
    ids = instance_ids(sim, R)
    skip, broken = ids[1], ids[4]
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "hooks.log")
        task = dict(region=R, action="install", instance_ids=ids, batch_size=2, max_concurrent_executions=1,
                    rate_control={"max_errors": "100%"}, max_failure_percent=50, poll_interval=0.3, wait_timeout=300,
                    pre_hook=dict(command=script(record, skip, "pre"), timeout=30),
                    post_hook=dict(command=script(record, broken, "post"), timeout=30))
        rc, result, _out, err = run_module(sim, "oos_patch_run", task)
        assert rc == 0, (result.get("msg"), err[-2000:])
        with open(record, encoding="utf-8") as handle:
            ran = [line.split() for line in handle.read().splitlines()]

    instances = result["instances"]
    assert instances[skip]["result"] == "skipped", instances[skip]
    assert "the pre-hook failed: exit code 3" in instances[skip]["message"]
    assert instances[skip]["hooks"]["pre"]["output"].strip().endswith("pre refused")
    assert "post" not in instances[skip]["hooks"]
    assert instances[broken]["result"] == "failed" and "the post-hook failed: exit code 3" in instances[broken]["message"]
    assert instances[broken]["compliant"] and instances[broken]["after"]["missing"] == 0, \
        "a failed post-hook does not undo the patches"
    for instance_id in set(ids) - {skip, broken}:
        entry = instances[instance_id]
        assert entry["result"] == "succeeded", entry
        assert entry["hooks"]["pre"]["passed"] and entry["hooks"]["post"]["passed"], entry["hooks"]
        assert entry["hooks"]["post"]["output"].strip() == "post ok"
    assert result["summary"]["skipped"] == 1 and result["summary"]["failed"] == 1
    assert result["changed"]
    assert "pre-hook failed" in json.dumps(result.get("warnings")), result.get("warnings")

    # Each script ran once per instance: pre everywhere, post only where the patch succeeded.
    assert sorted(i for stage, i in ran if stage == "pre") == sorted(ids)
    assert sorted(i for stage, i in ran if stage == "post") == sorted(set(ids) - {skip})

    # The skipped instance was never in an execution; each execution's instances had their pre-hook right
    # before it started and their post-hook after it ended.
    state = sim.state()
    touched = {c["instance"] for x in state["executions"].values() for c in x["children"]}
    assert skip not in touched and touched == set(ids) - {skip}
    calls = sim.calls()
    runs = [(c["time"], listed(c["params"], "InstanceId")) for c in calls if c["action"] == "RunCommand"]
    starts = [c for c in calls if c["action"] == "StartExecution" and not c["error_code"]]
    assert len(starts) == 3 and len(runs) == 6, (len(starts), runs)
    for start in starts:
        targets = sorted(json.loads(start["params"]["Parameters"])["targets"]["ResourceIds"])
        before = [t for t, batch in runs if t <= start["time"] and set(targets) <= set(batch)]
        assert before, "no pre-hook on %s before its execution started" % targets
        execution = next(x for x in state["executions"].values()
                         if sorted(c["instance"] for c in x["children"]) == targets)
        after = [batch for t, batch in runs if t >= start["time"] and batch == targets]
        assert after, "no post-hook on %s after its execution" % targets
        assert execution["end"] is not None

    # The next round the same night: everything patched is compliant, nothing runs, no hook either.
    sim.begin()
    ids_left = [i for i in ids if i != skip]
    rc, again, _out, err = run_module(sim, "oos_patch_run", dict(task, instance_ids=ids_left))
    assert rc == 0, (again.get("msg"), err[-2000:])
    assert not again["changed"] and all(e["result"] == "unchanged" for e in again["instances"].values())
    assert [c for c in sim.calls() if c["action"] in ("RunCommand", "StartExecution")] == []


def test_bad_hooks_are_refused_before_any_call(sim):
    sim.reset(fleet(2))
    ids = instance_ids(sim, R)
    sim.begin()
    task = dict(region=R, action="scan", instance_ids=ids,
                pre_hook=dict(command="  ", timeout=5), post_hook=dict(command="echo {{service}}"))
    rc, result, _out, _err = run_module(sim, "oos_patch_run", task)
    assert rc == 1
    for part in ("pre_hook only applies to action=install", "pre_hook.command must not be empty",
                 "pre_hook.timeout must be from 10 to 86400", "post_hook.command uses {{service}}"):
        assert part in result["msg"], result["msg"]
    assert sim.calls() == []
