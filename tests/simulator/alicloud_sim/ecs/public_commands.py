"""Public (Provider ``AlibabaCloud``) commands. Names follow the real ``ACS-ECS-*`` style; the
scripts are harmless stand-ins that print what the real ones would do.

A public command has versions (1, 2, ...) that share its name; each version is a command of its own
with a stable ``CommandId`` (``c-`` and 20 hex digits of the name and version), and the highest
version is the ``Latest`` one.
"""

import base64
import hashlib

VERSION_AGE = 90 * 86400        # simulated seconds between the creation of two versions


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def public_command_id(name, version):
    return "c-" + hashlib.sha256(f"{name}/v{version}".encode()).hexdigest()[:20]


PUBLIC_COMMANDS = [
    {"name": "ACS-ECS-InstallCloudMonitor-for-linux.sh", "type": "RunShellScript", "provider": "AlibabaCloud",
     "category": "AlibabaCloud.ECS.GuestOSMaintenance",
     "description": "Install the CloudMonitor agent on a Linux instance.", "timeout": 300, "enable_parameter": True,
     "versions": ['echo "CloudMonitor agent 1.x installed on {{ACS::InstanceId}}"\n',
                  'echo "CloudMonitor agent installed in {{ACS::RegionId}} on {{ACS::InstanceId}}"\n']},
    {"name": "ACS-ECS-InstallCloudMonitor-for-windows.ps1", "type": "RunPowerShellScript", "provider": "AlibabaCloud",
     "category": "AlibabaCloud.ECS.GuestOSMaintenance",
     "description": "Install the CloudMonitor agent on a Windows instance.", "timeout": 300,
     "versions": ['Write-Output "CloudMonitor agent installed"\n']},
    {"name": "ACS-ECS-CheckNetwork-for-linux.sh", "type": "RunShellScript", "provider": "AlibabaCloud",
     "category": "AlibabaCloud.ECS.Diagnosis",
     "description": "Check DNS resolution and network configuration on a Linux instance.", "timeout": 60,
     "versions": ['echo "network check (version 1): ok"\n', 'echo "network check (version 2): ok"\n',
                  'echo "network check (version 3): ok"\n']},
]


def public_command_versions(now):
    """Keyword arguments of every version of every public command (oldest version first)."""
    for spec in PUBLIC_COMMANDS:
        fields = {k: v for k, v in spec.items() if k != "versions"}
        latest = len(spec["versions"])
        for version, content in enumerate(spec["versions"], start=1):
            yield dict(fields, id=public_command_id(spec["name"], version), content=_b64(content), version=version,
                       latest=version == latest, creation_time=now - (latest - version) * VERSION_AGE)
