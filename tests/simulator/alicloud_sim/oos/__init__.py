"""OOS 2019-06-01 actions."""

from . import (executions, packages, patch_states, patching, regions, secret_parameters,  # noqa: F401
               task_executions, templates)
