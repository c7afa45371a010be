# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the action plugin of the long-running modules, which shows their progress
while they run.

An Ansible module reports only when it ends. The cloud modules run on the controller (a ``local``
connection), so this action plugin runs the module in a thread and, meanwhile, reads the progress lines
the module writes to a file named in ``ECS_OPS_PROGRESS_FILE`` (``module_utils/_progress``) and shows each
one at the default verbosity. AWX and ansible-runner record them as the job's output while the task runs.
With any other connection, or an ``async`` task, the module runs as it would without this plugin.
"""

from __future__ import annotations

import os
import tempfile
import threading

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

ENV = "ECS_OPS_PROGRESS_FILE"
POLL = 1.0

display = Display()


class ProgressAction(ActionBase):
    """``ActionModule`` of a module that writes progress lines."""

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        wrap_async = self._task.async_val and not self._connection.has_native_async
        if wrap_async or self._connection.transport not in ("local", "ansible.builtin.local"):
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        else:
            result = merge_hash(result, self._execute_with_progress(task_vars))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result

    def _execute_with_progress(self, task_vars):
        fd, path = tempfile.mkstemp(prefix="ecs-ops-progress-", suffix=".log")
        os.close(fd)
        outcome = {}

        def execute():
            try:
                outcome["result"] = self._execute_module(task_vars=task_vars)
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                outcome["error"] = exc

        previous = os.environ.get(ENV)
        os.environ[ENV] = path   # the module process (local connection) inherits this worker's environment
        worker = threading.Thread(target=execute, name="ecs-ops-module", daemon=True)
        try:
            worker.start()
            with open(path, encoding="utf-8") as lines:
                while worker.is_alive():
                    worker.join(POLL)
                    self._show(lines)
                self._show(lines)
        finally:
            if previous is None:
                os.environ.pop(ENV, None)
            else:
                os.environ[ENV] = previous
            os.unlink(path)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def _show(self, lines):
        for line in lines.read().splitlines():
            if line.strip():
                display.display("%s | %s" % (self._task.get_name(), line.strip()))
