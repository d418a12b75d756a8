#!/usr/bin/env bash
# Install what the lab and the molecule tests need on a Debian host, when missing.
set -euo pipefail
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
# Tests build venvs with the system python, as the VMs do.
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "missing ${need[*]}: run as root, or install them: apt-get install ${need[*]}" >&2
    exit 1
fi
echo "installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
