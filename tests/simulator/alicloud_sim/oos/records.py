"""Records of executions, task executions, loop items and the phases items run through."""

import uuid
from dataclasses import dataclass, field


def new_execution_id():
    return "exec-" + uuid.uuid4().hex[:20]


@dataclass
class Phase:
    name: str                    # task name in the child execution
    action: str                  # task action, e.g. ACS::ECS::RunCommand
    seconds: float
    fail: str = ""               # non-empty: the phase fails with this message when it ends
    risky: bool = False          # high-risk action (needs confirmation unless SafetyCheck=Skip)
    on_start: object = None      # fn(t)
    on_end: object = None        # fn(t, failed)
    on_cancel: object = None     # fn(t)
    outputs: dict = field(default_factory=dict)


@dataclass
class Task:
    """One task execution (ListTaskExecutions row)."""
    id: str
    execution_id: str
    name: str
    action: str
    start: float
    status: str = "Running"
    end: float = None
    message: str = ""
    properties: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    child_execution_id: str = ""
    parent_task_id: str = ""
    loop: object = None          # callable returning the loop stats (loop parent only)
    loop_item: str = ""
    loop_batch: int = 0
    template_id: str = ""

    def close(self, t, status, message="", outputs=None):
        self.status, self.end, self.message = status, t, message
        if outputs is not None:
            self.outputs = outputs


@dataclass
class Execution:
    """An OOS execution record, parent or child."""
    id: str
    region: str
    template_name: str
    template_id: str
    template_version: str
    parameters: dict
    created: float
    mode: str = "Automatic"
    loop_mode: str = "Automatic"
    safety_check: str = "ConfirmEveryHighRiskAction"
    description: str = ""
    tags: dict = field(default_factory=dict)
    parent_id: str = ""
    is_parent: bool = False
    executed_by: str = ""
    targets: str = ""
    status: str = "Started"
    status_message: str = ""
    outputs: dict = None
    start: float = None
    end: float = None
    updated: float = None
    tasks: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    resource_ids: list = field(default_factory=list)
    run: object = None           # the LoopRun driving a parent
    item: object = None          # the loop item a child belongs to

    def log(self, t, message, task_id=""):
        self.logs.append((t, message, task_id))
        self.updated = t

    def task_id(self):
        return f"{self.id}.t{len(self.tasks) + 1:04d}"

    def add_task(self, name, action_name, t, log=True, **kw):
        task = Task(self.task_id(), self.id, name, action_name, t, **kw)
        self.tasks.append(task)
        if log:
            self.log(t, f"Task {name} started.", task.id)
        return task


@dataclass
class Item:
    index: int
    target: str
    batch: int
    status: str = "Pending"      # Pending Running Waiting Success Failed Cancelled Skipped
    child: Execution = None
    task: Task = None            # the loop child task
    phases: list = None
    phase_idx: int = 0
    phase_task: Task = None
    phase_end: float = None
    waiting: bool = False
    confirmed: bool = False
    message: str = ""
    output: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)   # runner scratch space
