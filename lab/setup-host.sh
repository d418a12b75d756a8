#!/usr/bin/env bash
# Install what the lab and the tests need on a Debian host, when missing.
set -euo pipefail
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The lab is reached over ssh (lab/lab.sh ssh, inventories/lab).
command -v ssh >/dev/null || need+=(openssh-client)
# Tests build venvs with the system python, as the VMs do.
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
# The status page is checked in real headless Chromium (tests/lab/test_lab_status_page.py).
command -v chromium >/dev/null || need+=(chromium)
# The watchdog's metrics are checked with promtool, which Debian ships only inside the prometheus
# server package: it is taken out of the .deb, so no Prometheus server is installed or started.
need_promtool=false
command -v promtool >/dev/null || need_promtool=true
[[ ${#need[@]} -eq 0 && $need_promtool == false ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "missing ${need[*]} ${need_promtool/true/promtool}: run as root, or install them: apt-get install ${need[*]}" >&2
    exit 1
fi
apt-get update -qq
if [[ ${#need[@]} -gt 0 ]]; then
    echo "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [[ $need_promtool == true ]]; then
    echo "installing promtool from Debian's prometheus package"
    tmp=$(mktemp -d)
    chmod 0755 "$tmp"  # apt downloads as _apt
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download -qq prometheus)
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
    install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
fi
