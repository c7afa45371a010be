"""What an operator sees while a long task runs: progress lines at the default verbosity, before the task's
result, through ``ansible-playbook`` as AWX runs it (the collection's action plugin relays what the module
writes while it waits: starts, rounds, retries)."""

from __future__ import annotations

from harness import fleet, instance_ids, run_playbook

R = "cn-hangzhou"
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: {title}
      {module}:
{args}
"""


def play(title, module, **args):
    lines = "\n".join("        %s: %s" % (k, v) for k, v in args.items())
    return PLAY.format(title=title, module=module, args=lines)


def before_result(stdout, task):
    """The lines the task printed before its result line (ok/changed/fatal)."""
    block = stdout.split("TASK [%s]" % task, 1)[1]
    shown = []
    for line in block.splitlines()[1:]:
        if line.startswith(("ok:", "changed:", "fatal:")):
            return shown
        shown.append(line)
    raise AssertionError("no result line for %s:\n%s" % (task, block[:2000]))


def test_a_rollout_shows_its_batches_and_retries_while_it_runs(sim):
    sim.reset(fleet([R], 6, durations={"install": 40}), time_scale=0.05)
    sim.faults({"action": "ListExecutions", "code": "Throttling.User", "skip": 3, "count": 1})
    ids = instance_ids(sim, R)
    proc = run_playbook(sim, play("Install node", "alibabacloud.ecs_ops.oos_extension_install", region=R, name="node",
                                  instance_ids=ids, batch_size=2, max_concurrent_executions=1, poll_interval=1))
    assert proc.returncode == 0, proc.stdout[-3000:]
    shown = before_result(proc.stdout, "Install node")
    text = "\n".join(shown)
    assert all(line.startswith("Install node | ") for line in shown), shown
    assert text.count("| started exec-") == 3, text
    assert "6 instance(s) to change" in text and "instances 6 succeeded, 0 failed" in text
    assert "retry: OOS ListExecutions: Throttling.User" in text
    assert "[WARNING]" not in proc.stdout


def test_a_command_shows_how_many_instances_finished(sim):
    sim.reset(fleet([R], 3), time_scale=0.05)
    ids = instance_ids(sim, R)
    proc = run_playbook(sim, play("Run it", "alibabacloud.ecs_ops.ecs_cloud_assistant_command", region=R,
                                  instance_ids=ids, command="sleep 2", poll_interval=0.5))
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = "\n".join(before_result(proc.stdout, "Run it"))
    assert "| started t-" in text and "3 of 3 instance(s) finished (3 succeeded, 0 failed), 0 running" in text, text
