"""become over the connection plugin (pure), on commands exactly as ansible-core's own sudo and su plugins and an action
plugin build them: sudo never reads a password from stdin, su runs only where it asks for none, a password is never
sent, and a sudo that wants one is recognised."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest
from ansible.plugins.loader import become_loader, shell_loader

from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_become as b

PASSWORD = "hunter2-not-for-stdin"


def built(name, module="/usr/bin/python3", **options):
    """(the become plugin, the command an action plugin hands the connection for ``module`` under become)."""
    plugin = become_loader.get(name)
    plugin.set_options(direct=options)
    shell = shell_loader.get("sh")
    cmd = plugin.build_become_command(module, shell)
    return plugin, "/bin/sh -c " + shlex.quote(shell.append_command(cmd, "sleep 0"))


def sudo_argv(cmd):
    """sudo's arguments in the command, up to the command it runs."""
    inner = shlex.split(shlex.split(cmd)[2])
    return inner[:next(i for i, word in enumerate(inner) if "BECOME-SUCCESS" in word)]


@pytest.mark.parametrize("flags", [None, "-H -S", "-HSn", "-E"])
def test_sudo_with_a_become_password_runs_non_interactive(flags):
    options = dict(become_pass=PASSWORD, **({"become_flags": flags} if flags else {}))
    plugin, cmd = built("sudo", **options)
    assert "-n" not in sudo_argv(cmd) and "-p" in sudo_argv(cmd), "what ansible-core builds with a password"
    made = b.non_interactive(cmd, plugin)
    argv = sudo_argv(made)
    assert "-n" in argv and "-p" not in argv, argv
    assert PASSWORD not in made
    assert made.replace(" -n", "", 1) == cmd.replace(' -p "%s"' % plugin.prompt, ""), "nothing else changes"


@pytest.mark.parametrize("flags, expected", [
    (None, ["sudo", "-H", "-S", "-n", "-u", "root"]),
    ("-H -S", ["sudo", "-n", "-H", "-S", "-u", "root"]),
    ("-E", ["sudo", "-n", "-E", "-u", "root"]),
    ("-HSn", ["sudo", "-HSn", "-u", "root"]),
])
def test_sudo_without_a_password_gets_n_when_its_flags_lack_it(flags, expected):
    plugin, cmd = built("sudo", **({"become_flags": flags} if flags else {}))
    assert sudo_argv(b.non_interactive(cmd, plugin)) == expected


def test_a_sudo_command_not_as_ansible_core_builds_it_is_refused():
    plugin, cmd = built("sudo", become_pass=PASSWORD)
    with pytest.raises(b.Refused, match="NOPASSWD.*ansible_cloud_assistant_run_as"):
        b.non_interactive(cmd.replace('-p "', '--prompt="'), plugin)


def test_commands_become_did_not_wrap_are_left_alone():
    plugin, _cmd = built("sudo", become_pass=PASSWORD)
    assert b.non_interactive("/bin/sh -c 'echo ~ && sleep 0'", plugin) == "/bin/sh -c 'echo ~ && sleep 0'"
    assert b.non_interactive("/bin/sh -c 'id'", None) == "/bin/sh -c 'id'"


def test_su_runs_where_it_asks_for_no_password_and_is_refused_elsewhere():
    plugin, cmd = built("su", become_user="nobody", become_pass=PASSWORD)
    assert b.non_interactive(cmd, plugin) == cmd
    assert b.non_interactive(cmd, plugin, run_as="root") == cmd
    for command in (cmd, "/bin/sh -c 'echo ~ && sleep 0'"):
        with pytest.raises(b.Refused, match="su run by ecs-user .* asks for a password"):
            b.non_interactive(command, plugin, run_as="ecs-user")


class Doas:
    """A become plugin of another collection (community.general.doas builds ``doas <flags> -u <user> <cmd>``)."""

    name, prompt, success = "doas", "", "BECOME-SUCCESS-x"

    def __init__(self, password):
        self.password = password

    def get_option(self, option):
        return {"become_pass": self.password}.get(option)


def test_another_become_method_is_refused_only_with_a_password():
    cmd = "/bin/sh -c 'doas -u root /bin/sh -c '\"'\"'echo BECOME-SUCCESS-x ; id'\"'\"' && sleep 0'"
    assert b.non_interactive(cmd, Doas(None)) == cmd
    with pytest.raises(b.Refused, match="become_method doas with a become password"):
        b.non_interactive("/bin/sh -c 'echo ~ && sleep 0'", Doas(PASSWORD))


def test_a_sudo_that_wants_a_password_is_recognised():
    plugin, cmd = built("sudo", become_pass=PASSWORD)
    cmd = b.non_interactive(cmd, plugin)
    message = b.password_wanted(cmd, plugin, 1, b"", b"sudo: a password is required\n")
    assert "sudo wants a password" in message and "NOPASSWD" in message and "ansible_cloud_assistant_run_as" in message
    assert b.password_wanted(cmd, plugin, 1, plugin.success.encode() + b"\n", b"sudo: a password is required\n") \
        is None, "the module itself ran (and failed on its own)"
    assert b.password_wanted(cmd, plugin, 0, b"", b"") is None
    assert b.password_wanted(cmd, plugin, 1, b"", b"Traceback\n") is None
    assert b.password_wanted("/bin/sh -c 'id'", plugin, 1, b"", b"sudo: a password is required\n") is None


STAND_IN = """#!/bin/sh
# sudo that wants a password: -n makes it give up at once, -S without -n makes it read one from stdin
n=no; s=no
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=yes ;;
    -S) s=yes ;;
    -p|-u) shift ;;
    -*) case "$1" in -*n*) n=yes ;; esac; case "$1" in -*S*) s=yes ;; esac ;;
    *) break ;;
  esac
  shift
done
if [ $n = yes ]; then echo "sudo: a password is required" >&2; exit 1; fi
if [ $s = yes ]; then IFS= read -r attempt; echo "password attempt: $attempt" >&2; exit 1; fi
exec "$@"
"""


def test_in_a_real_shell_sudo_leaves_the_modules_code_on_stdin_alone(tmp_path):
    stand_in = tmp_path / "sudo"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    plugin, cmd = built("sudo", module="cat", become_pass=PASSWORD, become_exe=str(stand_in))

    def run(command):
        return subprocess.run(command, shell=True, input=b"#!/usr/bin/python\nmodule code\n", capture_output=True,
                              timeout=30, check=False, env={"PATH": os.environ["PATH"]})

    unsafe = run(cmd)
    assert b"password attempt: #!/usr/bin/python" in unsafe.stderr, "what the fix prevents"
    safe = run(b.non_interactive(cmd, plugin))
    assert safe.returncode == 1 and b"password attempt" not in safe.stderr
    assert b.password_wanted(cmd, plugin, safe.returncode, safe.stdout, safe.stderr)
