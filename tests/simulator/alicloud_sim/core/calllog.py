"""The log of every API call the server answered (``GET /_sim/calls``)."""

import itertools
import json
import sys
import threading


class CallLog:
    """Appends entries to ``sim.calls`` under its own small lock (never the state lock).

    ``seq`` keeps increasing across resets, so ``since=<seq>`` stays meaningful.
    """

    def __init__(self, sim, echo=False):
        self.sim = sim
        self.echo = echo
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def append(self, entry):
        with self._lock:
            entry["seq"] = next(self._seq)
            self.sim.calls.append(entry)
        if self.echo:
            print(json.dumps({k: entry[k] for k in ("seq", "product", "action", "region", "http_status",
                                                    "error_code", "duration_ms")}),
                  file=sys.stderr, flush=True)
        return entry

    def query(self, product=None, action=None, since=None, throttled=None):
        """Entries matching every filter given, oldest first (``throttled``: True/False or None for all)."""
        with self._lock:
            calls = list(self.sim.calls)
        return [c for c in calls
                if (product is None or c["product"] == product)
                and (action is None or c["action"] == action)
                and (since is None or c["seq"] > since)
                and (throttled is None or bool(c.get("throttled")) == throttled)]
