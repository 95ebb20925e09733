#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the ksalloc test bench needs, from Debian's packages only.
#
# Idempotent: a package that is already installed is left alone, and
# `apt-get update` runs at most once, only when something is missing.
# Writes the kernel package versions in use to $KSALLOC_CACHE/versions.txt.
#   -q  print nothing but errors
set -euo pipefail

quiet=
[ "${1:-}" = -q ] && quiet=1
say() { [ -n "$quiet" ] || echo "install-deps: $*"; }
die() { echo "install-deps: $*" >&2; exit 1; }

cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}
export DEBIAN_FRONTEND=noninteractive
updated=

installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
version() { dpkg-query -W -f='${Version}' "$1"; }

update_once() {
	[ -z "$updated" ] || return 0
	say "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	updated=1
}

# install PKG...: install those of PKG that are missing; name the one that fails.
install() {
	local missing=() p
	for p in "$@"; do installed "$p" || missing+=("$p"); done
	[ ${#missing[@]} -gt 0 ] || return 0
	update_once
	say "installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 && return 0
	for p in "${missing[@]}"; do
		apt-get install -y -qq --no-install-recommends "$p" >&2 ||
			die "cannot install package '$p'"
	done
}

# Every package is needed: one that cannot be installed stops the run, named.
# gcc-multilib builds the -m32 half of the user-space tests; coccinelle runs the
# kernel's semantic patches (make coccicheck; a few of them need OCaml);
# python3-sphinx builds Documentation/ with the kernel's own Sphinx extensions
# (kerneldoc.py, automarkup.py of the 6.12 source need only Sphinx and docutils).
install qemu-system-x86 busybox-static cpio ccache bc flex bison libelf-dev \
	libssl-dev python3 linux-source-6.12 sparse dwarves kmod xz-utils rsync \
	gcc make perl git linux-headers-amd64 dkms clang lld llvm gcc-multilib \
	coccinelle ocaml-nox python3-sphinx

# The stock 6.12 kernel is the one whose source we have: same upstream version.
src_version=$(version linux-source-6.12)
v=${src_version%%-*}
install "linux-headers-$v+deb12-amd64"
# ... and its PREEMPT_RT build, where spinlock_t sleeps.
install "linux-headers-$v+deb12-rt-amd64"

# linux-headers-amd64 depends on the current 6.1 ABI package, e.g. linux-headers-6.1.0-56-amd64.
h61=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-6\.1\.[0-9]*-[0-9]*-amd64' | head -n 1)
[ -n "$h61" ] || die "cannot tell which 6.1 headers linux-headers-amd64 depends on"

mkdir -p "$cache"
{
	echo "linux-source-6.12 $src_version"
	echo "linux-headers-$v+deb12-amd64 $(version "linux-headers-$v+deb12-amd64")"
	echo "linux-headers-$v+deb12-rt-amd64 $(version "linux-headers-$v+deb12-rt-amd64")"
	echo "linux-headers-amd64 $(version linux-headers-amd64)"
	echo "$h61 $(version "$h61")"
	echo "gcc $(version gcc-12 2>/dev/null || version gcc)"
	echo "qemu-system-x86 $(version qemu-system-x86)"
	echo "busybox-static $(version busybox-static)"
	echo "gcc-multilib $(version gcc-multilib)"
	echo "coccinelle $(version coccinelle)"
	echo "python3-sphinx $(version python3-sphinx)"
} > "$cache/versions.txt.$$"
# Per process: concurrent runs (make bench beside make check) must not clash.
mv "$cache/versions.txt.$$" "$cache/versions.txt"
[ -n "$quiet" ] || sed 's/^/install-deps: using /' "$cache/versions.txt"
