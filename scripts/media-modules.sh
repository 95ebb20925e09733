#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Copy a kernel's modules MODULE... and everything they depend on, uncompressed,
# into OUTDIR, with OUTDIR/order: their names, one a line, in load order (each
# after its dependencies). For the guests, which have no modprobe nor
# modules.dep: ksalloc_vivid_test insmods them in that order.
#
#   media-modules.sh MODDIR OUTDIR MODULE...
#
# MODDIR is the kernel's /lib/modules/<release> (a stock image unpacked by
# stock-kernels.sh: modules, without modules.dep), or a kernel's build tree
# (the debug test kernel's, scripts/build-test-kernel.sh: modules where they
# were built, listed in its modules.order). The dependencies are read with
# modinfo. Exit status 1 if a module is missing: the kernel lacks it.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 MODDIR OUTDIR MODULE..." >&2; exit 2; }
moddir=$1 out=$2
shift 2
# A build tree has its .config (and a kernel/ of objects, not modules).
tree=
[ -f "$moddir/.config" ] && [ -f "$moddir/modules.order" ] && tree=1
[ -n "$tree" ] || [ -d "$moddir/kernel" ] ||
	{ echo "media-modules: $moddir: neither modules (kernel/) nor a build tree" >&2; exit 1; }

# path NAME: the module's file; names use - and _ alike.
path() {
	local re=${1//[-_]/[-_]} rel
	if [ -z "$tree" ]; then
		find "$moddir/kernel" -regextype posix-extended \
			-regex ".*/$re\.ko(\.xz|\.zst|\.gz)?" -print -quit
		return
	fi
	# modules.order names each module's object, DIR/NAME.o.
	rel=$(grep -m 1 -E "(^|/)$re\.k?o$" "$moddir/modules.order" || true)
	[ -z "$rel" ] || [ ! -f "$moddir/${rel%.*}.ko" ] || echo "$moddir/${rel%.*}.ko"
}

declare -A seen=()
order=()
# visit NAME: its dependencies first, then itself.
visit() {
	local name=$1 file dep
	[ -z "${seen[$name]:-}" ] || return 0
	seen[$name]=1
	file=$(path "$name")
	[ -n "$file" ] || { echo "media-modules: no module $name in $moddir" >&2; exit 1; }
	for dep in $(modinfo -F depends "$file" | tr ',' ' '); do
		visit "$dep"
	done
	order+=("$name:$file")
}
for m; do visit "$m"; done

rm -rf "$out"
mkdir -p "$out"
for e in "${order[@]}"; do
	name=${e%%:*} file=${e#*:}
	case $file in
	*.xz) xz -dc "$file" ;;
	*.zst) zstd -qdc "$file" ;;
	*.gz) gzip -dc "$file" ;;
	*) cat "$file" ;;
	esac > "$out/$name.ko"
	echo "$name" >> "$out/order"
done
