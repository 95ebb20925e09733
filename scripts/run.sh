#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: boot Debian's stock 6.12 kernel in QEMU, load ksalloc.ko and
# ksalloc_capture.ko, run the capture demo.
#
#   run.sh [DEMO OPTIONS]   (make run ARGS="..."; see ksalloc_capture_demo -h)
#                           with -e, frames from QEMU's edu device (make run ARGS=-e):
#                           the guest gets -device edu and 256 MiB (edu reaches 28 bits)
#   run.sh --shell          (make shell) an interactive busybox shell in that guest,
#                           our modules loaded (leave it with `exit`); /bin holds
#                           whatever build/tools/ has.
#
# Builds the modules against the stock 6.12 headers (in build/run/src) and the
# static demo, boots them with scripts/guest/demo.sh and prints the demo's output.
# Exit status: the demo's, or 1 when the guest's kernel log is not clean.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
scripts=$top/scripts
build=$top/build
mkdir -p "$build/logs" "$build/run"

"$scripts/install-deps.sh" -q
eval "$("$scripts/stock-kernels.sh" --env)"  # stock_6_12_vmlinuz, stock_6_12_kdir, ...

src=$build/run/src
rm -rf "$src"
mkdir -p "$src"
rsync -a --exclude='.*' --exclude='*.o' --exclude='*.ko' "$top"/{Kbuild,include,module,kunit,samples} "$src/"
make -C "$stock_6_12_kdir" M="$src" modules > "$build/logs/build-run.log" 2>&1 ||
	{ cat "$build/logs/build-run.log"; exit 1; }
make -C "$top/tools" O="$build/tools" demo > "$build/logs/build-run-tools.log" 2>&1 ||
	{ cat "$build/logs/build-run-tools.log"; exit 1; }

initrd=$build/run/initramfs.cpio.gz
if [ "${1:-}" = --shell ]; then
	"$scripts/mkinitramfs.sh" "$initrd" "$scripts/guest/shell.sh" "$scripts/guest/lib.sh" \
		"$src"/module/*.ko "$build"/tools/*
	exec "$scripts/qemu-run.sh" --interactive --log "$build/logs/shell.log" \
		"$stock_6_12_vmlinuz" "$initrd"
fi

# The demo's options reach the guest as a file its script sources.
printf 'demo_args=%q\n' "$*" > "$build/run/demo_args.sh"
"$scripts/mkinitramfs.sh" "$initrd" "$scripts/guest/demo.sh" "$scripts/guest/lib.sh" \
	"$src"/module/*.ko "$build/tools/ksalloc_capture_demo" "$build/run/demo_args.sh"
log=$build/logs/run-stock-6.12.log
for a; do
	[ "$a" = -e ] && export KSALLOC_QEMU_ARGS="-device edu" KSALLOC_MEM=256
done
echo "run: booting Debian's stock 6.12 kernel in QEMU; the demo's output follows when it ends"
verdict=$("$scripts/qemu-run.sh" --name run-stock-6.12 --timeout 600 --log "$log" \
	"$stock_6_12_vmlinuz" "$initrd") && clean=1 || clean=
# The guest writes through /dev/kmsg: the console's timestamps go.
plain=$(tr -d '\r' < "$log" | sed -E 's/^\[ *[0-9]+\.[0-9]+\](\[ *[CT][0-9]+\])? ?//')
printf '%s\n' "$plain" |
	sed -n '/^KSALLOC-OUTPUT-BEGIN: ksalloc_capture_demo/,/^KSALLOC-OUTPUT-END: /{//!p}'
status=$(printf '%s\n' "$plain" | sed -n 's/^KSALLOC-OUTPUT-END: ksalloc_capture_demo exit=//p')
if [ -z "$clean" ]; then
	echo "$verdict"
	[ "${status:-1}" -ne 0 ] || status=1
fi
echo "run: ksalloc_capture_demo exit status ${status:-none: it did not run} (console log: $log)"
exit "${status:-1}"
