# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs ``alibabacloud.ecs_ops.oos_patch_rollback`` and shows its progress while it runs (plugin_utils/_progress_action)."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils._progress_action import ProgressAction


class ActionModule(ProgressAction):
    pass
