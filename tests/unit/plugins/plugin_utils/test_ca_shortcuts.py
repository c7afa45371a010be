"""Ansible's housekeeping commands, as ansible-core's own sh shell plugin builds them and an action plugin sends
them, are recognised exactly; anything else is not, and what is deferred follows its temporary directory."""

from __future__ import annotations

import shlex

import pytest
from ansible.plugins.loader import shell_loader

from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_shortcuts as s

TMP = "/home/ecs-user/.ansible/tmp"
NAME = "ansible-tmp-1795913588.569398-20147-167061587795090"


@pytest.fixture(name="sh")
def fixture_sh():
    shell = shell_loader.get("sh")
    shell.set_options()
    return shell


def sent(shell, command, executable="/bin/sh"):
    """``command`` as ActionBase._low_level_execute_command hands it to the connection (without become)."""
    return "%s -c %s" % (executable, shlex.quote(shell.append_command(command, "sleep 0")))


def test_ansibles_own_commands_are_recognised(sh):
    assert s.classify(sent(sh, sh.expand_user("~"))) == ("home", "")
    assert s.classify(sent(sh, sh.expand_user("~", "ecs-user"))) == ("home", "ecs-user")
    made = s.classify(sent(sh, sh.mkdtemp(basefile=NAME, tmpdir=TMP)))
    assert made == ("mkdtemp", "%s/%s" % (TMP, NAME), "%s=%s/%s\n" % (NAME, TMP, NAME))
    assert s.classify(sent(sh, sh.mkdtemp(basefile=NAME, tmpdir=TMP), "/bin/bash"))[0] == "mkdtemp"
    paths = ["%s/%s/" % (TMP, NAME), "%s/%s/source" % (TMP, NAME)]
    assert s.classify(sent(sh, sh.chmod(paths, "u+rwx"))) == ("chmod", paths)
    assert s.classify(sent(sh, sh.remove("%s/%s/" % (TMP, NAME), recurse=True))) == ("rm", "%s/%s" % (TMP, NAME))


@pytest.mark.parametrize("command", [
    "echo ~; id",                                   # more than the expansion
    "echo ~/x",
    "echo '~'",
    "chmod u+rwx /tmp/a; rm -rf /",
    "chmod 0644 /tmp/a",                            # a numeric mode is not Ansible's fixup
    "chmod u+rwx relative/path",
    "chmod u+rwx /tmp/../etc/passwd",
    "rm -f -r /tmp/x",                              # not silenced as Ansible's cleanup is
    "rm -f -r $HOME/x > /dev/null 2>&1",
])
def test_anything_else_runs_as_sent(sh, command):
    assert s.classify(sent(sh, command)) is None


def test_only_the_low_level_form_counts(sh):
    command = sh.expand_user("~")
    assert s.classify(command) is None, "not wrapped in the shell"
    assert s.classify("/bin/sh -c %s" % shlex.quote(command)) is None, "without Ansible's '&& sleep 0'"
    assert s.classify("/usr/bin/python3 -c %s" % shlex.quote(command + " && sleep 0")) is None, "not a shell"
    assert s.classify("/bin/sh -c 'unbalanced") is None
    tilde = sh.mkdtemp(basefile=NAME, tmpdir="~/.ansible/tmp")
    assert s.classify(sent(sh, tilde)) is None, "a path the shell still has to expand"
    other = sh.mkdtemp(basefile=NAME, tmpdir=TMP).replace("echo %s/%s `\"" % (TMP, NAME), "echo /etc `\"", 1)
    assert s.classify(sent(sh, other)) is None, "a directory that is not the one it reports"


def test_deferred_steps_follow_their_directory():
    deferred = s.Deferred()
    directory = "%s/%s" % (TMP, NAME)
    deferred.create(directory, "mkdir")
    assert deferred.holds([directory + "/", directory + "/source"]) and not deferred.holds(["/etc/passwd"])
    assert not deferred.holds([directory + "-other/x"]), "a sibling with the same prefix is not inside"
    deferred.add(directory + "/source", ("put", "put-step", None))
    deferred.add(None, ("blob", "blob-step", None))
    assert deferred.remove(directory) is True, "never created: nothing to remove on the instance"
    assert deferred.take() == [("blob", "blob-step", None)], "its own steps are dropped, others stay"
    deferred.create(directory, "mkdir")
    assert deferred.take() == [("creating the temporary directory %s" % directory, "mkdir", None)]
    assert not deferred
    deferred.add(directory + "/x", ("chmod", "chmod-step", None))
    assert deferred.remove(directory) is False, "created already: it must be removed on the instance"
    assert not deferred and directory not in deferred.directories
