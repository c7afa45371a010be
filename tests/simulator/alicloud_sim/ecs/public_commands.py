"""Public (Provider ``AlibabaCloud``) commands. Names follow the real ``ACS-ECS-*`` style; the
scripts are harmless stand-ins that print what the real ones would do."""

import base64


def _b64(text):
    return base64.b64encode(text.encode()).decode()


PUBLIC_COMMANDS = [
    {"id": "ACS-ECS-InstallCloudMonitor-for-linux.sh", "name": "ACS-ECS-InstallCloudMonitor-for-linux.sh",
     "type": "RunShellScript", "provider": "AlibabaCloud", "category": "AlibabaCloud.ECS.GuestOSMaintenance",
     "description": "Install the CloudMonitor agent on a Linux instance.", "timeout": 300,
     "content": _b64('echo "CloudMonitor agent installed in {{ACS::RegionId}} on {{ACS::InstanceId}}"\n'),
     "enable_parameter": True},
    {"id": "ACS-ECS-InstallCloudMonitor-for-windows.ps1", "name": "ACS-ECS-InstallCloudMonitor-for-windows.ps1",
     "type": "RunPowerShellScript", "provider": "AlibabaCloud", "category": "AlibabaCloud.ECS.GuestOSMaintenance",
     "description": "Install the CloudMonitor agent on a Windows instance.", "timeout": 300,
     "content": _b64('Write-Output "CloudMonitor agent installed"\n')},
    {"id": "ACS-ECS-CheckNetwork-for-linux.sh", "name": "ACS-ECS-CheckNetwork-for-linux.sh",
     "type": "RunShellScript", "provider": "AlibabaCloud", "category": "AlibabaCloud.ECS.Diagnosis",
     "description": "Check DNS resolution and network configuration on a Linux instance.", "timeout": 60,
     "content": _b64('echo "network check: ok"\n')},
]
