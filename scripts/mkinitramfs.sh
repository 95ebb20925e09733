#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Make a busybox initramfs that runs one guest script and powers off.
#
#   mkinitramfs.sh OUT.cpio.gz GUEST_SCRIPT [FILE...]
#
# GUEST_SCRIPT becomes /guest.sh; each FILE goes by its name: *.ko and *.sh
# (helpers for the guest script) to /lib/ksalloc/, a directory to /lib/ (as
# /lib/media/, the modules of scripts/media-modules.sh), anything else to /bin/.
# /init mounts proc, sys, devtmpfs, debugfs and a tmpfs on /tmp, runs
# `sh /guest.sh` and then `reboot -f`, which ends QEMU under -no-reboot.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 OUT.cpio.gz GUEST_SCRIPT [FILE...]" >&2; exit 2; }
out=$(realpath -m "$1") guest=$2
shift 2
busybox=/bin/busybox
[ -x $busybox ] || { echo "mkinitramfs: no $busybox (apt-get install busybox-static)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,lib/ksalloc}
cp $busybox "$root/bin/busybox"
mknod "$root/dev/console" c 5 1
mknod "$root/dev/null" c 1 3
install -m 755 "$guest" "$root/guest.sh"
for f in "$@"; do
	[ -d "$f" ] && { cp -r "$f" "$root/lib/"; continue; }
	case $f in
	*.ko | *.sh) install -m 644 "$f" "$root/lib/ksalloc/" ;;
	*) install -m 755 "$f" "$root/bin/" ;;
	esac
done

cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
exec 0</dev/console 1>/dev/console 2>&1
cd /root
sh /guest.sh
echo "KSALLOC-GUEST-EXIT: $?"
reboot -f
EOF
chmod 755 "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
