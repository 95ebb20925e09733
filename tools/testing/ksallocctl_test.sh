#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ksallocctl, in a guest (busybox sh), as TAP: help and usage errors; an
# allocator held by `ksallocctl create` as status and watch show it; gone
# once create ends; a framing the module refuses. Expects ksalloc loaded and
# debugfs mounted at /sys/kernel/debug (the guest scripts do both); $1, the
# module directory, is not used.

n=0 failed=0 create=
# ok STATUS DESCRIPTION: a TAP line, counted in $n and $failed.
. /lib/ksalloc/lib.sh
out=/tmp/ksallocctl_test
mkdir -p "$out"

# show FILE...: what a failed case saw, as TAP diagnostics.
show() { sed 's/^/# /' "$@"; }

# rows ID FILE: the rows of allocator ID in the output of status or watch
# (FILE), as "COLUMN=VALUE ..." lines named by its header.
rows() {
	awk -v id="$1" '
	$1 == "ID" || $2 == "ID" { for (i = 1; i <= NF; i++) col[i] = $i; next }
	col[1] && $(col[1] == "ID" ? 1 : 2) == id {
		line = ""
		for (i = 1; i <= NF; i++) line = line " " col[i] "=" $i
		print line " "
	}' "$2"
}

cleanup() { [ -z "$create" ] || kill "$create" 2> /dev/null; }
trap cleanup EXIT

echo "TAP version 13"
echo "1..11"

ksallocctl --help > "$out/help" 2>&1 && grep -q '^Usage: ksallocctl create' "$out/help" &&
	ksallocctl watch -h > /dev/null 2>&1
ok $? "--help and watch -h exit 0 with the usage"

ksallocctl frobnicate > "$out/bad" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "unknown command 'frobnicate'" "$out/bad" && grep -q '^Usage:' "$out/bad"
ok $? "an unknown command exits 2 with the usage (exit $rc)"

ksallocctl status --frobnicate > "$out/bad" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "unknown option '--frobnicate'" "$out/bad"
ok $? "an unknown option exits 2 (exit $rc)"

ksallocctl create -n 4 -s 4096 --take 2 > "$out/create" 2>&1 &
create=$!
i=0
while ! grep -q '^holding' "$out/create" && kill -0 "$create" 2> /dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
id=$(sed -n 's/^allocator \([0-9][0-9]*\):.*/\1/p' "$out/create")
[ -n "$id" ] && grep -q '^allocated 2 of 4 frames' "$out/create"
ok $? "create -n 4 -s 4096 --take 2 holds an allocator with 2 frames taken" ||
	show "$out/create"
echo "# allocator ${id:-?}"

ksallocctl status > "$out/status" 2>&1
rc=$?
rows "$id" "$out/status" > "$out/rows"
[ $rc = 0 ] && [ "$(wc -l < "$out/rows")" = 1 ] &&
	grep -q ' FRAMES=4 .* ALLOCATED=2 ' "$out/rows"
ok $? "status shows the allocator with frames 4 and allocated_frames 2" ||
	show "$out/status"

ksallocctl status "${id:-0}" > "$out/status1" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(grep -c . "$out/status1")" = 2 ] && rows "$id" "$out/status1" | grep -q .
ok $? "status ID shows just that allocator (exit $rc)" || show "$out/status1"

ksallocctl watch -c 2 -i 100 > "$out/watch" 2>&1
rc=$?
rows "$id" "$out/watch" > "$out/rows"
[ $rc = 0 ] && [ "$(wc -l < "$out/rows")" = 2 ] && grep -q ' ALLOCATED=2 ' "$out/rows"
ok $? "watch -c 2 -i 100 prints 2 samples and exits 0 (exit $rc)" || show "$out/watch"

kill "$create" 2> /dev/null
wait "$create"
rc=$?
create=
[ $rc = 0 ] && grep -q '^released' "$out/create"
ok $? "create releases the allocator and exits 0 on SIGTERM (exit $rc)" || show "$out/create"

ksallocctl status > "$out/status" 2>&1
rc=$?
[ $rc = 0 ] && [ -n "$id" ] && ! rows "$id" "$out/status" | grep -q .
ok $? "status no longer shows the allocator" || show "$out/status"

ksallocctl status "${id:-0}" > "$out/status1" 2>&1
rc=$?
[ $rc = 1 ] && grep -q 'no such allocator' "$out/status1"
ok $? "status ID exits 1 once it is gone: no such allocator (exit $rc)" || show "$out/status1"

ksallocctl create -n 0 > "$out/create0" 2>&1
rc=$?
[ $rc = 1 ] && grep -q '^ksallocctl: .*KSALLOC_IOC_SET_FRAMING.*: Invalid argument$' "$out/create0"
ok $? "create -n 0 exits 1: Invalid argument (exit $rc)" || show "$out/create0"

[ "$failed" = 0 ]
