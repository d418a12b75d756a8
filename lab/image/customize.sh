#!/bin/sh
# Make a Debian root file system boot cleanly as a systemd container.
# Usage: customize.sh ROOT
set -eu
root=${1:?usage: customize.sh ROOT}

# Units that need real hardware, a console or kernel mounts a container lacks.
for unit in \
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
    systemd-udevd-control.socket systemd-udevd-kernel.socket \
    getty@.service console-getty.service serial-getty@.service \
    systemd-remount-fs.service systemd-firstboot.service systemd-modules-load.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    dev-hugepages.mount dev-mqueue.mount proc-sys-fs-binfmt_misc.automount \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# Each container gets its own machine id at first boot.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Keep the journal in memory: lab VMs are disposable.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\n' \
    > "$root/etc/systemd/journald.conf.d/botfleet-lab.conf"

printf 'botfleet-lab\n' > "$root/etc/hostname"
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb
