"""A local Alibaba Cloud OOS + ECS (Cloud Assistant) API simulator that the real Tea SDKs accept."""

__version__ = "0.1.0"
