"""ECS Cloud Assistant file sending: SendFile and DescribeSendFileResults (component ``files``).

A file goes to each instance like a command: ``Pending`` for the delivery time, then ``Success`` (written into
the instance's directory, the one its scripts run in, see :mod:`.runner`), or ``Failed`` with the reason. Like a
script, the file is written as soon as the call is answered when the agent is online (state advances only when
someone looks, and a script waiting for the file must not wait for that), else when the agent comes back. An
offline agent leaves it ``Pending`` until the agent comes online or ``Timeout`` passes (``Timeout`` +
``DeliveryTimeout``); an agent of version 1.0.2.569 or older (Linux; 1.0.0.149 on Windows) gives ``Failed`` +
``ClientNeedUpgrade``; an instance stopped or released before delivery gives ``Aborted`` +
``InstanceNotRunning``/``InstanceReleased``.
"""

import base64
import binascii
import itertools
import os
import re

from ..core.clock import iso
from ..core.errors import ApiError
from ..core.registry import action, component
from .command_input import check_eligible, client_token, resource_tags
from .common import new_id, require_region, tag_filters, tags_match, tags_view
from .fleet import fleet, listed_instances
from .paging import ecs_page
from .runner import instance_path

CONTENT_LIMIT = 32 * 1024          # Content after Base64
MIN_TIMEOUT = 10                   # smaller values are raised to this (API reference)
MAX_INSTANCES = 50
MIN_AGENT = {"linux": (1, 0, 2, 569), "windows": (1, 0, 0, 149)}
MODE_RE = re.compile(r"^[0-7]{3,4}$")
FAILURE = {"Failed", "Aborted", "Timeout", "Error", "Invalid"}
TERMINAL = FAILURE | {"Success"}
ERROR_INFO = {
    "InstanceNotRunning": "the specified instance was not running when the file was delivered.",
    "InstanceReleased": "the specified instance was released when the file was delivered.",
    "ClientNeedUpgrade": "the Cloud Assistant agent must be upgraded to receive files.",
    "DeliveryTimeout": "the file delivery has been timeout.",
    "FileAlreadyExists": "the file already exists and Overwrite is false.",
    "FileContentInvalid": "the file content is not valid Base64.",
    "FileNameInvalid": "the file name is not valid.",
    "FilePathInvalid": "the target directory is not an absolute path.",
    "FileAuthorityInvalid": "the file mode is not valid.",
    "FileCreateFail": "the file could not be created.",
}


class SentFile:
    def __init__(self, invoke_id, region, fields, data, error, tags, now):
        self.id, self.region, self.fields, self.data, self.error = invoke_id, region, fields, data, error
        self.tags, self.creation_time, self.items = tags, now, {}


@component("ecs", "files")
class Files:
    def __init__(self, sim):
        self.sim = sim
        self.sent = {}
        self.tokens = {}
        self._ids = itertools.count(1)
        self.root = os.path.join(sim.workdir, "instances")

    def send(self, region, fields, data, error, tags, instances, now):
        sent = SentFile(new_id("f", region, f"{id(self)}/{next(self._ids)}"), region, fields, data, error, tags, now)
        for inst in instances:
            due = now + float(inst.durations.get("delivery", self.sim.durations.get("delivery", 1)))
            item = {"status": "Pending", "created": now, "due": due, "start": None, "finish": None,
                    "update": now, "error_code": "", "error_info": "", "outcome": None}
            if inst.agent_online:
                item["outcome"] = self._deliver(sent, inst)     # at once, as scripts start at once (see runner)
            sent.items[inst.id] = item
        self.sent[sent.id] = sent
        return sent

    def advance(self, now):
        for sent in self.sent.values():
            for instance_id, item in sent.items.items():
                if item["status"] == "Pending":
                    self._step(sent, instance_id, item, now)

    def _step(self, sent, instance_id, item, now):
        inst = fleet(self.sim).get(instance_id)
        if inst is None or inst.released or inst.status != "Running":
            code = "InstanceReleased" if inst is None or inst.released else "InstanceNotRunning"
            self._end(item, "Aborted", code, at=now)
        elif now >= item["due"] and not inst.agent_online:
            limit = item["created"] + sent.fields["Timeout"]
            if now >= limit:
                self._end(item, "Timeout", "DeliveryTimeout", at=limit)
        elif now >= item["due"]:
            item["start"] = when = max(item["due"], inst.start_time)
            self._end(item, *(item["outcome"] or self._deliver(sent, inst)), at=when)

    def _deliver(self, sent, inst):
        """(status, code) of the file's delivery to ``inst``, whose agent is online: written, or why not."""
        if _version(inst.agent_version) <= MIN_AGENT[inst.os_type]:
            return "Failed", "ClientNeedUpgrade"
        if sent.error:
            return "Failed", sent.error
        return self._write(sent, inst.id)

    def _write(self, sent, instance_id):
        """(status, code): the file written into the instance's directory, or why not."""
        directory = instance_path(self.root, instance_id, sent.fields["TargetDir"])
        path = os.path.join(directory, sent.fields["Name"])
        if os.path.lexists(path) and not sent.fields["Overwrite"]:
            return "Failed", "FileAlreadyExists"
        try:
            os.makedirs(directory, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(sent.data)
            os.chmod(path, int(sent.fields["FileMode"], 8))
        except OSError:
            return "Failed", "FileCreateFail"
        return "Success", ""

    @staticmethod
    def _end(item, status, code="", at=None):
        item.update(status=status, finish=at, update=at, error_code=code, error_info=ERROR_INFO.get(code, ""))

    def snapshot(self):
        return {s.id: {i: item["status"] for i, item in s.items.items()} for s in self.sent.values()}


def _version(text):
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        return (0,)


def _files(sim):
    return sim.components["files"]


def _request(p):
    """The file's fields and bytes, and the per-instance error a bad file gets (the call itself succeeds)."""
    name = p.str("Name", required=True, max_len=255)
    target = p.str("TargetDir", required=True, max_len=255)
    content = p.str("Content", required=True)
    content_type = p.str("ContentType") or "PlainText"
    if content_type not in ("PlainText", "Base64"):
        raise ApiError("InvalidParam.ContentType", "The specified ContentType is not valid.")
    size = len(content) if content_type == "Base64" else len(base64.b64encode(content.encode("utf-8")))
    if size > CONTENT_LIMIT:
        raise ApiError("InvalidParam.Content", "The file content exceeds 32 KB after Base64 encoding.", 403)
    error, data = "", b""
    if content_type == "Base64":
        try:
            data = base64.b64decode(content.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            error = "FileContentInvalid"
    else:
        data = content.encode("utf-8")
    mode = p.str("FileMode") or "0644"
    if name in (".", "..") or "/" in name or "\0" in name:
        error = error or "FileNameInvalid"
    elif not target.startswith("/"):
        error = error or "FilePathInvalid"
    elif not MODE_RE.match(mode):
        error = error or "FileAuthorityInvalid"
    fields = {"Name": name, "TargetDir": target, "ContentType": content_type, "Content": content,
              "Description": p.str("Description", max_len=512) or "", "FileMode": mode,
              "FileOwner": p.str("FileOwner", max_len=64) or "root",
              "FileGroup": p.str("FileGroup", max_len=64) or "root",
              "Overwrite": p.bool("Overwrite"), "Timeout": max(MIN_TIMEOUT, p.int("Timeout", default=60))}
    return fields, data, error


def _targets(sim, region, p):
    instances = listed_instances(sim, region, p, MAX_INSTANCES)
    for inst in instances:
        check_eligible(inst)
    return instances


@action("ecs", "SendFile", mutating=True)
def send_file(sim, req):
    region = require_region(req)
    p = req.params
    token = client_token(p)
    fields, data, error = _request(p)
    instances = _targets(sim, region, p)
    tags = resource_tags(p)
    files = _files(sim)
    if token is not None:
        key = (region, token)
        fingerprint = sorted((k, v) for k, v in p.raw.items() if k != "ClientToken")
        if key in files.tokens:
            if files.tokens[key][0] != fingerprint:
                raise ApiError("IdempotentParameterMismatch", "The request uses the same client token as a previous, "
                               "but non-identical request.", 403)
            return {"InvokeId": files.tokens[key][1]}
    sent = files.send(region, fields, data, error, tags, instances, sim.clock.now())
    if token is not None:
        files.tokens[(region, token)] = (fingerprint, sent.id)
    return {"InvokeId": sent.id}


def overall_status(sent):
    """Pending or Running while any instance is; Success when all succeeded, Failed when none did, else
    PartialFailed (the API reference's rules)."""
    statuses = {item["status"] for item in sent.items.values()}
    for status in ("Pending", "Running"):
        if status in statuses:
            return status
    if statuses == {"Success"}:
        return "Success"
    return "Failed" if statuses <= FAILURE else "PartialFailed"


def _view(sent, instance_id=None):
    items = [(i, item) for i, item in sent.items.items() if instance_id in (None, i)]
    return {**{k: v for k, v in sent.fields.items() if k != "Timeout"}, "InvokeId": sent.id,
            "CreationTime": iso(sent.creation_time),
            "InvocationStatus": overall_status(sent), "VmCount": len(sent.items), "Tags": tags_view(sent.tags),
            "InvokeInstances": {"InvokeInstance": [{
                "InstanceId": i, "InvocationStatus": item["status"], "ErrorCode": item["error_code"],
                "ErrorInfo": item["error_info"], "CreationTime": iso(item["created"]), "StartTime": iso(item["start"]),
                "FinishTime": iso(item["finish"]), "UpdateTime": iso(item["update"])} for i, item in items]}}


@action("ecs", "DescribeSendFileResults")
def describe_send_file_results(sim, req):
    p = req.params
    region = require_region(req)
    found = [s for s in reversed(list(_files(sim).sent.values())) if s.region == region]
    checks = {"InvokeId": lambda s, v: s.id == v, "InstanceId": lambda s, v: v in s.items,
              "Name": lambda s, v: s.fields["Name"] == v, "InvocationStatus": lambda s, v: overall_status(s) == v}
    for name, check in checks.items():
        value = p.str(name)
        if value:
            found = [s for s in found if check(s, value)]
    filters = tag_filters(p)
    found = [s for s in found if tags_match(s.tags, filters)]
    chunk, fields = ecs_page(p, found)
    return {**fields, "Invocations": {"Invocation": [_view(s, p.str("InstanceId")) for s in chunk]}}
