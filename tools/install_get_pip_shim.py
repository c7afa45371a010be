"""Install an offline pip bootstrap for ansible-test.

ansible-test builds each sanity virtualenv without pip and downloads a get-pip script from a host
that this project's machines cannot reach. It first looks in ~/.ansible/test/cache/get_pip_<ver>.py,
so we put a shim there: it bootstraps pip from the wheel bundled with ensurepip (no network) and then
installs the exact pip version ansible-test asks for from the configured package index.
"""

import os
import re
import sys
from pathlib import Path

SHIM = '''import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"] + args)
'''


def pip_version():
    import ansible_test

    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    match = re.search(r"pip='([0-9.]+)'", source.read_text(encoding="utf-8"))
    if not match:
        sys.exit("could not find the pip version ansible-test pins in %s" % source)
    return match.group(1)


def main():
    version = pip_version()
    cache = Path(os.path.expanduser("~/.ansible/test/cache"))
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / ("get_pip_%s.py" % version.replace(".", "_"))
    if not target.exists() or target.read_text(encoding="utf-8") != SHIM:
        target.write_text(SHIM, encoding="utf-8")
    print("ansible-test pip %s bootstrap: %s" % (version, target))


if __name__ == "__main__":
    main()
