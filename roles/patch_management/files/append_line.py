# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Append one line (read from stdin) to a file: ``python append_line.py FILE < line``.

The patch_management role runs it on the controller to add a round's record to the compliance history. The file is
opened with O_APPEND and the whole line goes out in one write() call, so on a local file system two rounds appending
at the same time each add a whole line, one after the other, never interleaved (POSIX appends are atomic per write;
NFS and some network file systems do not promise this). Exit code 2: the input is not exactly one line.
"""

from __future__ import annotations

import os
import sys


def append_line(path, line):
    """Append ``line`` (no newline inside; one is added) to ``path`` in one write; returns the bytes written."""
    line = line.rstrip("\n")
    if not line or "\n" in line or "\r" in line:
        raise ValueError("expected exactly one non-empty line")
    data = (line + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(descriptor, data)
    finally:
        os.close(descriptor)
    if written != len(data):
        raise OSError("short write to %s: %d of %d bytes" % (path, written, len(data)))
    return written


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: append_line.py FILE < line\n")
        return 2
    try:
        append_line(argv[1], sys.stdin.read())
    except ValueError as err:
        sys.stderr.write("append_line.py: %s\n" % err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
