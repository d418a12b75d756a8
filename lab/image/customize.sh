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

# sshd for the lab's ssh connection (lab/lab.sh ssh VM PORT). Off by default: the VMs share the
# host's network, so each VM's sshd gets its own port on 127.0.0.1 when it is enabled, and its
# own host key (none is baked into the image, where every VM would share it).
systemctl --root "$root" disable ssh.service ssh.socket >/dev/null 2>&1 || true
rm -f "$root"/etc/ssh/ssh_host_*
# A container cannot set the audit login uid; required, it would refuse every login.
sed -i 's/^session[[:space:]]\+required[[:space:]]\+pam_loginuid.so/session optional pam_loginuid.so/' "$root/etc/pam.d/sshd"

# The unprivileged login of the lab, as on a real fleet: deploy, key only, passwordless sudo.
chroot "$root" useradd --create-home --shell /bin/bash deploy
chroot "$root" usermod --password '*' deploy
printf 'deploy ALL=(ALL:ALL) NOPASSWD: ALL\n' > "$root/etc/sudoers.d/deploy"
chmod 0440 "$root/etc/sudoers.d/deploy"
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb
