# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: one deadline for the calls of a plugin (inventory, connection)."""

from __future__ import annotations


class Bounded:
    """An API client (``ApiClient``) whose every call ends by ``deadline`` (a ``time.monotonic`` instant): its retries
    stop there and an attempt under way is cut to the time left, so that helpers which take no deadline (the
    shared readers of ``_fleet`` and ``_paging``) still end by it. The inventory plugin bounds its whole read so,
    the connection plugin each step of a task."""

    def __init__(self, api, deadline):
        self.api, self.deadline = api, deadline

    def call(self, action, params=None, deadline=None, attempts=None):
        limit = self.deadline if deadline is None else min(deadline, self.deadline)
        return self.api.call(action, params, deadline=limit, attempts=attempts)
