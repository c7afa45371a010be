# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: ``become`` over the ``cloud_assistant`` connection plugin (pure).

Cloud Assistant gives a command no terminal, and whatever a command carries stays in Cloud Assistant's invocation
history, so a become password can reach the instance neither way. Nothing may read one from stdin either: with
pipelining, stdin is the module's code, and each line ``sudo -S`` reads there is a failed password attempt (PAM's
faillock counts them and can lock the account). So:

- sudo always runs non-interactive (``-n``). Ansible drops ``-n`` and adds ``-p <prompt>`` when a become password
  is set; here the prompt becomes ``-n`` again (and ``become_flags`` without ``-n`` get it), so passwordless sudo
  works as over SSH, and sudo that wants a password fails at once with its own message, which the plugin turns
  into a clear error (``password_wanted``).
- su asks for a password unless root runs it: allowed when the commands run as root (``run_as`` unset or
  ``root``), refused when they run as another user.
- any other become method with a password is refused (the password cannot be given).
"""

from __future__ import annotations

import re
import shlex

ALTERNATIVES = ("allow the user the commands run as to use sudo without a password (NOPASSWD in sudoers), or run "
                "the task as the target user with ansible_cloud_assistant_run_as (Cloud Assistant's Username)")
NO_PASSWORD = ("Cloud Assistant gives commands no terminal, and a password sent with a command would stay in its "
               "invocation history")


class Refused(Exception):
    """The task's become cannot run over this connection without a password prompt; the message says why."""


def _wraps(become, cmd):
    """True when ``cmd`` was built by the ``become`` plugin (it carries that plugin's success marker)."""
    return become is not None and bool(getattr(become, "success", "")) and become.success in cmd


def _non_interactive_flag(flag):
    """True for sudo's ``-n`` alone or in a cluster of short flags (``-HSn``), as ansible-core's sudo plugin
    recognises it."""
    return flag in ("-n", "--non-interactive") or (not flag.startswith("--") and bool(re.match(r"^-\w*n", flag)))


def _sudo_non_interactive(cmd, become):
    """``cmd`` with ``-n`` for its sudo: in place of the prompt (a become password is set), or after sudo itself
    when its flags lack it."""
    flags = become.get_option("become_flags") or ""
    if become.prompt:
        find, replace = '-p "%s"' % become.prompt, "-n"
    else:
        try:
            if any(_non_interactive_flag(flag) for flag in shlex.split(flags)):
                return cmd
        except ValueError:
            pass
        exe = become.get_option("become_exe") or become.name
        find, replace = "%s %s " % (exe, flags), "%s -n %s " % (exe, flags)
    if find not in cmd:
        raise Refused("sudo cannot be made non-interactive here (the command is not as ansible-core's sudo plugin "
                      "builds it), and %s; %s" % (NO_PASSWORD, ALTERNATIVES))
    return cmd.replace(find, replace, 1)


def non_interactive(cmd, become, run_as=None):
    """``cmd`` as it may run without a terminal; Refused, for any command of the task (so before any call), when
    its become method would ask for a password. ``become`` is the task's become plugin (or None); a command it did
    not wrap is returned as it is."""
    if become is None:
        return cmd
    if become.name == "su" and run_as and run_as != "root":
        raise Refused("become_method su run by %s (ansible_cloud_assistant_run_as) asks for a password (only root "
                      "is not asked), and %s: leave ansible_cloud_assistant_run_as unset so that commands run as "
                      "root, or set it to the user to become and drop become" % (run_as, NO_PASSWORD))
    if become.name not in ("su", "sudo") and become.get_option("become_pass"):
        raise Refused("become_method %s with a become password: %s; %s" % (become.name, NO_PASSWORD, ALTERNATIVES))
    if become.name == "sudo" and _wraps(become, cmd):
        return _sudo_non_interactive(cmd, become)
    return cmd


def password_wanted(cmd, become, rc, stdout, stderr):
    """A clear message when ``cmd``'s sudo stopped because it wanted a password (it runs with ``-n``), else None."""
    if rc == 0 or not _wraps(become, cmd) or become.name != "sudo" or become.success.encode() in stdout:
        return None
    if not become.check_missing_password(stderr):
        return None
    return "sudo wants a password for this command; %s, so this connection never gives it one: %s" % (
        NO_PASSWORD, ALTERNATIVES)
