# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: Ansible's housekeeping commands that the ``cloud_assistant`` connection plugin
answers without a round trip of their own (pure).

An action plugin sends small commands around the module it runs: ``echo ~`` (where is home), the creation of
its temporary directory, ``chmod`` of what it put there, and the removal of that directory at the end. Over
Cloud Assistant each is a ``RunCommand`` and its reads. ``classify`` recognises them exactly as ansible-core's
``sh`` shell plugin builds them (anything else runs as sent); the plugin then

- answers ``echo ~`` and ``echo ~<user>`` from what the instance reported with an earlier command of the run;
- answers the creation of a temporary directory with the path it will have, and creates it at the start of the
  next script (``Deferred``), with the ``chmod`` of paths inside it and files put there;
- drops everything deferred for a directory that is removed before anything ran in it.

A deferred step that fails fails the command it travels with, naming the step.
"""

from __future__ import annotations

import re
import shlex

SHELL_RE = re.compile(r"^(/usr)?(/bin/)?(ba|da|k|z)?sh$")
TAIL = " && sleep 0"
PATH_RE = re.compile(r"^/[A-Za-z0-9_.@+/-]*$")
HOME_RE = re.compile(r"^echo ~([A-Za-z0-9_.][A-Za-z0-9_.-]*)?$")
MKDTEMP_RE = re.compile(r'^\( umask 77 && mkdir -p "` echo (?P<base>\S+) `"&& mkdir "` echo (?P<dir>\S+) `" && '
                        r'echo (?P<name>ansible-tmp-[0-9.]+-[0-9]+-[0-9]+)="` echo (?P=dir) `" \)$')
RM_RE = re.compile(r"^rm -f -r (?P<path>\S+) > /dev/null 2>&1$")
MODE_RE = re.compile(r"^[ugoa]*[-+=][rwxXst]+$")


def _unwrap(cmd):
    """The command inside ``<shell> -c '<command> && sleep 0'`` (how an action plugin's low-level commands arrive
    without become), or None."""
    try:
        argv = shlex.split(cmd)
    except ValueError:
        return None
    if len(argv) != 3 or argv[1] != "-c" or not SHELL_RE.match(argv[0]) or not argv[2].endswith(TAIL):
        return None
    return argv[2][:-len(TAIL)]


def _safe(path):
    return bool(PATH_RE.match(path)) and ".." not in path.split("/")


def classify(cmd):
    """("home", user or "") | ("mkdtemp", directory, stdout) | ("chmod", [paths]) | ("rm", path) | None."""
    inner = _unwrap(cmd)
    if inner is None:
        return None
    match = HOME_RE.match(inner)
    if match:
        return ("home", match.group(1) or "")
    match = MKDTEMP_RE.match(inner)
    if match:
        base, directory, name = match.group("base", "dir", "name")
        if _safe(base) and directory == base.rstrip("/") + "/" + name:
            return ("mkdtemp", directory, "%s=%s\n" % (name, directory))
        return None
    match = RM_RE.match(inner)
    if match:
        path = match.group("path")
        return ("rm", path.rstrip("/")) if _safe(path) else None
    try:
        argv = shlex.split(inner)
    except ValueError:
        return None
    if len(argv) >= 3 and argv[0] == "chmod" and MODE_RE.match(argv[1]) and all(_safe(p) for p in argv[2:]):
        return ("chmod", argv[2:])
    return None


class Deferred:
    """Steps answered and not run yet, each in one of Ansible's temporary directories created by this connection."""

    def __init__(self):
        self.steps = []          # [(directory, (what, shell snippet, recover or None))]
        self.directories = set()
        self.created = set()     # directories whose creation already ran

    def __bool__(self):
        return bool(self.steps)

    def create(self, directory, snippet):
        self.directories.add(directory)
        self.steps.append((directory, ("creating the temporary directory %s" % directory, snippet, None)))

    def holds(self, paths):
        """True when every path is inside a temporary directory of this connection."""
        return all(any(p.rstrip("/") == d or p.startswith(d + "/") for d in self.directories) for p in paths)

    def add(self, path, step):
        """Defer ``step`` (what, shell snippet, recover); it belongs to the temporary directory holding ``path``
        (None: to none)."""
        owner = None if path is None else next(
            (d for d in self.directories if path.rstrip("/") == d or path.startswith(d + "/")), None)
        self.steps.append((owner, step))

    def remove(self, directory):
        """Forget ``directory``: drop its pending steps; True when it was never created on the instance (nothing
        to remove there)."""
        self.steps = [s for s in self.steps if s[0] != directory]
        self.directories.discard(directory)
        never = directory not in self.created
        self.created.discard(directory)
        return never

    def take(self):
        """The pending steps, in order; they count as run from now on."""
        taken, self.steps = self.steps, []
        self.created.update(directory for directory, _step in taken)
        return [step for _directory, step in taken]
