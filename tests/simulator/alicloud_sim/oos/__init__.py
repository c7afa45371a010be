"""OOS 2019-06-01 actions."""

from . import executions, packages, patch_states, patching, regions, task_executions, templates  # noqa: F401
