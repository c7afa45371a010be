# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the collection version (kept equal to galaxy.yml by a unit test)."""

from __future__ import annotations

COLLECTION_NAME = "alibabacloud.ecs_ops"
COLLECTION_VERSION = "0.1.0"
USER_AGENT = "ansible-collection/%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION)
