"""AlicloudModule: call(), not_found, fail_api and add_secret, against the simulator."""

from __future__ import annotations

from ansible_collections.alibabacloud.ecs_ops.plugins.module_utils._module import AlicloudModule


def connection(server):
    return dict(region="cn-hangzhou", access_key="sim-access-key", secret_key="sim-secret-key",
                oos_endpoint=server.url, ecs_endpoint=server.url)


def make_main(template_name, not_found=(), secret=None):
    def main():
        module = AlicloudModule(argument_spec=dict(), supports_check_mode=True)
        module.add_secret(secret)
        body = module.call("oos", "GetTemplate", {"TemplateName": template_name}, not_found=not_found)
        module.exit_json(changed=False, found=body is not None,
                         name=(body or {}).get("Template", {}).get("TemplateName"), echo=secret)
    return main


def test_call_returns_the_body(sim_server, run_module):
    rc, result = run_module(make_main("ACS-ECS-BulkyApplyPatchBaseline"), connection(sim_server))
    assert rc == 0 and result["found"] and result["name"] == "ACS-ECS-BulkyApplyPatchBaseline"


def test_not_found_codes_become_none(sim_server, run_module):
    rc, result = run_module(make_main("no-such-template", not_found=("EntityNotExists.",)), connection(sim_server))
    assert rc == 0 and result["found"] is False


def test_other_errors_fail_the_task_with_the_operation(sim_server, run_module):
    rc, result = run_module(make_main("no-such-template"), connection(sim_server))
    assert rc == 1
    assert result["msg"].startswith("OOS GetTemplate failed: EntityNotExists.Template")
    assert result["error"]["http_status"] == 404


def test_added_secrets_are_masked_in_the_output(sim_server, run_module):
    rc, result = run_module(make_main("ACS-ECS-BulkyApplyPatchBaseline", secret="s3cr3t-VALUE-42"), connection(sim_server))
    assert rc == 0 and "s3cr3t-VALUE-42" not in repr(result)


def test_missing_region_is_an_input_error(sim_server, run_module):
    args = connection(sim_server)
    del args["region"]
    rc, result = run_module(make_main("x"), args)
    assert rc == 1 and "region is required" in result["msg"]
    assert [c for c in sim_server.calls() if c["product"]] == []
