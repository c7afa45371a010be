"""R3 follow-up: secret values of an execution never reach the output of a later ``oos_execution_info``.

The executions are started the way ``oos_extension_install`` starts them (through the SDK here, so the
test does not depend on that module): the secret values in clear in ``Parameters.parameters``, their
names in the ``ecs-ops-secret-parameters`` tags. Then ``oos_execution_info`` reads them back at ``-vvvv``
(by id, by filter, and a child execution by its own id, with instances, tasks and logs) in a task that
does not know any secret, so Ansible's ``no_log`` cannot help: only the tags can.

The secrets: a parameter the extension does not mark secret (only the tag names it), a value the
package prints in its output, a wrong value that fails validation (the message holds it and the allowed
one), a BT Panel password with a quote (JSON text holds it escaped), and the value of an OOS encryption
parameter an execution references as ``{{oos-secret:NAME}}`` (the collection never sees it). The test
fails if any of them, raw, percent-encoded or Base64-encoded, is in ansible's stdout or stderr or in any
file Ansible wrote.
"""

from __future__ import annotations

import json
import time
import uuid

from alibabacloud_oos20190601 import models
from alibabacloud_oos20190601.client import Client
from alibabacloud_tea_openapi.models import Config

from harness import names_to_ids, run_playbook
from test_secrets import ansible_dirs, assert_no_leak, scan_tree

RUN = uuid.uuid4().hex[:10]
TEMPLATE = "ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL"
BT = "ACS-Extension-BaoTaPanelFree-One-Click-1853370294850618"
AGENT = "acme-followup-agent"
TOKEN = "R3F-TOKEN-%s" % RUN                 # not NoEcho in the extension: only the tag names it
VERSION = "R3F-VERSION-%s" % RUN             # the package prints it in its output
WRONG = "R3F-WRONG-%s" % RUN                 # not an allowed value: the failure message holds it
BT_TAIL = "BT-%s" % RUN
BT_PASSWORD = 'R3F"%s' % BT_TAIL             # 8 to 32 characters, with a quote
STORED = "R3F-STORED-%s" % RUN               # the value of the encryption parameter r3f-bt-password
SECRETS = {"token": TOKEN, "version": VERSION, "wrong token": WRONG, "bt password": BT_PASSWORD,
           "bt password after its quote": BT_TAIL, "encryption parameter value": STORED}
SECRET_TAG = "ecs-ops-secret-parameters"

PLAYBOOK = r"""
- name: R3 follow-up, reading executions with secret parameters back
  hosts: localhost
  gather_facts: false
  tasks:
    - name: By id, with everything
      alibabacloud.ecs_ops.oos_execution_info:
        execution_ids: "{{ r3f_executions.values() | list }}"
        include_instances: true
        include_tasks: true
        include_logs: true
      register: by_id

    - name: By filter, with everything
      alibabacloud.ecs_ops.oos_execution_info:
        template_name: BulkyConfigureOOSPackage
        include_instances: true
        include_tasks: true
        include_logs: true
      register: by_filter

    - name: A child execution by its own id
      alibabacloud.ecs_ops.oos_execution_info:
        execution_ids: ["{{ r3f_child }}"]
        include_tasks: true
        include_logs: true
      register: child

    - name: The parameters are masked and the runs did what they should
      vars:
        found: "{{ dict(by_id.executions | map(attribute='execution_id') | zip(by_id.executions)) }}"
      ansible.builtin.assert:
        that:
          - by_id.executions | length == 4 and by_filter.executions | length == 4
          - found[r3f_executions.agent].parameters.parameters.token == '********'
          - found[r3f_executions.agent].parameters.parameters.version == '********'
          - found[r3f_executions.agent].status == 'Success'
          - found[r3f_executions.wrong].status == 'Failed'
          - "'********' in found[r3f_executions.wrong].status_message"
          - found[r3f_executions.bt].parameters.parameters.password == '********'
          - found[r3f_executions.reference].status == 'Success'
          - found[r3f_executions.reference].parameters.parameters.password == '********'
          - child.executions[0].parameters.parameters.token == '********'
"""


def oos_client(sim):
    return Client(Config(access_key_id=sim.env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                         access_key_secret=sim.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], region_id="cn-hangzhou",
                         endpoint=sim.url.split("://", 1)[1], protocol="http"))


def start(oos, package, instance_id, parameters):
    """Start as oos_extension_install does; the id once the execution has ended."""
    request = models.StartExecutionRequest(
        template_name=TEMPLATE, mode="Automatic", safety_check="Skip",
        tags={SECRET_TAG: ",".join(sorted(parameters))},
        parameters=json.dumps({"action": "install", "packageName": package, "parameters": parameters,
                               "targets": {"Type": "ResourceIds", "ResourceIds": [instance_id]}}))
    execution_id = oos.start_execution(request).body.execution.execution_id
    deadline = time.monotonic() + 60
    while listed(oos, execution_id=execution_id)[0].status not in ("Success", "Failed", "Cancelled"):
        assert time.monotonic() < deadline, "%s did not end" % execution_id
        time.sleep(0.1)
    return execution_id


def listed(oos, **filters):
    return oos.list_executions(models.ListExecutionsRequest(**filters)).body.executions


def start_all(sim, oos):
    ids = names_to_ids(sim)
    sim.admin("templates/publish", {"name": AGENT, "parameters": {
        "version": {"Type": "String", "Default": "1.0"}, "token": {"Type": "String", "AllowedValues": [TOKEN]}}})
    oos.create_secret_parameter(models.CreateSecretParameterRequest(name="r3f-bt-password", value=STORED))
    return dict(
        agent=start(oos, AGENT, ids["web-1"], {"token": TOKEN, "version": VERSION}),
        wrong=start(oos, AGENT, ids["web-2"], {"token": WRONG, "version": VERSION}),
        bt=start(oos, BT, ids["web-3"], {"username": "ops", "password": BT_PASSWORD}),
        reference=start(oos, BT, ids["db"], {"password": "{{oos-secret:r3f-bt-password}}"}))


def test_no_secret_value_in_the_output_of_a_later_oos_execution_info(sim, tmp_path):
    oos = oos_client(sim)
    executions = start_all(sim, oos)
    in_clear = json.dumps([e.to_map() for e in listed(oos, template_name=TEMPLATE)])
    assert TOKEN in in_clear and VERSION in in_clear and WRONG in in_clear, "the secrets are not in the executions"
    assert STORED not in in_clear
    child = listed(oos, parent_execution_id=executions["agent"])[0].execution_id
    out_dir = tmp_path / "out"
    proc = run_playbook(sim, PLAYBOOK, extra_vars=dict(r3f_executions=executions, r3f_child=child), verbosity=4,
                        env=ansible_dirs(out_dir))
    assert proc.returncode == 0, "the playbook failed:\n%s\n%s" % (proc.stdout[-5000:], proc.stderr[-2000:])
    assert "********" in proc.stdout
    assert_no_leak("ansible-playbook stdout", proc.stdout, SECRETS)
    assert_no_leak("ansible-playbook stderr", proc.stderr, SECRETS)
    leaked = scan_tree(out_dir, SECRETS)
    assert not leaked, "files with secrets: %s" % leaked
