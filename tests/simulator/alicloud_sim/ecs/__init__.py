"""ECS 2014-05-26 actions."""

from . import agent, cloud_assistant, instances, regions, snapshots  # noqa: F401  pylint: disable=unused-import
