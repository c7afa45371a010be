"""Records of Cloud Assistant commands, invocations and their per-instance runs."""

from dataclasses import dataclass, field

from .runner import RunResult

TERMINAL = {"Success", "Failed", "Timeout", "Error", "Aborted", "Invalid", "Cancelled", "Terminated"}
FAILURE = {"Invalid", "Aborted", "Failed", "Timeout", "Error"}
STOPPED = {"Cancelled", "Terminated"}


@dataclass
class Command:
    id: str
    region: str                 # None for public commands (every region)
    name: str
    type: str
    content: str                # Base64
    description: str = ""
    working_dir: str = ""
    timeout: int = 60
    enable_parameter: bool = False
    parameter_names: list = field(default_factory=list)
    creation_time: float = 0.0
    provider: str = ""
    category: str = ""
    launcher: str = ""
    tags: dict = field(default_factory=dict)
    invoke_times: int = 0
    keep: bool = True
    version: int = 1
    latest: bool = True


@dataclass
class Item:
    """One instance of an invocation."""
    instance_id: str
    created: float
    due: float                  # when the next step (delivery, scheduled run) is due
    status: str = "Pending"
    start_time: float = None
    finish_time: float = None
    stop_time: float = None
    update_time: float = None
    exit_code: int = 0
    output: bytes = b""
    dropped: int = 0
    error_code: str = ""
    error_info: str = ""
    repeats: int = 0
    history: list = field(default_factory=list)
    run_start: float = None     # simulated start of the current run, once launched
    handle: object = None       # RunHandle of a real run
    sim_result: RunResult = None
    sim_finish: float = None
    stop_due: float = None
    was_running: bool = False


@dataclass
class Invocation:
    id: str
    region: str
    command: Command            # the command as it was when invoked
    parameters: dict
    schedule: object            # command_input.Schedule
    timeout: int
    working_dir: str
    username: str
    creation_time: float
    tags: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)   # ContainerId, ContainerName, Launcher, TerminationMode, ...
    items: dict = field(default_factory=dict)
    stopped: bool = False


def overall_status(inv):
    """The invocation's InvocationStatus, derived from its instances (alibaba-api.md 3.3)."""
    statuses = {item.status for item in inv.items.values()}
    for status in ("Stopping", "Running", "Pending", "Scheduled"):
        if status in statuses:
            return status
    if statuses <= STOPPED:
        return "Stopped"
    if statuses <= STOPPED | {"Success"}:
        return "Success"
    if statuses <= STOPPED | FAILURE:
        return "Failed"
    return "PartialFailed"
