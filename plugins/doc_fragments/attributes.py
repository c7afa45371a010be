# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return the changes it would make, without making any.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode) when in diff mode.
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details: This module only reads, so check mode changes nothing about how it runs.
  diff_mode:
    support: N/A
    details: This module does not change anything.
"""
