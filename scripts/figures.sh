#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# README's table of figures: every figure in it comes from this script, run on
# the output of the command named in its row:
#   make check   build/logs/check.txt (its summary), build/results.txt
#   make bench   build/bench/results.txt (its BENCH lines)
#
#   figures.sh            print the table (markdown)
#   figures.sh --readme   replace the table in README.md, between the lines
#                         <!-- figures.sh begin --> and <!-- figures.sh end -->;
#                         the rows of a command that has not run in this tree
#                         (no output in build/) are kept as README has them
#   figures.sh --details  the figures each test prints about itself, from the
#                         last make check's logs (for a commit message)
# Exit 1 when there is nothing to read: no make check and no make bench output,
# or (--details) no complete make check.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
results=$top/build/results.txt
logs=$top/build/logs
bench=$top/build/bench/results.txt
readme=$top/README.md
# shellcheck disable=SC2016 # backquotes for markdown
check_cmd='`make check`'
bench_cmd='`make bench`'

# have_check: a complete, full make check left its summary.
have_check() {
	[ -s "$results" ] && [ -s "$logs/check.txt" ] && ! grep -q 'partial run' "$logs/check.txt"
}
have_bench() { [ -s "$bench" ] && grep -q '^BENCH ' "$bench"; }

count() { grep -c "^$1 " "$results" || true; }

check_rows() {
	local run secs
	# "check: 2026-12-02, f255834, 525 s (8 min 45 s)"
	run=$(sed -n 's/^check: \([0-9-]*\), \([^,]*\), .*/\2, \1/p' "$logs/check.txt")
	secs=$(sed -n 's/^check: [^,]*, [^,]*, [0-9]* s (\(.*\))$/\1/p' "$logs/check.txt")
	echo "| checks passed, failed, skipped (distinct checks) | $(count PASS), $(count FAIL)," \
		"$(count SKIP) ($(sed -n 's/ distinct checks.*//p' "$logs/check.txt")) | $check_cmd at $run |"
	echo "| duration of that run | $secs | $check_cmd at $run |"
}

# bench_value NAME PATTERN CONTEXT FIELD: one figure of a BENCH line.
bench_value() {
	awk -v n="$1" -v p="$2" -v c="$3" -v f="$4" '
		$1 == "BENCH" && $2 == "name=" n && $3 == "pattern=" p && $4 == "context=" c {
			for (i = 5; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2)
		}' "$bench" | head -n 1
}

bench_rows() {
	local run name pattern context what
	run="$(date -u -r "$bench" +%F)"
	while IFS='|' read -r name pattern context what; do
		echo "| $what | $(bench_value "$name" "$pattern" "$context" instr_per_pair)" \
			"| $bench_cmd, $run |"
	done <<- 'EOF'
	ksalloc_table|pair|irqsoff|instructions per allocate+free pair, function table (irqs off)
	ksalloc_direct|pair|irqsoff|the same, direct calls
	ksalloc_pages|pair|irqsoff|the same, page-backed pool (KSALLOC_OPTIONF_MAPPABLE)
	ksalloc_dma|pair|irqsoff|the same, with the frame's DMA address (ksalloc_dma_allocate_frame(), free through the table)
	ksalloc_table|burst256-lifo|irqsoff|the same, per frame of a burst of 256 (LIFO)
	ksalloc_table|cross|irqsoff|the same, frames moved across CPUs (hard IRQ → irqs off)
	kmem_cache|pair|irqsoff|kmem_cache (GFP_ATOMIC) pair, for comparison
	objpool|pair|irqsoff|objpool pair, for comparison
	EOF
	echo "| ksalloc pair Mops/s, 1 → 2 vCPUs (wall clock; the host's load moves it) |" \
		"$(bench_value ksalloc_table pair irqsoff mops_1cpu) →" \
		"$(bench_value ksalloc_table pair irqsoff mops_allcpu)" \
		"($(bench_value ksalloc_table pair irqsoff scaling)×) | $bench_cmd, $run |"
	local kind what
	while IFS='|' read -r kind what; do
		echo "| attach + detach of a device, 1024 $what: instructions, against 1024 dma_map_single() + unmap" \
			"| $(bench_value dma_attach "$kind" task instr) vs $(bench_value dma_attach "$kind" task instr_single)" \
			"($(bench_value dma_attach "$kind" task ratio)×) | $bench_cmd, $run |"
	done <<- 'EOF'
	1024x4096-page|page-backed 4 KiB frames
	1024x4096-slab|slab-backed 4 KiB frames
	EOF
	local size r z
	for size in 640x480 1920x1080; do
		r=$(bench_value capture_read "$size" task instr_per_frame)
		z=$(bench_value capture_zerocopy "$size" task instr_per_frame)
		echo "| capture, instructions per $size YUYV frame: read() → zero copy" \
			"(DEQUEUE_FRAME + RETURN_FRAME) | $r → $z ($(share "$z" "$r")) | $bench_cmd, $run |"
	done
	[ "$(bench_value capture_read 640x480 task host)" = busy ] && z=' (host busy)' || z=
	echo "| capture, 640x480 frames/s, the delivery alone: read() → zero copy (wall clock)" \
		"| $(bench_value capture_read 640x480 task fps) →" \
		"$(bench_value capture_zerocopy 640x480 task fps)$z | $bench_cmd, $run |"
}

# share PART WHOLE: PART as a fraction of WHOLE, "1/N".
share() {
	awk -v p="$1" -v w="$2" 'BEGIN {
		if (p + 0 > 0 && w + 0 > 0) printf "1/%.0f", w / p; else print "na"
	}'
}

# old_rows CMD: the rows of CMD in README's table as it is.
old_rows() {
	sed -n '/^<!-- figures.sh begin -->$/,/^<!-- figures.sh end -->$/p' "$readme" |
		grep -F "| $1" | grep -v '^| figure |' || true
}

table() {
	echo '| figure | value | regenerated by (then `scripts/figures.sh --readme`) |'
	echo '|---|---:|---|'
	if have_check; then check_rows; else old_rows "$check_cmd"; fi
	if have_bench; then bench_rows; else old_rows "$bench_cmd"; fi
}

# The figures the tests print about themselves, from the last make check.
details() {
	local g
	sed -n 's/^check: //p' "$logs/check.txt"
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
}
# strip: KTAP/TAP indentation and "# ".
strip() { sed -E 's/^[ \t]*# ?//'; }
# plain LOG: the console log as check-log.sh reads it (no CR, no timestamp).
plain() { tr -d '\r\000' < "$1" | sed -E 's/^\[ *[0-9]+\.[0-9]+\](\[ *[CT][0-9]+\])? ?//'; }

case "${1:-}" in
--details)
	have_check || { echo "figures: no complete make check in $top/build" >&2; exit 1; }
	details
	;;
--readme)
	have_check || have_bench ||
		{ echo "figures: no make check or make bench output in $top/build" >&2; exit 1; }
	grep -q '^<!-- figures.sh begin -->$' "$readme" ||
		{ echo "figures: README.md has no <!-- figures.sh begin --> line" >&2; exit 1; }
	mkdir -p "$top/build"
	table > "$top/build/figures.md"
	awk -v f="$top/build/figures.md" '
		/^<!-- figures.sh begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- figures.sh end -->$/ { skip = 0 }
		!skip' "$readme" > "$readme.new"
	mv "$readme.new" "$readme"
	;;
"")
	have_check || have_bench ||
		{ echo "figures: no make check or make bench output in $top/build" >&2; exit 1; }
	table
	;;
*)
	echo "usage: figures.sh [--readme | --details]" >&2
	exit 2
	;;
esac
