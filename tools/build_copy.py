"""Mirror the collection into build/ansible_collections/alibabacloud/ecs_ops (or ROOT/ansible_collections/... given ROOT).

ansible-test needs the collection inside a real ``ansible_collections/<ns>/<name>`` directory (a
symlink is not enough). The copy holds the files git tracks plus untracked files git does not ignore
(so uncommitted work is tested too), minus the simulator package; it is a git repository of its own so
that ansible-test lists files through git and ignores its own output.
"""

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "build" / "ansible_collections" / "alibabacloud" / "ecs_ops"
SKIP_PREFIXES = ("tests/simulator/",)


def work_tree_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                         capture_output=True).stdout.decode()
    return sorted(f for f in out.split("\0") if f and not f.startswith(SKIP_PREFIXES) and (ROOT / f).is_file())


def git(*args):
    subprocess.run(["git", *args], cwd=DEST, check=True, capture_output=True)


def main():
    global DEST  # pylint: disable=global-statement
    if len(sys.argv) > 1:  # another build root, e.g. for a second copy next to a running one
        DEST = Path(sys.argv[1]).resolve() / "ansible_collections" / "alibabacloud" / "ecs_ops"
    files = work_tree_files()
    DEST.mkdir(parents=True, exist_ok=True)
    wanted = set(files)
    for path in DEST.rglob("*"):
        rel = path.relative_to(DEST).as_posix()
        if rel.startswith((".git/", "tests/output/")) or rel in (".git", "tests/output"):
            continue
        if path.is_file() and rel not in wanted:
            path.unlink()
    for rel in files:
        src, dst = ROOT / rel, DEST / rel
        if dst.exists() and filecmp.cmp(src, dst, shallow=False):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    if not (DEST / ".git").exists():
        git("init", "-q")
    git("add", "-A")
    git("-c", "user.email=build@localhost", "-c", "user.name=build", "commit", "-q", "--allow-empty", "-m", "sync")
    print(DEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
