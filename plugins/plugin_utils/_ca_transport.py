# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the shell scripts the ``cloud_assistant`` connection plugin sends, and how it
reads their answers (pure).

Every exchange is one Cloud Assistant shell script (``RunShellScript``) whose content, after Base64, stays under
the 24 KB limit of ``RunCommand``, and whose answer fits the 24 KB the agent keeps of the output:

- a task: the command's stdout and stderr go to files of their own, and the script prints one frame
  ``ECSOPS1 <rc> <stdout b64> <stderr b64>`` (each gzip then Base64) when both fit, or
  ``ECSOPS-SPOOL <rc> <dir> <stdout size> <stderr size>`` and the plugin reads the spooled files in chunks;
- stdin (pipelining): sent inline (gzip, Base64) when small; an AnsiballZ payload is a small wrapper around
  one long Base64 literal, the module and its module_utils, identical for every task and host that uses the
  same module: that literal (the *blob*) is kept on the instance in a content-addressed cache
  (``<cache>/blob-<sha256>``) and each task sends only the wrapper. A task whose blob is missing answers
  ``ECSOPS-MISS``; the plugin uploads the blob (checksummed) and sends the task again;
- files: uploaded in numbered parts (gzip, Base64), joined and checked by SHA-256 on the instance; fetched the
  same way in reverse.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import re
import shlex
import zipfile

SCRIPT_LIMIT = 24 * 1024 * 3 // 4 - 512   # raw script bytes whose Base64 fits RunCommand's 24 KB, with a margin
OUTPUT_BUDGET = 23 * 1024                  # the frame's bytes must stay under the 24 KB the agent keeps
CHUNK = 16 * 1024                          # Base64 characters of data in one upload script
READ_CHUNK = 22 * 1024                     # characters read back in one script
BLOB_MIN = 4096                            # a Base64 run at least this long in stdin is worth caching
BLOB_RE = re.compile(rb"[A-Za-z0-9+/=]{%d,}" % BLOB_MIN)


class ProtocolError(Exception):
    """An answer the plugin cannot read (a script that did not run as sent)."""


def pack(data):
    """``data`` (bytes) gzip-compressed, as Base64 text."""
    return base64.b64encode(gzip.compress(data, 6, mtime=0)).decode("ascii")


def unpack(text):
    return gzip.decompress(base64.b64decode(text)) if text else b""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def split_stdin(in_data):
    """(prefix, blob, suffix): the longest Base64 run of ``in_data`` as the blob, or (in_data, None, b"")."""
    longest = None
    for match in BLOB_RE.finditer(in_data):
        if longest is None or match.end() - match.start() > longest.end() - longest.start():
            longest = match
    if longest is None:
        return in_data, None, b""
    return in_data[:longest.start()], in_data[longest.start():longest.end()], in_data[longest.end():]


def stable_blob(blob):
    """``blob`` with the same meaning and stable bytes: when it is a Base64 zip archive (an AnsiballZ payload's
    module code), the archive again with every entry dated 1980-01-01, so the same module built by two
    controller runs (whose archives differ only in the build time of each entry) has one hash and one cached
    copy. Anything else is returned as it is."""
    try:
        source = zipfile.ZipFile(io.BytesIO(base64.b64decode(blob, validate=True)))
        entries = [(info, source.read(info)) for info in source.infolist()]
    except (binascii.Error, ValueError, zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        return blob
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info, data in entries:
            stable = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            stable.compress_type, stable.external_attr = info.compress_type, info.external_attr
            target.writestr(stable, data)
    return base64.b64encode(out.getvalue())


def _prologue(cache):
    return ('umask 077\nD="$HOME/%s"\nmkdir -p "$D" || exit 0\n' % cache.strip("/"))


def task_script(cmd, cache, stdin=None, blob_hash=None, max_age_days=7):
    """The script of one task. ``stdin`` is (prefix, suffix) around the cached blob ``blob_hash``, or the whole
    stdin as (data, b"") without a blob, or None for no stdin."""
    lines = [_prologue(cache)]
    if blob_hash:
        lines.append('B="$D/blob-%s"\n[ -f "$B" ] || { echo "ECSOPS-MISS %s"; exit 0; }\ntouch "$B"\n'
                     % (blob_hash, blob_hash))
    lines.append('W=$(mktemp -d "$D/run.XXXXXX") || exit 0\n')
    if stdin is None:
        lines.append(': > "$W/in"\n')
    else:
        prefix, suffix = stdin
        lines.append("printf '%%s' '%s' | base64 -d | gunzip > \"$W/in\"\n" % pack(prefix))
        if blob_hash:
            lines.append('cat "$B" >> "$W/in"\n')
        if suffix:
            lines.append("printf '%%s' '%s' | base64 -d | gunzip >> \"$W/in\"\n" % pack(suffix))
    lines.append("printf '%%s' '%s' | base64 -d | gunzip > \"$W/cmd\"\n" % pack(cmd.encode("utf-8")))
    lines.append(
        '/bin/sh -c "$(cat "$W/cmd")" < "$W/in" > "$W/out" 2> "$W/err"\nrc=$?\n'
        'gzip -c "$W/out" | base64 | tr -d "\\n" > "$W/out.b64"\n'
        'gzip -c "$W/err" | base64 | tr -d "\\n" > "$W/err.b64"\n'
        'o=$(wc -c < "$W/out.b64"); e=$(wc -c < "$W/err.b64")\n'
        'if [ $((o + e)) -le %d ]; then\n'
        '  printf "ECSOPS1 %%s " "$rc"; cat "$W/out.b64"; printf " "; cat "$W/err.b64"; echo\n'
        '  rm -rf "$W"\n'
        'else\n'
        '  echo "ECSOPS-SPOOL $rc $W $o $e"\n'
        'fi\n' % (OUTPUT_BUDGET - 64))
    lines.append('find "$D" -maxdepth 1 \\( -name "blob-*" -o -name "run.*" -o -name "up.*" \\) -mtime +%d '
                 '-exec rm -rf {} + 2>/dev/null\nexit 0\n' % int(max_age_days))
    return "".join(lines)


def parse_task_answer(output):
    """("done", rc, stdout, stderr) | ("spool", rc, dir, stdout size, stderr size) | ("miss", hash)."""
    text = output.strip()
    last = text.splitlines()[-1] if text else ""
    parts = last.split(" ")
    if parts[0] == "ECSOPS1" and len(parts) in (2, 3, 4):
        parts += [""] * (4 - len(parts))
        return ("done", int(parts[1]), unpack(parts[2]), unpack(parts[3]))
    if parts[0] == "ECSOPS-SPOOL" and len(parts) == 5:
        return ("spool", int(parts[1]), parts[2], int(parts[3]), int(parts[4]))
    if parts[0] == "ECSOPS-MISS" and len(parts) == 2:
        return ("miss", parts[1])
    raise ProtocolError("unexpected answer from the instance: %r" % text[-300:])


def read_script(path, offset, length):
    """Print ``length`` characters of ``path`` from ``offset`` (0-based)."""
    return "tail -c +%d %s | head -c %d\n" % (offset + 1, shlex.quote(path), length)


def spooled_files(directory):
    return directory + "/out.b64", directory + "/err.b64"


def cleanup_script(directory):
    return "rm -rf %s\n" % shlex.quote(directory)


def upload_plan(data, cache, name):
    """(the directory on the instance, [part scripts], the finishing script's body) for ``data`` in parts of
    ``CHUNK`` Base64 characters of its gzip; parts may run in any order, at once."""
    packed = pack(data)
    parts = [packed[i:i + CHUNK] for i in range(0, len(packed), CHUNK)] or [""]
    up = '"$D/up.%s"' % name
    scripts = [_prologue(cache) + 'mkdir -p %s\nprintf "%%s" \'%s\' > %s/%06d\necho ECSOPS-PART %d\n'
               % (up, part, up, n, n) for n, part in enumerate(parts)]
    return up, scripts, len(parts)


def _join_and_check(cache, name, digest, parts):
    """The start of a finishing script: the parts of upload ``name`` joined into ``<up>/joined`` and checked
    against ``digest``; it answers ``ECSOPS-BAD <why>`` and stops when they are not all there or do not match."""
    up = '"$D/up.%s"' % name
    return up, (_prologue(cache) +
                '[ "$(ls %s | wc -l)" -eq %d ] || { echo "ECSOPS-BAD parts"; exit 0; }\n'
                'cat %s/* | base64 -d | gunzip > %s/joined || { echo "ECSOPS-BAD decode"; exit 0; }\n'
                '[ "$(sha256sum < %s/joined | cut -d" " -f1)" = "%s" ] || { echo "ECSOPS-BAD checksum"; exit 0; }\n'
                % (up, parts, up, up, up, digest))


def finish_blob_script(cache, name, blob_hash, parts):
    """Join the parts of blob ``blob_hash``, check it and keep it in the cache."""
    up, script = _join_and_check(cache, name, blob_hash, parts)
    return script + 'mv %s/joined "$D/blob-%s" && rm -rf %s && echo ECSOPS-OK\n' % (up, blob_hash, up)


def finish_file_script(cache, name, digest, parts, dest):
    """Join the parts of an uploaded file, check it and move it to ``dest``."""
    up, script = _join_and_check(cache, name, digest, parts)
    dest = shlex.quote(dest)
    return script + ('umask 022\ncat %s/joined > %s || { echo "ECSOPS-BAD write"; rm -rf %s; exit 0; }\n'
                     'rm -rf %s && echo ECSOPS-OK\n' % (up, dest, up, up))


def fetch_prepare_script(cache, path):
    """Pack ``path`` into the cache and print ``ECSOPS-FILE <dir> <b64 size> <sha256>``."""
    source = shlex.quote(path)
    return (_prologue(cache) +
            '[ -f %s ] && [ -r %s ] || { echo "ECSOPS-BAD missing"; exit 0; }\n'
            'W=$(mktemp -d "$D/run.XXXXXX") || exit 0\n'
            'gzip -c %s | base64 | tr -d "\\n" > "$W/file.b64"\n'
            'echo "ECSOPS-FILE $W $(wc -c < "$W/file.b64") $(sha256sum < %s | cut -d" " -f1)"\n'
            % (source, source, source, source))


def parse_simple(output, expected):
    """The words of the last line of an answer that starts with ``expected``; ProtocolError otherwise."""
    text = output.strip()
    last = text.splitlines()[-1] if text else ""
    words = last.split(" ")
    if words[0] != expected:
        raise ProtocolError(last[-300:] or "no answer")
    return words[1:]
