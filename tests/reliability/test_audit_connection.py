"""R-audit-conn: the ``cloud_assistant`` connection plugin when the API hangs, and when two runs share an instance.

- RunCommand never answers (each attempt hangs past ``api_timeout``): the host is unreachable with a clear error
  within the command's own deadline (``command_timeout`` plus ``connect_timeout``, and a short grace), not after
  every retry of every hanging attempt;
- the result reads hang, and so does the StopInvocation sent when the wait gave up: the error still comes within
  the deadline and the grace;
- two ``ansible`` runs at once on one instance whose cache is cold, with the same module: both upload it, both
  tasks succeed, and the instance's content-addressed cache ends with that module once and no parts left over;
- a run killed (SIGKILL) while its module code goes up by SendFile: the next run succeeds, and every module code
  file in the cache hashes to its name;
- SendFile never answers while module code goes up: each part is given up after ``connect_timeout``, the upload
  goes by commands, and the task succeeds, instead of waiting for every retry of every hanging part.

Evidence: the wall time of the run, its output, the simulator's call log and the files on the instance.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from harness import BIN, ROOT, ansible_env, wait_until
from test_connection import FLEET, LEFT_RUNS, adhoc, on_instance, write_inventory

import pytest

TIMEOUTS = ["-e", "ansible_cloud_assistant_command_timeout=10", "-e", "ansible_cloud_assistant_connect_timeout=3",
            "-e", "alicloud_api_retries=3", "-e", "alicloud_api_timeout=20"]
DEADLINE = 10 + 3           # command_timeout + connect_timeout
GRACE = 15                  # the plugin's grace after the deadline, ansible's own start-up and the inventory


@pytest.fixture
def fleet(sim):
    sim.reset(FLEET)
    return {i["name"]: i["id"] for i in sim.state()["instances"].values()}


def warm(sim, inventory):
    proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "echo warm")
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_a_hanging_runcommand_fails_the_host_within_the_deadline(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        warm(sim, inventory)
        sim.faults({"action": "RunCommand", "product": "ecs", "latency_ms": 120000, "count": 20})
        proc, seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "echo never", extra=TIMEOUTS,
                              timeout=400)
    assert proc.returncode != 0 and "UNREACHABLE" in proc.stdout, proc.stdout[-2000:]
    assert "RunCommand" in proc.stdout, proc.stdout[-2000:]
    assert seconds < DEADLINE + GRACE, "the task took %.0f s for a deadline of %d s" % (seconds, DEADLINE)


def test_hanging_reads_and_a_hanging_stop_end_within_the_deadline(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        warm(sim, inventory)
        sim.faults({"action": "DescribeInvocationResults", "product": "ecs", "latency_ms": 120000, "count": 40},
                   {"action": "StopInvocation", "product": "ecs", "latency_ms": 120000, "count": 20},
                   {"action": "DescribeInvocations", "product": "ecs", "latency_ms": 120000, "count": 40})
        proc, seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "echo unread", extra=TIMEOUTS,
                              timeout=600)
    assert proc.returncode != 0 and "UNREACHABLE" in proc.stdout, proc.stdout[-2000:]
    assert "did not finish within 10s (command_timeout) plus 3s (connect_timeout)" in proc.stdout
    assert seconds < DEADLINE + GRACE, "the task took %.0f s for a deadline of %d s" % (seconds, DEADLINE)
    # (the call log holds a call once it is answered: the hanging StopInvocation is not in it yet)


def test_two_runs_at_once_share_the_cold_module_cache(sim, fleet):
    cache = "ls -A ~/.cache/alibabacloud.ecs_ops"
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        on_instance(sim, fleet["web-1"], "rm -rf ~/.cache/alibabacloud.ecs_ops")      # cold: no module code there
        cmd = [str(BIN / "ansible"), "-i", str(inventory), "web-1", "-m", "ansible.builtin.ping",
               "-e", "ansible_python_interpreter=/usr/bin/python3"]
        mark = sim.mark()
        runs = [subprocess.Popen(cmd, env=ansible_env(dict(sim.env)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=ROOT) for _number in range(2)]
        try:
            outputs = [r.communicate(timeout=300) for r in runs]
        finally:
            for run in runs:
                if run.poll() is None:
                    run.kill()
    assert [r.returncode for r in runs] == [0, 0], [o[0][-2000:] for o in outputs]
    assert all('"ping": "pong"' in out for out, _err in outputs), outputs
    uploads = [c for c in sim.calls(mark) if c["action"] == "SendFile"]
    assert uploads, "the module code went up by SendFile"
    time.sleep(1)
    left = on_instance(sim, fleet["web-1"], cache).split()
    blobs = [n for n in left if n.startswith("blob-")]
    assert len(blobs) == 1, left                        # the content-addressed entry, once, whoever wrote it last
    assert not [n for n in left if n.startswith(("up.", "stdin."))], left
    assert on_instance(sim, fleet["web-1"], LEFT_RUNS).strip() == ""
    digest = blobs[0][len("blob-"):]
    assert on_instance(sim, fleet["web-1"], "sha256sum < ~/.cache/alibabacloud.ecs_ops/blob-%s | cut -c1-64"
                       % digest).strip() == digest   # what is cached is what its name says


def test_a_run_killed_mid_upload_leaves_nothing_the_next_run_trusts(sim, fleet):
    """ansible is killed (SIGKILL, its whole process group, as a cancelled AWX job's container goes) while the
    module code is going up by SendFile: the next run succeeds, and every module code file in the cache hashes to
    its name (parts of the killed upload are never joined into it)."""
    cache = "~/.cache/alibabacloud.ecs_ops"
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        on_instance(sim, fleet["web-1"], "rm -rf %s" % cache)
        sim.faults({"action": "SendFile", "product": "ecs", "latency_ms": 1500, "skip": 2, "count": 30})
        mark = sim.mark()
        cmd = [str(BIN / "ansible"), "-i", str(inventory), "web-1", "-m", "ansible.builtin.setup",
               "-e", "ansible_python_interpreter=/usr/bin/python3"]
        run = subprocess.Popen(cmd, env=ansible_env(dict(sim.env)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT, start_new_session=True)
        try:
            wait_until(lambda: sim.calls(mark, action="SendFile"), 120, what="the first SendFile part")
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
        assert run.returncode != 0
        time.sleep(3)                                   # the delayed parts of the killed run arrive meanwhile
        sim.clear_faults()
        proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.setup", "filter=ansible_system")
    assert proc.returncode == 0 and '"ansible_system": "Linux"' in proc.stdout, proc.stdout[-2000:]
    checked = on_instance(sim, fleet["web-1"], 'cd %s && for f in blob-*; do h=$(sha256sum < "$f" | cut -c1-64); '
                                               'echo "$f $h"; done' % cache).split("\n")
    rows = [line.split() for line in checked if line.strip()]
    assert rows and all(name == "blob-" + digest for name, digest in rows), rows


def test_a_hanging_sendfile_falls_back_to_commands_within_connect_timeout(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        on_instance(sim, fleet["web-1"], "rm -rf ~/.cache/alibabacloud.ecs_ops")      # cold: the code must go up
        sim.faults({"action": "SendFile", "product": "ecs", "latency_ms": 120000, "count": 40})
        mark = sim.mark()
        proc, seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.ping", "", extra=TIMEOUTS, timeout=600)
    assert proc.returncode == 0 and '"ping": "pong"' in proc.stdout, proc.stdout[-2000:]
    assert "SendFile to %s failed" % fleet["web-1"] in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-2000:]
    assert [c for c in sim.calls(mark) if c["action"] == "RunCommand"], "the upload went by commands"
    # a hanging part is given up after connect_timeout (3 s); every retry of it would take 3 x 20 s
    assert seconds < 3 + DEADLINE + GRACE, "the task took %.0f s" % seconds
