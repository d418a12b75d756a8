"""bot_host installs botfleetctl through ansible-playbook; the script runs the module_utils of its lib dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, ansible_env

from ansible_collections.botfleet.deploy.plugins.module_utils.release import ReleaseStore, write_json_atomic

pytestmark = pytest.mark.slow

RELEASE = "0a0a0a0a0a0a"


def install(tmp_path):
    playbook = tmp_path / "install.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: botfleet.deploy.bot_host\n"
        "        tasks_from: botfleetctl.yml\n"
    )
    variables = {
        "ansible_python_interpreter": sys.executable,
        "botfleet_host_lib_dir": str(tmp_path / "lib"),
        "botfleet_ctl_path": str(tmp_path / "bin" / "botfleetctl"),
        "botfleet_root": str(tmp_path / "opt"),
        "botfleet_state_dir": str(tmp_path / "state"),
        "botfleet_config_dir": str(tmp_path / "etc"),
        "botfleet_group": "root",
    }
    (tmp_path / "bin").mkdir(exist_ok=True)
    # module_utils laid out as host_lib.yml copies them to a VM.
    shutil.copytree(
        REPO / "plugins" / "module_utils",
        tmp_path / "lib" / "ansible_collections" / "botfleet" / "deploy" / "plugins" / "module_utils",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    argv = [
        os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
        str(playbook),
        "-e",
        json.dumps(variables),
    ]
    proc = subprocess.run(argv, env=ansible_env(), capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["stats"]["localhost"]["changed"]


def test_botfleetctl_is_installed_and_reads_the_store_with_the_installed_code(tmp_path):
    assert install(tmp_path) == 1
    assert install(tmp_path) == 0
    script = tmp_path / "bin" / "botfleetctl"
    assert oct(script.stat().st_mode & 0o777) == "0o750"
    assert script.read_text().startswith("#!/usr/bin/python3 -I\n#\n# Ansible managed")
    store = ReleaseStore(str(tmp_path / "opt"), str(tmp_path / "state"), "toodles")
    os.makedirs(store.path(RELEASE))
    write_json_atomic(os.path.join(store.path(RELEASE), "release.json"), {"id": RELEASE})
    store.write_state({"history": []}, {"event": "built", "release": RELEASE})
    # Its own interpreter, isolated (-I): only the module_utils of the lib dir can be imported.
    proc = subprocess.run([str(script), "--json", "history", "toodles"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert [(entry["event"], entry["release"]) for entry in json.loads(proc.stdout)] == [("built", RELEASE)]
    proc = subprocess.run([str(script), "status", "nobody"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr == "botfleetctl: no bot named nobody on this host (bots here: toodles)\n"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "EXIT STATUS" in proc.stdout
