#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The figures of the last `make check`, as README's "Figures of the last run"
# shows them: every figure there comes from this script, run on the logs of
# the run it describes (build/results.txt, build/logs/*.log).
#
#   figures.sh            print the block (markdown)
#   figures.sh --readme   replace the block in README.md, between the lines
#                         <!-- figures.sh begin --> and <!-- figures.sh end -->
# Exit 1 when there is no complete run to read.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results.txt
logs=$top/build/logs
[ -s "$results" ] && [ -s "$logs/check.txt" ] ||
	{ echo "figures: no complete make check in $top/build (results.txt, logs/check.txt)" >&2; exit 1; }
grep -q 'partial run' "$logs/check.txt" &&
	{ echo "figures: the last run was partial (KSALLOC_GUESTS/TESTS/GATES)" >&2; exit 1; }

# strip: the console's timestamp and KTAP/TAP indentation and "# ".
strip() { sed -E 's/^[ \t]*# ?//'; }
# plain LOG: the console log as check-log.sh reads it (no CR, no timestamp).
plain() { tr -d '\r\000' < "$1" | sed -E 's/^\[ *[0-9]+\.[0-9]+\](\[ *[CT][0-9]+\])? ?//'; }
count() { grep -c "^$1 " "$results" || true; }

block() {
	local g
	echo '```'
	sed -n 's/^check: //p' "$logs/check.txt"
	echo "$(count PASS) passed, $(count FAIL) failed, $(count SKIP) skipped (all listed in scripts/expected-skips)"
	sed -n '/distinct checks/p' "$logs/check.txt"
	for g in test-6.12 stock-6.12 stock-6.12-rt stock-6.1 intree; do
		echo "$g: $(grep -c "^PASS $g " "$results" || true) passed," \
			"$(grep -c "^SKIP $g " "$results" || true) skipped"
	done
	echo
	echo "KUnit (test-6.12), stress and lifetime cases:"
	plain "$logs/test-6.12.log" | grep -E '^ +# ksalloc_[a-z_]+: [0-9]' | strip | sed 's/^/  /'
	echo
	echo "User-space tests, the figures each prints (test-6.12; the fuzz test on every guest):"
	for g in test-6.12 stock-6.12 stock-6.12-rt stock-6.1; do
		[ -f "$logs/$g.log" ] || continue
		awk -v g="$g" '
			/KSALLOC-TAP-BEGIN: / { prog = $NF; next }
			/KSALLOC-TAP-END: / { prog = ""; next }
			prog && /^# [0-9]+ calls in [0-9.]+ s \(/ { print "  " g " " prog ": " substr($0, 3) }
			prog && g == "test-6.12" && /^# .*(injection points|rounds|iterations)/ {
				line = $0; sub(/^# (testing\/[^:]*:[0-9]+:)?/, "", line)
				print "  " g " " prog ": " line
			}' <(plain "$logs/$g.log")
	done
	echo '```'
}

if [ "${1:-}" = --readme ]; then
	readme=$top/README.md
	grep -q '^<!-- figures.sh begin -->$' "$readme" ||
		{ echo "figures: README.md has no <!-- figures.sh begin --> line" >&2; exit 1; }
	block > "$top/build/figures.md"
	awk -v f="$top/build/figures.md" '
		/^<!-- figures.sh begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- figures.sh end -->$/ { skip = 0 }
		!skip' "$readme" > "$readme.new"
	mv "$readme.new" "$readme"
else
	block
fi
