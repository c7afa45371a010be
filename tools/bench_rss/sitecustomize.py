"""Loaded by the benchmark's module runs only (tools/bench.py puts this folder on PYTHONPATH): at exit, the process
writes its own peak RSS in KiB (``VmHWM`` of /proc/self/status: the peak of the memory map that exec started
afresh) to the file named by ``BENCH_RSS_FILE``."""

import atexit
import os


def _write_peak():
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["BENCH_RSS_FILE"], "w", encoding="ascii") as out:
        out.write(peak)


if os.environ.get("BENCH_RSS_FILE"):
    atexit.register(_write_peak)
