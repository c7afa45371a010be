"""`make bench`: the fleet benchmarks P1-P10 against the bundled simulator, side by side in one run.

    python tools/bench.py [--only P1,P3] [--quick]

Scenarios (docs/performance.md explains each one, and how its ideal and minimum are computed):

- P1  extension rollout to 1,000 instances in 3 regions (install 60 simulated s, OOS concurrency 10)
      with oos_extension_install, against (b) the seed workflow done by the book (one execution of
      50 at a time, polled every 20 simulated s, direct SDK calls) and (c) a per-instance Ansible
      loop (run on a sample, extrapolated linearly);
- P2  per-task cost: `ansible localhost -m` of the info modules versus ansible.builtin.ping, and the
      peak RSS of the module process;
- P3  the no-op re-run of P1's rollout on 1,000 converged instances;
- P4  a Cloud Assistant command fanned out to 1,000 instances;
- P5  a patch round on 500 instances: scan, then install with a canary;
- P6  under the API quotas (the simulator's published figures, per region, on the simulated clock): an
      extension rollout to 10,000 instances in 5 regions and its no-op re-run, against the seed workflow
      (extrapolated from one region) and a naive client (the same reads and starts from a thread pool, no
      pacing, retrying each throttled call);
- P7  under the quotas: a Cloud Assistant command on 10,000 instances in 5 regions;
- P8  under the quotas: a patch scan, then an install with a canary, on 5,000 instances in 5 regions;
- P9  the ecs inventory plugin on 5,000 instances in 5 regions: the first read (calls against the minimum)
      and the cached read (wall against ansible-inventory on a static YAML inventory of the same hosts);
- P10 the cloud_assistant connection plugin: a play of 10 tasks on 20 hosts with 0.2 s of agent delivery,
      its first run (module code uploaded) and a second run (cached), against the same play over `local`.

Also measured: the simulator's own throughput, to show it is not what limits the scenarios.

The Markdown tables go to stdout, progress to stderr, the figures to bench-results.json and, after a
full run (no --only, no --quick), the tables to docs/performance.md between its markers. Targets are
reported PASS/MISS; the exit code is 1 only if a scenario could not run.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from harness import BIN, fleet, instance_ids, plain, run_module, run_playbook, start_sim  # noqa: E402
from alicloud_sim.core.quotas import QuotaBook, parse_quota  # noqa: E402
from sim_session import ansible_env  # noqa: E402

RESULTS = ROOT / "bench-results.json"
DOC = ROOT / "docs" / "performance.md"
DOC_BEGIN, DOC_END = "<!-- bench-results:begin -->", "<!-- bench-results:end -->"

REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing")
EXTENSION = "ACS-Extension-node-1853370294850618"
ROLLOUT_TEMPLATE = "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL"
TERMINAL = ("Success", "Failed", "Cancelled")
API_VERSIONS = {"oos": "2019-06-01", "ecs": "2014-05-26"}

# What the APIs and templates allow per call (docs/performance.md, "The minimum number of API calls").
BATCH = 50                  # instances per execution of the bulky templates
CONCURRENCY = 10            # OOS rateControl concurrency per execution
EXECUTION_PAGE = 100        # ListExecutions MaxResults
INSTANCE_PAGE = 100         # DescribeInstances InstanceIds, ListInstancePatchStates InstanceIds
AGENT_PAGE = 50             # DescribeCloudAssistantStatus InstanceId.N
COMMAND_BATCH = 100         # RunCommand InstanceId.N
RESULT_PAGE = 50            # DescribeInvocationResults MaxResults
INVOCATION_PAGE = 50        # DescribeInvocations MaxResults (the invocations of a run, listed by its tag)

# Simulated durations and the modules' polling, in simulated seconds.
INSTALL = 60
ROLLOUT_SLOTS = 25          # max_concurrent_executions of P1: every batch of 1,000 instances at once
PATCH_SLOTS = 20            # the most oos_patch_run allows
SCAN, PATCH_INSTALL = 15, 60
DELIVERY, COMMAND = 1, 20
OOS_POLL, OOS_POLL_GROWTH = 5.0, 4      # poll_interval; the OOS waits grow to 4 times it
CA_POLL, CA_POLL_GROWTH, CA_POLL_CAP = 3.0, 6, 60.0
CA_POLL_STEADY = 60.0       # the Cloud Assistant wait keeps poll_interval this long, then grows x1.5 a round
SEED_POLL = 20.0

# Real seconds per simulated second, per scenario (docs/performance.md, "Time").
TIME_SCALES = {"P1": 0.2, "P1b": 0.01, "P1c": 0.05, "P2": 1.0, "P3": 1.0, "P4": 1.0, "P5": 0.2, "P9": 1.0, "P10": 1.0,
               "P6": 0.1, "P6b": 0.002, "P6n": 0.1, "P7": 1.0, "P8s": 0.1, "P8i": 0.05}
SCENARIOS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10")
INVENTORY_REGIONS = ("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-zhangjiakou")

# P6-P8 run under the simulator's default quotas (the published figures), counted per region as Alibaba
# counts them, on the simulated clock so that they scale with the time scale like the work does.
QUOTAS = {"enabled": True, "per_region": True, "clock": "simulated"}
QUOTA_REGIONS = INVENTORY_REGIONS
QUOTA_SLOTS = 100           # max_concurrent_executions of P6: the most oos_extension_install allows
NAIVE_THREADS = 16          # the naive client's pool (the module reads package states with 16 threads)
NAIVE_RETRY = 1.0           # simulated seconds a naive thread sleeps after a throttled answer
NAIVE_ATTEMPTS = 2000       # a naive call that is still throttled after this many attempts fails the scenario


@dataclass(frozen=True)
class Sizes:
    rollout: int = 1000
    loop_sample: int = 10
    command: int = 1000
    patch: int = 500
    adhoc_runs: int = 9
    inventory: int = 5000
    inventory_runs: int = 3
    connection_hosts: int = 20
    quota_fleet: int = 10000    # P6, P7
    quota_patch: int = 5000     # P8
    throughput_seconds: float = 3.0
    speed: float = 1.0          # multiplies every time scale


QUICK = Sizes(rollout=60, loop_sample=2, command=60, patch=40, adhoc_runs=3, throughput_seconds=1.0, speed=0.25,
              inventory=100, inventory_runs=1, connection_hosts=3, quota_fleet=500, quota_patch=250)


class ScenarioError(RuntimeError):
    pass


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


# --- ideal and minimum (pure) ---------------------------------------------------------------
def pages(count, per_page):
    """Calls needed to cover ``count`` items at ``per_page`` per call."""
    return -(-count // per_page) if count > 0 else 0


def spread(total, regions=REGIONS):
    """{region: count}: ``total`` instances spread evenly, the first regions taking the remainder."""
    base, extra = divmod(total, len(regions))
    counts = {r: base + (1 if n < extra else 0) for n, r in enumerate(regions)}
    return {r: c for r, c in counts.items() if c}


def batch_plan(counts, batch_size=BATCH):
    """[(region, size)]: the executions a module starts, region by region, in order."""
    return [(region, min(batch_size, count - start)) for region, count in counts.items()
            for start in range(0, count, batch_size)]


def schedule(durations, slots):
    """End times of jobs started in order, each as soon as one of ``slots`` is free."""
    free = [0.0] * max(1, min(slots, len(durations)))
    ends = []
    for duration in durations:
        start = heapq.heappop(free)
        ends.append(start + duration)
        heapq.heappush(free, start + duration)
    return ends


def poll_rounds(span, interval):
    """Polls a client needs to see the end of ``span`` seconds of work no later than ``interval`` after it."""
    return pages(int(round(span * 1000)), int(round(interval * 1000)))


def execution_polls(plan, ends, interval, offset=0.0):
    """Necessary ListExecutions calls: per region, one listing (100 executions a page) per poll round
    until the region's last execution ends."""
    total = 0
    for region in dict.fromkeys(r for r, _size in plan):
        span = max(e for (r, _size), e in zip(plan, ends) if r == region) - offset
        total += poll_rounds(span, interval) * pages(sum(1 for r, _size in plan if r == region), EXECUTION_PAGE)
    return total


def safety_reads(plan, ends, durations):
    """The listings that keep each instance in one execution at a time (docs/architecture.md): three per region
    before anything starts (Running, Waiting, the last day), and one per region after each moment executions
    start there (the tie-break between jobs)."""
    regions = list(dict.fromkeys(r for r, _size in plan))
    rounds = {(r, round(e - d, 3)) for (r, _size), e, d in zip(plan, ends, durations)}
    return 3 * len(regions) + len(rounds)


def fleet_reads(counts):
    """The pre-check every fleet module does: DescribeInstances and agent status pages."""
    return dict(DescribeInstances=sum(pages(n, INSTANCE_PAGE) for n in counts.values()),
                DescribeCloudAssistantStatus=sum(pages(n, AGENT_PAGE) for n in counts.values()))


def rollout_model(counts, slots, interval, duration=INSTALL, concurrency=CONCURRENCY):
    """(ideal seconds, minimum calls by kind) of an extension rollout to ``counts`` instances."""
    plan = batch_plan(counts)
    durations = [pages(size, concurrency) * duration for _region, size in plan]
    ends = schedule(durations, slots)
    minimum = dict(state_reads=rollout_state_reads(counts), safety=safety_reads(plan, ends, durations),
                   starts=len(plan), polls=execution_polls(plan, ends, interval), result_reads=len(plan))
    return max(ends), minimum


def rollout_state_reads(counts):
    """Template reads (GetTemplate per region, ListTemplates once for the OS constraints), the pre-check,
    and one ListInstancePackageStates per instance (the API takes one InstanceId)."""
    return len(counts) + 1 + sum(fleet_reads(counts).values()) + sum(counts.values())


def seed_ideal(counts, duration=INSTALL, concurrency=CONCURRENCY):
    """Seconds of the one-execution-at-a-time workflow if it noticed every end at once."""
    return sum(pages(size, concurrency) * duration for _region, size in batch_plan(counts))


def command_interval(span, interval=CA_POLL):
    """The longest interval of the Cloud Assistant wait while ``span`` seconds of work run: ``interval`` during
    its first minute, then growing x1.5 a round up to min(60, 6 x ``interval``)."""
    longest, elapsed, step = min(CA_POLL_CAP, interval * CA_POLL_GROWTH), interval, interval
    while elapsed < span:
        step = interval if elapsed < CA_POLL_STEADY else min(longest, step * 1.5)
        elapsed += step
    return step


def command_model(counts, interval, duration=DELIVERY + COMMAND):
    """(ideal seconds, minimum calls by kind) of one command on ``counts`` instances: per poll round one
    DescribeInvocations page per region and 50 invocations, and each invocation's results read once."""
    invocations = batch_plan(counts, COMMAND_BATCH)
    per_round = sum(pages(pages(n, COMMAND_BATCH), INVOCATION_PAGE) for n in counts.values())
    return duration, dict(state_reads=sum(fleet_reads(counts).values()), starts=len(invocations),
                          polls=poll_rounds(duration, interval) * per_round,
                          result_reads=sum(pages(size, RESULT_PAGE) for _region, size in invocations))


def patch_model(counts, slots, interval, duration, canary, concurrency=CONCURRENCY):
    """(ideal seconds, minimum calls by kind) of oos_patch_run on ``counts`` instances.

    With a canary the first execution pauses after its first wave; the others start when it is
    approved, while the first one finishes its remaining waves.
    """
    plan = batch_plan(counts)
    work = [pages(size, concurrency) * duration for _region, size in plan]
    states = sum(pages(n, INSTANCE_PAGE) for n in counts.values())
    minimum = dict(state_reads=sum(fleet_reads(counts).values()) + states, starts=len(plan),
                   result_reads=len(plan) + states)
    if not canary:
        ends = schedule(work, slots)
        minimum["polls"] = execution_polls(plan, ends, interval)
        minimum["safety"] = safety_reads(plan, ends, work)
        return max(ends), minimum
    wave = float(duration)
    ends = [work[0]] + [wave + end for end in schedule(work[1:], slots)]
    minimum["polls"] = poll_rounds(wave, interval) + execution_polls(plan, ends, interval, offset=wave)
    minimum["safety"] = safety_reads(plan, ends, [work[0]] + [w + wave for w in work[1:]])
    minimum["canary"] = 2      # the paused execution's children, and NotifyExecution(Approve)
    return max(ends), minimum


# --- the quota-bound ideal and the minimum per API (pure) ------------------------------------
def quota_rate(product, action):
    """Calls a second that the simulator's default quota of ``action`` allows (per region); None: no limit."""
    quota = parse_quota(QuotaBook({"enabled": True}).quota_of(product, action))
    return quota[0] / quota[1] if quota else None


def quota_bound(calls):
    """(seconds, (region, product, action)) of the API whose minimum calls take longest at its quota's rate."""
    best = (0.0, None)
    for key, count in calls.items():
        rate = quota_rate(key[1], key[2])
        if rate and count / rate > best[0]:
            best = (count / rate, key)
    return best


def by_action(calls):
    """{action: calls} over every region, busiest first."""
    total = Counter()
    for (_region, _product, action), count in calls.items():
        total[action] += count
    return dict(total.most_common())


def state_calls(counts, package_reads=True):
    """{(region, product, action): calls} of what oos_extension_install reads before it acts."""
    calls = Counter()
    for region, count in counts.items():
        calls[(region, "ecs", "DescribeInstances")] += pages(count, INSTANCE_PAGE)
        calls[(region, "ecs", "DescribeCloudAssistantStatus")] += pages(count, AGENT_PAGE)
        calls[(region, "oos", "GetTemplate")] += 1
        if package_reads:
            calls[(region, "oos", "ListInstancePackageStates")] += count
    calls[(next(iter(counts)), "oos", "ListTemplates")] += 1
    return calls


def execution_calls(calls, plan, ends, durations, interval, offset=0.0):
    """Adds, per region, the StartExecution calls and the ListExecutions listings (the three lookups, one
    tie-break listing per start moment, the necessary polls, one child listing per execution)."""
    for region in dict.fromkeys(r for r, _size in plan):
        mine = [n for n, (r, _size) in enumerate(plan) if r == region]
        moments = {round(ends[n] - durations[n], 3) for n in mine}
        span = max(ends[n] for n in mine) - offset
        calls[(region, "oos", "StartExecution")] += len(mine)
        calls[(region, "oos", "ListExecutions")] += (3 + len(moments) + len(mine)
                                                     + poll_rounds(span, interval) * pages(len(mine), EXECUTION_PAGE))
    return calls


def rollout_calls(counts, slots, interval, duration=INSTALL, concurrency=CONCURRENCY):
    """(work ideal, {(region, product, action): minimum calls}) of an extension rollout; the same figures as
    ``rollout_model``, per region and API, for the quota bound."""
    plan = batch_plan(counts)
    durations = [pages(size, concurrency) * duration for _region, size in plan]
    ends = schedule(durations, slots)
    return max(ends), execution_calls(state_calls(counts), plan, ends, durations, interval)


def command_calls(counts, interval, duration=DELIVERY + COMMAND):
    """(work ideal, minimum calls per region and API) of one command (``command_model`` per API)."""
    calls = Counter()
    for region, count in counts.items():
        invocations = batch_plan({region: count}, COMMAND_BATCH)
        calls[(region, "ecs", "DescribeInstances")] += pages(count, INSTANCE_PAGE)
        calls[(region, "ecs", "DescribeCloudAssistantStatus")] += pages(count, AGENT_PAGE)
        calls[(region, "ecs", "RunCommand")] += len(invocations)
        calls[(region, "ecs", "DescribeInvocations")] += poll_rounds(duration, interval) * pages(
            len(invocations), INVOCATION_PAGE)
        calls[(region, "ecs", "DescribeInvocationResults")] += sum(pages(size, RESULT_PAGE)
                                                                   for _region, size in invocations)
    return duration, calls


def patch_calls(counts, slots, interval, duration, canary, concurrency=CONCURRENCY):
    """(work ideal, minimum calls per region and API) of oos_patch_run (``patch_model`` per API)."""
    plan = batch_plan(counts)
    work = [pages(size, concurrency) * duration for _region, size in plan]
    calls = Counter()
    for region, count in counts.items():
        calls[(region, "ecs", "DescribeInstances")] += pages(count, INSTANCE_PAGE)
        calls[(region, "ecs", "DescribeCloudAssistantStatus")] += pages(count, AGENT_PAGE)
        calls[(region, "oos", "ListInstancePatchStates")] += 2 * pages(count, INSTANCE_PAGE)   # before and after
    if not canary:
        ends = schedule(work, slots)
        return max(ends), execution_calls(calls, plan, ends, work, interval)
    wave = float(duration)
    ends = [work[0]] + [wave + end for end in schedule(work[1:], slots)]
    execution_calls(calls, plan, ends, [work[0]] + [w + wave for w in work[1:]], interval, offset=wave)
    first = plan[0][0]
    calls[(first, "oos", "ListExecutions")] += poll_rounds(wave, interval) + 1   # the wait for the pause, its children
    calls[(first, "oos", "NotifyExecution")] += 1
    return max(ends), calls


def quota_ideal(work, calls, reads=None):
    """The quota-bound ideal: the work's own ideal or the busiest API's minimum calls at its quota's rate,
    whichever is longer; and what bound it. With ``reads`` (the calls before anything starts), also the bound
    of a client that reads everything before it acts: the reads at their quotas, then the work."""
    seconds, key = quota_bound(calls)
    return max(work, seconds), dict(work_s=round(work, 1), api=key and "%s %s (%s)" % (key[1], key[2], key[0]),
                                    api_calls=key and calls[key], api_quota=key and QuotaBook(
                                        {"enabled": True}).quota_of(key[1], key[2]), api_s=round(seconds, 1),
                                    read_then_act_s=None if reads is None else round(quota_bound(reads)[0] + work, 1))


# --- measuring ------------------------------------------------------------------------------
def peak_rate(calls, window=1.0):
    """The most API calls within any ``window`` real seconds."""
    times = sorted(c["time"] for c in calls)
    best, first = 0, 0
    for last, now in enumerate(times):
        while now - times[first] > window:
            first += 1
        best = max(best, last - first + 1)
    return best / window


def per_second(calls):
    """API calls in each real second from the first call on (the scenario's load on the simulator)."""
    if not calls:
        return []
    start = min(c["time"] for c in calls)
    counts = Counter(int(c["time"] - start) for c in calls)
    return [counts.get(second, 0) for second in range(max(counts) + 1)]


def measured(sim, func):
    """(value of ``func()``, real seconds, the API calls it made)."""
    mark = sim.mark()
    started = time.monotonic()
    value = func()
    return value, time.monotonic() - started, sim.calls(since=mark)


PEAK_RSS_SITE = ROOT / "tools" / "bench_rss"


def run_module_rss(sim, name, args):
    """``run_module`` with the module's own peak RSS: (rc, result, stderr, peak RSS MiB).

    The module writes its ``VmHWM`` at exit (tools/bench_rss/sitecustomize.py). ``ru_maxrss`` of a child would not
    do: Linux carries the peak of the process that forked it over the exec, so the benchmark's own size (hundreds
    of MiB of call log after a large scenario) would be counted as the module's.
    """
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        env = dict(BENCH_RSS_FILE=str(peak_file), PYTHONPATH=os.pathsep.join(
            p for p in (str(PEAK_RSS_SITE), sim.env.get("PYTHONPATH", "")) if p))
        rc, result, _stdout, stderr = run_module(sim, name, args, env=env)
        try:
            peak_kib = int(peak_file.read_text())
        except (OSError, ValueError):
            raise ScenarioError("%s did not report its peak RSS (rc %s): %s" % (name, rc, stderr[-500:])) from None
    return rc, result, stderr[-2000:], peak_kib / 1024.0


def module_run(sim, name, args, expect):
    """Run module ``name``; (result, real seconds, calls, peak RSS MiB). ``expect(result)`` must hold."""
    (rc, result, stderr, rss), wall, calls = measured(sim, lambda: run_module_rss(sim, name, args))
    if rc != 0 or not expect(result):
        raise ScenarioError("%s: rc %s, %s %s %s" % (name, rc, result.get("msg"), result.get("summary"), stderr[-500:]))
    return result, wall, calls, rss


def scenario(key, name, instances, time_scale, wall, calls, ideal=None, minimum=None, **extra):
    """One measured row: wall real and simulated, calls by action, the busiest second, ideal and minimum."""
    throttled = sum(1 for c in calls if c.get("throttled"))
    return row(key, name, instances, time_scale, wall, wall / time_scale, Counter(c["action"] for c in calls),
               peak_rate(calls), ideal, minimum, calls_per_second=per_second(calls), throttled=throttled,
               throttled_share=round(throttled / len(calls), 4) if calls else 0.0, **extra)


def row(key, name, instances, time_scale, wall_real, wall_sim, by_action, rate_peak, ideal=None, minimum=None,
        **extra):
    return dict(key=key, name=name, instances=instances, time_scale=time_scale,
                wall_real_s=None if wall_real is None else round(wall_real, 2), wall_sim_s=round(wall_sim, 1),
                ideal_sim_s=ideal, calls=sum(by_action.values()), calls_by_action=dict(by_action.most_common()),
                minimum_calls=sum(minimum.values()) if minimum else None, minimum=minimum, rate_peak=rate_peak,
                **extra)


class DirectClient:
    """The Tea SDK's generic RPC client with the simulator's keys; no collection code involved."""

    def __init__(self, sim):
        os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        from alibabacloud_tea_openapi import models
        from alibabacloud_tea_openapi.client import Client
        from alibabacloud_tea_openapi.utils import Utils
        from darabonba.runtime import RuntimeOptions

        self._models, self._utils, self._runtime = models, Utils, RuntimeOptions
        self._client = Client(models.Config(
            access_key_id=sim.env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            access_key_secret=sim.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            endpoint=sim.url.split("://", 1)[1], protocol="http", region_id=REGIONS[0]))

    def call(self, product, action, query):
        params = self._models.Params(action=action, version=API_VERSIONS[product], protocol="HTTP", pathname="/",
                                     method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                     body_type="json")
        request = self._models.OpenApiRequest(query=self._utils.query(query))
        return self._client.call_api(params, request, self._runtime())["body"]


# --- set-up ---------------------------------------------------------------------------------
def reset(sim, counts, time_scale, durations, quotas=False, **group):
    """A fresh simulator with ``counts`` Linux instances per region (and the quotas on); {region: [ids]}."""
    body = fleet(list(counts), 1, durations=durations, **group)
    for region, count in counts.items():
        body["regions"][region]["instances"][0]["count"] = count
    body["run_scripts"] = False
    if quotas:
        body["quotas"] = QUOTAS
    sim.reset(body, time_scale=time_scale)
    return {region: instance_ids(sim, region) for region in counts}


def poll_option(sim_seconds, time_scale):
    """A module's poll_interval (real seconds) for ``sim_seconds`` of simulated time; the modules take >= 0.1."""
    return max(0.1, sim_seconds * time_scale)


def sleep_until(moment):
    time.sleep(max(0.0, moment - time.monotonic()))


# --- simulator throughput -------------------------------------------------------------------
def simulator_throughput(sim, sizes):
    """Requests/s the simulator answers for a cheap read, signed by the real SDK, with 1, 16 and 64 threads."""
    ids = reset(sim, spread(1000), 1.0, None)[REGIONS[0]]
    rows = []
    for threads in (1, 16, 64):
        clients = [DirectClient(sim) for _thread in range(threads)]
        counts = [0] * threads
        stop = time.monotonic() + sizes.throughput_seconds

        def work(index):
            while time.monotonic() < stop:
                clients[index].call("oos", "ListInstancePackageStates",
                                    {"RegionId": REGIONS[0], "InstanceId": ids[counts[index] % len(ids)]})
                counts[index] += 1

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        rows.append(dict(threads=threads, requests_per_s=round(sum(counts) / (time.monotonic() - started), 1)))
        log("simulator: %d thread(s), %.0f requests/s" % (threads, rows[-1]["requests_per_s"]))
    return dict(action="ListInstancePackageStates", rows=rows)


# --- P1 -------------------------------------------------------------------------------------
def p1_rollout(sim, sizes):
    ts = TIME_SCALES["P1"] * sizes.speed
    counts = spread(sizes.rollout)
    targets = reset(sim, counts, ts, {"install": INSTALL})
    log("P1 rollout: %d instances, time scale %g" % (sizes.rollout, ts))
    args = dict(name=EXTENSION, instance_ids=targets, rate_control=dict(concurrency=CONCURRENCY),
                max_concurrent_executions=ROLLOUT_SLOTS, poll_interval=poll_option(OOS_POLL, ts))
    _result, wall, calls, rss = module_run(sim, "oos_extension_install", args,
                                           lambda r: r["summary"]["succeeded"] == sizes.rollout)
    ideal, minimum = rollout_model(counts, ROLLOUT_SLOTS, OOS_POLL * OOS_POLL_GROWTH)
    return scenario("P1", "P1 rollout, oos_extension_install", sizes.rollout, ts, wall, calls, ideal, minimum,
                    peak_rss_mib=round(rss, 1))


def p1_seed_workflow(sim, sizes):
    """(b): one execution of at most 50 instances at a time, polled every 20 simulated seconds."""
    ts = TIME_SCALES["P1b"] * sizes.speed
    counts = spread(sizes.rollout)
    targets = reset(sim, counts, ts, {"install": INSTALL})
    log("P1(b) seed workflow: %d instances, time scale %g" % (sizes.rollout, ts))
    client = DirectClient(sim)

    def run():
        for region, ids in targets.items():
            for start in range(0, len(ids), BATCH):
                run_one_execution(client, region, ids[start:start + BATCH], ts)

    _value, wall, calls = measured(sim, run)
    return scenario("P1b", "P1(b) seed workflow: 1 execution at a time, 20 s polls", sizes.rollout, ts, wall,
                    calls, seed_ideal(counts))


def start_query(region, ids):
    """The StartExecution query of one rollout batch, as the seed workflow and the naive client send it."""
    parameters = {"regionId": region, "action": "install", "packageName": EXTENSION, "packageVersion": "",
                  "parameters": {}, "targets": {"Type": "ResourceIds", "ResourceIds": ids, "RegionId": region},
                  "rateControl": {"Mode": "Concurrency", "Concurrency": CONCURRENCY, "MaxErrors": 0},
                  "OOSAssumeRole": ""}
    return {"RegionId": region, "TemplateName": ROLLOUT_TEMPLATE, "Parameters": json.dumps(parameters)}


def run_one_execution(client, region, ids, ts):
    body = client.call("oos", "StartExecution", start_query(region, ids))
    execution_id, started, polls = body["Execution"]["ExecutionId"], time.monotonic(), 0
    while True:
        polls += 1
        sleep_until(started + polls * SEED_POLL * ts)
        found = client.call("oos", "ListExecutions", {"RegionId": region, "ExecutionId": execution_id})
        status = found["Executions"][0]["Status"]
        if status in TERMINAL:
            if status != "Success":
                raise ScenarioError("seed workflow: execution %s ended %s" % (execution_id, status))
            return


LOOP_PLAYBOOK = """\
- name: The per-instance loop the collection replaces
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Install the extension on one instance per task
      alibabacloud.ecs_ops.oos_extension_install:
        region: "{{ item.region }}"
        name: "{{ extension }}"
        instance_ids: ["{{ item.instance_id }}"]
        rate_control: {concurrency: %d}
        poll_interval: "{{ poll_interval }}"
      loop: "{{ sample }}"
""" % CONCURRENCY


def p1_instance_loop(sim, sizes):
    """(c): an Ansible loop of one oos_extension_install per instance, on a sample, extrapolated."""
    ts = TIME_SCALES["P1c"] * sizes.speed
    targets = reset(sim, spread(sizes.loop_sample), ts, {"install": INSTALL})
    sample = [dict(region=r, instance_id=i) for r, ids in targets.items() for i in ids]
    log("P1(c) per-instance loop: sample of %d, time scale %g" % (len(sample), ts))
    proc, wall, calls = measured(sim, lambda: run_playbook(sim, LOOP_PLAYBOOK, extra_vars=dict(
        extension=EXTENSION, sample=sample, poll_interval=poll_option(OOS_POLL, ts))))
    if proc.returncode != 0:
        raise ScenarioError("per-instance loop failed: %s" % proc.stdout[-1500:])
    waited_real, waited_sim = execution_waits(calls)
    equivalent = wall - waited_real + waited_sim        # overhead at real speed, waits in simulated time
    factor = sizes.rollout / len(sample)
    by_action = Counter({a: round(n * factor) for a, n in Counter(c["action"] for c in calls).items()})
    name = "P1(c) per-instance Ansible loop, extrapolated from %d instances (%.0f s real)" % (len(sample), wall)
    return row("P1c", name, sizes.rollout, ts, None, equivalent * factor, by_action, peak_rate(calls),
               sample_size=len(sample), sample_wall_real_s=round(wall, 2), sample_wall_sim_s=round(equivalent, 1))


def execution_waits(calls):
    """(real, simulated) seconds from each StartExecution to the read of its child executions."""
    real = simulated = 0.0
    started = None
    for call in calls:
        if call["action"] == "StartExecution":
            started = call
        elif started and call["action"] == "ListExecutions" and call["params"].get("ParentExecutionId"):
            real += call["time"] - started["time"]
            simulated += call["sim_time"] - started["sim_time"]
            started = None
    return real, simulated


# --- P2 -------------------------------------------------------------------------------------
def adhoc_seconds(sim, module, args=None):
    """Real seconds of ``ansible localhost -m module [-a args]``."""
    cmd = [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", module,
           "-e", "ansible_python_interpreter=%s" % sys.executable] + (["-a", args] if args else [])
    started = time.monotonic()
    proc = subprocess.run(cmd, env=ansible_env(sim.env), capture_output=True, text=True, cwd=ROOT, timeout=300,
                          check=False)
    if proc.returncode != 0:
        raise ScenarioError("%s failed: %s" % (" ".join(cmd[1:8]), proc.stdout[-800:]))
    return time.monotonic() - started


def p2_task_cost(sim, sizes):
    ts = TIME_SCALES["P2"]
    ids = reset(sim, {REGIONS[0]: 5}, ts, None)[REGIONS[0]]
    tasks = {
        "ansible.builtin.ping": (None, None),
        "alibabacloud.ecs_ops.oos_extension_info": ("name=%s" % EXTENSION, {"name": EXTENSION}),
        "alibabacloud.ecs_ops.ecs_cloud_assistant_info": (json.dumps({"instance_ids": ids}), {"instance_ids": ids}),
    }
    log("P2 per-task cost: %d runs of each of %d tasks" % (sizes.adhoc_runs, len(tasks)))
    for _warmup in range(2):                                  # warm-up: .pyc files and the page cache
        for module, (adhoc_args, _module_args) in tasks.items():
            adhoc_seconds(sim, module, adhoc_args)
    runs = {module: [] for module in tasks}
    for _round in range(sizes.adhoc_runs):
        for module, (adhoc_args, _module_args) in tasks.items():
            runs[module].append(adhoc_seconds(sim, module, adhoc_args))
    rows = []
    ping = statistics.median(runs["ansible.builtin.ping"])
    for module, (_adhoc_args, module_args) in tasks.items():
        rss = None
        if module_args is not None:
            rc, result, stderr, rss = run_module_rss(sim, module.rsplit(".", 1)[1], module_args)
            if rc != 0:
                raise ScenarioError("%s: %s %s" % (module, result.get("msg"), stderr[-500:]))
        median = statistics.median(runs[module])
        rows.append(dict(task=module, runs=[round(r, 3) for r in runs[module]], median_s=round(median, 3),
                         ratio_to_ping=round(median / ping, 2), peak_rss_mib=None if rss is None else round(rss, 1)))
    return dict(key="P2", name="P2 per-task cost", tasks=rows)


# --- P3 -------------------------------------------------------------------------------------
def p3_noop(sim, sizes):
    """The P1 task again on instances that already have the extension at its latest version."""
    ts = TIME_SCALES["P3"] * sizes.speed
    counts = spread(sizes.rollout)
    latest = DirectClient(sim).call("oos", "GetTemplate", {"RegionId": REGIONS[0], "TemplateName": EXTENSION})
    version = latest["Template"]["TemplateVersion"]
    targets = reset(sim, counts, ts, {"install": INSTALL}, packages={EXTENSION: {"version": version, "parameters": {}}})
    log("P3 no-op re-run: %d converged instances (%s %s)" % (sizes.rollout, EXTENSION, version))
    args = dict(name=EXTENSION, instance_ids=targets, rate_control=dict(concurrency=CONCURRENCY),
                max_concurrent_executions=ROLLOUT_SLOTS, poll_interval=poll_option(OOS_POLL, ts))
    _result, wall, calls, rss = module_run(sim, "oos_extension_install", args,
                                           lambda r: not r["changed"] and r["summary"]["unchanged"] == sizes.rollout)
    minimum = dict(state_reads=rollout_state_reads(counts))
    return scenario("P3", "P3 no-op re-run on converged instances", sizes.rollout, ts, wall, calls, None, minimum,
                    peak_rss_mib=round(rss, 1))


# --- P4 -------------------------------------------------------------------------------------
def p4_command(sim, sizes):
    ts = TIME_SCALES["P4"] * sizes.speed
    counts = spread(sizes.command)
    targets = reset(sim, counts, ts, {"command": COMMAND, "delivery": DELIVERY})
    log("P4 command fan-out: %d instances, time scale %g" % (sizes.command, ts))
    args = dict(instance_ids=targets, command="echo benchmark", poll_interval=poll_option(CA_POLL, ts), wait_timeout=900)
    _result, wall, calls, rss = module_run(sim, "ecs_cloud_assistant_command", args,
                                           lambda r: r["summary"]["succeeded"] == sizes.command)
    ideal, minimum = command_model(counts, command_interval(DELIVERY + COMMAND))
    return scenario("P4", "P4 command fan-out, ecs_cloud_assistant_command", sizes.command, ts, wall, calls,
                    ideal, minimum, peak_rss_mib=round(rss, 1))


# --- P9 -------------------------------------------------------------------------------------
def inventory_minimum(counts):
    """Per region: DescribeInstances pages of 100 and DescribeCloudAssistantStatus calls of 50."""
    return dict(instance_pages=sum(pages(n, INSTANCE_PAGE) for n in counts.values()),
                agent_reads=sum(pages(n, AGENT_PAGE) for n in counts.values()))


def inventory_calls(counts):
    """The same minimum per (region, product, action), for the quota-bound ideal (the regions are read at once)."""
    calls = Counter()
    for region, count in counts.items():
        calls[(region, "ecs", "DescribeInstances")] += pages(count, INSTANCE_PAGE)
        calls[(region, "ecs", "DescribeCloudAssistantStatus")] += pages(count, AGENT_PAGE)
    return calls


def ansible_inventory(sim, path, *args):
    """Real seconds of one ``ansible-inventory -i path --list`` and its output."""
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list"] + list(args),
                          env=ansible_env(sim.env), capture_output=True, text=True, timeout=900, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise ScenarioError("ansible-inventory -i %s: %s" % (path.name, proc.stderr[-600:]))
    return time.monotonic() - started, proc.stdout


def p9_inventory(sim, sizes):
    """The ecs inventory plugin: a first read, then cached reads against a static YAML inventory of the same
    hosts and variables."""
    ts = TIME_SCALES["P9"] * sizes.speed
    counts = spread(sizes.inventory, INVENTORY_REGIONS)
    reset(sim, counts, ts, None, quotas=True)
    log("P9 inventory under quotas: %d instances in %d regions" % (sizes.inventory, len(counts)))
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.ecs.yml"
        config.write_text("plugin: alibabacloud.ecs_ops.ecs\nregions: [%s]\ncache: true\n"
                          "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 3600\n"
                          % (", ".join(counts), Path(tmp) / "cache"))
        (wall, listed), _wall, calls = measured(sim, lambda: ansible_inventory(sim, config, "--flush-cache"))
        hosts = json.loads(listed)["_meta"]["hostvars"]
        if len(hosts) != sizes.inventory:
            raise ScenarioError("P9: %d hosts for %d instances" % (len(hosts), sizes.inventory))
        cached, static = [], []
        static_yaml = Path(tmp) / "static.yml"   # the same hosts, variables and groups (JSON is YAML)
        groups = json.loads(listed)
        static_yaml.write_text(json.dumps({"all": {"hosts": {h: plain(v) for h, v in hosts.items()}, "children": {
            g: {"hosts": {h: None for h in body.get("hosts", [])}} for g, body in groups.items()
            if g not in ("_meta", "all") and body.get("hosts")}}}))
        for _run in range(sizes.inventory_runs):
            (seconds, _out), _w, cached_calls = measured(sim, lambda: ansible_inventory(sim, config))
            if cached_calls:
                raise ScenarioError("P9: the cached read made %d API calls" % len(cached_calls))
            cached.append(seconds)
            static.append(ansible_inventory(sim, static_yaml)[0])
    minimum = inventory_minimum(counts)
    ideal, bound = quota_ideal(0, inventory_calls(counts))
    return scenario("P9", "P9 inventory plugin under quotas, first read", sizes.inventory, ts, wall, calls, ideal,
                    minimum, quota_bound=bound, cached_read_s=round(statistics.median(cached), 2),
                    static_read_s=round(statistics.median(static), 2))


# --- P10 ------------------------------------------------------------------------------------
CONNECTION_PLAY = """
- name: Ten everyday tasks
  hosts: all
  gather_facts: false
  vars:
    base: "{{ bench_base | default('~/bench') }}"
  tasks:
    - {name: ping, ansible.builtin.ping: {}}
    - {name: a directory, ansible.builtin.file: {path: "{{ base }}", state: directory, mode: "0755"}}
    - {name: a command, ansible.builtin.command: {cmd: uname -a}, changed_when: false}
    - {name: a shell, ansible.builtin.shell: {cmd: "echo out; echo err >&2"}, changed_when: false}
    - {name: a file, ansible.builtin.copy: {content: "key = value\\n", dest: "{{ base }}/app.conf", mode: "0644"}}
    - {name: its state, ansible.builtin.stat: {path: "{{ base }}/app.conf"}}
    - {name: a line, ansible.builtin.lineinfile: {path: "{{ base }}/app.conf", line: "added = yes"}}
    - {name: read it, ansible.builtin.slurp: {src: "{{ base }}/app.conf"}}
    - {name: a link, ansible.builtin.file: {src: "{{ base }}/app.conf", dest: "{{ base }}/link", state: link}}
    - {name: tidy, ansible.builtin.file: {path: "{{ base }}", state: absent}}
"""
CONNECTION_TASKS = 10
DELIVERY_LATENCY = 0.2


def connection_run(sim, inventory, play):
    """(real seconds, calls, Base64 characters sent: command content and SendFile content) of one
    ansible-playbook run."""
    mark = sim.mark()
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(play), "-i", str(inventory), "-f", "50",
                           "-e", "ansible_python_interpreter=%s" % sys.executable],
                          env=ansible_env(sim.env), capture_output=True, text=True, timeout=1800, cwd=ROOT, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise ScenarioError("P10: ansible-playbook rc %s: %s" % (proc.returncode, proc.stdout[-800:]))
    calls = sim.calls(since=mark)
    sent = sum(len(c["params"].get("CommandContent" if c["action"] == "RunCommand" else "Content", ""))
               for c in calls if c["action"] in ("RunCommand", "SendFile"))
    return wall, calls, sent


def p10_connection(sim, sizes):
    """The same play over the cloud_assistant connection (first and second run) and over local."""
    hosts = sizes.connection_hosts
    body = fleet(["cn-hangzhou"], hosts, durations={"delivery": DELIVERY_LATENCY})
    body["run_scripts"] = True
    sim.reset(body, time_scale=TIME_SCALES["P10"])
    ids = instance_ids(sim, "cn-hangzhou")
    log("P10 connection plugin: %d tasks on %d hosts, %.1f s delivery" % (CONNECTION_TASKS, hosts, DELIVERY_LATENCY))
    with tempfile.TemporaryDirectory() as tmp:
        play = Path(tmp) / "play.yml"
        play.write_text(CONNECTION_PLAY)
        remote = Path(tmp) / "remote.yml"
        remote.write_text(json.dumps({"all": {"hosts": {"h%02d" % n: {
            "ansible_connection": "alibabacloud.ecs_ops.cloud_assistant", "ecs_instance_id": i,
            "ecs_region": "cn-hangzhou"} for n, i in enumerate(ids)}}}))
        local = Path(tmp) / "local.yml"
        local.write_text(json.dumps({"all": {"hosts": {"h%02d" % n: {
            "ansible_connection": "local", "bench_base": "%s/local/h%02d" % (tmp, n)} for n in range(hosts)}}}))
        first = connection_run(sim, remote, play)
        second = connection_run(sim, remote, play)
        local_wall = min(connection_run(sim, local, play)[0] for _run in range(2))
    host_tasks = hosts * CONNECTION_TASKS
    rows = []
    runs = (("P10a", "P10 connection plugin, first run", first), ("P10b", "P10 connection plugin, cached", second))
    for key, name, (wall, calls, sent) in runs:
        rows.append(scenario(key, name, hosts, TIME_SCALES["P10"], wall, calls, None, None,
                             calls_per_host_task=round(len(calls) / host_tasks, 2),
                             runs_per_host_task=round(sum(1 for c in calls if c["action"] == "RunCommand")
                                                      / host_tasks, 2),
                             sendfile_per_host_task=round(sum(1 for c in calls if c["action"] == "SendFile")
                                                          / host_tasks, 2),
                             kib_sent_per_host_task=round(sent / 1024.0 / host_tasks, 1),
                             wall_per_task_s=round(wall / CONNECTION_TASKS, 2), local_wall_s=round(local_wall, 2)))
    return rows


# --- P5 -------------------------------------------------------------------------------------
def p5_patch_round(sim, sizes):
    ts = TIME_SCALES["P5"] * sizes.speed
    counts = spread(sizes.patch)
    targets = reset(sim, counts, ts, {"patch_scan": SCAN, "patch_install": PATCH_INSTALL})
    rows = []
    for action, canary, duration in (("scan", False, SCAN), ("install", True, PATCH_INSTALL)):
        log("P5 patch %s%s: %d instances, time scale %g" % (action, " with canary" if canary else "", sizes.patch, ts))
        args = dict(action=action, instance_ids=targets, canary=canary, rate_control=dict(concurrency=CONCURRENCY),
                    max_concurrent_executions=PATCH_SLOTS, poll_interval=poll_option(OOS_POLL, ts))
        _result, wall, calls, rss = module_run(sim, "oos_patch_run", args, lambda r: sum(
            r["summary"][k] for k in ("succeeded", "unchanged")) == sizes.patch)
        ideal, minimum = patch_model(counts, PATCH_SLOTS, OOS_POLL * OOS_POLL_GROWTH, duration, canary)
        name = "P5 patch %s%s, oos_patch_run" % (action, " with canary" if canary else "")
        rows.append(scenario("P5" + action[0], name, sizes.patch, ts, wall, calls, ideal, minimum,
                             peak_rss_mib=round(rss, 1)))
    return rows


# --- P6-P8: under the API quotas -----------------------------------------------------------
def quota_row(key, name, instances, time_scale, wall, calls, work, minimum_calls, rss=None, result=None, reads=None):
    """A row judged against the quota-bound ideal, with the minimum calls per API."""
    ideal, bound = quota_ideal(work, minimum_calls, reads)
    summary = (result or {}).get("summary") or {}
    return scenario(key, name, instances, time_scale, wall, calls, ideal, by_action(minimum_calls),
                    peak_rss_mib=None if rss is None else round(rss, 1), quota_bound=bound,
                    failed=None if result is None else summary.get("failed", 0) + summary.get("cancelled", 0))


def p6_rollout(sim, sizes):
    """P6: the rollout to the whole fleet under the quotas, then the same task again (nothing left to do)."""
    ts = TIME_SCALES["P6"] * sizes.speed
    total = sizes.quota_fleet
    counts = spread(total, QUOTA_REGIONS)
    targets = reset(sim, counts, ts, {"install": INSTALL}, quotas=True)
    args = dict(name=EXTENSION, instance_ids=targets, rate_control=dict(concurrency=CONCURRENCY),
                max_concurrent_executions=QUOTA_SLOTS, poll_interval=poll_option(OOS_POLL, ts))
    log("P6 rollout under quotas: %d instances in %d regions, time scale %g" % (total, len(counts), ts))
    result, wall, calls, rss = module_run(sim, "oos_extension_install", args,
                                          lambda r: r["summary"]["succeeded"] == total)
    work, minimum = rollout_calls(counts, QUOTA_SLOTS, OOS_POLL * OOS_POLL_GROWTH)
    rows = [quota_row("P6", "P6 rollout under quotas, oos_extension_install", total, ts, wall, calls, work, minimum,
                      rss, result, reads=state_calls(counts))]
    log("P6 no-op re-run under quotas: %d converged instances" % total)
    result, wall, calls, rss = module_run(sim, "oos_extension_install", args,
                                          lambda r: not r["changed"] and r["summary"]["unchanged"] == total)
    rows.append(quota_row("P6r", "P6 no-op re-run under quotas", total, ts, wall, calls, 0.0, state_calls(counts),
                          rss, result))
    return rows


def p6_seed_workflow(sim, sizes):
    """P6(b): the seed workflow on one region's share of the fleet, extrapolated to every region (it runs one
    execution at a time, so the regions would simply follow each other)."""
    ts = TIME_SCALES["P6b"] * sizes.speed
    counts = spread(sizes.quota_fleet, QUOTA_REGIONS)
    region = QUOTA_REGIONS[0]
    ids = reset(sim, {region: counts[region]}, ts, {"install": INSTALL}, quotas=True)[region]
    log("P6(b) seed workflow under quotas: %d instances of %s, time scale %g" % (len(ids), region, ts))
    client = DirectClient(sim)

    def run():
        for start in range(0, len(ids), BATCH):
            run_one_execution(client, region, ids[start:start + BATCH], ts)

    _value, wall, calls = measured(sim, run)
    factor = sizes.quota_fleet / len(ids)
    actions = Counter({a: round(n * factor) for a, n in Counter(c["action"] for c in calls).items()})
    name = "P6(b) seed workflow under quotas, extrapolated from %s (%d instances, %.0f s real)" % (
        region, len(ids), wall)
    return row("P6b", name, sizes.quota_fleet, ts, None, wall / ts * factor, actions, peak_rate(calls),
               seed_ideal(counts), None, throttled=sum(1 for c in calls if c.get("throttled")),
               throttled_share=round(sum(1 for c in calls if c.get("throttled")) / max(1, len(calls)), 4))


class NaiveClient:
    """The Tea generic client per thread, without pacing: a throttled call is retried after ``NAIVE_RETRY``
    simulated seconds, again and again (a plain retry-on-Throttling loop)."""

    def __init__(self, sim, time_scale):
        self.sim, self.time_scale = sim, time_scale
        self.local = threading.local()

    def call(self, product, action, query):
        if not hasattr(self.local, "client"):
            self.local.client = DirectClient(self.sim)
        for _attempt in range(NAIVE_ATTEMPTS):
            try:
                return self.local.client.call(product, action, query)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                if "Throttling" not in str(getattr(exc, "code", "")):
                    raise
            time.sleep(NAIVE_RETRY * self.time_scale)
        raise ScenarioError("naive client: %s still throttled after %d attempts" % (action, NAIVE_ATTEMPTS))


def naive_rollout(client, pool, targets, time_scale):
    """What oos_extension_install does, the simple way: every read at once from the pool (the regions interleaved),
    then batches of 50 started up to QUOTA_SLOTS at a time, each polled by id every poll interval, then their
    children listed."""
    def submit(product, action, **query):
        return pool.submit(client.call, product, action, query)

    reads = [submit("oos", "ListTemplates", RegionId=next(iter(targets)), TemplateName=EXTENSION)]
    for region, ids in targets.items():
        reads.append(submit("oos", "GetTemplate", RegionId=region, TemplateName=EXTENSION))
        reads += [submit("ecs", "DescribeInstances", RegionId=region, InstanceIds=json.dumps(ids[n:n + INSTANCE_PAGE]),
                         MaxResults=INSTANCE_PAGE) for n in range(0, len(ids), INSTANCE_PAGE)]
        reads += [submit("ecs", "DescribeCloudAssistantStatus", RegionId=region, InstanceId=ids[n:n + AGENT_PAGE])
                  for n in range(0, len(ids), AGENT_PAGE)]
    # The regions' reads interleaved, as the module reads its regions at once: each region's quota is busy.
    queues = [[(region, i) for i in ids] for region, ids in targets.items()]
    interleaved = [pair for row in itertools.zip_longest(*queues) for pair in row if pair]
    states = {(region, i): submit("oos", "ListInstancePackageStates", RegionId=region, InstanceId=i,
                                  TemplateNames=json.dumps([EXTENSION])) for region, i in interleaved}
    for future in reads:
        future.result()
    queue = []
    for region, ids in targets.items():
        todo = [i for i in ids if not states[(region, i)].result().get("PackageStates")]
        queue += [(region, todo[n:n + BATCH]) for n in range(0, len(todo), BATCH)]
    running, finished = {}, []
    while queue or running:
        chosen, queue = queue[:QUOTA_SLOTS - len(running)], queue[QUOTA_SLOTS - len(running):]
        starts = [(region, pool.submit(client.call, "oos", "StartExecution", start_query(region, ids)))
                  for region, ids in chosen]
        running.update((future.result()["Execution"]["ExecutionId"], region) for region, future in starts)
        time.sleep(OOS_POLL * time_scale)
        polled = [(execution_id, region, submit("oos", "ListExecutions", RegionId=region, ExecutionId=execution_id))
                  for execution_id, region in running.items()]
        for execution_id, region, future in polled:
            status = future.result()["Executions"][0]["Status"]
            if status in TERMINAL:
                if status != "Success":
                    raise ScenarioError("naive client: execution %s ended %s" % (execution_id, status))
                finished.append((execution_id, running.pop(execution_id)))
    for future in [submit("oos", "ListExecutions", RegionId=region, ParentExecutionId=execution_id, MaxResults=100)
                   for execution_id, region in finished]:
        future.result()


def p6_naive_client(sim, sizes):
    """P6(n): the same reads and starts as P6 from a pool of threads, without pacing, under the same quotas."""
    ts = TIME_SCALES["P6n"] * sizes.speed
    counts = spread(sizes.quota_fleet, QUOTA_REGIONS)
    targets = reset(sim, counts, ts, {"install": INSTALL}, quotas=True)
    log("P6(n) naive client under quotas: %d instances, %d threads, time scale %g" % (
        sizes.quota_fleet, NAIVE_THREADS, ts))
    client = NaiveClient(sim, ts)

    def run():
        with ThreadPoolExecutor(max_workers=NAIVE_THREADS) as pool:
            naive_rollout(client, pool, targets, ts)

    _value, wall, calls = measured(sim, run)
    work, minimum = rollout_calls(counts, QUOTA_SLOTS, OOS_POLL * OOS_POLL_GROWTH)
    return quota_row("P6n", "P6(n) naive client under quotas: %d threads, no pacing, retry on throttling"
                     % NAIVE_THREADS, sizes.quota_fleet, ts, wall, calls, work, minimum, reads=state_calls(counts))


def p7_command(sim, sizes):
    """P7: one Cloud Assistant command on the whole fleet under the quotas."""
    ts = TIME_SCALES["P7"] * sizes.speed
    total = sizes.quota_fleet
    counts = spread(total, QUOTA_REGIONS)
    targets = reset(sim, counts, ts, {"command": COMMAND, "delivery": DELIVERY}, quotas=True)
    log("P7 command under quotas: %d instances in %d regions, time scale %g" % (total, len(counts), ts))
    args = dict(instance_ids=targets, command="echo benchmark", poll_interval=poll_option(CA_POLL, ts), wait_timeout=900)
    result, wall, calls, rss = module_run(sim, "ecs_cloud_assistant_command", args,
                                          lambda r: r["summary"]["succeeded"] == total)
    work, minimum = command_calls(counts, command_interval(DELIVERY + COMMAND))
    return quota_row("P7", "P7 command under quotas, ecs_cloud_assistant_command", total, ts, wall, calls, work,
                     minimum, rss, result)


def p8_patch_round(sim, sizes):
    """P8: a patch scan, then an install with a canary, on the patch fleet under the quotas."""
    total = sizes.quota_patch
    counts = spread(total, QUOTA_REGIONS)
    targets = reset(sim, counts, TIME_SCALES["P8s"] * sizes.speed, {"patch_scan": SCAN, "patch_install": PATCH_INSTALL},
                    quotas=True)
    rows = []
    for action, canary, duration in (("scan", False, SCAN), ("install", True, PATCH_INSTALL)):
        ts = TIME_SCALES["P8" + action[0]] * sizes.speed
        sim.admin("clock", {"time_scale": ts})      # the same fleet: the install follows its scan
        log("P8 patch %s under quotas: %d instances, time scale %g" % (action, total, ts))
        args = dict(action=action, instance_ids=targets, canary=canary, rate_control=dict(concurrency=CONCURRENCY),
                    max_concurrent_executions=PATCH_SLOTS, poll_interval=poll_option(OOS_POLL, ts))
        result, wall, calls, rss = module_run(sim, "oos_patch_run", args, lambda r: sum(
            r["summary"][k] for k in ("succeeded", "unchanged")) == total)
        work, minimum = patch_calls(counts, PATCH_SLOTS, OOS_POLL * OOS_POLL_GROWTH, duration, canary)
        name = "P8 patch %s%s under quotas, oos_patch_run" % (action, " with canary" if canary else "")
        rows.append(quota_row("P8" + action[0], name, total, ts, wall, calls, work, minimum, rss, result))
    return rows


# --- targets and reports --------------------------------------------------------------------
def target(name, value, limit, shown, limit_shown, at_least=False):
    """One target: PASS or MISS against ``limit``, or information only when ``limit`` is None."""
    passed = None if limit is None else value >= limit if at_least else value <= limit
    return dict(target=name, value=round(value, 3), limit=limit, passed=passed, measured=shown,
                limit_shown=limit_shown)


def ratio_target(name, value, base, limit):
    return target(name, value / base, limit, "%.2f× (%s / %s)" % (value / base, fmt(value), fmt(base)),
                  "no target" if limit is None else "≤ %g×" % limit)


def targets(rows, simulator):
    """The issue's targets for the scenarios that ran, and the check that the simulator did not set the pace."""
    found = []
    p1 = rows.get("P1")
    if p1:
        found.append(ratio_target("P1 wall vs ideal (simulated s)", p1["wall_sim_s"], p1["ideal_sim_s"], 1.2))
        found.append(ratio_target("P1 API calls vs minimum", p1["calls"], p1["minimum_calls"], 1.2))
        for key, label, limit in (("P1b", "the seed workflow (b)", 10), ("P1c", "the per-instance loop (c)", None)):
            if key in rows:
                speedup = rows[key]["wall_sim_s"] / p1["wall_sim_s"]
                found.append(target("P1 faster than %s" % label, speedup, limit, "%.1f×" % speedup,
                                    "≥ %d×" % limit if limit else "no target", at_least=True))
    for task in (rows.get("P2") or {}).get("tasks", []):
        if task["peak_rss_mib"] is not None:
            short = task["task"].rsplit(".", 1)[1]
            found.append(target("P2 %s: time vs ping" % short, task["ratio_to_ping"], 1.3,
                                "%.2f×" % task["ratio_to_ping"], "≤ 1.3×"))
            found.append(target("P2 %s: peak RSS" % short, task["peak_rss_mib"], 100,
                                "%.1f MiB" % task["peak_rss_mib"], "≤ 100 MiB"))
    p3 = rows.get("P3")
    if p3:
        starts = p3["calls_by_action"].get("StartExecution", 0)
        found.append(target("P3 StartExecution calls", starts, 0, str(starts), "0"))
        found.append(target("P3 wall (real s)", p3["wall_real_s"], 10, "%.1f s" % p3["wall_real_s"], "≤ 10 s"))
    p9 = rows.get("P9")
    if p9:
        found.append(ratio_target("P9 API calls vs minimum", p9["calls"], p9["minimum_calls"], 1.1))
        share = p9["cached_read_s"] / p9["static_read_s"]
        found.append(target("P9 cached read vs a static YAML inventory", share, 1.5, "%.2f× (%.2f s / %.2f s)" % (
            share, p9["cached_read_s"], p9["static_read_s"]), "≤ 1.5×"))
    p10 = rows.get("P10b")
    if p10:
        found.append(target("P10 API calls per host-task, module cached", p10["calls_per_host_task"], 3,
                            "%.2f" % p10["calls_per_host_task"], "≤ 3"))
        share = p10["wall_real_s"] / p10["local_wall_s"]
        found.append(target("P10 wall vs the same play over local, module cached", share, 2.5,
                            "%.2f× (%.1f s / %.1f s)" % (share, p10["wall_real_s"], p10["local_wall_s"]), "≤ 2.5×"))
    if rows.get("P10a"):
        first = rows["P10a"]
        shown = "%.2f (%.1f KiB sent per host-task)" % (first["calls_per_host_task"], first["kib_sent_per_host_task"])
        found.append(target("P10 API calls per host-task, first run (uploads)", first["calls_per_host_task"], None,
                            shown, "no target"))
    found.extend(quota_targets(rows))
    capacity = max(r["requests_per_s"] for r in simulator["rows"])
    for r in rows.values():
        if r.get("calls_per_second") and r.get("ideal_sim_s"):
            # Seconds in which the scenario asked the simulator for more than half of what it can serve: there
            # the simulator may have set the pace. They must be a small part of a wall judged against an ideal.
            bound = sum(1 for n in r["calls_per_second"] if n > capacity / 2)
            share = bound / max(r["wall_real_s"], 1.0)
            found.append(target("Simulator-bound share of the %s wall" % r["key"], share, 0.1,
                                "%.0f%% (%d of %.0f s)" % (100 * share, bound, r["wall_real_s"]), "≤ 10%"))
    return found


QUOTA_KEYS = ("P6", "P6r", "P7", "P8s", "P8i")


def quota_targets(rows):
    """P6-P8: wall vs the quota-bound ideal, throttled share, calls vs the minimum, failed instances, peak RSS;
    P6 against the seed workflow and the naive client."""
    found = []
    for key in (k for k in QUOTA_KEYS if k in rows):
        r = rows[key]
        found.append(ratio_target("%s wall vs the quota-bound ideal (simulated s)" % key, r["wall_sim_s"],
                                  r["ideal_sim_s"], 1.15))
        found.append(target("%s throttled calls" % key, r["throttled_share"], 0.05, "%.1f%% (%d of %s)" % (
            100 * r["throttled_share"], r["throttled"], fmt(r["calls"])), "≤ 5%"))
        found.append(ratio_target("%s API calls vs minimum" % key, r["calls"], r["minimum_calls"], 1.1))
        found.append(target("%s failed instances" % key, r["failed"], 0, str(r["failed"]), "0"))
        found.append(target("%s module peak RSS" % key, r["peak_rss_mib"], 150, "%.1f MiB" % r["peak_rss_mib"],
                            "≤ 150 MiB"))
    p6 = rows.get("P6")
    for key, label, limit in (("P6b", "the seed workflow (b)", 20), ("P6n", "the naive client (n)", 2)):
        if p6 and key in rows:
            speedup = rows[key]["wall_sim_s"] / p6["wall_sim_s"]
            found.append(target("P6 faster than %s" % label, speedup, limit, "%.1f×" % speedup, "≥ %d×" % limit,
                                at_least=True))
    if p6 and p6["quota_bound"].get("read_then_act_s"):
        found.append(ratio_target("P6 wall vs reading everything, then acting (info)", p6["wall_sim_s"],
                                  p6["quota_bound"]["read_then_act_s"], None))
    if "P6n" in rows:
        naive = rows["P6n"]
        found.append(target("P6(n) naive client: throttled calls", naive["throttled_share"], None, "%.1f%% (%d of %s)"
                            % (100 * naive["throttled_share"], naive["throttled"], fmt(naive["calls"])), "no target"))
    return found


def fmt(value, digits=0):
    if value is None:
        return "—"
    if isinstance(value, float) and digits:
        return "{:,.{}f}".format(value, digits)
    return "{:,}".format(int(round(value)))


def ratio(value, base):
    return "—" if value is None or not base else "%.2f×" % (value / base)


def verdict(passed):
    return "info" if passed is None else "PASS" if passed else "**MISS**"


def scenario_table(rows):
    lines = ["| Scenario | Instances | Time scale | Wall, real s | Wall, simulated s | Ideal, simulated s | "
             "Wall / ideal | API calls | Minimum calls | Calls / minimum | Throttled | Busiest second, calls | "
             "Module peak RSS, MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        throttled = r.get("throttled_share")
        lines.append("| %s | %s | %g | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["name"], fmt(r["instances"]), r["time_scale"], fmt(r["wall_real_s"], 1), fmt(r["wall_sim_s"], 1),
            fmt(r["ideal_sim_s"]), ratio(r["wall_sim_s"], r["ideal_sim_s"]), fmt(r["calls"]),
            fmt(r["minimum_calls"]), ratio(r["calls"], r["minimum_calls"]),
            "—" if throttled is None else "%.1f%%" % (100 * throttled), fmt(r["rate_peak"]),
            fmt(r.get("peak_rss_mib"), 1)))
    return lines


def quota_table(rows):
    lines = ["| Scenario | Work ideal, s | Busiest API at its quota (region) | Its minimum calls | Quota | "
             "Calls / quota, s | Quota-bound ideal, s | Wall / ideal | Reads, then work, s | Wall / that |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b = r["quota_bound"]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["key"], fmt(b["work_s"]), b["api"] or "—", fmt(b["api_calls"]), b["api_quota"] or "—", fmt(b["api_s"]),
            fmt(r["ideal_sim_s"]), ratio(r["wall_sim_s"], r["ideal_sim_s"]), fmt(b["read_then_act_s"]),
            ratio(r["wall_sim_s"], b["read_then_act_s"])))
    return lines


def calls_table(rows):
    lines = ["| Scenario | API calls by action | Minimum by kind (P6-P8: by API) |", "|---|---|---|"]
    for r in rows:
        actions = " · ".join("%s %s" % (a, fmt(n)) for a, n in r["calls_by_action"].items())
        minimum = " · ".join("%s %s" % (k.replace("_", " "), fmt(n)) for k, n in (r["minimum"] or {}).items())
        lines.append("| %s | %s | %s |" % (r["key"], actions, minimum or "—"))
    return lines


def task_table(p2):
    lines = ["| Task (`ansible localhost -m`) | Median, s | Runs, s | Median / ping | Peak RSS of the module, MiB |",
             "|---|---:|---|---:|---:|"]
    for t in p2["tasks"]:
        lines.append("| `%s` | %.2f | %s | %.2f× | %s |" % (t["task"], t["median_s"], ", ".join(
            "%.2f" % x for x in t["runs"]), t["ratio_to_ping"], fmt(t["peak_rss_mib"], 1)))
    return lines


def report(results):
    rows = [r for r in results["scenarios"] if "tasks" not in r]
    p2 = next((r for r in results["scenarios"] if "tasks" in r), None)
    options = " ".join(["--quick"] * results["quick"] + ["--only " + ",".join(results["selected"])] * results["partial"])
    out = ["_Generated by `python tools/bench.py%s` on %s in %.0f s._" % (
        options and " " + options, results["generated"], results["duration_s"]), ""]
    if results["quick"]:
        out += ["_A quick run: small fleets and fast clocks test the harness; its figures say little about the "
                "collection._", ""]
    if rows:
        out += ["### Scenarios", ""] + scenario_table(rows) + ["", "### API calls", ""] + calls_table(rows) + [""]
    bound = [r for r in rows if r.get("quota_bound")]
    if bound:
        out += ["### The quota-bound ideal (P6-P9)", ""] + quota_table(bound) + [""]
    if p2:
        out += ["### P2 per-task cost", ""] + task_table(p2) + [""]
    out += ["### Targets", "", "| Target | Measured | Limit | Result |", "|---|---|---|---|"]
    out += ["| %s | %s | %s | %s |" % (c["target"], c["measured"], c["limit_shown"], verdict(c["passed"]))
            for c in results["targets"]]
    sim = results["simulator"]
    out += ["", "### Simulator throughput", "", "| Client threads | %s requests/s |" % sim["action"], "|---:|---:|"]
    out += ["| %d | %s |" % (r["threads"], fmt(r["requests_per_s"])) for r in sim["rows"]]
    machine = results["machine"]
    out += ["", "### Machine", ""] + ["- %s: %s" % (k.replace("_", " "), v) for k, v in machine.items()]
    if results["errors"]:
        out += ["", "### Errors", ""] + ["- %s: %s" % (e["scenario"], e["error"]) for e in results["errors"]]
    return "\n".join(out) + "\n"


def machine():
    def first(path, prefix):
        try:
            return next(line.split(":", 1)[1].strip() for line in Path(path).read_text().splitlines()
                        if line.startswith(prefix))
        except (OSError, StopIteration):
            return "unknown"

    from importlib.metadata import version

    memory = first("/proc/meminfo", "MemTotal")
    return dict(cpu=first("/proc/cpuinfo", "model name"), cores=os.cpu_count(),
                memory="%.1f GiB" % (int(memory.split()[0]) / 1024 ** 2) if memory != "unknown" else memory,
                os=platform.platform(), python=platform.python_version(), ansible_core=version("ansible-core"),
                tea_openapi=version("alibabacloud-tea-openapi"))


def update_doc(text):
    doc = DOC.read_text()
    if DOC_BEGIN not in doc or DOC_END not in doc:
        raise SystemExit("%s has no %s ... %s markers" % (DOC, DOC_BEGIN, DOC_END))
    head, rest = doc.split(DOC_BEGIN, 1)
    DOC.write_text(head + DOC_BEGIN + "\n" + text + rest[rest.index(DOC_END):])


# --- main -----------------------------------------------------------------------------------
RUNNERS = {"P1": (p1_rollout, p1_seed_workflow, p1_instance_loop), "P2": (p2_task_cost,), "P3": (p3_noop,),
           "P4": (p4_command,), "P5": (p5_patch_round,), "P6": (p6_rollout, p6_seed_workflow, p6_naive_client),
           "P7": (p7_command,), "P8": (p8_patch_round,),
           "P9": (p9_inventory,), "P10": (p10_connection,)}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", help="comma-separated scenarios to run, e.g. P1,P3 (default: all)")
    parser.add_argument("--quick", action="store_true", help="small fleets and fast clocks: a smoke test")
    args = parser.parse_args(argv)
    selected = [s.strip().upper() for s in args.only.split(",")] if args.only else list(SCENARIOS)
    unknown = [s for s in selected if s not in SCENARIOS]
    if unknown:
        parser.error("unknown scenario(s) %s; choose from %s" % (", ".join(unknown), ", ".join(SCENARIOS)))
    return selected, args.quick


def run_all(selected, sizes):
    """Every selected scenario on one simulator process; (simulator throughput, rows, errors)."""
    rows, errors = [], []
    with start_sim(time_scale=1.0) as sim:
        throughput = simulator_throughput(sim, sizes)
        # P2 measures tenths of a second per task: it goes first, before the large scenarios leave the
        # machine busy for a while (the first tasks after them run up to 40% slower).
        for key in sorted(selected, key=lambda k: k != "P2"):
            for runner in RUNNERS[key]:
                started = time.monotonic()
                try:
                    produced = runner(sim, sizes)
                except Exception as exc:  # pylint: disable=broad-exception-caught
                    if not isinstance(exc, ScenarioError):
                        traceback.print_exc()
                    errors.append(dict(scenario=runner.__name__, error=" ".join(str(exc).split())[-600:]))
                    log("%s FAILED after %.0f s: %s" % (runner.__name__, time.monotonic() - started, exc))
                    continue
                rows.extend(produced if isinstance(produced, list) else [produced])
                log("%s done in %.0f s" % (runner.__name__, time.monotonic() - started))
    return throughput, rows, errors


def main(argv=None):
    selected, quick = parse_args(argv)
    sizes = QUICK if quick else Sizes()
    started = time.monotonic()
    throughput, rows, errors = run_all(selected, sizes)
    by_key = {r["key"]: r for r in rows}
    results = dict(generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), quick=quick,
                   selected=selected, partial=selected != list(SCENARIOS), duration_s=round(time.monotonic() - started),
                   sizes=asdict(sizes), machine=machine(), simulator=throughput, scenarios=rows, errors=errors,
                   targets=targets(by_key, throughput))
    text = report(results)
    print(text)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    if quick or results["partial"] or errors:
        log("results in %s (docs/performance.md is updated by full runs without errors only)" % RESULTS.name)
    else:
        update_doc(text)
        log("results in %s and docs/performance.md" % RESULTS.name)
    missed = [c["target"] for c in results["targets"] if c["passed"] is False]
    if missed:
        log("MISSED %d target(s): %s" % (len(missed), "; ".join(missed)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
