"""Simulated time: durations shrink by ``time_scale`` so tests and benchmarks run fast."""

import threading
import time
from datetime import datetime, timezone


class SimClock:
    """Simulated epoch seconds.

    ``time_scale`` is the number of real seconds per simulated second: with ``0.01`` a
    60 s install takes 0.6 s of real time. ``advance()`` jumps the clock forward (admin API).
    """

    def __init__(self, time_scale=1.0, start=None):
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()
        self._real0 = time.monotonic()
        self._sim0 = float(start if start is not None else time.time())
        self._offset = 0.0

    def now(self):
        with self._lock:
            return self._sim0 + (time.monotonic() - self._real0) / self.time_scale + self._offset

    def advance(self, seconds):
        with self._lock:
            self._offset += float(seconds)

    def set_time_scale(self, time_scale):
        """Change the speed from now on; simulated time stays continuous."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        with self._lock:
            real = time.monotonic()
            self._sim0 = self._sim0 + (real - self._real0) / self.time_scale
            self._real0 = real
            self.time_scale = float(time_scale)

    def real_seconds(self, sim_seconds):
        return sim_seconds * self.time_scale


def iso(ts, minutes=False, zulu=True):
    """ISO-8601 UTC as Alibaba formats it; ``None`` gives ``""``."""
    if ts is None:
        return ""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    if minutes:
        return dt.strftime("%Y-%m-%dT%H:%MZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ" if zulu else "%Y-%m-%dT%H:%M:%S")


def parse_iso(text):
    """Parse the ISO forms the APIs accept (with or without seconds / Z)."""
    text = text.strip().rstrip("Z")
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    raise ValueError(f"not an ISO-8601 time: {text!r}")
