"""The built-in catalogue of extension packages (OOS templates of type ``Package``).

Names follow the public ``ACS-Extension-<name>-1853370294850618`` pattern. Each entry has a
Description map (``en``, ``zh-cn``, ``name-en``, ``name-zh-cn``, ``categories``, ``image``,
``doc-en``, ``doc-zh-cn``), ``OSPlatforms`` constraints, a version count and a ``Parameters``
block; ``history`` gives the Parameters of older versions where they differ. A parameter with
``"NoEcho": true`` is secret. Two private packages have a plain-text description.
"""

from ..ecs.common import ACCOUNT_ID as ACCOUNT_UID  # noqa: F401  the simulated account (owns private templates)

PUBLISHER_UID = "1853370294850618"
_DAY = 86400.0
_EPOCH_2023 = 1672531200.0          # 2023-01-01T00:00:00Z

LINUX = ["Aliyun", "CentOS", "Ubuntu", "Debian", "Anolis", "AlmaLinux", "RockyLinux", "RedHat"]


def param(kind, en, zh, default=None, **extra):
    """One parameter definition; ``default=None`` means required (no ``Default``)."""
    spec = {"Type": kind, "Description": {"en": en, "zh-cn": zh}}
    if default is not None:
        spec["Default"] = default
    spec.update(extra)
    return spec


def _version(allowed, default, en="The version to install", zh="要安装的版本"):
    return param("String", en, zh, default, AllowedValues=list(allowed))


NODE_OLD = {"version": _version(["v16.20.2", "v18.20.5"], "v18.20.5", "The Node.js version", "Node.js版本")}

PUBLIC_PACKAGES = [
    {"key": "node", "versions": 27, "popularity": 9, "categories": ["application", "develop_environment"],
     "name_en": "Node.js", "name_zh": "Node.js",
     "en": "Node.js environment one-click installation", "zh": "一键安装Node.js环境",
     "platforms": LINUX,
     "parameters": {"version": _version(["v18.20.5", "v20.18.1", "v22.13.1"], "v22.13.1",
                                        "The Node.js version", "Node.js版本")},
     "history": {19: NODE_OLD}},
    {"key": "python", "versions": 6, "popularity": 8, "categories": ["application", "develop_environment"],
     "name_en": "Python", "name_zh": "Python",
     "en": "Python environment one-click installation", "zh": "一键安装Python环境",
     "platforms": LINUX,
     "parameters": {"version": _version(["3.9", "3.10", "3.11", "3.12"], "3.11", "The Python version", "Python版本"),
                    "installPip": param("Boolean", "Whether to install pip", "是否安装pip", True)}},
    {"key": "java", "versions": 5, "popularity": 8, "categories": ["application", "develop_environment"],
     "name_en": "Java (OpenJDK)", "name_zh": "Java (OpenJDK)",
     "en": "Java development kit one-click installation", "zh": "一键安装Java开发环境",
     "platforms": LINUX,
     "parameters": {"version": _version(["8", "11", "17", "21"], "17", "The JDK major version", "JDK主版本"),
                    "distribution": param("String", "The JDK distribution", "JDK发行版", "OpenJDK",
                                          AllowedValues=["OpenJDK", "Dragonwell"])}},
    {"key": "golang", "versions": 4, "popularity": 6, "categories": ["application", "develop_environment"],
     "name_en": "Go", "name_zh": "Go语言环境",
     "en": "Go language environment one-click installation", "zh": "一键安装Go语言环境",
     "platforms": LINUX,
     "parameters": {"version": _version(["1.21.13", "1.22.10", "1.23.4"], "1.23.4", "The Go version", "Go版本")}},
    {"key": "DockerCE", "versions": 8, "popularity": 10, "categories": ["application", "container"],
     "name_en": "Docker Community Edition", "name_zh": "Docker社区版",
     "en": "Docker CE one-click installation", "zh": "一键安装Docker社区版",
     "platforms": LINUX + ["Fedora"],
     "parameters": {"registryMirror": param("String", "Registry mirror URL, empty for none", "镜像加速地址，为空则不设置", ""),
                    "enableIPv6": param("Boolean", "Whether to enable IPv6 networking", "是否启用IPv6网络", False)}},
    {"key": "nginx", "versions": 5, "popularity": 7, "categories": ["application", "web_server"],
     "name_en": "Nginx", "name_zh": "Nginx",
     "en": "Nginx web server one-click installation", "zh": "一键安装Nginx",
     "platforms": LINUX,
     "parameters": {"port": param("Number", "The HTTP listening port", "HTTP监听端口", 80, MinValue=1, MaxValue=65535)}},
    {"key": "Git", "versions": 3, "popularity": 5, "categories": ["application", "develop_environment"],
     "name_en": "Git", "name_zh": "Git",
     "en": "Git version control one-click installation", "zh": "一键安装Git",
     "platforms": LINUX + ["Windows"], "parameters": {}},
    {"key": "BaoTaPanelFree-One-Click", "versions": 4, "popularity": 9, "categories": ["application", "panel"],
     "name_en": "BT Panel", "name_zh": "宝塔面板",
     "en": "BaoTa Panel free edition one-click installation", "zh": "宝塔面板免费版一键安装",
     "platforms": ["Aliyun", "CentOS", "Ubuntu", "Debian", "Anolis", "AlmaLinux", "RockyLinux"],
     "parameters": {
         "username": param("String", "The panel administrator user name", "面板管理员用户名", "admin",
                           AllowedPattern="[A-Za-z0-9_]{3,32}"),
         "password": param("String", "The panel administrator password (8-32 characters)", "面板管理员密码（8-32位）",
                           MinLength=8, MaxLength=32, NoEcho=True),
         "port": param("Number", "The panel port", "面板端口", 8888, MinValue=1, MaxValue=65535)}},
    {"key": "mysql", "versions": 3, "popularity": 7, "categories": ["application", "database"],
     "name_en": "MySQL", "name_zh": "MySQL数据库",
     "en": "MySQL community server one-click installation", "zh": "一键安装MySQL社区版",
     "platforms": LINUX,
     "parameters": {"version": _version(["5.7", "8.0", "8.4"], "8.0", "The MySQL version", "MySQL版本"),
                    "rootPassword": param("String", "The root password, empty to generate one", "root密码，为空则自动生成", "",
                                          NoEcho=True)}},
    {"key": "redis", "versions": 3, "popularity": 6, "categories": ["application", "database"],
     "name_en": "Redis", "name_zh": "Redis",
     "en": "Redis one-click installation", "zh": "一键安装Redis",
     "platforms": LINUX,
     "parameters": {"version": _version(["6.2", "7.0", "7.2"], "7.2", "The Redis version", "Redis版本"),
                    "maxMemoryMB": param("Number", "Memory limit in MiB", "内存上限（MiB）", 1024,
                                         MinValue=64, MaxValue=65536),
                    "enablePersistence": param("Boolean", "Whether to enable AOF persistence", "是否开启AOF持久化", True)}},
    {"key": "IIS", "versions": 2, "popularity": 4, "categories": ["application", "web_server"],
     "name_en": "IIS", "name_zh": "IIS",
     "en": "Internet Information Services one-click installation", "zh": "一键安装IIS",
     "platforms": ["Windows"],
     "parameters": {"enableAspNet": param("Boolean", "Whether to install ASP.NET", "是否安装ASP.NET", True)}},
    {"key": "DotNetRuntime", "versions": 3, "popularity": 5, "categories": ["application", "develop_environment"],
     "name_en": ".NET Runtime", "name_zh": ".NET运行时",
     "en": ".NET runtime one-click installation", "zh": "一键安装.NET运行时",
     "platforms": LINUX + ["Windows"],
     "parameters": {"version": _version(["6.0", "8.0", "9.0"], "8.0", "The .NET version", ".NET版本")}},
]

PRIVATE_PACKAGES = [
    {"name": "acme-log-shipper", "versions": 2, "region": "cn-hangzhou",
     "description": "Ships application logs to the ACME log service.",
     "platforms": ["Linux"], "tags": {"team": "sre"},
     "parameters": {"endpoint": param("String", "The log service endpoint", "日志服务地址"),
                    "batchSize": param("Number", "Lines per batch", "每批行数", 500, MinValue=1, MaxValue=10000)}},
    {"name": "acme-hardening", "versions": 1, "region": "cn-hangzhou",
     "description": "Applies the ACME CIS hardening profile.",
     "platforms": ["Linux", "Windows"], "tags": {"team": "security"},
     "parameters": {"profile": param("String", "The hardening profile", "加固配置", "level1",
                                     AllowedValues=["level1", "level2"])}},
]


def public_name(key):
    return f"ACS-Extension-{key}-{PUBLISHER_UID}"


def description_map(entry):
    key = entry["key"]
    slug = key.lower()
    return {
        "en": entry["en"], "zh-cn": entry["zh"],
        "name-en": entry["name_en"], "name-zh-cn": entry["name_zh"],
        "categories": list(entry["categories"]),
        "image": f"https://oos-public-template.oss-cn-beijing.aliyuncs.com/{key}/icon.png",
        "doc-en": f"https://www.alibabacloud.com/help/en/ecs/user-guide/extension-{slug}",
        "doc-zh-cn": f"https://help.aliyun.com/zh/ecs/user-guide/extension-{slug}",
    }


def package_content(name, version, parameters, platforms):
    """The JSON body of a Package template version: Parameters plus opaque per-platform entries."""
    families = sorted({"Windows" if p == "Windows" else "Linux" for p in platforms}) or ["Linux"]
    entries = []
    for family in families:
        for arch in (("x86_64",) if family == "Windows" else ("x86_64", "arm64")):
            script = "install.ps1" if family == "Windows" else "install.sh"
            entries.append({
                "Platform": family, "Architecture": arch,
                "BucketName": "oos-public-package",
                "ObjectName": f"{name}/{version}/{family.lower()}-{arch}.zip",
                "InstallScript": f"{'powershell -File ' if family == 'Windows' else 'bash '}{script}",
                "UninstallScript": f"{'powershell -File ' if family == 'Windows' else 'bash '}un{script}",
            })
    return {"FormatVersion": "OOS-2019-06-01", "Parameters": parameters, "Packages": entries}


def parameters_for(entry, number):
    """Parameters of version ``number``: the newest ``history`` entry at or above it, else the latest."""
    for upto in sorted(entry.get("history", {})):
        if number <= upto:
            return entry["history"][upto]
    return entry["parameters"]


def version_date(index, number):
    """Deterministic creation time of version ``number`` of the ``index``-th package."""
    return _EPOCH_2023 + index * 3 * _DAY + (number - 1) * 21 * _DAY


# OSPlatforms entries whose spelling differs from the OS name reported by DescribeInstances.
PLATFORM_ALIASES = {
    "aliyun": ("aliyun", "alibabacloudlinux", "alinux"),
    "redhat": ("redhat", "rhel"),
    "suse": ("suse",),
}


def _squash(text):
    return "".join(str(text).lower().split())


def platform_matches(platforms, os_type, os_name):
    """Whether an instance fits a package's ``OSPlatforms`` constraint.

    Decidable from DescribeInstances alone (``OSType`` and ``OSNameEn``, else ``OSName``):
    no or an empty ``OSPlatforms`` fits every instance; ``Windows`` fits every instance whose
    OSType is windows and ``Linux`` every linux one; any other entry fits a linux instance
    whose OS name, lower-cased with all whitespace removed, contains the entry (likewise
    squashed) or one of its aliases (``Aliyun``: alibabacloudlinux, alinux; ``RedHat``: rhel).
    """
    if not platforms:
        return True
    os_type = str(os_type).lower()
    name = _squash(os_name)
    for entry in platforms:
        token = _squash(entry)
        if token in ("windows", "linux"):
            if os_type == token:
                return True
            continue
        if os_type == "linux" and any(alias in name for alias in PLATFORM_ALIASES.get(token, (token,))):
            return True
    return False
