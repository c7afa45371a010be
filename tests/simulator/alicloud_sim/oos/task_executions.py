"""ListTaskExecutions and ListExecutionLogs."""

from ..core import clock
from ..core.params import page
from ..core.registry import action
from . import views

TASK_STATUSES = ("Running", "Started", "Success", "Failed", "Waiting", "Cancelled", "Pending", "Skipped")


def _task_filter(task, p):
    for param, value in (("TaskExecutionId", task.id), ("TaskName", task.name), ("TaskAction", task.action),
                         ("Status", task.status)):
        wanted = p.str(param)
        if wanted is not None and wanted != value:
            return False
    parent = p.str("ParentTaskExecutionId")
    if parent is not None:
        if task.parent_task_id != parent:
            return False
    elif task.parent_task_id and not p.bool("IncludeChildTaskExecution") and not p.str("TaskExecutionId"):
        return False
    return (views.in_range(task.start, p, "StartDateBefore", "StartDateAfter")
            and views.in_range(task.end, p, "EndDateBefore", "EndDateAfter"))


def _executions(sim, req):
    p = req.params
    store = sim.components["executions"]
    exe_id = p.str("ExecutionId")
    if not exe_id and p.str("TaskExecutionId"):
        exe_id = p.str("TaskExecutionId").split(".t", 1)[0]
    if exe_id:
        return [store.require(exe_id, req.region)]
    return store.all(req.region)


@action("oos", "ListTaskExecutions")
def list_task_executions(sim, req):
    p = req.params
    max_results = p.int("MaxResults", default=50, minimum=20, maximum=100)
    offset = p.paging()[1]
    p.str("Status", allowed=TASK_STATUSES)
    sort_field = p.str("SortField", default="StartDate", allowed=("StartDate", "EndDate", "Status"))
    descending = p.str("SortOrder", default="Ascending", allowed=("Ascending", "Descending")) == "Descending"
    tasks = [t for exe in _executions(sim, req) for t in exe.tasks if _task_filter(t, p)]
    key = {"StartDate": lambda t: t.start, "EndDate": lambda t: t.end or 0, "Status": lambda t: t.status}
    tasks.sort(key=key[sort_field], reverse=descending)
    chunk, token = page(tasks, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "TaskExecutions": [views.task_view(t) for t in chunk]}


@action("oos", "ListExecutionLogs")
def list_execution_logs(sim, req):
    p = req.params
    exe = sim.components["executions"].require(p.str("ExecutionId", required=True), req.region)
    max_results, offset = p.paging(default=50, minimum=1, maximum=100)
    task_id = p.str("TaskExecutionId")
    log_type = p.str("LogType", default="System")
    logs = [] if log_type != "System" else [
        {"Timestamp": clock.iso(t), "Message": message, "LogType": "System", "TaskExecutionId": tid}
        for t, message, tid in exe.logs if task_id in (None, tid)]
    chunk, token = page(logs, max_results, offset)
    return {"MaxResults": max_results, "NextToken": token, "IsTruncated": bool(token), "ExecutionLogs": chunk}
