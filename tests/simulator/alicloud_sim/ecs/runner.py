"""Running Cloud Assistant scripts: Linux shell scripts for real, everything else simulated.

A real run happens in a bounded thread pool, outside the state lock, in the instance's scratch
directory ``<workdir>/instances/<instance id>/`` (``WorkingDir`` maps inside it; ``HOME`` is its
``root/``), with a minimal environment. Output (stdout and stderr merged, as the agent reports
it) goes to a file; the first 24 KB are kept and the rest is counted as ``Dropped``. At the
timeout, and after the script exits, the whole process group is killed (no strays).
"""

import itertools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

OUTPUT_LIMIT = 24 * 1024
KILLED_EXIT_CODE = -1   # what the (Go) agent reports for a process killed by a signal
SHELL = shutil.which("bash") or "/bin/sh"
ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_ECHO = re.compile(r"^\s*(?:echo|write-output|write-host)(?:\s+(.*))?$", re.IGNORECASE)
_EXIT = re.compile(r"^\s*exit(?:\s+/b)?\s+(-?\d+)\s*$", re.IGNORECASE)


@dataclass
class RunResult:
    exit_code: int
    output: bytes
    dropped: int
    elapsed: float
    timed_out: bool = False
    invalid: tuple = None        # (ErrorCode, ErrorInfo): the script never ran (a reference did not resolve)


def cap_output(data):
    """(kept bytes, dropped byte count) under the 24 KB limit."""
    return data[:OUTPUT_LIMIT], max(0, len(data) - OUTPUT_LIMIT)


def simulate_script(text, newline="\n", fail=False):
    """Deterministic stand-in for a script: echo/Write-Output lines are printed and the first
    ``exit N`` (``exit /b N``) ends it with that code. An injected failure exits 1."""
    lines, code = [], 0
    for line in text.splitlines():
        exit_match = _EXIT.match(line)
        if exit_match:
            code = int(exit_match.group(1))
            break
        echo = _ECHO.match(line)
        if echo:
            lines.append((echo.group(1) or "").strip().strip("\"'") + newline)
    if fail:
        code = 1
    kept, dropped = cap_output("".join(lines).encode("utf-8"))
    return RunResult(exit_code=code, output=kept, dropped=dropped, elapsed=0.0)


class RunHandle:
    """One real run; ``future`` resolves to a RunResult. ``kill()`` ends it at any point."""

    def __init__(self):
        self.lock = threading.Lock()
        self.proc = None
        self.killed = False
        self.future = None

    def kill(self):
        with self.lock:
            self.killed = True
            if self.proc is not None:
                _killpg(self.proc)

    def done(self):
        return self.future.done()

    def result(self):
        return self.future.result()


class ScriptRunner:
    def __init__(self, root, max_workers=8):
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="alicloud-sim-script")
        self._ids = itertools.count(1)
        self._handles = set()
        self._lock = threading.Lock()

    def submit(self, instance_id, script, working_dir, timeout):
        handle = RunHandle()
        run_id = next(self._ids)
        with self._lock:
            self._handles.add(handle)
        handle.future = self.pool.submit(self._run, handle, run_id, instance_id, script, working_dir, timeout)
        handle.future.add_done_callback(lambda _f: self._forget(handle))
        return handle

    def _forget(self, handle):
        with self._lock:
            self._handles.discard(handle)

    def close(self):
        with self._lock:
            handles = list(self._handles)
        for handle in handles:
            handle.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)   # killed runs end at once

    def _run(self, handle, run_id, instance_id, script, working_dir, timeout):
        base = os.path.join(self.root, instance_id)
        home = os.path.join(base, "root")
        cwd = os.path.normpath(os.path.join(base, (working_dir or "/root").lstrip("/\\")))
        if not cwd.startswith(base):
            cwd = home
        spool = os.path.join(base, ".acs")
        for path in (home, cwd, spool, os.path.join(base, "tmp")):
            os.makedirs(path, exist_ok=True)
        script_path = os.path.join(spool, f"run-{run_id}.sh")
        out_path = os.path.join(spool, f"run-{run_id}.out")
        with open(script_path, "w", encoding="utf-8") as f:
            f.write(script)
        env = {"PATH": ENV_PATH, "HOME": home, "USER": "root", "LOGNAME": "root", "SHELL": SHELL,
               "LANG": "C.UTF-8", "TMPDIR": os.path.join(base, "tmp")}
        started = time.monotonic()
        timed_out = False
        with open(out_path, "wb") as out:
            with handle.lock:
                if handle.killed:
                    return RunResult(KILLED_EXIT_CODE, b"", 0, 0.0)
                handle.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    [SHELL, script_path], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = handle.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _killpg(handle.proc)
                code = handle.proc.wait()
                timed_out = True
            _killpg(handle.proc)
        elapsed = time.monotonic() - started
        with open(out_path, "rb") as f:
            kept = f.read(OUTPUT_LIMIT)
        dropped = max(0, os.path.getsize(out_path) - OUTPUT_LIMIT)
        for path in (script_path, out_path):
            os.unlink(path)
        return RunResult(exit_code=code if code >= 0 else KILLED_EXIT_CODE, output=kept, dropped=dropped,
                         elapsed=elapsed, timed_out=timed_out)


def _killpg(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
