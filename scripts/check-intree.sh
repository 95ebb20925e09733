#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build ksalloc in a kernel tree, built in, and run its KUnit suites with the
# kernel's own tools/testing/kunit/kunit.py (x86_64, QEMU TCG, four vCPUs).
#
# The tree is a hard-link copy of the extracted linux-source-6.12
# ($KSALLOC_CACHE/intree/linux-<ver>): the project goes in as drivers/misc/ksalloc,
# its headers in include/linux and include/uapi/linux, and drivers/misc/Kconfig
# and Makefile are edited with sed -i, which replaces the file instead of writing
# through the link: the shared tree stays as it was. Then
#   kunit.py run --arch=x86_64 --kunitconfig=drivers/misc/ksalloc/kunit
# (plus --kconfig_add for every option in our Kconfig) builds in
# $KSALLOC_CACHE/intree/build-<ver> through ccache.
# Results, appended to $KSALLOC_RESULTS: each KUnit leaf result ("intree kunit:
# suite.case"), "intree: every suite ran", "intree clean log". Log:
# build/logs/intree-kunit.log. Exit 1 when anything failed.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}
logs=$top/build/logs
log=$logs/intree-kunit.log
results=${KSALLOC_RESULTS:-/dev/null}
failed=0
# The directories the top Kbuild descends into: module kunit ... bench
mapfile -t subdirs < <(sed -n 's/^obj-.*+= *//p' "$top/Kbuild" | tr ' ' '\n' | sed -n 's|/$||p')
record() {
	echo "$1 $2" >> "$results"
	[ "$1" = PASS ] || { echo "check-intree: $1 $2"; failed=1; }
}

ksrc=${KSRC:-$(ls -d "$cache"/src/linux-source-6.12-*/ 2>/dev/null | tail -n 1)}
if [ ! -f "${ksrc%/}/Makefile" ]; then
	"$top/scripts/build-test-kernel.sh" > /dev/null	# extracts the source
	ksrc=$(ls -d "$cache"/src/linux-source-6.12-*/ | tail -n 1)
fi
ksrc=${ksrc%/}
ver=${ksrc##*/linux-source-}
tree=$cache/intree/linux-$ver
out=$cache/intree/build-$ver
mkdir -p "$cache/intree" "$logs"
exec 9> "$cache/intree/.lock"
flock 9

if [ ! -f "$tree/Makefile" ]; then
	rm -rf "$tree" "$tree.tmp"
	cp -al "$ksrc" "$tree.tmp"
	mv "$tree.tmp" "$tree"
fi
# drivers/misc/ksalloc mirrors Kbuild, Kconfig and the subdirs, sources only.
# rsync writes a new file and renames it: never through a hard link. By
# content, without -t: a changed file is newer than its object, others keep their time.
filter=(--include=.kunitconfig --exclude='.*' --exclude='*.o' --exclude='*.ko' --exclude='*.mod'
	--exclude='*.mod.c' --exclude=modules.order --exclude=Module.symvers
	--include=/Kbuild --include=/Kconfig "${subdirs[@]/#/--include=/}" --exclude='/*')
mkdir -p "$tree/drivers/misc/ksalloc"
rsync -rl --checksum --delete --delete-excluded "${filter[@]}" "$top/" "$tree/drivers/misc/ksalloc/"
rsync -rl --checksum "$top/include/linux/ksalloc.h" "$tree/include/linux/"
rsync -rl --checksum "$top"/include/uapi/linux/*.h "$tree/include/uapi/linux/"
grep -q 'drivers/misc/ksalloc/Kconfig' "$tree/drivers/misc/Kconfig" ||
	sed -i '/^endmenu/i source "drivers/misc/ksalloc/Kconfig"' "$tree/drivers/misc/Kconfig"
grep -q '(CONFIG_KSALLOC)' "$tree/drivers/misc/Makefile" ||
	sed -i '$a obj-$(CONFIG_KSALLOC)\t\t+= ksalloc/' "$tree/drivers/misc/Makefile"

export CCACHE_DIR=${CCACHE_DIR:-$cache/ccache} CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export CCACHE_COMPILERCHECK=content PYTHONDONTWRITEBYTECODE=1
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=ksalloc KBUILD_BUILD_HOST=ksalloc
# Every option of ours built in, the sample too, beyond what .kunitconfig needs.
add=()
for c in $(sed -n 's/^config //p' "$top/Kconfig"); do add+=(--kconfig_add "CONFIG_$c=y"); done
# kunit.py's x86_64 config has no SMP and QEMU one vCPU: the cases that need
# two or three CPUs (ksalloc_smp) run here too.
add+=(--kconfig_add CONFIG_SMP=y --kconfig_add CONFIG_NR_CPUS=4 --qemu_args="-smp 4")
json=$out/ksalloc-kunit.json
rm -f "$json"
echo "check-intree: kunit.py run in $tree (build: $out; cold ~10 min)"
rc=0
(cd "$tree" && python3 tools/testing/kunit/kunit.py run --arch=x86_64 \
	--kunitconfig=drivers/misc/ksalloc/kunit --build_dir="$out" \
	"${add[@]}" --make_options CC="ccache gcc" --timeout "${KSALLOC_INTREE_TIMEOUT:-600}" \
	--json="$json") > "$log" 2>&1 || rc=$?

if [ ! -s "$json" ]; then
	tail -n 40 "$log"
	record FAIL "intree kunit.py run (exit $rc, no results; log: $log)"
	exit 1
fi
# Each leaf result is one check, as check-log.sh counts them.
python3 - "$json" > "$out/ksalloc-kunit.results" <<-'EOF'
	import json, sys
	def walk(group, path):
	    for case in group["test_cases"]:
	        name = case["name"] or "(a result is missing: crashed?)"
	        print({"PASS": "PASS", "SKIP": "SKIP"}.get(case["status"], "FAIL"),
	              "intree kunit: " + path + name)
	    for sub in group["sub_groups"]:
	        walk(sub, path + sub["name"] + ".")
	    if not path:
	        for suite in group["sub_groups"] + group["test_cases"]:
	            print("SUITE", suite["name"])
	walk(json.load(open(sys.argv[1])), "")
EOF
grep -v '^SUITE ' "$out/ksalloc-kunit.results" >> "$results"
grep -E '^(FAIL|SKIP) ' "$out/ksalloc-kunit.results" | sed 's/^/check-intree: /' || true
if grep -q '^FAIL ' "$out/ksalloc-kunit.results"; then
	grep -E -B 8 '\[(FAILED|CRASHED)\]' "$log" | grep -vF '[PASSED]' || true
	failed=1
fi

suites=$(sed -n '/struct kunit_suite [A-Za-z0-9_]* *= *{/,/^}/ s/.*\.name *= *"\([^"]*\)".*/\1/p' \
	"$top"/kunit/*.c)
missing=
for s in $suites; do
	grep -qxF "SUITE $s" "$out/ksalloc-kunit.results" || missing+=" $s"
done
if [ -z "$suites" ] || [ -n "$missing" ]; then
	record FAIL "intree: every suite ran (missing:${missing:- no suite found in kunit/*.c})"
else
	record PASS "intree: every suite ran"
fi

# The console log: KUnit does not fail a case for a lockdep report or a WARN
# outside the test thread.
. "$top/scripts/kernel-reports.sh"
# (Into a file: grep -q in a pipeline under pipefail would turn a flood of
# reports into a SIGPIPE and a pass.)
{ grep -aE "$bad" "$out/test.log" 2>/dev/null || true; } | { grep -avE "$benign" || true; } \
	> "$out/reports"
if [ -s "$out/reports" ]; then
	grep -anE -B 2 -A 20 -m 5 "$bad" "$out/test.log"
	record FAIL "intree clean log ($out/test.log)"
elif [ $rc -ne 0 ] && [ $failed -eq 0 ]; then
	tail -n 40 "$log"
	record FAIL "intree clean log (kunit.py exit $rc; log: $log)"
else
	record PASS "intree clean log"
fi
echo "check-intree: $(grep -c '^PASS ' "$out/ksalloc-kunit.results") KUnit results passed" \
	"(log: $log)"
exit $failed
