"""The execution environment for AWX: ansible-builder finds the collection's needs and writes a build context.

Building the image needs the base image's registry; these check what can be checked without one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def test_ansible_builder_reads_the_collections_controller_needs():
    done = subprocess.run(
        [str(BIN / "ansible-builder"), "introspect", "--sanitize", str(REPO / ".collections")],
        capture_output=True,
        text=True,
        check=True,
    )
    needs = yaml.safe_load(done.stdout.split("\n", 1)[1])
    python = {line.split()[0] for line in needs["python"]}
    assert {"packaging>=24", "uv>=0.8"} <= python
    assert any(line.startswith("openssh-clients [platform:rpm]") for line in needs["system"])


def test_the_build_context_installs_this_collection_and_ansible_runner(tmp_path):
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path / "built"), str(REPO)],
        capture_output=True,
        check=True,
    )
    (built,) = (tmp_path / "built").glob("botfleet-deploy-*.tar.gz")
    project = tmp_path / "project"
    (project / ".build" / "ee").mkdir(parents=True)
    shutil.copy(REPO / "execution-environment.yml", project)
    shutil.copy(built, project / ".build" / "ee" / "botfleet-deploy.tar.gz")
    subprocess.run(
        [str(BIN / "ansible-builder"), "create", "--file", "execution-environment.yml", "--context", "context"],
        cwd=project,
        capture_output=True,
        check=True,
    )
    context = project / "context"
    containerfile = (context / "Containerfile").read_text()
    assert 'ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"' in containerfile
    assert "ansible-galaxy collection install" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    (collection,) = requirements["collections"]
    assert collection["type"] == "file"
    # The requirement names the tarball the context carries, byte for byte the built collection.
    assert (context / "_build" / collection["name"]).read_bytes() == built.read_bytes()
