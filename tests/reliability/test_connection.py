"""R9: the ``alibabacloud.ecs_ops.cloud_assistant`` connection plugin, run as users run it: a play of everyday
modules on instances read by the ``ecs`` inventory plugin, side by side with the same play on a ``local`` host as
the reference; then the ways it must fail (an offline agent, a stopped instance, a command that outlives its
timeout).

The simulator runs Linux shell scripts for real in a directory of each instance (``HOME`` is its ``root/``), so
what the play writes is checked on disk, and the module code cached on one instance is never seen by another.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from harness import BIN, ROOT, ansible_env, plain, run_module, run_playbook, wait_until

CONNECTION = "alibabacloud.ecs_ops.cloud_assistant"
FLEET = {"regions": {"cn-hangzhou": {"instances": [
    {"name": "web", "count": 2, "os_type": "linux", "tags": {"role": "web"}},
    {"name": "offline", "os_type": "linux", "agent": "offline"},
    {"name": "stopped", "os_type": "linux", "status": "Stopped"},
    {"name": "win", "os_type": "windows"},
]}}}
PLAY = """
- name: Everyday modules, through Cloud Assistant and locally
  hosts: "{{ target }}"
  gather_facts: true
  vars:
    base: "{{ workdir_base | default(ansible_env.HOME) }}/ca-test"
  tasks:
    - name: A directory
      ansible.builtin.file:
        path: "{{ base }}"
        state: directory
        mode: "0755"
      register: made

    - name: A command that fails, with stdout and stderr apart
      ansible.builtin.shell: "echo out; echo err >&2; exit 3"
      register: failing
      failed_when: false
      changed_when: false

    - name: Output far beyond the 24 KB the agent keeps
      ansible.builtin.shell: "head -c 300000 /dev/zero | tr '\\\\0' 'x'; echo; echo tail >&2"
      register: big
      changed_when: false

    - name: A file of a few MiB
      ansible.builtin.copy:
        src: "{{ payload }}"
        dest: "{{ base }}/payload.bin"
        mode: "0600"
      register: copied

    - name: Its checksum there
      ansible.builtin.stat:
        path: "{{ base }}/payload.bin"
        checksum_algorithm: sha256
      register: stated

    - name: Back again
      ansible.builtin.fetch:
        src: "{{ base }}/payload.bin"
        dest: "{{ out }}/{{ inventory_hostname }}.bin"
        flat: true

    - name: A template
      ansible.builtin.template:
        src: "{{ template }}"
        dest: "{{ base }}/app.conf"
        mode: "0644"
      register: templated

    - name: A line in it
      ansible.builtin.lineinfile:
        path: "{{ base }}/app.conf"
        line: "added = yes"
      register: line1

    - name: The same line again changes nothing
      ansible.builtin.lineinfile:
        path: "{{ base }}/app.conf"
        line: "added = yes"
      register: line2

    - name: What the file says
      ansible.builtin.slurp:
        src: "{{ base }}/app.conf"
      register: conf

    - name: A file and a directory without a mode take the umask, as over SSH
      ansible.builtin.file:
        path: "{{ base }}/{{ item.name }}"
        state: "{{ item.state }}"
      loop: [{name: plain, state: touch}, {name: plain.d, state: directory}]

    - name: Their modes
      ansible.builtin.stat:
        path: "{{ base }}/{{ item }}"
      loop: [plain, plain.d]
      register: plain

    - name: Keep what the tasks said
      ansible.builtin.copy:
        content: "{{ {'made': made.changed, 'failing': [failing.rc, failing.stdout, failing.stderr],
                     'big': [big.stdout | length, big.stdout[:3], big.stderr], 'copied': copied.checksum,
                     'stated': stated.stat.checksum, 'templated': templated.changed,
                     'lines': [line1.changed, line2.changed], 'conf': conf.content | b64decode,
                     'python': ansible_python.version.major, 'system': ansible_system,
                     'modes': plain.results | map(attribute='stat.mode') | list} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
"""


@pytest.fixture
def fleet(sim):
    sim.reset(FLEET)
    return {i["name"]: i["id"] for i in sim.state()["instances"].values()}


def on_instance(sim, instance_id, script):
    """stdout of ``script`` on the instance, through ecs_cloud_assistant_command: evidence independent of the
    connection plugin."""
    rc, result, _out, err = run_module(sim, "ecs_cloud_assistant_command", {
        "region": "cn-hangzhou", "instance_ids": [instance_id], "command": script, "poll_interval": 0.1})
    assert rc == 0, (result, err)
    return result["instances"][instance_id]["stdout"]


def write_inventory(tmp):
    directory = Path(tmp) / "inventory"
    directory.mkdir()
    (directory / "fleet.ecs.yml").write_text(
        "plugin: alibabacloud.ecs_ops.ecs\nregions: [cn-hangzhou]\nhostnames: [instance_name]\n"
        "cloud_assistant_connection: true\ncompose:\n  ansible_cloud_assistant_poll_interval: 0.05\n")
    (directory / "local.yml").write_text(
        "all:\n  hosts:\n    reference:\n      ansible_connection: local\n      workdir_base: %s/reference\n" % tmp)
    return directory


def test_a_play_of_everyday_modules_matches_the_local_reference(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        payload = Path(tmp) / "payload.bin"
        payload.write_bytes(os.urandom(2 * 1024 * 1024))
        template = Path(tmp) / "app.conf.j2"
        template.write_text("name = {{ inventory_hostname }}\nsystem = {{ ansible_system }}\n")
        out = Path(tmp) / "out"
        out.mkdir()
        started = sim.mark()
        proc = run_playbook(sim, PLAY, inventory=str(inventory), extra_vars=dict(
            target="web-1:web-2:reference", payload=str(payload), template=str(template), out=str(out)))
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        calls = sim.calls(since=started)
        results = {h: json.loads((out / ("%s.json" % h)).read_text()) for h in ("web-1", "web-2", "reference")}
        digest = hashlib.sha256(payload.read_bytes()).hexdigest()
        for host in ("web-1", "web-2"):
            got, ref = results[host], results["reference"]
            assert got["failing"] == [3, "out", "err"], "exit code, stdout and stderr apart"
            assert got["big"] == [300000, "xxx", "tail"], "output beyond 24 KB arrives whole"
            assert got["stated"] == digest == ref["stated"]
            assert got["copied"] == ref["copied"]
            assert (out / ("%s.bin" % host)).read_bytes() == payload.read_bytes(), "fetch brings it back intact"
            assert got["conf"] == "name = %s\nsystem = Linux\nadded = yes\n" % host
            assert got["lines"] == [True, False] == ref["lines"]
            assert (got["made"], got["templated"], got["python"], got["system"]) == (
                ref["made"], ref["templated"], ref["python"], ref["system"])
            assert got["modes"] == ref["modes"] == ["0644", "0755"], "the agent's umask, not the plugin's"
            on_disk = on_instance(sim, fleet[host], "sha256sum ~/ca-test/payload.bin")
            assert on_disk.split()[0] == digest, "the file is where the task put it"
            wait_until(lambda h=host: not on_instance(sim, fleet[h], "ls -A ~/.ansible/tmp"), 30,
                       what="Ansible's temporary directories removed (their removal is not waited for)")
        actions = {c["action"] for c in calls}
        assert actions <= {"DescribeInstances", "DescribeCloudAssistantStatus", "RunCommand",
                           "DescribeInvocationResults", "SendFile"}, \
            "the inventory's reads, then commands, their results and files"
        failed = [c for c in calls if c["http_status"] != 200]
        assert all(c["error_code"] == "Throttling.User" for c in failed), \
            "no call failed, except over the account's API quota (the simulator enforces it; they were retried)"


def test_module_code_is_cached_per_instance(sim, fleet):
    """The second task with a module sends one command per host, and so does every task of a later run; a module
    cached on web-1 is uploaded again to web-2 (each instance's cache is its own)."""
    for name in ("web-1", "web-2"):   # instance directories outlive a fleet reset: start from an empty cache
        on_instance(sim, fleet[name], "rm -rf ~/.cache/alibabacloud.ecs_ops")
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        play = ("- hosts: \"{{ target }}\"\n  gather_facts: false\n  tasks:\n"
                "    - ansible.builtin.ping: {}\n    - ansible.builtin.ping: {data: again}\n")
        first = sim.mark()
        proc = run_playbook(sim, play, inventory=str(inventory), extra_vars=dict(target="web-1"))
        assert proc.returncode == 0, proc.stdout[-3000:]
        sent_web1 = [c["action"] for c in sim.calls(since=first) if c["action"] in ("RunCommand", "SendFile")]
        blobs = on_instance(sim, fleet["web-1"], "ls ~/.cache/alibabacloud.ecs_ops | grep '^blob-'").split()
        assert len(blobs) == 1, "one module, one cached blob"
        second = sim.mark()
        proc = run_playbook(sim, play, inventory=str(inventory), extra_vars=dict(target="web-1"))
        assert proc.returncode == 0, proc.stdout[-3000:]
        cached = [c["action"] for c in sim.calls(since=second) if c["action"] in ("RunCommand", "SendFile")]
        assert cached == ["RunCommand", "RunCommand"], "two tasks, one command each, once the module is cached"
        assert sent_web1.count("SendFile") >= 3, "the first use uploaded the module in parts"
        assert sent_web1.count("RunCommand") == 3, "a task that found it missing, then the two tasks"
        third = sim.mark()
        proc = run_playbook(sim, play, inventory=str(inventory), extra_vars=dict(target="web-2"))
        assert proc.returncode == 0, proc.stdout[-3000:]
        sent_web2 = [c["action"] for c in sim.calls(since=third) if c["action"] in ("RunCommand", "SendFile")]
        assert sorted(sent_web2) == sorted(sent_web1), "web-2 had no copy of web-1's cache"


def adhoc(sim, inventory, pattern, module, args="", extra=(), timeout=300, env=None):
    cmd = [str(BIN / "ansible"), "-i", str(inventory), pattern, "-m", module, "-a", args,
           "-e", "ansible_python_interpreter=/usr/bin/python3"] + list(extra)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=ansible_env(dict(sim.env, **(env or {}))), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)
    return proc, time.monotonic() - started


def test_an_offline_agent_fails_clearly_within_the_connect_timeout(sim, fleet):
    sim.clock(time_scale=1.0)      # the agent's delivery timeout (60 s) must not end the wait first
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        proc, seconds = adhoc(sim, inventory, "offline", "ansible.builtin.ping",
                              extra=["-e", "ansible_cloud_assistant_connect_timeout=2"])
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout and "did not take the command within 2s" in proc.stdout
    assert "agent" in proc.stdout.lower() and "offline" in proc.stdout.lower()
    assert seconds < 30
    stops = [c for c in sim.calls() if c["action"] == "StopInvocation"]
    assert stops, "the command that was never taken is stopped, not left to run later"


def test_a_stopped_instance_fails_clearly(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        proc, _seconds = adhoc(sim, inventory, "stopped", "ansible.builtin.ping")
    assert proc.returncode != 0 and "UNREACHABLE" in proc.stdout
    assert "not in the Running state" in proc.stdout, proc.stdout[-2000:]


TIMEOUT_PLAY = """
- hosts: web-1:web-2
  gather_facts: false
  vars:
    ansible_cloud_assistant_command_timeout: 10
  tasks:
    - name: A command that outlives command_timeout fails the task (web-1 ignores it, web-2 rescues it)
      block:
        - name: Longer than command_timeout
          ansible.builtin.command: sleep 100
          register: slow
          ignore_errors: "{{ inventory_hostname == 'web-1' }}"
      rescue:
        - name: Rescued
          ansible.builtin.set_fact:
            rescued: "{{ ansible_failed_result.msg }}"

    - name: The host is still in the play
      ansible.builtin.command: echo still here
      register: after
      changed_when: false

    - name: Keep what the tasks said
      ansible.builtin.copy:
        content: "{{ {'slow': slow.msg | default(''), 'rescued': rescued | default(''),
                      'after': after.stdout} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
"""


LEFT_RUNS = "ls -A ~/.cache/alibabacloud.ecs_ops | grep '^run[.]' || true"


def test_a_command_that_outlives_its_timeout_fails_its_task_not_the_host(sim, fleet):
    """The agent stops a command after command_timeout: the task fails (so ignore_errors and rescue apply), the
    host is not UNREACHABLE, the next task runs on it, and the stopped command's files are removed."""
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        started = time.monotonic()
        proc = run_playbook(sim, TIMEOUT_PLAY, inventory=str(inventory), extra_vars=dict(out=tmp))
        seconds = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        kept = {h: json.loads((Path(tmp) / ("%s.json" % h)).read_text()) for h in ("web-1", "web-2")}
    assert "UNREACHABLE" not in proc.stdout and "unreachable=1" not in proc.stdout, proc.stdout[-3000:]
    assert "outlived command_timeout (10s)" in kept["web-1"]["slow"], kept
    assert "outlived command_timeout (10s)" in kept["web-2"]["rescued"], kept
    assert kept["web-1"]["after"] == kept["web-2"]["after"] == "still here"
    assert "ignored=1" in proc.stdout and "rescued=1" in proc.stdout, proc.stdout[-1500:]
    assert seconds < 60
    for host in ("web-1", "web-2"):
        wait_until(lambda h=host: not on_instance(sim, fleet[h], LEFT_RUNS), 30,
                   what="the stopped command's files removed (not waited for)")


SECRET_PLAY = """
- hosts: web-1
  gather_facts: false
  tasks:
    - name: Large secret arguments
      ansible.builtin.command:
        cmd: sha256sum
        stdin: "{{ item }}"
        stdin_add_newline: false
      loop: "{{ secrets }}"
      no_log: true
      register: summed
      changed_when: false

    - name: Keep what the tasks said
      ansible.builtin.copy:
        content: "{{ summed.results | map(attribute='stdout') | list | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
      delegate_to: localhost
"""


def test_a_tasks_arguments_are_never_kept_on_the_instance(sim, fleet):
    """Arguments too big to travel in the command (40 KB of text, and 330 KB of Base64, longer than the module's
    own code) go as an upload of their own that the task's command removes: afterwards nothing in the instance's
    home holds them, only the module code is cached, and the tasks got their input intact."""
    marker = "ecsopsmarker%s" % uuid.uuid4().hex
    secrets = [marker + "x" * 40000, marker + base64.b64encode(os.urandom(250000)).decode()]
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        out = Path(tmp) / "out.json"
        proc = run_playbook(sim, SECRET_PLAY, inventory=str(inventory), extra_vars=dict(secrets=secrets, out=str(out)))
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        summed = json.loads(out.read_text())
    assert marker not in proc.stdout + proc.stderr
    assert [line.split()[0] for line in summed] == [hashlib.sha256(v.encode()).hexdigest() for v in secrets]
    assert on_instance(sim, fleet["web-1"], "grep -rl %s ~ || true" % marker).strip() == "", \
        "no file on the instance holds the arguments"
    cache = on_instance(sim, fleet["web-1"], "ls -A ~/.cache/alibabacloud.ecs_ops").split()
    assert cache and all(name.startswith("blob-") for name in cache), cache


def test_no_instance_id_is_a_clear_error(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "hosts.yml").write_text(
            "all:\n  hosts:\n    plain-host:\n      ansible_connection: %s\n" % CONNECTION)
        proc, _seconds = adhoc(sim, Path(tmp) / "hosts.yml", "plain-host", "ansible.builtin.ping")
    assert proc.returncode != 0
    assert "no ECS instance id for host plain-host" in proc.stdout
    assert sim.calls() == [] or all(c["action"] != "RunCommand" for c in sim.calls())


def test_windows_is_refused_before_any_call_and_run_as_is_cloud_assistants_username(sim, fleet):
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        listed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inventory), "--list"],
                                env=ansible_env(dict(sim.env)), capture_output=True, text=True, timeout=120,
                                cwd=ROOT, check=True)
        hostvars = plain(json.loads(listed.stdout)["_meta"]["hostvars"])
        assert hostvars["web-1"]["ansible_connection"] == CONNECTION
        assert "ansible_connection" not in hostvars["win"], "Windows hosts keep the default connection"
        mark = sim.mark()
        proc, _seconds = adhoc(sim, inventory, "win", "ansible.builtin.ping",
                               extra=["-e", "ansible_connection=%s" % CONNECTION])
        assert proc.returncode != 0 and "is a Windows instance" in proc.stdout
        assert not [c for c in sim.calls(since=mark) if c["action"] == "RunCommand"]
        proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "id -un",
                               extra=["-e", "ansible_cloud_assistant_run_as=ecs-user"])
        assert proc.returncode == 0, proc.stdout[-2000:]
        runs = [c for c in sim.calls(since=mark) if c["action"] == "RunCommand"]
        assert runs and all(c["params"].get("Username") == "ecs-user" for c in runs)


def test_credentials_and_endpoints_come_from_host_variables(sim, fleet):
    """Every credentials and endpoint option has a host variable (alicloud_<option>) that wins over the
    environment: the ECS endpoint set only as a host variable is the one used while ALIBABA_CLOUD_ECS_ENDPOINT points
    where nothing listens, and a RAM role to assume set only as a host variable reaches the credentials."""
    with tempfile.TemporaryDirectory() as tmp:
        hosts = Path(tmp) / "hosts.yml"
        hosts.write_text("all:\n  vars:\n    ansible_connection: %s\n    ecs_instance_id: %s\n"
                         "    ecs_region: cn-hangzhou\n    ansible_cloud_assistant_poll_interval: 0.05\n  hosts:\n"
                         "    by-vars:\n      alicloud_ecs_endpoint: %s\n"
                         "    by-env: {}\n"
                         "    bad-role:\n      alicloud_ecs_endpoint: %s\n"
                         "      alicloud_assume_role_arn: not-an-arn\n"
                         % (CONNECTION, fleet["web-1"], sim.url, sim.url))
        mark = sim.mark()
        proc, _seconds = adhoc(sim, hosts, "all", "ansible.builtin.command", "echo from-vars", extra=["-f", "1"],
                               env={"ALIBABA_CLOUD_ECS_ENDPOINT": "http://127.0.0.1:9"})
    assert "by-vars | CHANGED | rc=0" in proc.stdout and "from-vars" in proc.stdout, proc.stdout[-3000:]
    assert "by-env | UNREACHABLE" in proc.stdout and "127.0.0.1:9" in proc.stdout, proc.stdout[-3000:]
    assert "bad-role | UNREACHABLE" in proc.stdout, proc.stdout[-3000:]
    assert "assume_role_arn must look like acs:ram::<account>:role/<name>, got 'not-an-arn'" in proc.stdout
    assert [c for c in sim.calls(since=mark) if c["action"] == "RunCommand"], "by-vars reached the simulator"


SUDO_STAND_IN = r"""#!/bin/sh
# A stand-in for sudo (the simulator runs the instances' scripts on this host, as this user): it notes whether it
# was asked to read a password from stdin (-S without -n), as sudo would, and then acts as %(behaviour)s.
n=no; s=no
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--non-interactive) n=yes ;;
    -S|--stdin) s=yes ;;
    -p|-u|-g|-C|-D|--prompt|--user|--group) shift ;;
    --*) ;;
    -*) case "$1" in -*n*) n=yes ;; esac; case "$1" in -*S*) s=yes ;; esac ;;
    *) break ;;
  esac
  shift
done
if [ $n = no ] && [ $s = yes ]; then
  IFS= read -r attempt
  echo "read a password from stdin" >> %(log)s
  echo "Sorry, try again." >&2
  exit 1
fi
echo "non-interactive=$n" >> %(log)s
%(act)s
"""
SUDO_BEHAVIOUR = {
    "passwordless": ("sudo with a NOPASSWD rule", 'exec "$@"'),
    "password": ("sudo that wants a password", 'echo "sudo: a password is required" >&2\nexit 1'),
}


def test_sudo_never_reads_a_password_from_stdin(sim, fleet):
    """With a become password set, ansible-core builds sudo with -S and a prompt and without -n, so sudo would read
    the piped module code as password attempts. Over Cloud Assistant sudo always gets -n: passwordless sudo works,
    and sudo that wants a password fails the task (not the host) at once, naming the alternatives."""
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        outcomes = {}
        for kind, (behaviour, act) in SUDO_BEHAVIOUR.items():
            stand_in, log = Path(tmp) / ("sudo-" + kind), Path(tmp) / ("sudo-%s.log" % kind)
            stand_in.write_text(SUDO_STAND_IN % dict(behaviour=behaviour, log=log, act=act))
            stand_in.chmod(0o755)
            proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "echo became", extra=[
                "--become", "-e", json.dumps({"ansible_become_exe": str(stand_in),
                                              "ansible_become_password": "not-for-stdin"})])
            outcomes[kind] = proc, log.read_text().splitlines() if log.exists() else []
    proc, log = outcomes["passwordless"]
    assert proc.returncode == 0 and "became" in proc.stdout, proc.stdout[-2000:]
    assert log == ["non-interactive=yes"], log
    proc, log = outcomes["password"]
    assert proc.returncode != 0 and "web-1 | FAILED" in proc.stdout, proc.stdout[-2000:]
    assert "sudo wants a password" in proc.stdout and "NOPASSWD" in proc.stdout, proc.stdout[-2000:]
    assert "ansible_cloud_assistant_run_as" in proc.stdout
    assert log == ["non-interactive=yes"], "asked once, never from stdin: %s" % log


def test_become_su_to_another_user_when_the_commands_run_as_root(sim, fleet):
    """su asks root for no password: with the commands running as root (Cloud Assistant's default), become_method su
    to another user works. The simulator runs the instances' scripts as the user it runs as, so this needs that
    to be root (as on the project's machines and CI) and a user to become (nobody). Run as another user
    (ansible_cloud_assistant_run_as), su would ask for a password: refused before any call, a task failure."""
    if os.geteuid() != 0:
        pytest.skip("the simulator does not run as root here, so su would ask for a password")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' on this host")
    su = ["--become", "--become-method", "su", "--become-user", "nobody",
          "-e", json.dumps({"ansible_become_flags": "-s /bin/sh"})]   # nobody's login shell is nologin
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "id -un", extra=su)
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert proc.stdout.split(">>", 1)[1].split() == ["nobody"], proc.stdout[-2000:]
        mark = sim.mark()
        proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "id -un",
                               extra=su + ["-e", "ansible_cloud_assistant_run_as=ecs-user"])
    assert proc.returncode != 0 and "web-1 | FAILED" in proc.stdout, proc.stdout[-2000:]
    assert "become_method su run by ecs-user" in proc.stdout, proc.stdout[-2000:]
    assert not [c for c in sim.calls(since=mark) if c["action"] == "RunCommand"], "refused before any command"


def test_result_reads_failing_beyond_the_retry_budget_do_not_end_the_wait(sim, fleet):
    """Every DescribeInvocationResults is throttled for a while, longer than one call's retries (api_retries 1):
    the command's wait goes on until the reads answer again, and the task gets its real result."""
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "echo warm")
        assert proc.returncode == 0, proc.stdout[-2000:]     # the module's code is cached: one command per task
        mark = sim.mark()
        sim.faults({"action": "DescribeInvocationResults", "product": "ecs", "code": "Throttling.User", "count": 8})
        proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.command", "echo after-the-storm",
                               extra=["-e", "alicloud_api_retries=1"])
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "after-the-storm" in proc.stdout
    reads = [c for c in sim.calls(since=mark) if c["action"] == "DescribeInvocationResults"]
    assert len([c for c in reads if c["error_code"] == "Throttling.User"]) == 8
    assert len([c for c in sim.calls(since=mark) if c["action"] == "RunCommand"]) == 1, "no command run twice"


REBOOT_PLAY = """
- name: ansible.builtin.reboot over Cloud Assistant
  hosts: web-1
  gather_facts: false
  tasks:
    - name: Reboot (the simulator models the reboot its script asks for; nothing reboots this host)
      ansible.builtin.reboot:
        reboot_command: /usr/bin/touch "$ALICLOUD_SIM_REBOOT"
        boot_time_command: echo "$ALICLOUD_SIM_BOOT_ID"
        reboot_timeout: 120
        connect_timeout: "{{ wait | default(omit) }}"
      register: rebooted

    - name: The next task runs on the rebooted instance
      ansible.builtin.command: echo "$ALICLOUD_SIM_BOOT_ID"
      register: after
      changed_when: false

    - name: Keep what the tasks said
      ansible.builtin.copy:
        content: "{{ {'rebooted': rebooted.rebooted, 'changed': rebooted.changed, 'after': after.stdout} | to_json }}"
        dest: "{{ out }}"
        mode: "0644"
      delegate_to: localhost
"""


def reboot_play(sim, tmp, web, **extra):
    """Run REBOOT_PLAY; (what it kept, the calls, the statuses of the invocations it started, its output)."""
    out = Path(tmp) / "out.json"
    mark, before = sim.mark(), set(sim.state()["commands"]["invocations"])
    proc = run_playbook(sim, REBOOT_PLAY, inventory=str(Path(tmp) / "hosts.yml"), extra_vars=dict(extra, out=str(out)))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    invocations = sim.state()["commands"]["invocations"]
    statuses = [i["instances"][web] for n, i in invocations.items() if n not in before]
    return json.loads(out.read_text()), sim.calls(since=mark), statuses, proc.stdout


def test_ansible_builtin_reboot_reconnects_after_the_reboot(sim):
    """The instance's agent is offline for 5 real seconds after each reboot. With the reboot module's
    connect_timeout, every attempt first waits for the agent (Cloud Assistant status), so no command is sent into the
    reboot; ansible.builtin.reboot sees a new boot id, and the next task runs on the rebooted instance. Without it, a
    command sent during the reboot fails and the module tries again until the instance is back."""
    sim.reset({"durations": {"reboot": 500}, "regions": {"cn-hangzhou": {"instances": [
        {"name": "web", "count": 1, "os_type": "linux"}]}}})
    web = next(iter(sim.state()["instances"].values()))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "hosts.yml").write_text(
            "all:\n  hosts:\n    web-1:\n      ansible_connection: %s\n      ecs_instance_id: %s\n"
            "      ecs_region: cn-hangzhou\n      ansible_cloud_assistant_poll_interval: 0.05\n"
            % (CONNECTION, web["id"]))
        result, calls, statuses, output = reboot_play(sim, tmp, web["id"], wait=30)
        assert "does not allow the connection timeout" not in output, "connect_timeout reaches the plugin"
        booted = sim.admin("instances/%s" % web["id"])
        assert result["rebooted"] is True and result["changed"] is True
        assert result["after"] == booted["boot_id"] != web["boot_id"], "the task after ran on the new boot"
        assert booted["status"] == "Running" and not booted["rebooting"]
        assert len([c for c in calls if c["action"] == "DescribeCloudAssistantStatus"]) >= 2, \
            "it waited for the agent: offline, then online"
        assert set(statuses) == {"Success"}, "no command was sent into the reboot: %s" % statuses
        result, _calls, _statuses, _output = reboot_play(sim, tmp, web["id"])
    assert result["rebooted"] is True and result["after"] == sim.admin("instances/%s" % web["id"])["boot_id"]
    assert result["after"] != booted["boot_id"]


COST_PLAY = """
- hosts: web-1
  gather_facts: false
  tasks:
    - ansible.builtin.ping: {}
    - ansible.builtin.set_fact: {after_ping: "{{ now().timestamp() }}"}
    - ansible.builtin.stat: {path: /}
    - ansible.builtin.set_fact: {after_stat: "{{ now().timestamp() }}"}
    - ansible.builtin.setup: {gather_subset: [min]}
    - ansible.builtin.set_fact: {after_setup: "{{ now().timestamp() }}"}
    - ansible.builtin.copy:
        content: "{{ {'after_ping': after_ping | float, 'after_stat': after_stat | float,
                      'after_setup': after_setup | float} | to_json }}"
        dest: "{{ out }}"
        mode: "0644"
      delegate_to: localhost
"""


DEFLATED_SIZES = r"""cd ~/.cache/alibabacloud.ecs_ops && for b in $(ls -t blob-*); do python3 -c '
import base64, io, sys, zipfile
source = zipfile.ZipFile(io.BytesIO(base64.b64decode(open(sys.argv[1], "rb").read())))
out = io.BytesIO()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
    for info in source.infolist():
        target.writestr(info.filename, source.read(info))
print(len(base64.b64encode(out.getvalue())))
' "$b"; done"""


def module_code_sizes(sim, instance_id):
    """For each module cached on the instance, the most recently used first: the size of its code as Ansible puts it
    in the AnsiballZ payload (Base64 of the archive with every file deflated), a lower bound of the payload's size.
    (The cache keeps the archive stored, not deflated: it is compressed as a whole when sent.)"""
    return [int(line) for line in on_instance(sim, instance_id, DEFLATED_SIZES).split()]


def test_the_first_use_of_a_module_costs_its_sendfile_parts_and_one_command(sim, fleet):
    """A module the instance does not have yet is sent in SendFile calls of 24 KB (its archive compressed as a
    whole, 10-30% smaller than the deflated archive in the payload), then one command runs the task with it: at
    most ⌈payload / 32 KB⌉ + 2 calls; the very first module of a run on an instance costs one more command and
    read, which finds out what the instance has cached: at most ⌈payload / 32 KB⌉ + 3. A command may need a
    second read when the instance is slow (allowed, and counted apart)."""
    on_instance(sim, fleet["web-1"], "rm -rf ~/.cache/alibabacloud.ecs_ops")
    with tempfile.TemporaryDirectory() as tmp:
        inventory = write_inventory(tmp)
        out = Path(tmp) / "times.json"
        mark = sim.mark()
        proc = run_playbook(sim, COST_PLAY, inventory=str(inventory), extra_vars=dict(out=str(out)))
        assert proc.returncode == 0, proc.stdout[-3000:]
        times = json.loads(out.read_text())
    calls = [c for c in sim.calls(since=mark)
             if c["action"] in ("RunCommand", "SendFile", "DescribeInvocationResults", "DescribeSendFileResults")]
    ping = [c for c in calls if c["time"] < times["after_ping"]]
    stat = [c for c in calls if times["after_ping"] < c["time"] < times["after_stat"]]
    setup = [c for c in calls if times["after_stat"] < c["time"] < times["after_setup"]]
    setup_code, stat_code, ping_code = module_code_sizes(sim, fleet["web-1"])
    for task, code, extra in ((setup, setup_code, 2), (stat, stat_code, 2), (ping, ping_code, 3)):
        parts = [c for c in task if c["action"] == "SendFile"]
        bound = -(-code // (32 * 1024))
        sent = sum(len(base64.b64decode(c["params"]["Content"])) for c in parts)
        assert sent <= 0.9 * code * 3 / 4, "the archive compressed as a whole: at least 10% under the deflated archive"
        assert all(len(c["params"]["Content"]) <= 32 * 1024 for c in parts)
        runs = [c["action"] for c in task].count("RunCommand")
        trace = "\n".join("%s %.2f" % (c["action"], c["time"] - task[0]["time"]) for c in task)
        assert len(parts) + 2 * runs <= bound + extra, "parts, commands and one read each:\n" + trace
        assert len(task) - len(parts) - runs <= runs + 1, "a command needs one read (two when slow):\n" + trace
    assert [c["action"] for c in ping].count("RunCommand") == 2 and [c["action"] for c in stat].count("RunCommand") == 1


def test_uploads_fall_back_to_commands_when_sendfile_is_refused_or_never_arrives(sim):
    """SendFile denied by RAM (a fault here): one warning, then files and module code go by commands, intact. An
    agent too old for SendFile accepts the calls but never writes the files: after connect_timeout the plugin
    finds out why, warns, and uploads by commands."""
    sim.reset({"regions": {"cn-hangzhou": {"instances": [
        {"name": "web", "count": 1, "os_type": "linux"},
        {"name": "old", "count": 1, "os_type": "linux", "agent_version": "1.0.2.500"}]}}})
    ids = {i["name"]: i["id"] for i in sim.state()["instances"].values()}
    play = ("- hosts: \"{{ target }}\"\n  gather_facts: false\n  tasks:\n"
            "    - ansible.builtin.copy: {src: \"{{ payload }}\", dest: ~/payload.bin, mode: \"0600\"}\n"
            "    - ansible.builtin.stat: {path: ~/payload.bin, checksum_algorithm: sha256}\n      register: st\n"
            "    - ansible.builtin.assert: {that: [st.stat.checksum == digest]}\n")
    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp) / "payload.bin"
        payload.write_bytes(os.urandom(300 * 1024))
        digest = hashlib.sha256(payload.read_bytes()).hexdigest()
        (Path(tmp) / "hosts.yml").write_text("all:\n  hosts:\n" + "".join(
            "    %s:\n      ansible_connection: %s\n      ecs_instance_id: %s\n      ecs_region: cn-hangzhou\n"
            "      ansible_cloud_assistant_poll_interval: 0.05\n      ansible_cloud_assistant_connect_timeout: 3\n"
            % (name, CONNECTION, ids[name]) for name in ("web", "old")))
        extra = dict(payload=str(payload), digest=digest)
        mark = sim.mark()
        sim.faults({"action": "SendFile", "product": "ecs", "code": "Forbidden.RAM", "http_status": 403, "count": 1000})
        proc = run_playbook(sim, play, inventory=str(Path(tmp) / "hosts.yml"), extra_vars=dict(extra, target="web"))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert (proc.stdout + proc.stderr).count("SendFile is not allowed in cn-hangzhou") == 1, "warned once"
        refused = [c for c in sim.calls(since=mark) if c["action"] == "SendFile"]
        assert refused and all(c["error_code"] == "Forbidden.RAM" for c in refused)
        assert len(refused) <= 8, "refused once: later uploads of the run go straight to commands"
        sim.clear_faults()
        mark = sim.mark()
        proc = run_playbook(sim, play, inventory=str(Path(tmp) / "hosts.yml"), extra_vars=dict(extra, target="old"))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert "did not arrive (Failed ClientNeedUpgrade)" in proc.stdout + proc.stderr
        sent = [c for c in sim.calls(since=mark) if c["action"] == "SendFile"]
        assert sent and len(sent) <= 8, "tried once on that instance, then commands for the rest of the run"
    for name in ("web", "old"):
        assert on_instance(sim, ids[name], "sha256sum ~/payload.bin").split()[0] == digest


def test_a_deferred_step_that_fails_fails_its_task_and_says_which(sim, fleet):
    """Ansible's temporary directory is created by the next command: when it cannot be (a file is in the way), the
    task fails with the step and the instance's own message, and nothing of the task ran."""
    on_instance(sim, fleet["web-1"],
                "rm -rf ~/.ansible/tmp ~/blocked.txt && mkdir -p ~/.ansible && touch ~/.ansible/tmp")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = write_inventory(tmp)
            proc, _seconds = adhoc(sim, inventory, "web-1", "ansible.builtin.copy",
                                   "content=x dest=~/blocked.txt mode=0600")
        assert proc.returncode != 0
        assert "creating the temporary directory" in proc.stdout and "failed" in proc.stdout, proc.stdout[-2000:]
        assert "File exists" in proc.stdout or "Not a directory" in proc.stdout, proc.stdout[-2000:]
        left = on_instance(sim, fleet["web-1"], "test -e ~/blocked.txt && echo there || echo absent")
        assert left.strip() == "absent", "nothing of the task ran"
    finally:
        on_instance(sim, fleet["web-1"], "rm -f ~/.ansible/tmp")
