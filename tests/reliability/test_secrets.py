"""R3 secrets: no secret reaches any output, at the highest verbosity, on success or failure.

Secrets are distinctive values (``R3-...`` plus a random part per run) in every place a secret goes:

- the access key secret and an STS security token: the simulator is started so that it accepts only
  that key and requires that token (``tools/sim_session.simulator(access_key=, secret_key=,
  security_token=)``), and the modules get them from ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` /
  ``ALIBABA_CLOUD_SECURITY_TOKEN``; every API call succeeding proves both were used (the access key id
  is not a secret in Alibaba Cloud's model and is not checked);
- a wrong ``secret_key`` given as a module option (the call fails with SignatureDoesNotMatch);
- secret extension parameters (``oos_extension_install`` ``secret_parameters``), a secret parameter
  given by mistake in ``parameters`` (the module knows it is secret from the template's ``NoEcho``),
  one that fails validation, and the same secrets read back with ``oos_execution_info``;
- Cloud Assistant ``secret_parameters`` that the script prints (on success, on failure and while API
  calls are throttled and retried, which logs a warning per retry at -vvv), and a script run with
  ``no_log_output`` whose text is secret and whose output (computed on the instance) must not come back;
- ``extension_rollout`` ``secret_parameters`` (the role writes JSON, Markdown and HTML reports).

Everything runs at ``-vvvv`` with Ansible's log file, local and remote temp directories and home
directed into a directory the test owns. The test fails if any secret, raw, percent-encoded or
Base64-encoded, appears in ansible's stdout or stderr, in any file under that directory (reports, log,
temp files), or in the integration runner's output and per-target logs. The fast size runs two
integration targets plus the playbook below (with the role); the full size runs every target.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest

from harness import FULL, ROOT, run_playbook, start_sim

RUN = uuid.uuid4().hex[:10]
ACCESS_KEY = "R3-AK-ID-%s" % RUN                         # not a secret, only distinctive
SECRET_KEY = "R3-SECRET-KEY-3f9a-%s" % RUN
TOKEN = "R3-STS-TOKEN-8d2e-%s" % RUN
WRONG_SECRET = "R3-WRONG-SECRET-5e1b-%s" % RUN
EXT_SECRET = "R3-EXT-%s" % RUN                          # BT Panel password: 8 to 32 characters
MISPLACED_SECRET = "R3-MYSQL-%s" % RUN                  # mysql rootPassword given in parameters
INVALID_SECRET = "R3-TOO-LONG-FOR-BT-PANEL-%s" % RUN    # longer than 32: fails validation
ROLE_SECRET = "R3-ROLE-%s" % RUN
CMD_SECRET = "R3-CMD-PARAM-2b8f-%s" % RUN
NOLOG_TEXT = "R3-NOLOG-SCRIPT-9e4c-%s" % RUN            # in the script text of a no_log_output run
NOLOG_OUTPUT = "R3-NOLOG-OUT-%s-42" % RUN               # printed by that script, never in its text

SECRETS = {
    "access key secret": SECRET_KEY, "security token": TOKEN, "wrong secret_key option": WRONG_SECRET,
    "extension secret parameter": EXT_SECRET, "secret given in parameters": MISPLACED_SECRET,
    "invalid secret parameter": INVALID_SECRET, "role secret parameter": ROLE_SECRET,
    "command secret parameter": CMD_SECRET, "no_log_output script text": NOLOG_TEXT,
    "no_log_output script output": NOLOG_OUTPUT,
}
# The secret parameter the integration target ecs_cloud_assistant_command uses.
INTEGRATION_SECRETS = {"access key secret": SECRET_KEY, "security token": TOKEN,
                       "integration target secret": "integration-secret-9f3b"}
FAST_TARGETS = ["ecs_cloud_assistant_info", "oos_extension_info"]


def encodings(secret):
    """The forms a secret could leak in: raw, percent-encoded, and Base64 at each byte alignment."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    data = secret.encode()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        start = (offset * 4 + 2) // 3
        end = (offset + len(data)) // 3 * 4
        if end - start >= 12:
            forms.add(encoded[start:end])
    return forms


def leaks(text, secrets):
    return sorted({name for name, secret in secrets.items() for form in encodings(secret) if form in text})


def without_admin_api_tasks(text):
    """``text`` without the output of tasks that read the simulator's admin API (``/_sim/``).

    Some integration targets fetch the simulator's call log with ``uri`` to count API calls; at -vvvv
    Ansible prints that log, which holds every request as the cloud received it, secret parameter values
    included. That is the cloud's side, not output of the collection, so those tasks are left out (a
    task is the text from one ``TASK [`` line to the next, in the screen output and in the log file).
    """
    kept, section = [], []
    for line in text.splitlines(keepends=True):
        if "TASK [" in line:
            if not any("/_sim/" in part for part in section):
                kept.extend(section)
            section = []
        section.append(line)
    if not any("/_sim/" in part for part in section):
        kept.extend(section)
    return "".join(kept)


def scan_tree(root, secrets, filter_text=None):
    """{relative path: [secret names]} for every file under ``root`` that holds a secret."""
    found = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes().decode("utf-8", "replace")
            hit = leaks(filter_text(text) if filter_text else text, secrets)
            if hit:
                found[str(path.relative_to(root))] = hit
    return found


def ansible_dirs(root):
    """Environment that sends every file Ansible writes into ``root`` (and logs everything there)."""
    root = Path(root)
    for name in ("home", "local-tmp", "remote-tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return {"ANSIBLE_HOME": str(root / "home"), "ANSIBLE_LOCAL_TEMP": str(root / "local-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(root / "remote-tmp"), "ANSIBLE_LOG_PATH": str(root / "ansible.log"),
            "ANSIBLE_ROLES_PATH": str(ROOT / "roles")}


def assert_no_leak(where, text, secrets):
    found = leaks(text, secrets)
    assert not found, "%s contains secret(s): %s" % (where, ", ".join(found))


PLAYBOOK = r"""
- name: R3 secrets in module results, warnings and failures
  hosts: localhost
  gather_facts: false
  vars:
    sim_url: "{{ lookup('ansible.builtin.env', 'ALICLOUD_SIM_URL') }}"
  tasks:
    - name: BT Panel with a secret password (check mode, real, again)
      alibabacloud.ecs_ops.oos_extension_install:
        name: BT Panel
        parameters: {username: ops, port: 8888}
        secret_parameters: {password: "{{ r3_ext_secret }}"}
        instance_ids: ["{{ r3_ids['web-1'] }}"]
        poll_interval: 0.2
      check_mode: "{{ item == 'check' }}"
      diff: true
      loop: [check, real, again]
      register: bt

    - name: MySQL with its secret root password given, by mistake, in parameters
      alibabacloud.ecs_ops.oos_extension_install:
        name: mysql
        parameters: {version: "8.0", rootPassword: "{{ r3_misplaced_secret }}"}
        instance_ids: ["{{ r3_ids['web-2'] }}"]
        poll_interval: 0.2
      register: mysql

    - name: A secret that fails validation
      alibabacloud.ecs_ops.oos_extension_install:
        name: BT Panel
        secret_parameters: {password: "{{ r3_invalid_secret }}"}
        instance_ids: ["{{ r3_ids['web-3'] }}"]
      register: invalid
      ignore_errors: true

    - name: Read the executions back with their parameters, instances, tasks and logs
      alibabacloud.ecs_ops.oos_execution_info:
        template_name: ACS-ECS-BulkyConfigureOOSPackageWithTemporaryURL
        include_instances: true
        include_tasks: true
        include_logs: true
      register: executions

    - name: Throttle the next two RunCommand calls (each retry is a warning at -vvv)
      ansible.builtin.uri:
        url: "{{ sim_url }}/_sim/faults"
        method: POST
        body_format: json
        body: {action: RunCommand, code: Throttling.User, http_status: 400, count: 2}

    - name: A command that prints its secret parameter
      alibabacloud.ecs_ops.ecs_cloud_assistant_command:
        instance_ids: ["{{ r3_ids['web-1'] }}"]
        command: !unsafe 'echo "token {{token}}"'
        secret_parameters: {token: "{{ r3_cmd_secret }}"}
        poll_interval: 0.2
      register: printed

    - name: A failing command that prints its secret parameter
      alibabacloud.ecs_ops.ecs_cloud_assistant_command:
        instance_ids: ["{{ r3_ids['web-1'] }}", "{{ r3_ids['web-2'] }}"]
        command: !unsafe 'echo "token {{token}}" >&2; exit 3'
        secret_parameters: {token: "{{ r3_cmd_secret }}"}
        poll_interval: 0.2
      register: failing
      ignore_errors: true

    - name: A secret script whose output is withheld (no_log_output)
      alibabacloud.ecs_ops.ecs_cloud_assistant_command:
        instance_ids: ["{{ r3_ids['web-1'] }}"]
        command: "echo {{ r3_nolog_text }} >/dev/null; echo {{ r3_nolog_output_head }}$((6*7))"
        no_log_output: true
        poll_interval: 0.2
      register: nolog

    - name: A wrong secret_key given as a module option
      alibabacloud.ecs_ops.ecs_cloud_assistant_info:
        access_key: "{{ r3_access_key }}"
        secret_key: "{{ r3_wrong_secret }}"
        api_retries: 0
      register: wrong_key
      ignore_errors: true

    - name: Every step did what it should, with the secrets masked
      ansible.builtin.assert:
        that:
          - bt.results[0] is changed and bt.results[1] is changed and bt.results[2] is not changed
          - bt.results[1].instances[r3_ids['web-1']].result == 'succeeded'
          - mysql is changed and mysql.instances[r3_ids['web-2']].result == 'succeeded'
          - "invalid is failed and 'parameters.password: the length must be between 8 and 32' in invalid.msg"
          - executions.executions | length >= 2
          - printed.instances[r3_ids['web-1']].stdout | trim == 'token ********'
          - failing is failed and failing.instances[r3_ids['web-2']].exit_code == 3
          - nolog is changed and nolog.instances[r3_ids['web-1']].status == 'Success'
          - nolog.instances[r3_ids['web-1']].stdout == ''
          - wrong_key is failed and wrong_key.error.code == 'SignatureDoesNotMatch'

- name: R3 secrets through the extension_rollout role and its reports
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Roll BT Panel out with a secret password
      ansible.builtin.include_role:
        name: extension_rollout
      vars:
        extension_rollout_extensions:
          - name: BT Panel
            parameters: {username: ops, port: 8888}
            secret_parameters: {password: "{{ r3_role_secret }}"}
        extension_rollout_region: cn-hangzhou
        extension_rollout_instance_ids: ["{{ r3_ids['db'] }}", "{{ r3_ids['web-3'] }}"]
        extension_rollout_poll_interval: 0.2
        extension_rollout_wait_timeout: 120
        extension_rollout_report_dir: "{{ r3_report_dir }}"
"""


@pytest.fixture(scope="module")
def secret_sim():
    """A simulator that accepts only the distinctive key and requires the distinctive STS token."""
    with start_sim(access_key=ACCESS_KEY, secret_key=SECRET_KEY, security_token=TOKEN) as sim:
        yield sim


def test_no_secret_in_any_output_of_modules_and_role(secret_sim, tmp_path):
    sim = secret_sim
    sim.reset()
    ids = {i["name"]: i["id"] for i in sim.state()["instances"].values()}
    out_dir = tmp_path / "out"
    report_dir = out_dir / "reports"
    env = ansible_dirs(out_dir)
    extra_vars = dict(
        r3_ids=ids, r3_access_key=ACCESS_KEY, r3_wrong_secret=WRONG_SECRET, r3_ext_secret=EXT_SECRET,
        r3_misplaced_secret=MISPLACED_SECRET, r3_invalid_secret=INVALID_SECRET, r3_role_secret=ROLE_SECRET,
        r3_cmd_secret=CMD_SECRET, r3_nolog_text=NOLOG_TEXT, r3_nolog_output_head=NOLOG_OUTPUT[:-2],
        r3_report_dir=str(report_dir))
    mark = sim.mark()
    proc = run_playbook(sim, PLAYBOOK, extra_vars=extra_vars, verbosity=4, env=env)
    assert proc.returncode == 0, "the playbook failed:\n%s\n%s" % (proc.stdout[-5000:], proc.stderr[-2000:])

    # The secrets were really used: the simulator received them, and accepted the key and the token.
    calls = sim.calls(mark)
    sent = json.dumps([c.get("params") for c in calls])
    for name in ("extension secret parameter", "secret given in parameters", "role secret parameter",
                 "command secret parameter"):
        assert SECRETS[name] in sent, "the %s never reached the API" % name
    succeeded = [c for c in calls if c.get("http_status") == 200]
    assert succeeded and all(c["access_key"] == ACCESS_KEY for c in succeeded)
    assert any(c.get("error_code") == "SignatureDoesNotMatch" for c in calls)
    assert any(c.get("fault") for c in calls if c["action"] == "RunCommand"), "the RunCommand throttling did not fire"
    assert "retry" in proc.stdout + proc.stderr, "no retry warning at -vvvv"
    assert sorted(p.suffix for p in report_dir.iterdir()) == [".html", ".json", ".md", ".xml"]
    assert (out_dir / "ansible.log").stat().st_size > 0

    assert_no_leak("ansible-playbook stdout", proc.stdout, SECRETS)
    assert_no_leak("ansible-playbook stderr", proc.stderr, SECRETS)
    leaked = scan_tree(out_dir, SECRETS)
    assert not leaked, "files with secrets: %s" % leaked


def test_no_secret_in_the_integration_suite_at_vvvv(tmp_path):
    out_dir = tmp_path / "out"
    env = dict(os.environ, **ansible_dirs(out_dir))
    env.update(ALICLOUD_SIM_ACCESS_KEY=ACCESS_KEY, ALICLOUD_SIM_SECRET_KEY=SECRET_KEY,
               ALICLOUD_SIM_SECURITY_TOKEN=TOKEN)
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"):
        env.pop(name, None)
    targets = [] if FULL else FAST_TARGETS
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "run_integration.py"), *targets, "-vvvv",
                           "--output-dir", str(out_dir / "targets")],
                          env=env, cwd=ROOT, capture_output=True, text=True, errors="replace", timeout=1800,
                          check=False)
    assert proc.returncode == 0, "integration targets failed:\n%s\n%s" % (proc.stdout[-5000:], proc.stderr[-2000:])
    logs = sorted((out_dir / "targets").glob("*.log"))
    all_targets = [t for t in (ROOT / "tests" / "integration" / "targets").glob("*/tasks/main.yml")
                   if not t.parent.parent.name.startswith(("setup_", "prepare_"))]   # prepare steps, not targets
    assert len(logs) == (len(all_targets) if FULL else len(FAST_TARGETS))
    assert all(log.stat().st_size > 0 for log in logs)
    # The credentials may appear nowhere at all; the target's secret parameter nowhere but in the
    # simulator's call log that some targets print (see without_admin_api_tasks).
    credentials = {k: v for k, v in INTEGRATION_SECRETS.items() if k != "integration target secret"}
    for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        assert_no_leak("run_integration.py " + name, text, credentials)
        assert_no_leak("run_integration.py %s (without admin API tasks)" % name, without_admin_api_tasks(text),
                       INTEGRATION_SECRETS)
    leaked = scan_tree(out_dir, credentials)
    assert not leaked, "files with credentials: %s" % leaked
    leaked = scan_tree(out_dir, INTEGRATION_SECRETS, without_admin_api_tasks)
    assert not leaked, "files with secrets outside the admin API tasks: %s" % leaked
