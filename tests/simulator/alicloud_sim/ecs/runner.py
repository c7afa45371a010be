"""Running Cloud Assistant scripts: Linux shell scripts for real, everything else simulated.

A real run happens in a bounded thread pool, outside the state lock, in the instance's scratch
directory ``<workdir>/instances/<instance id>/`` (``WorkingDir`` maps inside it; ``HOME`` is its
``root/``), with a minimal environment. Output (stdout and stderr merged, as the agent reports
it) goes to a file; the first 24 KB are kept and the rest is counted as ``Dropped``. At the
timeout, and after the script exits, the whole process group is killed (no strays).

The scripts run on this host, so nothing may reboot it: a script asks for a reboot of *its instance* by
creating the file named by ``$ALICLOUD_SIM_REBOOT`` (the reboot begins when the script has ended, as after
``shutdown -r``), and reads the instance's boot id in ``$ALICLOUD_SIM_BOOT_ID``.
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
    reboot: bool = False         # the script asked for a reboot of its instance (see ScriptRunner)


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

    def submit(self, instance_id, script, working_dir, timeout, boot_id=""):
        handle = RunHandle()
        run_id = next(self._ids)
        with self._lock:
            self._handles.add(handle)
        handle.future = self.pool.submit(self._run, handle, run_id, instance_id, script, working_dir, timeout,
                                         boot_id)
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

    def _run(self, handle, run_id, instance_id, script, working_dir, timeout,  # pylint: disable=too-many-locals
             boot_id):
        base = os.path.join(self.root, instance_id)
        home = os.path.join(base, "root")
        cwd = instance_path(self.root, instance_id, working_dir or "/root")
        spool = os.path.join(base, ".acs")
        for path in (home, cwd, spool, os.path.join(base, "tmp")):
            os.makedirs(path, exist_ok=True)
        script_path = os.path.join(spool, f"run-{run_id}.sh")
        out_path = os.path.join(spool, f"run-{run_id}.out")
        reboot_path = os.path.join(spool, f"run-{run_id}.reboot")
        with open(script_path, "w", encoding="utf-8") as f:
            f.write(script)
        env = {"PATH": ENV_PATH, "HOME": home, "USER": "root", "LOGNAME": "root", "SHELL": SHELL,
               "LANG": "C.UTF-8", "TMPDIR": os.path.join(base, "tmp"),
               "ALICLOUD_SIM_REBOOT": reboot_path, "ALICLOUD_SIM_BOOT_ID": boot_id}
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
        reboot = os.path.lexists(reboot_path) and not timed_out and not handle.killed
        for path in (script_path, out_path, reboot_path):
            if os.path.lexists(path):
                os.unlink(path)
        return RunResult(exit_code=code if code >= 0 else KILLED_EXIT_CODE, output=kept, dropped=dropped,
                         elapsed=elapsed, timed_out=timed_out, reboot=reboot)


def instance_path(root, instance_id, path):
    """Where ``path`` (a path on the instance) is in the instance's directory ``<root>/<instance id>``: a path its
    scripts see (they run on this host, so HOME is ``<root>/<id>/root``) stays as it is, any other absolute path
    goes under the directory, and nothing leaves it (``..`` included)."""
    base = os.path.join(root, instance_id)
    normal = os.path.normpath(path)
    if normal == base or normal.startswith(base + os.sep):
        return normal
    inside = os.path.normpath(os.path.join(base, normal.lstrip("/\\")))
    return inside if inside == base or inside.startswith(base + os.sep) else os.path.join(base, "root")


def _killpg(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
