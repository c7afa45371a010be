"""execution-environment.yml (ansible-builder v3) is valid and consistent with the collection.

No image is built (no container engine in CI): ``ansible-builder create`` validates the definition and writes
the build context, and the context is checked - the Python requirements are requirements.txt, ansible-core
and ansible-runner are the versions the collection is tested with, the collection tarball is in the context
and named by the Galaxy requirements. Then the collection is installed from that tarball and the
introspection script of the context (what the image build runs) reads its Python requirements.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = ROOT / "execution-environment.yml"


def requirement_lines(path):
    """The requirement lines of a pip requirements file, without comments, blanks and ``-r`` includes."""
    lines = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def dev_pin(name):
    for line in requirement_lines(ROOT / "requirements-dev.txt"):
        if re.split(r"[=<>!~ ]", line, 1)[0].lower() == name:
            return line
    raise AssertionError("%s is not pinned in requirements-dev.txt" % name)


@pytest.fixture(scope="module")
def definition():
    return yaml.safe_load(EE_FILE.read_text())


@pytest.fixture(scope="module")
def collection_version():
    return yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]


def test_definition_names_the_collection_and_its_requirements(definition, collection_version):
    assert definition["version"] == 3
    deps = definition["dependencies"]
    assert deps["python"] == "requirements.txt"
    assert (EE_FILE.parent / deps["python"]).is_file()
    # The same versions the collection is tested with.
    assert deps["ansible_core"]["package_pip"] == dev_pin("ansible-core")
    assert deps["ansible_runner"]["package_pip"] == dev_pin("ansible-runner")
    tarball = "alibabacloud-ecs_ops-%s.tar.gz" % collection_version
    collections = deps["galaxy"]["collections"]
    assert collections == [{"name": "collections/" + tarball, "type": "file"}]
    assert definition["additional_build_files"] == [{"src": "build/dist/" + tarball, "dest": "collections"}]
    # The collection's own declaration (read by ansible-builder when the collection is a dependency of another EE).
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"]["python"] == "requirements.txt"


def run(cmd, **kwargs):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, timeout=600, **kwargs)
    output = proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]
    assert proc.returncode == 0, "%s failed (%s):\n%s" % (cmd[:3], proc.returncode, output)
    return proc


def test_ansible_builder_create_accepts_it_and_the_context_is_complete(tmp_path, definition, collection_version):
    # The definition with the files it names, as in a checkout after `ansible-galaxy collection build`.
    work = tmp_path / "ee"
    (work / "build" / "dist").mkdir(parents=True)
    shutil.copy(EE_FILE, work / EE_FILE.name)
    shutil.copy(ROOT / "requirements.txt", work / "requirements.txt")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", work / "build" / "dist", "--force"], cwd=ROOT)
    tarball = "alibabacloud-ecs_ops-%s.tar.gz" % collection_version
    assert (work / "build" / "dist" / tarball).is_file()

    context = tmp_path / "context"
    run([BIN / "ansible-builder", "create", "-f", work / EE_FILE.name, "-c", context,
         "--output-filename", "Containerfile"], cwd=work)

    build = context / "_build"
    assert (build / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert galaxy == {"collections": [{"name": "collections/" + tarball, "type": "file"}]}
    assert (build / "collections" / tarball).is_file()
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="%s %s"' % (dev_pin("ansible-core"), dev_pin("ansible-runner")) in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "--user-pip=requirements.txt" in containerfile

    # What the image build does with them: install the collection from the tarball of the context (the Galaxy
    # requirement is relative to the context's _build directory), then introspect it with the context's script.
    collections = tmp_path / "collections"
    run([BIN / "ansible-galaxy", "collection", "install", "-r", "requirements.yml", "-p", collections, "--offline",
         "--force"], cwd=build)
    installed = collections / "ansible_collections" / "alibabacloud" / "ecs_ops"
    assert (installed / "meta" / "execution-environment.yml").is_file()
    pip_out = tmp_path / "pip.txt"
    run([sys.executable, build / "scripts" / "introspect.py", "introspect", collections,
         "--user-pip", build / "requirements.txt", "--write-pip", pip_out, "--write-bindep", tmp_path / "bindep.txt"])
    merged = [line.split("#", 1) for line in pip_out.read_text().splitlines() if "#" in line]
    found = {(req.strip(), origin.strip()) for req, origin in merged}
    for requirement in requirement_lines(ROOT / "requirements.txt"):
        # Each SDK comes from the collection's meta/execution-environment.yml and from the definition's own file.
        assert (requirement, "from collection alibabacloud.ecs_ops") in found, pip_out.read_text()
        assert (requirement, "from collection user") in found, pip_out.read_text()
