# -*- coding: utf-8 -*-
# Copyright: contributors to the alibabacloud.ecs_ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to alibabacloud.ecs_ops: the shell scripts the ``cloud_assistant`` connection plugin sends, and how it
reads their answers (pure).

Every exchange is one Cloud Assistant shell script (``RunShellScript``) whose content, after Base64, stays under
the 24 KB limit of ``RunCommand``, and whose answer fits the 24 KB the agent keeps of the output:

- a task: the command's stdout and stderr go to files of their own, and the script prints one frame
  ``ECSOPS1 <rc> <stdout b64> <stderr b64>`` (each gzip then Base64) when both fit, or
  ``ECSOPS-SPOOL <rc> <dir> <stdout size> <stderr size>`` and the plugin reads the spooled files in chunks.
  Before it, ``ECSOPS-ENV`` tells the user, what ``~`` expands to and, when asked, which module code is cached;
- deferred steps: commands whose answer the plugin could give without a round trip (Ansible's temporary
  directory, ``chmod`` in it, a file put there) run at the start of the next script; a step that fails answers
  ``ECSOPS-PRE <n> <stderr>`` and nothing after it runs;
- stdin (pipelining): sent inline (gzip, Base64) when small; an AnsiballZ payload is a small wrapper around
  one long Base64 literal, the module and its module_utils, identical for every task and host that uses the
  same module: that literal (the *blob*) is kept on the instance in a content-addressed cache
  (``<cache>/blob-<sha256>``) and each task sends only the wrapper. A task whose blob is missing answers
  ``ECSOPS-MISS``; the plugin uploads the blob (checksummed) and sends the task again. Only module code is
  cached: a wrapper too big to travel inline (large task arguments) is uploaded for its one command
  (``<cache>/stdin.<name>``), which removes it before the module starts (``plan_stdin``);
- the command's own files (``<cache>/run.<name>``, named by the plugin) are removed when it ends, or by the plugin
  after the agent stopped it; its stdin is unlinked as soon as the command has it open;
- files and blobs: uploaded gzip-compressed in numbered parts, by commands (Base64 text in ``up.<name>/``) or by
  ``SendFile`` (the bytes, as ``up.<name>.<n>`` in the cache), then joined and checked by SHA-256 on the
  instance; fetched the same way in reverse.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import re
import shlex
import uuid
import zipfile
from collections import namedtuple

SCRIPT_LIMIT = 24 * 1024 * 3 // 4 - 512   # raw script bytes whose Base64 fits RunCommand's 24 KB, with a margin
OUTPUT_BUDGET = 23 * 1024                  # the answer's bytes must stay under the 24 KB the agent keeps
CHUNK = 16 * 1024                          # Base64 characters of data in one upload script
SEND_CHUNK = 24 * 1024                     # bytes in one SendFile (32 KB of Content after Base64)
READ_CHUNK = 22 * 1024                     # characters read back in one script
BLOB_MIN = 4096                            # a Base64 run at least this long in stdin is worth caching
BLOB_RE = re.compile(rb"[A-Za-z0-9+/=]{%d,}" % BLOB_MIN)
MODULE_CODE_ENTRY = "ansible/module_utils/"   # in every AnsiballZ archive of module code

# stdin that travels as an upload of its own for one command (``<cache>/stdin.<name>``): the task's part of stdin,
# whose first ``split`` bytes go before the cached module code and the rest after it (all of it without one)
Uploaded = namedtuple("Uploaded", "name split")

# How a task's stdin travels (``plan_stdin``): ``stdin`` inline for ``task_script`` ((prefix, suffix) around the
# cached module code ``blob``, named ``blob_hash``), or, when that is too big, ``upload`` (the task's part, never
# cached) with its ``split`` (``Uploaded``)
Plan = namedtuple("Plan", "blob blob_hash stdin upload split")


class ProtocolError(Exception):
    """An answer the plugin cannot read (a script that did not run as sent)."""


class StepFailed(Exception):
    """A deferred step failed on the instance: ``index`` of the step, ``message`` its stderr."""

    def __init__(self, index, message):
        super().__init__(message)
        self.index, self.message = index, message


def pack(data):
    """``data`` (bytes) gzip-compressed, as Base64 text."""
    return base64.b64encode(gzip.compress(data, 6, mtime=0)).decode("ascii")


def unpack(text):
    return gzip.decompress(base64.b64decode(text)) if text else b""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def is_module_code(run):
    """True when ``run`` (Base64 text) is a zip archive of Ansible module code, as an AnsiballZ payload carries."""
    try:
        names = zipfile.ZipFile(io.BytesIO(base64.b64decode(run, validate=True))).namelist()
    except (binascii.Error, ValueError, zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        return False
    return any(name.startswith(MODULE_CODE_ENTRY) for name in names)


def split_stdin(in_data):
    """(prefix, blob, suffix): the longest Base64 run of ``in_data`` that is module code (``is_module_code``) as the
    blob, or (in_data, None, b""). A task's arguments, however long and whatever they hold, are never the blob."""
    runs = sorted(BLOB_RE.finditer(in_data), key=lambda match: match.start() - match.end())
    for match in runs:
        if is_module_code(match.group()):
            return in_data[:match.start()], match.group(), in_data[match.end():]
    return in_data, None, b""


def is_base64(data):
    """True when ``data`` is canonical Base64 text (what ``base64.b64encode`` gives back for what it decodes to)."""
    try:
        return base64.b64encode(base64.b64decode(data, validate=True)) == data
    except (binascii.Error, ValueError):
        return False


def stable_blob(blob):
    """``blob`` with the same meaning and stable bytes: when it is a Base64 zip archive (an AnsiballZ payload's
    module code), the archive again with every entry dated 1980-01-01, so the same module built by two
    controller runs (whose archives differ only in the build time of each entry) has one hash and one cached
    copy. The entries are stored, not deflated (``ZIP_STORED``, which Ansible itself offers as
    ``module_compression``): the archive is then compressed as a whole for the upload (``raw_parts``), which finds
    what the files have in common and sends 20-30% fewer bytes than the archive's per-file compression.
    Anything else is returned as it is."""
    try:
        source = zipfile.ZipFile(io.BytesIO(base64.b64decode(blob, validate=True)))
        entries = [(info, source.read(info)) for info in source.infolist()]
    except (binascii.Error, ValueError, zipfile.BadZipFile, OSError, RuntimeError, EOFError):
        return blob
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info, data in entries:
            stable = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            stable.compress_type, stable.external_attr = zipfile.ZIP_STORED, info.external_attr
            target.writestr(stable, data)
    return base64.b64encode(out.getvalue())


def _prologue(cache):
    """Every script starts here: ``$U`` keeps the agent's umask for what Ansible runs, the plugin's own files are
    private (umask 077) in ``$D``, the cache directory."""
    return 'U=$(umask)\numask 077\nD="$HOME/%s"\nmkdir -p "$D" || exit 0\n' % cache.strip("/")


def _steps(steps):
    """Shell for the deferred ``steps`` (each a snippet that fails with a message on stderr): the first one that
    fails answers ``ECSOPS-PRE <n> <its stderr, Base64>`` and the script stops there."""
    return "".join('e=$( { %s\n} 2>&1 >/dev/null ) || { printf "ECSOPS-PRE %d %%s\\n" "$(printf "%%s" "$e" | '
                   'tail -c 2000 | base64 | tr -d "\\n")"; exit 0; }\n' % (step, n) for n, step in enumerate(steps))


def ansible_step(cmd):
    """A command Ansible sent, as a deferred step: run as it would have run (the agent's umask), output dropped."""
    return "umask $U; %s" % cmd


def _environment(report_blobs):
    """Print ``ECSOPS-ENV <Base64>``: the user, what ``~`` and ``~user`` expand to and, with ``report_blobs``,
    the hashes of the module code in the cache (else ``-``)."""
    blobs = '"$(ls "$D" | sed -n "s/^blob-//p" | head -n 200 | tr "\\n" " ")"' if report_blobs else "-"
    return ('u=$(id -un 2>/dev/null); h=$(echo ~); uh=\n'
            'case "$u" in ""|*[!A-Za-z0-9_.-]*) ;; *) uh=$(eval "echo ~$u") ;; esac\n'
            'echo "ECSOPS-ENV $(printf "%%s\\n%%s\\n%%s\\n%%s" "$u" "$h" "$uh" %s | base64 | tr -d "\\n")"\n'
            % blobs)


def parse_environment(output):
    """{"user", "home", "user_home", "blobs"} from an answer (``blobs`` a list, or None when not reported), or
    None when the answer has none."""
    for line in output.splitlines():
        if not line.startswith("ECSOPS-ENV "):
            continue
        try:
            fields = base64.b64decode(line.split(" ", 1)[1], validate=True).decode("utf-8").split("\n")
        except (binascii.Error, ValueError):
            return None
        if len(fields) != 4:
            return None
        user, home, user_home, blobs = fields
        return {"user": user, "home": home, "user_home": user_home,
                "blobs": None if blobs == "-" else blobs.split()}
    return None


def task_script(cmd, cache, stdin=None, blob_hash=None, max_age_days=7, steps=(), report_blobs=False, run=None):
    """The script of one task. ``stdin`` is (prefix, suffix) around the cached blob ``blob_hash``, or the whole
    stdin as (data, b"") without a blob, or ``Uploaded`` (the task's part of stdin, put in the cache by one of the
    ``steps`` and removed by this script whatever happens), or None for no stdin; ``steps`` run first. ``run``
    names the command's directory in the cache (``run.<run>``, random when not given), so that the plugin can
    remove it when the agent stopped the command."""
    lines = [_prologue(cache)]
    if isinstance(stdin, Uploaded):
        lines.append('S="$D/stdin.%s"\ntrap \'rm -f "$S"\' EXIT\n' % stdin.name)
    lines += [_steps(steps), _environment(report_blobs)]
    if blob_hash:
        lines.append('B="$D/blob-%s"\n[ -f "$B" ] || { echo "ECSOPS-MISS %s"; exit 0; }\ntouch "$B"\n'
                     % (blob_hash, blob_hash))
    lines.append('W="$D/run.%s"\nmkdir "$W" || exit 0\n' % (run or uuid.uuid4().hex))
    if stdin is None:
        lines.append(': > "$W/in"\n')
    elif isinstance(stdin, Uploaded):
        pieces = ['head -c %d "$S"' % stdin.split] + (['cat "$B"'] if blob_hash else []) + [
            'tail -c +%d "$S"' % (stdin.split + 1)]
        lines.append('{ %s; } > "$W/in"\nrm -f "$S"\n' % "; ".join(pieces))
    else:
        prefix, suffix = stdin
        lines.append("printf '%%s' '%s' | base64 -d | gunzip > \"$W/in\"\n" % pack(prefix))
        if blob_hash:
            lines.append('cat "$B" >> "$W/in"\n')
        if suffix:
            lines.append("printf '%%s' '%s' | base64 -d | gunzip >> \"$W/in\"\n" % pack(suffix))
    lines.append("printf '%%s' '%s' | base64 -d | gunzip > \"$W/cmd\"\n" % pack(cmd.encode("utf-8")))
    lines.append(
        '(umask "$U"; c=$(cat "$W/cmd"); rm -f "$W/cmd" "$W/in"; exec /bin/sh -c "$c") < "$W/in" > "$W/out" '
        '2> "$W/err"\nrc=$?\n'
        'gzip -c "$W/out" | base64 | tr -d "\\n" > "$W/out.b64"\n'
        'gzip -c "$W/err" | base64 | tr -d "\\n" > "$W/err.b64"\n'
        'o=$(wc -c < "$W/out.b64"); e=$(wc -c < "$W/err.b64")\n'
        'if [ $((o + e)) -le %d ]; then\n'
        '  printf "ECSOPS1 %%s " "$rc"; cat "$W/out.b64"; printf " "; cat "$W/err.b64"; echo\n'
        '  rm -rf "$W"\n'
        'else\n'
        '  echo "ECSOPS-SPOOL $rc $W $o $e"\n'
        'fi\n' % (OUTPUT_BUDGET - 2048))
    lines.append('find "$D" -maxdepth 1 \\( -name "blob-*" -o -name "run.*" -o -name "up.*" -o -name "stdin.*" \\) '
                 '-mtime +%d -exec rm -rf {} + 2>/dev/null\nexit 0\n' % int(max_age_days))
    return "".join(lines)


def plan_stdin(cmd, cache, in_data, max_age_days=7):
    """How ``in_data`` travels with ``cmd`` (a ``Plan``), or None when even the command alone is too big: inline,
    around the module code kept in the instance's cache, when the script fits RunCommand; else the task's part
    (what holds its arguments) as an upload of its own for this one command, never cached."""
    if in_data is None:
        plans = [Plan(None, None, None, None, 0)]
    else:
        in_data = in_data.encode("utf-8") if isinstance(in_data, str) else in_data
        prefix, code, suffix = split_stdin(in_data)
        blob = stable_blob(code) if code is not None else None
        blob_hash = sha256(blob) if blob is not None else None
        inline = (prefix, suffix) if blob is not None else (in_data, b"")
        plans = [Plan(blob, blob_hash, inline, None, 0),
                 Plan(blob, blob_hash, None, b"".join(inline), len(inline[0]))]
    for plan in plans:
        stdin = Uploaded("0" * 32, plan.split) if plan.upload is not None else plan.stdin
        script = task_script(cmd, cache, stdin, plan.blob_hash, max_age_days, run="0" * 32)
        if len(script.encode("utf-8")) <= SCRIPT_LIMIT:
            return plan
    return None


def steps_script(cache, steps):
    """Run deferred ``steps`` on their own: answers ``ECSOPS-OK`` or ``ECSOPS-PRE``."""
    return _prologue(cache) + _steps(steps) + "echo ECSOPS-OK\n"


def _last_line(output):
    text = output.strip()
    return text, (text.splitlines()[-1] if text else "")


def _check_steps(last):
    parts = last.split(" ")
    if parts[0] == "ECSOPS-PRE" and len(parts) in (2, 3):
        try:
            message = base64.b64decode(parts[2] if len(parts) == 3 else "").decode("utf-8", "replace").strip()
        except (binascii.Error, ValueError):
            message = ""
        raise StepFailed(int(parts[1]), message)


def parse_task_answer(output):
    """("done", rc, stdout, stderr) | ("spool", rc, dir, stdout size, stderr size) | ("miss", hash); StepFailed
    when a deferred step failed."""
    text, last = _last_line(output)
    _check_steps(last)
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


def run_cleanup_script(cache, run):
    """Remove the directory of the task script ``run`` (``task_script``), e.g. after the agent stopped it."""
    return _prologue(cache) + 'rm -rf "$D/run.%s"\n' % run


def packed_forms(data, base64_text=False):
    """(bytes to move, how they decode back into ``data``) for an upload, the smallest first: ``data``'s gzip
    ("gzip"); with ``base64_text`` (``data`` is Base64 text, such as module code) also the bytes it encodes
    ("base64") and their gzip ("gzip-base64"), which compresses far better than the gzip of the text."""
    forms = [(gzip.compress(data, 6, mtime=0), "gzip")]
    if base64_text:
        raw = base64.b64decode(data)
        forms += [(raw, "base64"), (gzip.compress(raw, 6, mtime=0), "gzip-base64")]
    return min(forms, key=lambda form: len(form[0]))


# How each packed form decodes on the instance (shell tools only: gzip, base64).
DECODE = {"gzip": "gunzip", "base64": 'base64 | tr -d "\\n"', "gzip-base64": 'gunzip | base64 | tr -d "\\n"'}


def command_parts(data, cache, name, base64_text=False):
    """(the scripts that upload ``data`` in parts of ``CHUNK`` Base64 characters of its packed form into
    ``up.<name>/`` of the cache, the form's kind); they may run in any order, at once. The parts are joined by
    ``join_step(..., kind=<the kind>)``."""
    raw, kind = packed_forms(data, base64_text)
    packed = base64.b64encode(raw).decode("ascii")
    parts = [packed[i:i + CHUNK] for i in range(0, len(packed), CHUNK)] or [""]
    up = '"$D/up.%s"' % name
    return [_prologue(cache) + 'mkdir -p %s\nprintf "%%s" \'%s\' > %s/%06d\necho ECSOPS-PART %d\n'
            % (up, part, up, n, n) for n, part in enumerate(parts)], kind


def send_parts(data, name, base64_text=False):
    """([(file name, bytes)], SHA-256 of all of them, how they decode (``DECODE``)) for SendFile into the cache:
    ``data``'s smallest packed form (``packed_forms``) in parts of ``SEND_CHUNK`` bytes. Module code (``base64_text``)
    is never more than ⌈len(data) / 32 KB⌉ parts, and usually fewer: its stored archive compressed as a whole."""
    packed, kind = packed_forms(data, base64_text)
    parts = [("up.%s.%06d" % (name, n // SEND_CHUNK), packed[n:n + SEND_CHUNK])
             for n in range(0, len(packed), SEND_CHUNK)] or [("up.%s.%06d" % (name, 0), b"")]
    return parts, sha256(packed), kind


def join_step(name, count, digest, target, sent=None, packed_digest=None, wait=0, kind="gzip"):
    """A deferred step: join the ``count`` parts of upload ``name``, check the result against ``digest`` and put it
    at ``target`` (``("blob", hash)`` into the cache, or ``("file", path)``, written with the agent's umask).
    Parts sent by SendFile (``sent``: the kind ``send_parts`` returned) are bytes that may still be arriving: the
    step waits up to ``wait`` seconds until they hash to ``packed_digest``. Parts uploaded by commands are Base64
    text of the form ``kind`` (what ``command_parts`` returned). The parts are removed either way. ``target`` may
    also be ``("stdin", name)``: a task's part of stdin for one command (``Uploaded``), never kept."""
    if sent:
        parts = '"$D/up.%s".[0-9]*' % name      # zero-padded numbers: the glob lists them in order
        decode, clean = DECODE[sent], "rm -f %s" % parts
        ready = ('t=$(( $(date +%%s) + %d ))\n'
                 'until [ "$(ls %s 2>/dev/null | wc -l)" -eq %d ] && '
                 '[ "$(cat %s 2>/dev/null | sha256sum | cut -c1-64)" = "%s" ]; do\n'
                 '  [ "$(date +%%s)" -lt "$t" ] || { %s; echo "the parts sent by SendFile did not arrive within '
                 '%ds" >&2; exit 1; }\n'
                 '  sleep 0.2 2>/dev/null || sleep 1\n'
                 'done\n' % (wait, parts, count, parts, packed_digest, clean, wait))
    else:
        up = '"$D/up.%s"' % name
        parts, decode, clean = "%s/*" % up, "base64 -d | " + DECODE[kind], "rm -rf %s" % up
        ready = ('[ "$(ls %s | wc -l)" -eq %d ] || { %s; echo "%d parts expected, some are missing" >&2; exit 1; }\n'
                 % (up, count, clean, count))
    joined = '"$D/up.%s.joined"' % name
    kind, where = target
    if kind in ("blob", "stdin"):
        put = 'mv %s "$D/%s%s"' % (joined, "blob-" if kind == "blob" else "stdin.", where)
    else:
        put = ('(umask "$U"; cat %s > %s) || { rm -f %s; echo "cannot write %s" >&2; exit 1; }\nrm -f %s'
               % (joined, shlex.quote(where), joined, where.replace('"', ""), joined))
    return ('(\n%s'
            'cat %s | %s > %s || { %s; rm -f %s; echo "the parts do not decode" >&2; exit 1; }\n%s\n'
            '[ "$(sha256sum < %s | cut -c1-64)" = "%s" ] || { rm -f %s; echo "checksum mismatch" >&2; exit 1; }\n'
            '%s\n)' % (ready, parts, decode, joined, clean, joined, clean, joined, digest, joined, put))


def inline_file_step(data, dest):
    """A deferred step that writes the small file ``data`` to ``dest`` (the agent's umask) and checks it."""
    quoted = shlex.quote(dest)
    return ("(umask \"$U\"; printf '%%s' '%s' | base64 -d | gunzip > %s) || exit 1\n"
            '[ "$(sha256sum < %s | cut -c1-64)" = "%s" ] || { rm -f %s; echo "checksum mismatch" >&2; exit 1; }'
            % (pack(data), quoted, quoted, sha256(data), quoted))


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
    """The words of the last line of an answer that starts with ``expected``; StepFailed when a deferred step
    failed, ProtocolError for anything else."""
    _text, last = _last_line(output)
    _check_steps(last)
    words = last.split(" ")
    if words[0] != expected:
        raise ProtocolError(last[-300:] or "no answer")
    return words[1:]
