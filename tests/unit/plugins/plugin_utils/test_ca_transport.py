"""The connection plugin's scripts and answers (pure): every script fits RunCommand's limit, answers are read
exactly, module code is found in a payload and gets stable bytes, and the scripts really work in a shell."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import zipfile

import pytest

from ansible_collections.alibabacloud.ecs_ops.plugins.plugin_utils import _ca_transport as t


def run_sh(script, home):
    """The script in a real shell with ``home`` as HOME, as the agent would run it; its output."""
    proc = subprocess.run(["/bin/sh", "-c", script], env={"HOME": str(home), "PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout + proc.stderr


def zip_b64(entries, date_time):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=date_time), data)
    return base64.b64encode(out.getvalue())


def test_the_longest_base64_run_is_the_blob():
    blob = base64.b64encode(os.urandom(6000))
    payload = b"#!/usr/bin/python\nparams='{\"a\": 1}'\nzip_data='" + blob + b"',\n)\n"
    prefix, found, suffix = t.split_stdin(payload)
    assert found == blob and prefix + found + suffix == payload
    assert t.split_stdin(b"short stdin") == (b"short stdin", None, b"")


def test_the_same_module_built_twice_has_one_hash():
    entries = {"ansible/modules/ping.py": b"print('pong')\n" * 200, "ansible/__init__.py": b""}
    first, second = zip_b64(entries, (2026, 1, 1, 10, 0, 0)), zip_b64(entries, (2026, 1, 1, 10, 0, 4))
    assert first != second
    assert t.stable_blob(first) == t.stable_blob(second)
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(t.stable_blob(first))))
    assert {i.filename: archive.read(i) for i in archive.infolist()} == entries, "same content"
    not_a_zip = base64.b64encode(b"x" * 5000)
    assert t.stable_blob(not_a_zip) == not_a_zip


@pytest.mark.parametrize("answer, expected", [
    ("ECSOPS1 0 %s %s\n" % (t.pack(b"out\n"), t.pack(b"err\n")), ("done", 0, b"out\n", b"err\n")),
    ("noise\nECSOPS1 3  %s\n" % t.pack(b"e"), ("done", 3, b"", b"e")),
    ("ECSOPS1 0 %s \n" % t.pack(b"o"), ("done", 0, b"o", b"")),
    ("ECSOPS1 1\n", ("done", 1, b"", b"")),
    ("ECSOPS-SPOOL 2 /h/.cache/run.x 100 20\n", ("spool", 2, "/h/.cache/run.x", 100, 20)),
    ("ECSOPS-MISS abc\n", ("miss", "abc")),
])
def test_answers_are_read_exactly(answer, expected):
    assert t.parse_task_answer(answer) == expected


def test_an_answer_that_is_not_ours_is_an_error():
    with pytest.raises(t.ProtocolError, match="unexpected answer"):
        t.parse_task_answer("sh: 1: base64: not found\n")


def test_every_script_fits_runcommand():
    big_cmd = "x" * 2000
    stdin = (os.urandom(9000), b"")
    assert len(t.task_script(big_cmd, ".cache/x", stdin, None).encode()) < t.SCRIPT_LIMIT
    _up, scripts, parts = t.upload_plan(os.urandom(200000), ".cache/x", "n1")
    assert parts == len(scripts) > 10
    assert max(len(s.encode()) for s in scripts) < t.SCRIPT_LIMIT
    assert len(base64.b64encode(scripts[0].encode())) <= 24 * 1024, "24 KB after Base64"


def test_the_scripts_work_in_a_real_shell(tmp_path):
    cache = ".cache/alibabacloud.ecs_ops"
    # a task with stdin, stdout and stderr apart, and its exit code
    script = t.task_script("cat; echo E >&2; exit 4", cache, (b"hello\n", b""), None)
    assert t.parse_task_answer(run_sh(script, tmp_path)) == ("done", 4, b"hello\n", b"E\n")
    # a blob: missing first, then uploaded in parts that run in any order, then used
    blob = base64.b64encode(os.urandom(40000))
    digest = t.sha256(blob)
    script = t.task_script("wc -c", cache, (b"<", b">"), digest)
    assert t.parse_task_answer(run_sh(script, tmp_path)) == ("miss", digest)
    _up, parts, count = t.upload_plan(blob, cache, "u1")
    for part in reversed(parts):
        assert t.parse_simple(run_sh(part, tmp_path), "ECSOPS-PART")
    assert t.parse_simple(run_sh(t.finish_blob_script(cache, "u1", digest, count), tmp_path), "ECSOPS-OK") == []
    answer = t.parse_task_answer(run_sh(script, tmp_path))
    assert answer[:2] == ("done", 0) and int(answer[2]) == len(blob) + 2
    assert oct((tmp_path / cache).stat().st_mode & 0o777) == "0o700", "the cache is private"
    # a corrupted upload is refused
    _up, parts, count = t.upload_plan(b"data", cache, "u2")
    run_sh(parts[0], tmp_path)
    with pytest.raises(t.ProtocolError, match="checksum"):
        t.parse_simple(run_sh(t.finish_file_script(cache, "u2", "0" * 64, count, str(tmp_path / "f")), tmp_path),
                       "ECSOPS-OK")
    assert not (tmp_path / "f").exists()
    # output too large for one answer is spooled, then read back in parts
    script = t.task_script("head -c 200000 /dev/urandom | base64", cache, None, None)
    kind, rc, directory, out_size, err_size = t.parse_task_answer(run_sh(script, tmp_path))
    assert (kind, rc, err_size > 0) == ("spool", 0, True)
    out_path, _err_path = t.spooled_files(directory)
    text = "".join(run_sh(t.read_script(out_path, o, t.READ_CHUNK), tmp_path)
                   for o in range(0, out_size, t.READ_CHUNK))
    assert len(t.unpack(text)) > 200000
    run_sh(t.cleanup_script(directory), tmp_path)
    assert not os.path.exists(directory)
    # a file fetched: packed, sized and hashed on the instance
    (tmp_path / "src.bin").write_bytes(os.urandom(50000))
    directory, size, digest = t.parse_simple(run_sh(t.fetch_prepare_script(cache, str(tmp_path / "src.bin")),
                                                    tmp_path), "ECSOPS-FILE")
    text = run_sh(t.read_script(directory + "/file.b64", 0, int(size)), tmp_path)
    assert t.sha256(t.unpack(text)) == digest == t.sha256((tmp_path / "src.bin").read_bytes())
