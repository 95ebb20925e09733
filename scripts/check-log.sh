#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Judge one guest's console log and count the test results in it.
#
#   check-log.sh [--name NAME] [--timed-out SECS] LOG
#
# The guest is clean when it was not timed out, printed KSALLOC-GUEST-DONE,
# reported no KSALLOC-ERROR, its final taint has none of W (512, a warning),
# B (32, bad page: KASAN and slab reports), D (128, oops), L (16384, soft lockup),
# the kernel printed none of the reports in $bad below, and ksalloc none of
# the client bugs in $client_bugs outside the KUnit cases that provoke them.
# The guests write their markers and output through /dev/kmsg (guest/lib.sh):
# the console's "[   12.345678] " prefix (and a "[T123]"/"[C1]" caller id)
# is stripped from every line before anything is read.
# Results: one line "PASS|FAIL|SKIP <what>" each, appended to $KSALLOC_RESULTS
# if set: "guest NAME clean log", every KUnit case, every TAP case.
# Env:
#   KSALLOC_KUNIT_SUITES  KUnit suites that must have run (space-separated). The
#                         KTAP printed after the guest's "kunit" stage marker is
#                         parsed with kunit.py; every leaf result (each parameter
#                         of a parameterised case) is one result.
#   KSALLOC_TAP_EXPECT    names of the TAP programs that must have run.
#   KSRC                  kernel source with tools/testing/kunit (default: the
#                         extracted linux-source-6.12 in $KSALLOC_CACHE/src/).
# Exit: 0 when the guest is clean and no result failed.
set -euo pipefail
# Bytes, not characters: a report with invalid UTF-8 in it must still match.
export LC_ALL=C

name='' timed_out=''
while [ $# -gt 1 ]; do
	case $1 in
	--name) name=$2; shift 2 ;;
	--timed-out) timed_out=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--name NAME] [--timed-out SECS] LOG" >&2; exit 2; }
log=$1
name=${name:-$(basename "$log" .log)}
cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}

# The kernel reports ($bad, $benign): one list for every log we judge.
. "$(dirname "$0")/kernel-reports.sh"

# ksalloc's own reports of client bugs: each fails the run, but inside the
# KUnit cases that provoke it on purpose (kunit/*.c). One line each: an ERE,
# a tab, those cases (a parameterised case's name covers all its parameters;
# a suite's name would cover its cases).
client_bugs="\
refused free of .*: not a frame allocated from this allocator	ksalloc_free_frame_misuse ksalloc_free_frame_unaligned
released with [0-9]+ frames still allocated: retaining them	ksalloc_release_outstanding
written after free_frame	ksalloc_free_frame_write_after_free"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tr -d '\r\000' < "$log" | sed -E 's/^\[ *[0-9]+\.[0-9]+\](\[ *[CT][0-9]+\])? ?//' > "$tmp/log"
results=$tmp/results
: > "$results"
result() { echo "$1 $2" >> "$results"; }
say() { echo "check-log: $name: $*"; }
problems=0
problem() { say "FAIL: $*"; problems=$((problems + 1)); }

stage=$(sed -n 's/.*KSALLOC-STAGE: //p' "$tmp/log" | tail -n 1)
[ -z "$timed_out" ] || problem "timeout after $timed_out s in stage ${stage:-boot}"
grep -q '^KSALLOC-GUEST-DONE' "$tmp/log" ||
	problem "the guest did not finish: no KSALLOC-GUEST-DONE (last stage: ${stage:-boot})"
if grep -q 'KSALLOC-ERROR: ' "$tmp/log"; then
	problem "guest errors:"
	sed -n 's/.*KSALLOC-ERROR: /    /p' "$tmp/log"
fi
grep -nE "$bad" "$tmp/log" | grep -vE "$benign" > "$tmp/reports" || true
if [ -s "$tmp/reports" ]; then
	kinds=$(cut -d: -f2- "$tmp/reports" | grep -oE "$bad" | sort | uniq -c |
		awk '{ n = $1; $1 = ""; printf "%s\"%s\" x%d", sep, substr($0, 2), n; sep = ", " }')
	problem "the kernel log has reports: $kinds"
	echo "    (the first ones with context:)"
	for n in $(cut -d: -f1 "$tmp/reports" | head -n 5); do
		sed -n "$((n > 2 ? n - 2 : 1)),$((n + 20))p" "$tmp/log" | sed 's/^/    /'
		echo "    --"
	done
fi
# ksalloc's client bugs, each attributed to the KUnit case whose result line
# follows it in the KTAP of the "kunit" stage (after the previous result line
# or "# Subtest:"): a parameter's result counts for its case, the "# Subtest:"
# line at the same indentation naming it.
awk -v table="$client_bugs" '
BEGIN {
	n = split(table, rows, "\n")
	for (i = 1; i <= n; i++) {
		split(rows[i], f, "\t")
		pat[i] = f[1]
		m = split(f[2], c, " ")
		for (j = 1; j <= m; j++) allow[i, c[j]] = 1
	}
}
function outside(where) {
	for (j = 1; j <= np; j++)
		print "line " pl[j] ", " where ": " pt[j]
	np = 0
}
function resolve(name, group) {
	for (j = 1; j <= np; j++)
		if (!allow[pi[j], name] && !allow[pi[j], group])
			print "line " pl[j] ", in KUnit case " name ": " pt[j]
	np = 0
}
/KSALLOC-STAGE: / { outside("in no KUnit case"); kunit = /KSALLOC-STAGE: kunit$/; next }
{
	for (i = 1; i <= n; i++)
		if ($0 ~ pat[i]) {
			np++; pl[np] = NR; pt[np] = $0; pi[np] = i
			if (!kunit) outside("outside KUnit")
			next
		}
}
!kunit { next }
/^ *# Subtest: / {
	outside("in no KUnit case")
	indent = match($0, /[^ ]/) - 1
	name = $0
	sub(/^ *# Subtest: /, "", name)
	group[indent] = name
	next
}
/^ *(not )?ok [0-9]+ / {
	indent = match($0, /[^ ]/) - 1
	name = $0
	sub(/^ *(not )?ok [0-9]+ (- )?/, "", name)
	sub(/ .*/, "", name)
	resolve(name, group[indent])
}
END { outside("in no KUnit case") }' "$tmp/log" > "$tmp/client_bugs"
if [ -s "$tmp/client_bugs" ]; then
	problem "ksalloc reported client bugs, outside the KUnit cases that provoke them:"
	sed 's/^/    /' "$tmp/client_bugs"
fi
taint=$(sed -n 's/^KSALLOC-TAINT: \([0-9]*\).*/\1/p' "$tmp/log" | tail -n 1)
if [ -z "$taint" ]; then
	problem "no KSALLOC-TAINT: the guest's taint is unknown"
elif (( taint & (512 | 32 | 128 | 16384) )); then
	problem "kernel tainted $taint: W(512) warning, B(32) bad page/KASAN, D(128) oops or L(16384) soft lockup"
fi
if [ $problems -eq 0 ]; then
	result PASS "guest $name clean log"
else
	result FAIL "guest $name clean log"
	say "full console log: $log"
fi

# KUnit: the KTAP after the "kunit" stage marker, up to the next marker.
if [ -n "${KSALLOC_KUNIT_SUITES:-}" ]; then
	ksrc=${KSRC:-$(ls -d "$cache"/src/linux-source-6.12-*/ 2>/dev/null | tail -n 1)}
	awk '/KSALLOC-STAGE: / { on = /KSALLOC-STAGE: kunit$/; next } on' "$tmp/log" > "$tmp/ktap"
	kunit_rc=0
	python3 "$ksrc/tools/testing/kunit/kunit.py" parse --json="$tmp/kunit.json" \
		"$tmp/ktap" > "$tmp/kunit.out" 2>&1 || kunit_rc=$?
	sed 's/^/    /' "$tmp/kunit.out"
	python3 - "$tmp/kunit.json" "$name kunit" > "$tmp/kunit.results" <<-'EOF' || true
		import json, sys
		status = {"PASS": "PASS", "SKIP": "SKIP"}
		def walk(group, path):
		    for case in group["test_cases"]:
		        name = case["name"] or "(a result is missing: crashed?)"
		        print(status.get(case["status"], "FAIL"), path + name)
		    for sub in group["sub_groups"]:
		        walk(sub, path + sub["name"] + ".")
		top = json.load(open(sys.argv[1]))
		walk(top, sys.argv[2] + ": ")
		for suite in top["sub_groups"] + top["test_cases"]:
		    print("SUITE", suite["name"])
	EOF
	grep -v '^SUITE ' "$tmp/kunit.results" >> "$results" || true
	for suite in $KSALLOC_KUNIT_SUITES; do
		grep -qxF "SUITE $suite" "$tmp/kunit.results" ||
			result FAIL "$name kunit: suite $suite did not run"
	done
	if [ $kunit_rc -ne 0 ] && ! grep -q '^FAIL ' "$tmp/kunit.results"; then
		result FAIL "$name kunit: kunit.py parse failed (exit $kunit_rc)"
	fi
fi

# TAP of the user-space test programs, between the guest's markers.
awk -v guest="$name" -v expect="${KSALLOC_TAP_EXPECT:-}" '
function rec(st, what) { print st, guest " " prog ": " what }
/^KSALLOC-TAP-BEGIN: / { prog = $2; on = 1; plan = -1; seen = 0; failed = 0; next }
on && /^KSALLOC-TAP-END: / {
	on = 0; ran[prog] = 1; code = $3; sub(/^exit=/, "", code)
	if (plan >= 0 && seen != plan) rec("FAIL", "planned " plan " tests, ran " seen)
	else if (code != 0 && code != 4 && !failed) rec("FAIL", "exit status " code)
	# kselftest exit 4 with no result: the program skipped itself whole, a
	# SKIP to be judged like any other (scripts/expected-skips).
	if (code == 4 && seen == 0) rec("SKIP", "(the whole program)")
	if (code == 4 && seen > 0 && plan < 0) rec("FAIL", "exit 4 (skip) after " seen " results and no plan")
	if (seen == 0 && code == 0) rec("FAIL", "no TAP result")
	next
}
on && /^1\.\.[0-9]+/ { plan = substr($0, 4) + 0; next }
on && /^(not )?ok [0-9]+/ {
	seen++
	st = /^not / ? "FAIL" : "PASS"
	what = $0
	sub(/^(not )?ok [0-9]+ *(- *)?/, "", what)
	reason = ""
	if (what ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) {
		# "not ok ... # SKIP" is a failure; an ok SKIP keeps its reason,
		# which scripts/expected-skips judges.
		if (st == "PASS") { st = "SKIP"; reason = what; sub(/^.*#[ \t]*[Ss][Kk][Ii][Pp][ \t]*/, "", reason) }
	}
	sub(/[ \t]*#.*$/, "", what)
	if (st == "SKIP") what = what " # " reason
	if (st == "FAIL") failed = 1
	rec(st, what)
}
END {
	if (on) rec("FAIL", "output cut short")
	n = split(expect, want, " ")
	for (i = 1; i <= n; i++)
		if (!(want[i] in ran)) { prog = want[i]; rec("FAIL", "did not run") }
}' "$tmp/log" >> "$results"

grep -E '^(FAIL|SKIP) ' "$results" | grep -v "^FAIL guest $name clean log" | sed "s/^/check-log: /" || true
[ -z "${KSALLOC_RESULTS:-}" ] || cat "$results" >> "$KSALLOC_RESULTS"
say "$(grep -c '^PASS ' "$results") passed, $(grep -c '^FAIL ' "$results") failed," \
	"$(grep -c '^SKIP ' "$results") skipped (log: $log)"
! grep -q '^FAIL ' "$results"
