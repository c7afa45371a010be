"""Cloud Assistant state (component ``commands``): commands, invocations and per-instance runs.

Per instance: ``Pending`` (delivery, ``delivery`` seconds) -> ``Running`` -> ``Success`` |
``Failed`` | ``Timeout`` | ``Error``. An offline agent leaves the item ``Pending`` until it comes
online or ``delivery_timeout`` (60 s) passes -> ``Aborted``/``ClientNotRunning``. An instance
stopped or released meanwhile -> ``Aborted`` (not started) or ``Failed`` (running) with
``InstanceNotRunning``/``InstanceReleased``. StopInvocation -> ``Stopping`` for ``delivery``
seconds, then ``Cancelled`` (not started) or ``Terminated`` (the process is killed).
``rate()`` invocations run at once and then every period (``Scheduled`` in between; periods
missed while nobody looked collapse into one run); ``at()`` waits ``Scheduled`` for its one run;
cron and reboot-triggered invocations stay ``Scheduled`` until stopped.
"""

import itertools
import math
import os

from ..core.registry import component
from ..oos.secret_parameters import Unresolved
from .command_input import plain_text, render
from .common import ACCOUNT_ID, new_id
from .fleet import fleet
from .public_commands import public_command_versions
from .records import TERMINAL, Command, Invocation, Item, overall_status
from .runner import KILLED_EXIT_CODE, RunResult, ScriptRunner, simulate_script

ERROR_INFO = {
    "InstanceNotRunning": "the specified instance was not running during task execution.",
    "InstanceReleased": "the specified instance was released during task execution.",
    "ClientNotRunning": "the aliyun service is not running on the instance.",
    "ExecutionTimeout": "the command execution has been timeout.",
    "ExitCodeNonzero": "the command execution exit code is not zero.",
    "ExecutionException": "the command execution got an exception.",
}
DELIVERY_TIMEOUT = 60


@component("ecs", "commands")
class CloudAssistant:
    def __init__(self, sim):
        self.sim = sim
        self.commands = {}
        self.invocations = {}
        self.active = {}
        self.tokens = {}
        self.install_pending = set()
        self.invoked = {}           # instance id -> [invocation count, last invoked time]
        self._ids = itertools.count(1)
        self.run_scripts = str(sim.fleet.get("run_scripts", True)).lower() not in ("false", "0", "no")
        self.runner = ScriptRunner(os.path.join(sim.workdir, "instances"))
        for spec in public_command_versions(sim.clock.now()):
            self.commands[spec["id"]] = Command(region=None, **spec)

    def close(self):
        self.runner.close()

    def new_id(self, prefix, region):
        return new_id(prefix, region, f"{id(self)}/{next(self._ids)}")

    def command(self, region, command_id):
        """A command of the region or a public one, by id; a public command's name means its latest version."""
        cmd = self.commands.get(command_id)
        if cmd is None:
            cmd = next((c for c in self.commands.values() if c.region is None and c.latest and c.name == command_id),
                       None)
        return cmd if cmd is not None and cmd.region in (None, region) else None

    def duration(self, inst, kind, default):
        return float(inst.durations.get(kind, self.sim.durations.get(kind, default)))

    # --- creating and stopping ---------------------------------------------------------------
    def invoke(self, region, cmd, instances, parameters, sched, options, now):
        inv = Invocation(id=self.new_id("t", region), region=region, command=cmd, parameters=parameters,
                         schedule=sched, creation_time=now, **options)
        for inst in instances:
            item = Item(instance_id=inst.id, created=now, update_time=now,
                        due=now + self.duration(inst, "delivery", 1))
            if sched.kind in ("at", "cron", "reboot"):
                item.status = "Scheduled"
                item.due = sched.at if sched.kind == "at" else math.inf
            elif inst.agent_online:
                self._launch(inv, item, inst, item.due)
            inv.items[inst.id] = item
            stats = self.invoked.setdefault(inst.id, [0, None])
            stats[0] += 1
            stats[1] = now
        cmd.invoke_times += 1
        self.invocations[inv.id] = inv
        self.active[inv.id] = inv
        return inv

    def modify(self, inv, command, parameters, sched, instances, now):
        """ModifyInvocationAttribute: a new command (content), parameters, schedule; ``instances`` join it."""
        inv.command = command
        if parameters is not None:
            inv.parameters = parameters
        if sched is not None:
            inv.schedule = sched
            for item in inv.items.values():
                if item.status == "Scheduled":
                    item.due = self._next_due(inv, now)
        for inst in instances:
            if inst.id not in inv.items:
                inv.items[inst.id] = Item(instance_id=inst.id, created=now, update_time=now, status="Scheduled",
                                          due=self._next_due(inv, now))
        self.active[inv.id] = inv

    @staticmethod
    def _next_due(inv, now):
        """When a scheduled item runs next: a rate on the next multiple of its period after the creation time."""
        sched = inv.schedule
        if sched.kind == "rate":
            return inv.creation_time + (math.floor((now - inv.creation_time) / sched.period) + 1) * sched.period
        return sched.at if sched.kind == "at" else math.inf

    def stop(self, inv, instance_ids, now):
        if not instance_ids:
            inv.stopped = True
        for iid in instance_ids or list(inv.items):
            item = inv.items[iid]
            if item.status in TERMINAL or item.status == "Stopping":
                continue
            item.was_running = item.status == "Running"
            if item.handle is not None:
                item.handle.kill()
            item.handle = item.sim_result = None
            item.status = "Stopping"
            item.stop_time = item.update_time = now
            inst = fleet(self.sim).get(iid)
            item.stop_due = now + (self.duration(inst, "delivery", 1) if inst else 1)
        self.active[inv.id] = inv

    def instance_changed(self, inst, changes):
        """Admin hook: a reboot completes a pending Cloud Assistant installation."""
        if changes.get("rebooted") and inst.id in self.install_pending:
            self.install_pending.discard(inst.id)
            if inst.agent == "offline":
                inst.agent = "online"

    # --- simulated time ----------------------------------------------------------------------
    def advance(self, now):
        for inv in list(self.active.values()):
            for item in inv.items.values():
                self._step(inv, item, now)
            if all(item.status in TERMINAL for item in inv.items.values()):
                del self.active[inv.id]
                if not inv.command.keep:
                    self.commands.pop(inv.command.id, None)

    def _step(self, inv, item, now):
        inst = fleet(self.sim).get(item.instance_id)
        gone = inst is None or inst.released
        down = gone or inst.status != "Running"
        while item.status not in TERMINAL:
            if item.status == "Stopping":
                if now < item.stop_due:
                    return
                self._finish(item, "Terminated" if item.was_running else "Cancelled", item.stop_due,
                             exit_code=KILLED_EXIT_CODE if item.was_running else None)
            elif (down and item.status in ("Pending", "Running")) or (gone and item.status == "Scheduled"):
                self._interrupt(item, gone, now)
            elif item.status == "Pending":
                if not self._deliver(inv, item, inst, now):
                    return
            elif item.status == "Running":
                if not self._complete(inv, item, now):
                    return
            elif not self._scheduled(inv, item, inst, down, now):
                return

    def _interrupt(self, item, gone, now):
        code = "InstanceReleased" if gone else "InstanceNotRunning"
        if item.handle is not None:
            item.handle.kill()
        running = item.status == "Running"
        item.handle = item.sim_result = None
        self._finish(item, "Failed" if running else "Aborted", now, code=code,
                     exit_code=KILLED_EXIT_CODE if running else None)

    def _deliver(self, inv, item, inst, now):
        if now < item.due:
            return False
        if item.run_start is None:
            if not inst.agent_online:
                limit = item.created + self.duration(inst, "delivery_timeout", DELIVERY_TIMEOUT)
                if now < limit:
                    return False
                self._finish(item, "Aborted", limit, code="ClientNotRunning")
                return True
            self._launch(inv, item, inst, now)
        if now < item.run_start:
            return False
        item.status = "Running"
        item.start_time = item.update_time = item.run_start
        return True

    def _complete(self, inv, item, now):
        if item.handle is not None:
            if not item.handle.done():
                return False
            try:
                result = item.handle.result()
            except Exception:  # pylint: disable=broad-except
                result = None
            finish = item.run_start + (result.elapsed if result else 0.0)
        else:
            result, finish = item.sim_result, item.sim_finish
        if now < finish:
            return False
        self._record(inv, item, result, finish)
        inst = fleet(self.sim).get(item.instance_id)
        if result is not None and result.reboot and inst is not None:
            fleet(self.sim).reboot(inst, finish, guest=True)
        return True

    def _scheduled(self, inv, item, inst, down, now):
        if now < item.due:
            return False
        period = inv.schedule.period
        if period and not inv.stopped:
            item.due += math.floor((now - item.due) / period) * period
        if down or not inst.agent_online:
            code = "InstanceNotRunning" if down else "ClientNotRunning"
            item.history.append(self._record_entry(item, "Aborted", code, None, b"", 0, item.due, item.due))
            if not period:
                self._finish(item, "Aborted", item.due, code=code)
            else:
                item.due += period
            return True
        self._launch(inv, item, inst, item.due)
        item.status = "Running"
        item.start_time = item.update_time = item.run_start
        return True

    def _script(self, inv, inst):
        """The script as the instance runs it: placeholders substituted, then ``{{oos-secret:NAME}}``
        references resolved (both only with EnableParameter). Raises Unresolved."""
        cmd = inv.command
        if not cmd.enable_parameter:
            return plain_text(cmd.content)
        builtins = {"regionid": inv.region, "accountid": ACCOUNT_ID, "instanceid": inst.id,
                    "instancename": inst.name, "invokeid": inv.id, "commandid": cmd.id}
        text = render(cmd.content, inv.parameters, builtins)
        return self.sim.components["secret_parameters"].resolve(inv.region, text).value

    def _launch(self, inv, item, inst, start):
        item.run_start = start
        try:
            text = self._script(inv, inst)
        except Unresolved as err:
            item.sim_result = RunResult(exit_code=0, output=b"", dropped=0, elapsed=0.0, invalid=(err.code, str(err)))
            item.sim_finish = start
            return
        if "command" in inst.fail:
            result = RunResult(exit_code=1, output=b"", dropped=0, elapsed=0.0)
        elif inst.os_type == "linux" and self.run_scripts and inv.command.type == "RunShellScript":
            item.handle = self.runner.submit(inst.id, text, inv.working_dir or "/root", inv.timeout, inst.boot_id)
            return
        else:
            result = simulate_script(text, "\r\n" if inst.os_type == "windows" else "\n")
        took = self.duration(inst, "command", 1)
        if took >= inv.timeout:
            result.timed_out, result.exit_code, took = True, KILLED_EXIT_CODE, inv.timeout
        item.sim_result, item.sim_finish = result, start + took

    def _record(self, inv, item, result, finish):
        if result is None:
            status, code = "Error", "ExecutionException"
            result = RunResult(exit_code=KILLED_EXIT_CODE, output=b"", dropped=0, elapsed=0.0)
        elif result.invalid:
            status, code = "Invalid", result.invalid[0]
        elif result.timed_out:
            status, code = "Timeout", "ExecutionTimeout"
        elif result.exit_code != 0:
            status, code = "Failed", "ExitCodeNonzero"
        else:
            status, code = "Success", ""
        info = result.invalid[1] if result.invalid else ERROR_INFO.get(code, "")
        item.exit_code, item.output, item.dropped = result.exit_code, result.output, result.dropped
        item.error_code, item.error_info = code, info
        item.repeats += 1
        item.finish_time = item.update_time = finish
        item.history.append(self._record_entry(item, status, code, result.exit_code, result.output,
                                               result.dropped, item.run_start, finish, info))
        item.handle = item.sim_result = None
        item.run_start = None
        if inv.schedule.period and not inv.stopped:
            item.status = "Scheduled"
            item.due = max(item.start_time + inv.schedule.period, finish)
        else:
            item.status = status

    @staticmethod
    def _record_entry(item, status, code, exit_code, output, dropped, start, finish, info=None):
        info = ERROR_INFO.get(code, "") if info is None else info
        return {"status": status, "error_code": code, "error_info": info,
                "exit_code": exit_code if exit_code is not None else 0, "output": output, "dropped": dropped,
                "start_time": start, "finish_time": finish, "repeats": item.repeats}

    @staticmethod
    def _finish(item, status, at, code="", exit_code=None):
        item.status = status
        item.finish_time = item.update_time = at
        if code:
            item.error_code, item.error_info = code, ERROR_INFO.get(code, "")
        if exit_code is not None:
            item.exit_code = exit_code

    # --- views ---------------------------------------------------------------------------
    def active_tasks(self, instance_id):
        return sum(1 for inv in self.active.values()
                   if instance_id in inv.items and inv.items[instance_id].status not in TERMINAL)

    def snapshot(self):
        return {"commands": sorted(c.id for c in self.commands.values() if c.region is not None),
                "invocations": {inv.id: {"status": overall_status(inv),
                                         "instances": {i: it.status for i, it in inv.items.items()}}
                                for inv in self.invocations.values()}}
