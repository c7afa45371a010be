"""The simulated account: regions, instances and the components that hold API state."""

import hashlib
import shutil
import tempfile
import threading
from dataclasses import dataclass, field

from .clock import SimClock
from .errors import ApiError
from .registry import ACTIONS, COMPONENTS, load_all

DEFAULT_CREDENTIALS = {
    # access key id -> {"secret": ..., "token": required STS token or None}
    "sim-access-key": {"secret": "sim-secret-key", "token": None},
    "STS.sim-access-key": {"secret": "sim-sts-secret", "token": "sim-sts-token"},
}

REGIONS = {
    "cn-hangzhou": "China (Hangzhou)",
    "cn-shanghai": "China (Shanghai)",
    "cn-beijing": "China (Beijing)",
    "cn-shenzhen": "China (Shenzhen)",
    "cn-qingdao": "China (Qingdao)",
    "cn-zhangjiakou": "China (Zhangjiakou)",
    "cn-hongkong": "China (Hong Kong)",
    "ap-southeast-1": "Singapore",
    "ap-northeast-1": "Japan (Tokyo)",
    "eu-central-1": "Germany (Frankfurt)",
    "us-west-1": "US (Silicon Valley)",
    "us-east-1": "US (Virginia)",
}
DEFAULT_REGION = "cn-hangzhou"

# Simulated seconds each kind of work takes on an instance, unless the fleet file says otherwise.
DEFAULT_DURATIONS = {
    "install": 20,        # extension install / update
    "uninstall": 10,      # extension uninstall
    "patch_scan": 15,
    "patch_install": 60,
    "snapshot": 10,
    "reboot": 30,
    "command": 1,         # Windows (simulated) Cloud Assistant scripts
    "delivery": 1,        # Cloud Assistant delivery before a script starts
    "start": 1,           # an OOS execution stays Started this long before it selects its targets
}

_ID_PREFIX = {"cn-hangzhou": "bp", "cn-shanghai": "uf", "cn-beijing": "2z", "cn-shenzhen": "wz"}

OS_DEFAULTS = {
    "linux": ("Alibaba Cloud Linux 3.2104 LTS 64 bit", "AliyunLinux"),
    "windows": ("Windows Server 2022 DataCenter 64bit", "Windows Server 2022"),
}


@dataclass
class Instance:
    id: str
    region: str
    name: str
    os_type: str                      # "linux" | "windows"
    os_name: str
    platform: str                     # e.g. AliyunLinux, CentOS, Ubuntu, Windows Server 2022
    status: str = "Running"           # Pending | Running | Starting | Stopping | Stopped
    agent: str = "online"             # online | offline | none
    agent_version: str = "2.2.3.857"
    tags: dict = field(default_factory=dict)
    # template name -> {"version": "v3", "parameters": {...}, "update_time": epoch, "configuration_info": ""}
    packages: dict = field(default_factory=dict)
    # None: the patching component generates the instance's available patches; else a list of dicts
    patches: list = None
    fail: set = field(default_factory=set)   # injected per-instance failures: "install", "uninstall", "patch", "command", ...
    durations: dict = field(default_factory=dict)
    zone: str = ""
    instance_type: str = "ecs.g7.large"
    private_ip: str = ""
    creation_time: float = 0.0
    start_time: float = 0.0
    released: bool = False

    def duration(self, kind, sim):
        return float(self.durations.get(kind, sim.durations.get(kind, DEFAULT_DURATIONS.get(kind, 1))))

    @property
    def agent_installed(self):
        return self.agent != "none"

    @property
    def agent_online(self):
        return self.agent == "online" and self.status == "Running"


def make_instance_id(region, seed):
    prefix = _ID_PREFIX.get(region, "sm")
    digest = hashlib.sha256(f"{region}/{seed}".encode()).hexdigest()
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    num = int(digest, 16)
    chars = []
    for _ in range(18):
        num, rem = divmod(num, 36)
        chars.append(alphabet[rem])
    return "i-" + prefix + "".join(chars)


DEFAULT_FLEET = {
    "regions": {
        "cn-hangzhou": {"instances": [
            {"name": "web", "os_type": "linux", "count": 3, "tags": {"env": "dev", "role": "web"}},
            {"name": "db", "os_type": "linux", "os_name": "Ubuntu 22.04 64 bit", "platform": "Ubuntu",
             "tags": {"env": "dev", "role": "db"}},
            {"name": "win", "os_type": "windows", "tags": {"env": "dev", "role": "app"}},
            {"name": "noagent", "os_type": "linux", "agent": "none", "tags": {"env": "dev"}},
            {"name": "stopped", "os_type": "linux", "status": "Stopped", "tags": {"env": "dev"}},
        ]},
        "cn-shanghai": {"instances": [
            {"name": "sh-web", "os_type": "linux", "count": 2, "platform": "CentOS",
             "os_name": "CentOS 7.9 64 bit", "tags": {"env": "prod", "role": "web"}},
        ]},
    }
}


def expand_fleet(body, now, existing_ids=()):
    """Turn a fleet document into Instance objects. Raises ValueError on a bad document."""
    if not isinstance(body, dict) or not isinstance(body.get("regions", {}), dict):
        raise ValueError('fleet must be {"regions": {REGION: {"instances": [...]}}}')
    seen = set(existing_ids)
    result = []
    for region, spec in (body.get("regions") or {}).items():
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}")
        for idx, item in enumerate((spec or {}).get("instances") or []):
            if "os_type" not in item:
                raise ValueError(f"instance #{idx} in {region} has no os_type")
            os_type = str(item["os_type"]).lower()
            if os_type not in OS_DEFAULTS:
                raise ValueError(f"os_type must be linux or windows, not {item['os_type']!r}")
            count = int(item.get("count", 1))
            if count < 1:
                raise ValueError("count must be >= 1")
            if item.get("id") and count != 1:
                raise ValueError("an explicit id cannot be combined with count > 1")
            base_name = item.get("name") or f"{os_type}-{idx}"
            for n in range(count):
                name = base_name if count == 1 else f"{base_name}-{n + 1}"
                iid = item.get("id") or make_instance_id(region, f"{name}/{idx}/{n}/{len(seen)}")
                if iid in seen:
                    raise ValueError(f"duplicate instance id {iid}")
                seen.add(iid)
                os_name, platform = OS_DEFAULTS[os_type]
                agent = str(item.get("agent", "online")).lower()
                if agent not in ("online", "offline", "none"):
                    raise ValueError("agent must be online, offline or none")
                packages = {}
                for pname, pspec in (item.get("packages") or {}).items():
                    pspec = pspec or {}
                    packages[pname] = {
                        "version": pspec.get("version", "v1"),
                        "parameters": dict(pspec.get("parameters") or {}),
                        "update_time": now,
                        "configuration_info": pspec.get("configuration_info", ""),
                    }
                ordinal = len(seen)
                result.append(Instance(
                    id=iid, region=region, name=name, os_type=os_type,
                    os_name=item.get("os_name", os_name), platform=item.get("platform", platform),
                    status=item.get("status", "Running"), agent=agent,
                    agent_version=item.get("agent_version", "2.2.3.857" if agent != "none" else ""),
                    tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
                    packages=packages,
                    patches=[dict(p) for p in item["patches"]] if item.get("patches") is not None else None,
                    fail=set(item.get("fail") or ()),
                    durations=dict(item.get("durations") or {}),
                    zone=item.get("zone", region + "-g"),
                    instance_type=item.get("instance_type", "ecs.g7.large"),
                    private_ip=item.get("private_ip", f"172.16.{ordinal // 250}.{ordinal % 250 + 2}"),
                    creation_time=now - 86400 * 30, start_time=now - 86400,
                ))
    return result


class Simulator:
    """All state behind one simulated endpoint. Handlers run under ``self.lock``."""

    def __init__(self, fleet=None, time_scale=1.0, credentials=None, workdir=None, durations=None):
        load_all()
        self.lock = threading.RLock()
        self.clock = SimClock(time_scale)
        self.credentials = dict(credentials or DEFAULT_CREDENTIALS)
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="alicloud-sim-")
        self.base_durations = dict(durations or {})
        self.components = {}
        self.calls = []      # call log, appended by the server
        self.faults = []     # active fault rules, managed by the server's fault injector
        try:
            self.reset(fleet)
        except Exception:
            self.close()     # a bad fleet must not leak the scratch directory
            raise

    # --- fleet -------------------------------------------------------------------------
    def reset(self, fleet=None):
        with self.lock:
            for comp in self.components.values():
                if hasattr(comp, "close"):
                    comp.close()
            fleet = DEFAULT_FLEET if fleet is None else fleet
            self.fleet = fleet   # the document of the last reset; components read top-level options from it
            self.durations = dict(DEFAULT_DURATIONS)
            self.durations.update(self.base_durations)
            self.durations.update(fleet.get("durations") or {})
            self._instances = {}
            self.add_instances(fleet)
            self.calls = []
            self.faults = []
            self.components = {name: cls(self) for name, cls in COMPONENTS.items()}

    def add_instances(self, fleet):
        with self.lock:
            new = expand_fleet(fleet, self.clock.now(), self._instances.keys())
            for inst in new:
                self._instances[inst.id] = inst
            return new

    def instance(self, instance_id):
        """The instance with that id in any region, or None (released instances included)."""
        return self._instances.get(instance_id)

    def instances(self, region=None):
        return [i for i in self._instances.values()
                if not i.released and (region is None or i.region == region)]

    # --- dispatch ------------------------------------------------------------------------
    def advance(self):
        now = self.clock.now()
        for comp in self.components.values():
            if hasattr(comp, "advance"):
                comp.advance(now)
        return now

    def dispatch(self, req):
        found = ACTIONS.get((req.product, req.action))
        if found is None:
            raise ApiError("InvalidAction.NotFound",
                           "Specified api is not found, please check your url and method.", 404)
        with self.lock:
            self.advance()
            return found.handler(self, req)

    def snapshot(self):
        with self.lock:
            self.advance()
            return {
                "now": self.clock.now(),
                "instances": {i.id: instance_view(i) for i in self._instances.values()},
                **{name: comp.snapshot() for name, comp in self.components.items()
                   if hasattr(comp, "snapshot")},
            }

    def close(self):
        with self.lock:
            for comp in self.components.values():
                if hasattr(comp, "close"):
                    comp.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def instance_view(inst):
    return {
        "id": inst.id, "region": inst.region, "name": inst.name, "os_type": inst.os_type,
        "os_name": inst.os_name, "platform": inst.platform, "status": inst.status,
        "agent": inst.agent, "tags": dict(inst.tags), "released": inst.released,
        "packages": {k: {"version": v["version"], "parameters": v["parameters"]}
                     for k, v in inst.packages.items()},
    }
