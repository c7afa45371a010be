# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: progress lines a long-running module writes while it waits.

A module cannot talk to Ansible before it ends. When the collection's action plugin runs the module
on the controller (a ``local`` connection, where the cloud modules run), it sets
``ECS_OPS_PROGRESS_FILE`` to a file it reads while the module runs and shows each new line at the
default verbosity. Without that variable nothing is written. Lines hold counts, execution ids and
retried calls, never parameter values.
"""

from __future__ import annotations

import os
import time

ENV = "ECS_OPS_PROGRESS_FILE"
REPEAT_AFTER = 60.0     # an unchanged line is written again after this many seconds, so silence means no news


class Progress:
    def __init__(self, environ=None, clock=time.monotonic):
        self.path = (os.environ if environ is None else environ).get(ENV) or None
        self.clock = clock
        self._last = None
        self._when = 0.0

    def say(self, text, every=None):
        """Write one line; with ``every`` (seconds), skip it if it equals the last one written less than
        ``every`` seconds ago."""
        if not self.path:
            return
        now = self.clock()
        if every is not None and text == self._last and now - self._when < every:
            return
        self._last, self._when = text, now
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(" ".join(str(text).split()) + "\n")
        except OSError:
            self.path = None   # the reader went away: progress is a courtesy, never a failure
