#!/usr/bin/env bash
# Build the lab image localhost/botfleet-lab:debian12-ssh unless it exists.
#
#   BOTFLEET_IMAGE_METHOD=debootstrap (default; needs only a Debian mirror)
#   BOTFLEET_IMAGE_METHOD=containerfile (needs a registry with debian:12)
#   BOTFLEET_IMAGE_REBUILD=1 rebuilds even when the image exists.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
image=${BOTFLEET_LAB_IMAGE:-localhost/botfleet-lab:debian12-ssh}
method=${BOTFLEET_IMAGE_METHOD:-debootstrap}
mirror=${BOTFLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,python3,python3-venv,python3-apt,ca-certificates,procps,iproute2,openssh-server,sudo

# The image is rebuilt when its recipe (this script, customize.sh, the Containerfile) changes.
recipe=$(cat "$0" "$here/customize.sh" "$here/Containerfile" | sha256sum | cut -c1-16)
if [[ ${BOTFLEET_IMAGE_REBUILD:-0} != 1 ]] && podman image exists "$image" \
    && [[ $(podman image inspect --format '{{ index .Labels "botfleet.recipe" }}' "$image") == "$recipe" ]]; then
    echo "lab image $image is up to date (BOTFLEET_IMAGE_REBUILD=1 rebuilds it)"
    exit 0
fi

case $method in
containerfile)
    podman build --tag "$image" --label "botfleet.recipe=$recipe" --file "$here/Containerfile" "$here"
    ;;
debootstrap)
    command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
    work=$(mktemp -d /var/tmp/botfleet-lab-rootfs.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    echo "debootstrap bookworm into $work (about a minute)"
    debootstrap --variant=minbase --include="$packages" bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    sh "$here/customize.sh" "$work/rootfs"
    tar -C "$work/rootfs" --numeric-owner -c . | podman import \
        --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
        --change 'STOPSIGNAL SIGRTMIN+3' --change "LABEL botfleet.recipe=$recipe" - "$image" >/dev/null
    ;;
*)
    echo "unknown BOTFLEET_IMAGE_METHOD=$method (debootstrap or containerfile)" >&2
    exit 2
    ;;
esac
echo "built lab image $image"
