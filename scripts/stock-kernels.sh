#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's stock kernel images matching the installed headers (6.12, its
# PREEMPT_RT build, and 6.1).
#
# Each image package is `apt-get download`ed at the exact version of its headers
# package and unpacked with `dpkg -x` into $KSALLOC_CACHE/stock/<release>/ (once).
# Prints one line per kernel on stdout:  NAME VMLINUZ HEADERS_DIR
#   --env  print shell assignments instead, for eval:
#          stock_kernels="stock-6.12 stock-6.12-rt stock-6.1"
#          stock_6_12_vmlinuz=... stock_6_12_kdir=... (the same for 6_1)
set -euo pipefail

cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}
die() { echo "stock-kernels: $*" >&2; exit 1; }
version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "$1 is not installed (run scripts/install-deps.sh)"; }

v612=$(version linux-source-6.12)
h61=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
	grep -o 'linux-headers-6\.1\.[0-9]*-[0-9]*-amd64' | head -n 1) ||
	die "linux-headers-amd64 is not installed (run scripts/install-deps.sh)"

# fetch NAME RELEASE: unpack linux-image-RELEASE-unsigned at the version of linux-headers-RELEASE.
fetch() {
	local name=$1 release=$2 ver dir
	ver=$(version "linux-headers-$release")
	dir=$cache/stock/$release
	if [ "$(cat "$dir/.ksalloc-version" 2>/dev/null)" != "$ver" ]; then
		echo "stock-kernels: fetching linux-image-$release-unsigned $ver" >&2
		rm -rf "$dir" "$dir.tmp"
		mkdir -p "$dir.tmp/deb"
		(cd "$dir.tmp/deb" && apt-get download -q -o APT::Sandbox::User=root "linux-image-$release-unsigned=$ver" >&2) ||
			die "cannot download linux-image-$release-unsigned=$ver"
		dpkg -x "$dir.tmp"/deb/*.deb "$dir.tmp"
		rm -rf "$dir.tmp/deb"
		echo "$ver" > "$dir.tmp/.ksalloc-version"
		mv "$dir.tmp" "$dir"
	fi
	[ -f "$dir/boot/vmlinuz-$release" ] || die "no $dir/boot/vmlinuz-$release"
	[ -f "/usr/src/linux-headers-$release/Makefile" ] || die "no /usr/src/linux-headers-$release"
	echo "$name $dir/boot/vmlinuz-$release /usr/src/linux-headers-$release"
}

lines=$(fetch stock-6.12 "${v612%%-*}+deb12-amd64"
	fetch stock-6.12-rt "${v612%%-*}+deb12-rt-amd64"
	fetch stock-6.1 "${h61#linux-headers-}")

if [ "${1:-}" = --env ]; then
	echo "stock_kernels=\"$(cut -d' ' -f1 <<< "$lines" | tr '\n' ' ' | sed 's/ $//')\""
	while read -r name vmlinuz kdir; do
		var=${name//[-.]/_}
		printf '%s_vmlinuz=%q\n%s_kdir=%q\n' "$var" "$vmlinuz" "$var" "$kdir"
	done <<< "$lines"
else
	echo "$lines"
fi
