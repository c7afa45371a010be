# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Append one line (read from stdin) to a file, and keep only its last lines:
``python append_line.py FILE [KEEP] < line``.

The patch_management role runs it on the controller to add a round's record to the compliance history. The file is
opened with O_APPEND and the whole line goes out in one write() call, so on a local file system two rounds appending
at the same time each add a whole line, one after the other, never interleaved (POSIX appends are atomic per write;
NFS and some network file systems do not promise this).

With KEEP > 0 the file is trimmed to its last KEEP lines once it holds more than KEEP plus a margin (a tenth of KEEP,
at least 10), so it is rewritten once in a while, not on every round. Trimming writes the kept lines to a new file
next to it and renames it over the old one (os.replace: readers see the old or the new file, never a half-written
one). A round appending to the old file while that happens would lose its line, so appending and trimming both run
under an exclusive lock (flock) on ``FILE.lock``: a trim reads the file only after every append before it ended, and
an append after it opens the new file. KEEP 0 keeps every line. Exit code 2: the input is not exactly one line, or
KEEP is not a whole number of 0 or more.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile


def margin(keep):
    """How many lines beyond ``keep`` the file may grow before it is trimmed."""
    return max(10, keep // 10)


def append_line(path, line, keep=0):
    """Append ``line`` (no newline inside; one is added) to ``path`` in one write, then trim the file to its last
    ``keep`` lines when it holds more than ``keep`` + ``margin(keep)`` (``keep`` 0: never); returns (bytes written,
    lines dropped)."""
    line = line.rstrip("\n")
    if not line or "\n" in line or "\r" in line:
        raise ValueError("expected exactly one non-empty line")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValueError("keep must be a whole number of 0 or more, got %r" % (keep,))
    data = (line + "\n").encode("utf-8")
    lock = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(descriptor, data)
        finally:
            os.close(descriptor)
        if written != len(data):
            raise OSError("short write to %s: %d of %d bytes" % (path, written, len(data)))
        dropped = trim(path, keep) if keep else 0
    finally:
        os.close(lock)   # releases the lock
    return written, dropped


def trim(path, keep):
    """Keep the last ``keep`` lines of ``path`` if it holds more than ``keep`` + ``margin(keep)``; the caller holds the
    lock. Returns how many lines were dropped."""
    with open(path, "rb") as handle:
        lines = handle.read().splitlines(keepends=True)
    if len(lines) <= keep + margin(keep):
        return 0
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.writelines(lines[-keep:])
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, os.stat(path).st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return len(lines) - keep


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: append_line.py FILE [KEEP] < line\n")
        return 2
    try:
        keep = int(argv[2]) if len(argv) == 3 else 0
    except ValueError:
        sys.stderr.write("append_line.py: keep must be a whole number of 0 or more, got %r\n" % argv[2])
        return 2
    try:
        append_line(argv[1], sys.stdin.read(), keep)
    except ValueError as err:
        sys.stderr.write("append_line.py: %s\n" % err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
