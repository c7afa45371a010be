# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: what one Ansible run learned about an instance, shared by the worker processes
of the ``cloud_assistant`` connection plugin, and when to read a command's result.

Ansible forks a worker per task and host, so a connection object lives for one task. What the next task of the
same run can use — what ``~`` expands to, which module code the instance has cached, how long its commands
take, whether ``SendFile`` works — is kept in a small JSON file per instance and user in Ansible's local
temporary directory of the run (``DEFAULT_LOCAL_TMP``, removed when the run ends). Nothing in it is secret, and
it is never trusted for correctness: a wrong entry costs a round trip (a cached module that is gone answers
``ECSOPS-MISS``; a home directory is reported again by every task).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

SAMPLES = 40                # recent command durations kept per region (every instance of the run adds to them)
QUANTILE = 0.8              # the first read comes when this share of recent commands had ended
FIRST_READ_DEFAULT = 1.5    # seconds before the first read of a result, before anything is known
FIRST_READ_MAX = 8.0
EARLY = 0.9                 # a command found done at the first read: its sample is this much earlier
AFTER_MISS = 0.4            # then the next read comes after this share of the first read's delay, growing


class HostState:
    """The run's shared notes on one instance and run-as user (a dict; ``update`` merges and writes atomically)."""

    def __init__(self, directory, instance_id, user):
        self.path = None
        if directory:
            key = hashlib.sha256(("%s\0%s" % (instance_id, user or "")).encode("utf-8")).hexdigest()[:16]
            self.path = os.path.join(directory, "%s-%s.json" % (instance_id, key))

    def load(self):
        if not self.path:
            return {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                value = json.load(handle)
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def update(self, **changes):
        """Merge ``changes`` into the notes; a note that cannot be written is only lost (it is an optimisation)."""
        if not self.path:
            return
        value = self.load()
        value.update(changes)
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".state-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(value, handle)
            os.replace(temporary, self.path)
        except OSError:
            pass


def first_read(samples, floor):
    """Seconds after RunCommand before the first read of its result: when 80% of the run's recent commands in the
    region had ended, at least ``floor`` (the poll interval) and at most FIRST_READ_MAX."""
    recent = sorted(samples[-SAMPLES:])
    expected = recent[min(len(recent) - 1, int(QUANTILE * len(recent)))] if recent else FIRST_READ_DEFAULT
    return min(FIRST_READ_MAX, max(floor, expected))


def add_sample(samples, first, done_after, reads):
    """``samples`` with the duration of one more command: found done at the first read (after ``first`` seconds),
    it may have ended earlier, so the sample is a little less than that (the first read drifts earlier while it
    keeps finding commands done); found done later, the time it was seen done."""
    sample = first * EARLY if reads == 1 else done_after
    return (list(samples) + [round(sample, 3)])[-SAMPLES:]
