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


def payload(code, args=b'{"a": 1}'):
    """An AnsiballZ-like payload: the task's arguments before the module code, as ansible-core lays them out."""
    return b"#!/usr/bin/python\nparams='" + args + b"',\nzip_data='" + code + b"',\n)\n"


def test_the_module_code_is_the_blob_and_nothing_else_is():
    code, _entries = module_archive(files=8)
    prefix, found, suffix = t.split_stdin(payload(code))
    assert found == code and prefix + found + suffix == payload(code)
    longer = base64.b64encode(os.urandom(len(code)))       # an argument: longer Base64, but not module code
    prefix, found, suffix = t.split_stdin(payload(code, longer))
    assert found == code and longer in prefix
    assert t.split_stdin(payload(longer)) == (payload(longer), None, b"")
    assert t.split_stdin(b"short stdin") == (b"short stdin", None, b"")


def test_a_tasks_arguments_travel_inline_or_as_an_upload_of_their_own_never_as_the_cached_blob():
    cache = ".cache/x"
    code, _entries = module_archive(files=8)
    plan = t.plan_stdin("python3", cache, payload(code))
    assert (plan.blob, plan.upload) == (t.stable_blob(code), None) and plan.blob_hash == t.sha256(plan.blob)
    big = b'"' + os.urandom(20000).hex().encode() + b'"'
    plan = t.plan_stdin("python3", cache, payload(code, big))
    assert plan.blob == t.stable_blob(code) and plan.stdin is None
    assert big in plan.upload and code not in plan.upload, "the arguments go on their own; the module is cached"
    assert plan.upload[:plan.split] + code + plan.upload[plan.split:] == payload(code, big)
    plan = t.plan_stdin("python3", cache, os.urandom(40000))
    assert (plan.blob, plan.blob_hash, len(plan.upload), plan.split) == (None, None, 40000, 40000)
    assert t.plan_stdin(os.urandom(20000).hex(), cache, None) is None, "the command alone is too big"


def test_an_uploaded_stdin_reaches_its_command_and_nothing_of_it_stays(tmp_path):
    cache = ".cache/x"
    code, _entries = module_archive(files=8)
    data = payload(code, b"secret-" + os.urandom(30000).hex().encode())
    plan = t.plan_stdin("sha256sum", cache, data)
    blob_parts, kind = t.command_parts(plan.blob, cache, "b1", base64_text=True)
    for part in blob_parts:
        run_sh(part, tmp_path)
    steps = [t.join_step("b1", len(blob_parts), plan.blob_hash, ("blob", plan.blob_hash), kind=kind)]
    parts, kind = t.command_parts(plan.upload, cache, "s1")
    for part in parts:
        run_sh(part, tmp_path)
    steps.append(t.join_step("s1", len(parts), t.sha256(plan.upload), ("stdin", "n1"), kind=kind))
    stdin = t.Uploaded("n1", plan.split)
    answer = t.parse_task_answer(run_sh(t.task_script("sha256sum", cache, stdin, plan.blob_hash, steps=steps),
                                        tmp_path))
    sent = plan.upload[:plan.split] + plan.blob + plan.upload[plan.split:]    # the module code re-dated
    assert answer[:2] == ("done", 0) and answer[2].split()[0].decode() == t.sha256(sent)
    left = sorted(p.name for p in (tmp_path / cache).iterdir())
    assert left == ["blob-" + plan.blob_hash], "only the module code is kept"
    # a missing blob ends the script before the command: the uploaded stdin goes with it
    parts, kind = t.command_parts(plan.upload, cache, "s2")
    for part in parts:
        run_sh(part, tmp_path)
    step = t.join_step("s2", len(parts), t.sha256(plan.upload), ("stdin", "n2"), kind=kind)
    answer = t.parse_task_answer(run_sh(t.task_script("sha256sum", cache, t.Uploaded("n2", plan.split), "0" * 64,
                                                      steps=[step]), tmp_path))
    assert answer == ("miss", "0" * 64)
    assert sorted(p.name for p in (tmp_path / cache).iterdir()) == ["blob-" + plan.blob_hash]


def test_the_command_finds_neither_its_stdin_nor_itself_on_disk_and_its_directory_can_be_removed(tmp_path):
    cache = ".cache/x"
    run = "0123abcd" * 4
    script = t.task_script('cat; ls -A "$HOME/%s/run.%s"' % (cache, run), cache, (b"secret\n", b""), run=run)
    assert t.parse_task_answer(run_sh(script, tmp_path)) == ("done", 0, b"secret\nerr\nout\n", b"")
    (tmp_path / cache / ("run." + run)).mkdir()
    run_sh(t.run_cleanup_script(cache, run), tmp_path)
    assert not (tmp_path / cache / ("run." + run)).exists()


def test_the_same_module_built_twice_has_one_hash():
    entries = {"ansible/modules/ping.py": b"print('pong')\n" * 200, "ansible/__init__.py": b""}
    first, second = zip_b64(entries, (2026, 1, 1, 10, 0, 0)), zip_b64(entries, (2026, 1, 1, 10, 0, 4))
    assert first != second
    assert t.stable_blob(first) == t.stable_blob(second)
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(t.stable_blob(first))))
    assert {i.filename: archive.read(i) for i in archive.infolist()} == entries, "same content"
    assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}, "compressed as a whole when sent"
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
    scripts, _kind = t.command_parts(os.urandom(200000), ".cache/x", "n1")
    assert len(scripts) > 10
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
    parts, kind = t.command_parts(blob, cache, "u1", base64_text=True)
    for part in reversed(parts):
        assert t.parse_simple(run_sh(part, tmp_path), "ECSOPS-PART")
    join = t.join_step("u1", len(parts), digest, ("blob", digest), kind=kind)
    assert t.parse_simple(run_sh(t.steps_script(cache, [join]), tmp_path), "ECSOPS-OK") == []
    answer = t.parse_task_answer(run_sh(script, tmp_path))
    assert answer[:2] == ("done", 0) and int(answer[2]) == len(blob) + 2
    assert oct((tmp_path / cache).stat().st_mode & 0o777) == "0o700", "the cache is private"
    assert not [p for p in (tmp_path / cache).iterdir() if p.name.startswith("up.")], "the parts are gone"
    # a corrupted upload is refused, names the step that failed, and leaves nothing behind
    parts, _kind = t.command_parts(b"data", cache, "u2")
    run_sh(parts[0], tmp_path)
    join = t.join_step("u2", len(parts), "0" * 64, ("file", str(tmp_path / "f")))
    with pytest.raises(t.StepFailed, match="checksum mismatch") as failed:
        t.parse_simple(run_sh(t.steps_script(cache, ["true", join]), tmp_path), "ECSOPS-OK")
    assert failed.value.index == 1
    assert not (tmp_path / "f").exists()
    assert not [p for p in (tmp_path / cache).iterdir() if p.name.startswith("up.")]
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


def test_the_command_runs_with_the_agents_umask_while_the_cache_stays_private(tmp_path):
    cache = ".cache/alibabacloud.ecs_ops"
    target = tmp_path / "made"
    script = "umask 022\n" + t.task_script("mkdir %s && touch %s/f" % (target, target), cache)
    assert t.parse_task_answer(run_sh(script, tmp_path))[:2] == ("done", 0)
    assert oct(target.stat().st_mode & 0o777) == "0o755", "as over SSH: the agent's umask, not the plugin's"
    assert oct((target / "f").stat().st_mode & 0o777) == "0o644"
    assert oct((tmp_path / cache).stat().st_mode & 0o777) == "0o700"


def test_deferred_steps_run_first_and_a_failing_one_stops_the_script(tmp_path):
    cache = ".cache/x"
    steps = ["echo one > %s/1" % tmp_path, "echo no such thing >&2; false", "echo three > %s/3" % tmp_path]
    with pytest.raises(t.StepFailed) as failed:
        t.parse_task_answer(run_sh(t.task_script("touch %s/cmd" % tmp_path, cache, steps=steps), tmp_path))
    assert (failed.value.index, failed.value.message) == (1, "no such thing")
    assert (tmp_path / "1").exists() and not (tmp_path / "3").exists() and not (tmp_path / "cmd").exists()
    answer = run_sh(t.task_script("cat %s/1" % tmp_path, cache, steps=[steps[0]]), tmp_path)
    assert t.parse_task_answer(answer) == ("done", 0, b"one\n", b""), "steps print nothing into the answer"


def test_the_answer_reports_the_user_and_home_and_the_cached_module_code_when_asked(tmp_path):
    cache = ".cache/x"
    env = t.parse_environment(run_sh(t.task_script("true", cache), tmp_path))
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    assert env == {"user": user, "home": str(tmp_path), "user_home": os.path.expanduser("~" + user), "blobs": None}
    (tmp_path / cache / ("blob-" + "a" * 64)).write_text("x")
    env = t.parse_environment(run_sh(t.task_script("true", cache, report_blobs=True), tmp_path))
    assert env["blobs"] == ["a" * 64]
    assert t.parse_environment("ECSOPS1 0\n") is None


def test_a_small_file_travels_inline_and_is_checked(tmp_path):
    data = os.urandom(3000)
    dest = tmp_path / "dir with space" / "f.bin"
    dest.parent.mkdir()
    assert t.parse_simple(run_sh("umask 022\n" + t.steps_script(".c", [t.inline_file_step(data, str(dest))]),
                                 tmp_path), "ECSOPS-OK") == []
    assert dest.read_bytes() == data and oct(dest.stat().st_mode & 0o777) == "0o644"


def test_parts_sent_by_sendfile_are_awaited_checked_and_removed(tmp_path):
    cache = ".cache/x"
    data = os.urandom(60000)
    parts, packed, kind = t.send_parts(data, "s1")
    assert kind == "gzip"
    assert len(parts) == 3 and all(len(base64.b64encode(p)) <= 32 * 1024 for _n, p in parts)
    directory = tmp_path / cache
    directory.mkdir(parents=True)
    dest = tmp_path / "out.bin"
    step = t.join_step("s1", len(parts), t.sha256(data), ("file", str(dest)), sent="gzip", packed_digest=packed,
                       wait=20)
    (directory / parts[0][0]).write_bytes(parts[0][1])
    late = subprocess.Popen(["/bin/sh", "-c", "sleep 1; cat > '%s'" % (directory / parts[1][0])],
                            stdin=subprocess.PIPE)
    late.stdin.write(parts[1][1])
    late.stdin.close()
    (directory / parts[2][0]).write_bytes(parts[2][1])
    assert t.parse_simple(run_sh(t.steps_script(cache, [step]), tmp_path), "ECSOPS-OK") == []
    late.wait(10)
    assert dest.read_bytes() == data
    assert sorted(p.name for p in directory.iterdir()) == [], "the parts are removed"
    # a part that never arrives: the step gives up after its wait and says why
    step = t.join_step("s2", 2, t.sha256(data), ("file", str(dest) + "2"), sent="gzip", packed_digest=packed, wait=1)
    with pytest.raises(t.StepFailed, match="did not arrive within 1s"):
        t.parse_simple(run_sh(t.steps_script(cache, [step]), tmp_path), "ECSOPS-OK")


def test_the_step_that_joins_many_parts_stays_small():
    parts, packed, _kind = t.send_parts(os.urandom(5 * 1024 * 1024), "big")
    assert len(parts) > 200
    step = t.join_step("big", len(parts), "0" * 64, ("file", "/tmp/x"), sent="gzip", packed_digest=packed, wait=60)
    assert len(step) < 2048, "the parts are found by a pattern, not listed"
    assert len(t.join_step("big", 400, "0" * 64, ("blob", "0" * 64))) < 2048


def test_module_code_goes_as_the_bytes_it_encodes_and_is_cached_as_the_same_text(tmp_path):
    cache = ".cache/x"
    blob = base64.b64encode(os.urandom(70000))
    assert t.is_base64(blob) and not t.is_base64(b"not base64!") and not t.is_base64(b"QQ")
    digest = t.sha256(blob)
    parts, packed, kind = t.send_parts(blob, "m1", base64_text=True)
    assert kind == "base64" and len(parts) == -(-len(blob) // (32 * 1024)), "⌈code / 32 KB⌉ parts"
    assert t.send_parts(base64.b64encode(b"a" * 90000), "m2", base64_text=True)[2] == "gzip-base64", "gzip when smaller"
    for file_name, chunk in parts:
        (tmp_path / cache).mkdir(parents=True, exist_ok=True)
        (tmp_path / cache / file_name).write_bytes(chunk)
    step = t.join_step("m1", len(parts), digest, ("blob", digest), sent=kind, packed_digest=packed, wait=5)
    assert t.parse_simple(run_sh(t.steps_script(cache, [step]), tmp_path), "ECSOPS-OK") == []
    assert (tmp_path / cache / ("blob-" + digest)).read_bytes() == blob


def module_archive(files=60):
    """A Base64 zip like an AnsiballZ payload's module code: many Python files with much in common."""
    entries = {"ansible/module_utils/m%02d.py" % n: (
        "# -*- coding: utf-8 -*-\nfrom __future__ import annotations\n\nimport os\nimport sys\n\n\n"
        + "".join("def helper_%d_%d(value, default=None):\n    \"\"\"Return value or default.\"\"\"\n"
                  "    return default if value is None else value\n\n\n" % (n, k) for k in range(40))
        + base64.b64encode(os.urandom(600)).decode() + "\n").encode() for n in range(files)}
    return zip_b64(entries, (2026, 1, 1, 10, 0, 0)), entries


@pytest.mark.parametrize("by", ["sendfile", "commands"])
def test_module_code_is_compressed_as_a_whole_and_cached_as_the_stable_text(tmp_path, by):
    """The stored archive compressed as a whole moves in fewer parts than the archive's own per-file compression
    would, by SendFile and by commands, and the instance caches exactly the stable Base64 text the task needs."""
    original, entries = module_archive()
    blob = t.stable_blob(original)
    digest = t.sha256(blob)
    cache = ".cache/x"
    (tmp_path / cache).mkdir(parents=True)
    if by == "sendfile":
        parts, packed, kind = t.send_parts(blob, "z1", base64_text=True)
        assert kind == "gzip-base64"
        assert len(parts) < -(-len(base64.b64decode(original)) // t.SEND_CHUNK), "fewer parts than the zip itself"
        for file_name, chunk in parts:
            (tmp_path / cache / file_name).write_bytes(chunk)
        step = t.join_step("z1", len(parts), digest, ("blob", digest), sent=kind, packed_digest=packed, wait=5)
    else:
        scripts, kind = t.command_parts(blob, cache, "z2", base64_text=True)
        assert kind == "gzip-base64"
        assert len(scripts) < -(-len(t.pack(original)) // t.CHUNK), "fewer parts than the gzip of the zip as text"
        for script in scripts:
            assert t.parse_simple(run_sh(script, tmp_path), "ECSOPS-PART")
        step = t.join_step("z2", len(scripts), digest, ("blob", digest), kind=kind)
    assert t.parse_simple(run_sh(t.steps_script(cache, [step]), tmp_path), "ECSOPS-OK") == []
    cached = (tmp_path / cache / ("blob-" + digest)).read_bytes()
    assert cached == blob
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(cached)))
    assert {i.filename: archive.read(i) for i in archive.infolist()} == entries
