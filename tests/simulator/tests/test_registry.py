"""The action registry: every action that is not a read is registered as mutating, and only those."""

from alibabacloud_ecs20140526 import models as ecs_models

from alicloud_sim.core import products
from alicloud_sim.core.registry import ACTIONS
from alicloud_sim.simulator import PRODUCTS

READS = ("Describe", "List", "Get")


def test_every_action_but_the_reads_is_mutating():
    products.load(PRODUCTS)
    assert len(ACTIONS) >= 38
    wrong = sorted(f"{a.product}:{a.name}" for a in ACTIONS.values() if a.mutating == a.name.startswith(READS))
    assert wrong == []


def test_the_call_log_flag_comes_from_the_registration(sim_server):
    sim_server.ecs().create_command(ecs_models.CreateCommandRequest(
        region_id="cn-hangzhou", name="x", type="RunShellScript", command_content="ZWNobw=="))
    sim_server.ecs().describe_commands(ecs_models.DescribeCommandsRequest(region_id="cn-hangzhou"))
    assert [(c["action"], c["mutating"]) for c in sim_server.calls(product="ecs")] == [
        ("CreateCommand", True), ("DescribeCommands", False)]


def test_components_go_product_by_product(sim_server):
    # advance() and instance_changed() visit them in this order: Cloud Assistant settles before OOS looks
    assert list(sim_server.sim.components) == ["instances", "commands", "files", "snapshots", "secret_parameters",
                                               "templates", "executions", "patching"]
