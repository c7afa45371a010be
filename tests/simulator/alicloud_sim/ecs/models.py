"""The ECS model: regions, instances and the fleet document that describes them."""

import hashlib
import uuid
from dataclasses import dataclass, field

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
LOCAL_NAMES_ZH = {
    "cn-hangzhou": "华东1（杭州）",
    "cn-shanghai": "华东2（上海）",
    "cn-beijing": "华北2（北京）",
    "cn-shenzhen": "华南1（深圳）",
    "cn-qingdao": "华北1（青岛）",
    "cn-zhangjiakou": "华北3（张家口）",
    "cn-hongkong": "中国香港",
    "ap-southeast-1": "新加坡",
    "ap-northeast-1": "日本（东京）",
    "eu-central-1": "德国（法兰克福）",
    "us-west-1": "美国（硅谷）",
    "us-east-1": "美国（弗吉尼亚）",
}

# Simulated seconds of ECS work on an instance, unless the fleet file says otherwise.
DURATIONS = {
    "snapshot": 10,
    "reboot": 30,
    "command": 1,         # Windows (simulated) Cloud Assistant scripts
    "delivery": 1,        # Cloud Assistant delivery before a script starts
}

_ID_PREFIX = {"cn-hangzhou": "bp", "cn-shanghai": "uf", "cn-beijing": "2z", "cn-shenzhen": "wz"}

OS_DEFAULTS = {
    "linux": ("Alibaba Cloud Linux 3.2104 LTS 64 bit", "AliyunLinux"),
    "windows": ("Windows Server 2022 DataCenter 64bit", "Windows Server 2022"),
}
INSTANCE_STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
AGENT_STATES = ("online", "offline", "none")
AGENT_VERSION = "2.2.3.857"
HEARTBEAT = 60            # seconds between two heartbeats of an online Cloud Assistant agent
SYSTEM_DISK_GIB = 40


def local_name(region, accept_language):
    """zh-CN (the default) gives the Chinese name; any other language the English one."""
    if (accept_language or "zh-CN").lower().startswith("zh"):
        return LOCAL_NAMES_ZH.get(region, REGIONS[region])
    return REGIONS[region]


def endpoint(region):
    """The ECS API host of a region."""
    return "ecs-cn-hangzhou.aliyuncs.com" if region == "cn-hangzhou" else f"ecs.{region}.aliyuncs.com"


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
    agent_version: str = AGENT_VERSION
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
    public_ip: str = ""
    creation_time: float = 0.0
    start_time: float = 0.0
    released: bool = False
    boots: int = 0                    # boots since the fleet was made: the boot id changes with each
    down_until: float = None          # a reboot in progress ends then (the agent is offline until it ends)

    def duration(self, kind, sim):
        """Simulated seconds of ``kind`` work on this instance: its own override, else the simulator's."""
        return float(self.durations.get(kind, sim.durations.get(kind, 1)))

    @property
    def agent_installed(self):
        return self.agent != "none"

    @property
    def agent_online(self):
        return self.agent == "online" and self.status == "Running" and self.down_until is None

    @property
    def boot_id(self):
        """What ``/proc/sys/kernel/random/boot_id`` would say: new after every boot."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "boot/%s/%d" % (self.id, self.boots)))

    def start_reboot(self):
        """A reboot begins: the instance is Starting until :meth:`finish_reboot`."""
        self.status = "Starting"

    def finish_reboot(self, t=None):
        """Running again; ``t`` is the new start time (None: a cancelled reboot keeps the old one)."""
        self.status = "Running"
        if t is not None:
            self.start_time = t
            self.boots += 1


def system_disk_id(inst):
    """The deterministic id of an instance's system disk (``d-…``)."""
    return "d-" + inst.id[2:4] + hashlib.sha256(("disk/" + inst.id).encode()).hexdigest()[:18]


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


def check_fleet(body):
    """The admin API's check of a fleet body: it must hold ``regions``."""
    if not isinstance(body, dict) or "regions" not in body:
        raise ValueError('a fleet is {"regions": {REGION: {"instances": [...]}}}')


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
            result.extend(_expand_item(region, idx, item, now, seen))
    return result


def _expand_item(region, idx, item, now, seen):
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
    result = []
    for n in range(count):
        name = base_name if count == 1 else f"{base_name}-{n + 1}"
        iid = item.get("id") or make_instance_id(region, f"{name}/{idx}/{n}/{len(seen)}")
        if iid in seen:
            raise ValueError(f"duplicate instance id {iid}")
        seen.add(iid)
        os_name, platform = OS_DEFAULTS[os_type]
        agent = str(item.get("agent", "online")).lower()
        if agent not in AGENT_STATES:
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
            agent_version=item.get("agent_version", AGENT_VERSION if agent != "none" else ""),
            tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
            packages=packages,
            patches=[dict(p) for p in item["patches"]] if item.get("patches") is not None else None,
            fail=set(item.get("fail") or ()),
            durations=dict(item.get("durations") or {}),
            zone=item.get("zone", region + "-g"),
            instance_type=item.get("instance_type", "ecs.g7.large"),
            private_ip=item.get("private_ip", f"172.16.{ordinal // 250}.{ordinal % 250 + 2}"),
            public_ip=item.get("public_ip", ""),
            creation_time=now - 86400 * 30, start_time=now - 86400,
        ))
    return result
