"""Reboots, modelled and never run: RebootInstance (Starting, agent offline, then Running with a new start time and
boot id), and a script that asks for a reboot of its instance (the agent goes offline after the script ended; a
command sent meanwhile waits for it). No script ever reboots this host."""

import base64

from alibabacloud_ecs20140526 import models as m
from conftest import error_of, instance_ids, invocation, run, wait_for


def agent_status(server, instance_id):
    body = server.ecs().describe_cloud_assistant_status(m.DescribeCloudAssistantStatusRequest(
        region_id="cn-hangzhou", instance_id=[instance_id])).body
    return body.instance_cloud_assistant_status_set.instance_cloud_assistant_status[0].cloud_assistant_status


def instance(server, instance_id):
    return server.admin("GET", "instances/%s" % instance_id)


def reboot(server, instance_id, **kw):
    return server.ecs().reboot_instance(m.RebootInstanceRequest(instance_id=instance_id, **kw))


def test_reboot_instance_goes_starting_and_comes_back(sim_server_factory):
    server = sim_server_factory(time_scale=1.0, fleet={"durations": {"reboot": 30}, "regions": {"cn-hangzhou": {
        "instances": [{"name": "web", "os_type": "linux"}, {"name": "off", "os_type": "linux", "status": "Stopped"}]}}})
    web = instance_ids(server, "web")[0]
    before = instance(server, web)
    started = server.ecs().describe_instances(m.DescribeInstancesRequest(
        region_id="cn-hangzhou", instance_ids='["%s"]' % web)).body.instances.instance[0].start_time
    assert error_of(lambda: reboot(server, web, dry_run=True))[0] == "DryRunOperation"
    assert instance(server, web)["status"] == "Running"
    reboot(server, web)
    assert instance(server, web)["status"] == "Starting" and instance(server, web)["rebooting"]
    assert agent_status(server, web) == "false"
    assert error_of(lambda: run(server, "true", prefix="web"))[0] == "InvalidInstance.NotMatch"
    assert error_of(lambda: reboot(server, web)) == ("IncorrectInstanceStatus", 403), "already rebooting"
    server.admin("POST", "clock", {"advance": 31})
    after = instance(server, web)
    assert (after["status"], after["rebooting"], agent_status(server, web)) == ("Running", False, "true")
    assert after["boot_id"] != before["boot_id"]
    assert server.ecs().describe_instances(m.DescribeInstancesRequest(
        region_id="cn-hangzhou", instance_ids='["%s"]' % web)).body.instances.instance[0].start_time != started
    assert error_of(lambda: reboot(server, instance_ids(server, "off")[0])) == ("IncorrectInstanceStatus", 403)
    assert error_of(lambda: reboot(server, "i-unknown")) == ("InvalidInstanceId.NotFound", 404)


def test_a_pending_agent_installation_completes_with_reboot_instance(sim_server):
    noagent = instance_ids(sim_server, "noagent")[0]
    sim_server.ecs().install_cloud_assistant(m.InstallCloudAssistantRequest(region_id="cn-hangzhou",
                                                                            instance_id=[noagent]))
    reboot(sim_server, noagent)
    wait_for(lambda: agent_status(sim_server, noagent) == "true")


def test_a_script_reboots_its_instance_not_this_host(sim_server_factory):
    server = sim_server_factory(time_scale=1.0, fleet={"durations": {"reboot": 20, "delivery": 1}, "regions": {
        "cn-hangzhou": {"instances": [{"name": "web", "os_type": "linux"}]}}})
    web = instance_ids(server, "web")[0]
    boot = instance(server, web)["boot_id"]
    asking = run(server, 'echo "$ALICLOUD_SIM_BOOT_ID"; touch "$ALICLOUD_SIM_REBOOT"', prefix="web").invoke_id
    server.admin("POST", "clock", {"advance": 1})
    done = invocation(server, asking, within=30)
    assert done.invocation_status == "Success", "the script that asked ends normally"
    assert base64.b64decode(done.invoke_instances.invoke_instance[0].output).decode().strip() == boot
    state = instance(server, web)
    assert (state["status"], state["rebooting"], agent_status(server, web)) == ("Running", True, "false")
    waiting = run(server, 'echo "$ALICLOUD_SIM_BOOT_ID"', prefix="web").invoke_id
    server.admin("POST", "clock", {"advance": 5})
    assert invocation(server, waiting, statuses={"Pending"}), "a command sent meanwhile waits for the agent"
    server.admin("POST", "clock", {"advance": 20})
    after = invocation(server, waiting, within=30)
    new_boot = base64.b64decode(after.invoke_instances.invoke_instance[0].output).decode().strip()
    assert after.invocation_status == "Success" and new_boot == instance(server, web)["boot_id"] != boot
    assert agent_status(server, web) == "true"
