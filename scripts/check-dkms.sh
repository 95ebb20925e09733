#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install ksalloc the ways an out-of-tree module is installed, against Debian's
# stock 6.12 headers, and check a companion module builds against what is installed.
#
#   dkms add/build/install/remove   of `make dkms-install`'s copy, with Debian's dkms
#   make install                    modules_install + depmod into INSTALL_MOD_PATH
#   companions                      module/ksalloc_capture.c and samples/*.c built
#                                   alone, against `make headers_install`'s output
# Everything goes to a temporary directory (dkms --dkmstree/--sourcetree/
# --installtree, --no-depmod; its signing key too), removed at the end: nothing
# is installed on this machine and nothing is loaded.
# Results, appended to $KSALLOC_RESULTS: "dkms build ...", "dkms install ...",
# "dkms remove ...", "make install ...", "companion modules ...". Exit 1 on a failure.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
results=${KSALLOC_RESULTS:-/dev/null}
logs=$top/build/logs
failed=0
# The directories the top Kbuild descends into: module kunit ...
mapfile -t subdirs < <(sed -n 's/^obj-y *+= *//p' "$top/Kbuild" | tr ' ' '\n' | sed -n 's|/$||p')
record() {
	echo "$1 $2" >> "$results"
	[ "$1" = PASS ] || { echo "check-dkms: $1 $2"; failed=1; }
}
# fail WHAT LOG: record the failure and show the end of LOG.
fail() { tail -n 30 "$2" | sed 's/^/    /'; record FAIL "$1 (log: $2)"; }

command -v dkms > /dev/null || "$top/scripts/install-deps.sh" -q
kdir=${KSALLOC_DKMS_KDIR:-$(ls -d /usr/src/linux-headers-6.12.*+deb12-amd64 | tail -n 1)}
kver=$(cat "$kdir/include/config/kernel.release")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
arch=$(uname -m)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$logs" "$tmp/dkms" "$tmp/root/lib/modules/$kver"
echo "check-dkms: ksalloc $ver for $kver ($kdir) in $tmp"

dkms() {
	mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub command dkms \
		--dkmstree "$tmp/dkms" --sourcetree "$tmp/src" --installtree "$tmp/root/lib/modules" "$@"
}
log=$logs/dkms.log
built=$tmp/dkms/ksalloc/$ver/$kver/$arch
if make -C "$top" dkms-install DKMSDIR="$tmp/src/ksalloc-$ver" > "$log" 2>&1 &&
   dkms add "ksalloc/$ver" >> "$log" 2>&1 &&
   dkms build "ksalloc/$ver" -k "$kver" --kernelsourcedir "$kdir" >> "$log" 2>&1 &&
   ls "$built"/module/ksalloc.ko* "$built"/module/ksalloc_capture.ko* >> "$log" 2>&1 &&
   grep -q 'ksalloc_create.*KSALLOC' "$built/Module.symvers"; then
	record PASS "dkms build ksalloc/$ver for $kver (modules and Module.symvers kept)"
else
	fail "dkms build ksalloc/$ver for $kver" "$log"
fi

dep='^updates/[a-z/]*ksalloc_capture\.ko[.a-z]*: updates/[a-z/]*ksalloc\.ko'
if [ $failed -eq 0 ] &&
   dkms install "ksalloc/$ver" -k "$kver" --kernelsourcedir "$kdir" --no-depmod >> "$log" 2>&1 &&
   depmod -b "$tmp/root" "$kver" >> "$log" 2>&1 &&
   grep -q "$dep" "$tmp/root/lib/modules/$kver/modules.dep"; then
	record PASS "dkms install ksalloc/$ver for $kver (temporary tree; depmod: capture needs ksalloc)"
else
	fail "dkms install ksalloc/$ver for $kver" "$log"
fi

if dkms remove "ksalloc/$ver" --all --no-depmod >> "$log" 2>&1 &&
   [ ! -e "$tmp/dkms/ksalloc" ] && [ -z "$(find "$tmp/root" -name 'ksalloc*.ko*')" ]; then
	record PASS "dkms remove ksalloc/$ver --all leaves nothing"
else
	fail "dkms remove ksalloc/$ver --all leaves nothing" "$log"
fi

# make install from a copy, as check.sh builds: the work tree stays without objects.
log=$logs/make-install.log
mkdir -p "$tmp/copy"
rsync -a --exclude='.*' --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers \
	"$top"/{Makefile,dkms.conf,Kbuild,Kconfig,include} "${subdirs[@]/#/$top/}" "$tmp/copy/"
if make -C "$tmp/copy" install KDIR="$kdir" INSTALL_MOD_PATH="$tmp/inst" > "$log" 2>&1 &&
   grep -q "$dep" "$tmp/inst/lib/modules/$kver/modules.dep"; then
	record PASS "make install (modules_install + depmod) for $kver"
else
	fail "make install (modules_install + depmod) for $kver" "$log"
fi

# A companion out of tree, with what headers_install put in INSTALL_HDR_PATH:
# include/ and <kernel release>/Module.symvers (the one make install built).
log=$logs/companion.log
mkdir -p "$tmp/companion"
cp "$top"/module/ksalloc_capture.c "$top"/samples/*.c "$tmp/companion/" 2>/dev/null || true
companions=$(cd "$tmp/companion" && ls -- *.c | sed 's/\.c$//' | tr '\n' ' ')
companions=${companions% }
need_ksalloc() {
	local m
	for m in $companions; do
		[ "$(modinfo -F depends "$tmp/companion/$m.ko")" = ksalloc ] || return 1
	done
}
{ echo "obj-m := $(echo "$companions" | sed 's/\([^ ]*\)/\1.o/g')"
  echo "ccflags-y += -I$tmp/hdr/include"; } > "$tmp/companion/Kbuild"
if make -C "$tmp/copy" headers_install KDIR="$kdir" INSTALL_HDR_PATH="$tmp/hdr" > "$log" 2>&1 &&
   [ -f "$tmp/hdr/$kver/Module.symvers" ] &&
   make -C "$kdir" M="$tmp/companion" KBUILD_EXTRA_SYMBOLS="$tmp/hdr/$kver/Module.symvers" \
	W=1 modules >> "$log" 2>&1 &&
   ! grep -qiE 'warning|error' "$log" &&
   need_ksalloc; then
	record PASS "companion modules ($companions) build against headers_install and Module.symvers"
else
	fail "companion modules ($companions) build against headers_install and Module.symvers" "$log"
fi
exit $failed
