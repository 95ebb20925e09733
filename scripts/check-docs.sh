#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Documentation/ built as the kernel builds its own (`make docs`), and the
# documentation gates of `make check`, each a check recorded in $KSALLOC_RESULTS:
#   docs kernel-doc -Wall   include/linux/ksalloc.h and the UAPI headers
#   docs sphinx-build -W    both pages to HTML in build/docs/html, with the
#                           kernel's kerneldoc and automarkup extensions and
#                           scripts/kernel-doc; every warning is fatal
#   docs cover              every exported function is documented on the
#                           driver-api page; every ioctl, ioctl magic number
#                           and module parameter is on the userspace-api page
# The kernel's files come from the Linux 6.12 source that build-test-kernel.sh
# unpacks in $KSALLOC_CACHE/src; before that exists, from the tarball of
# linux-source-6.12 (only the few files needed, into build/docs/kernel).
# Exit status 1 if a gate failed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${KSALLOC_CACHE:-$HOME/.cache/ksalloc}
out=$top/build/docs
results=${KSALLOC_RESULTS:-/dev/null}
failed=0
mkdir -p "$out"

# gate NAME LOG: record NAME as passed if LOG has no finding, else show them.
gate() {
	if [ -s "$2" ]; then
		echo "FAIL $1" >> "$results"
		echo "check-docs: FAIL $1:"
		head -n 40 "$2"
		failed=1
	else
		echo "PASS $1" >> "$results"
		echo "check-docs: PASS $1"
	fi
}

# The newest fully unpacked 6.12 source, else the files we need from the tarball.
src=
for d in "$cache"/src/linux-source-6.12-*; do
	[ -f "$d/.ksalloc-extracted" ] && src=$d
done
if [ -z "$src" ]; then
	tarball=${KSALLOC_KERNEL_TARBALL:-$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1)}
	[ -f "$tarball" ] || { echo "check-docs: no linux-source-6.12 (run scripts/install-deps.sh)" >&2; exit 1; }
	src=$out/kernel
	if [ ! -f "$src/.ksalloc-extracted" ] || [ "$tarball" -nt "$src/.ksalloc-extracted" ]; then
		echo "check-docs: extracting Documentation/sphinx and scripts/kernel-doc from $tarball"
		rm -rf "$src"
		mkdir -p "$src"
		tar -xf "$tarball" -C "$src" --strip-components=1 --wildcards \
			'*/Documentation/sphinx/*' '*/scripts/kernel-doc'
		touch "$src/.ksalloc-extracted"
	fi
fi
command -v sphinx-build > /dev/null ||
	{ echo "check-docs: no sphinx-build (run scripts/install-deps.sh)" >&2; exit 1; }

cd "$top"
headers=(include/linux/ksalloc.h include/uapi/linux/*.h)
"$src/scripts/kernel-doc" -none -Wall "${headers[@]}" > "$out/kernel-doc.log" 2>&1 || true
gate "docs kernel-doc -Wall (${#headers[@]} headers)" "$out/kernel-doc.log"

# -E: a fresh environment, so that every page is read and warns again.
rm -rf "$out/html"
if ! KSALLOC_KERNEL_SRC=$src sphinx-build -b html -E -q -W --keep-going \
	-d "$out/doctrees" Documentation "$out/html" > "$out/sphinx.log" 2>&1; then
	grep -q . "$out/sphinx.log" || echo "sphinx-build failed" > "$out/sphinx.log"
else
	: > "$out/sphinx.log"
fi
gate "docs sphinx-build -W (Documentation/, $(ls Documentation/*/*.rst | wc -l) pages)" \
	"$out/sphinx.log"

# What the pages must cover, taken from the code.
driver_html=$out/html/driver-api/ksalloc.html
user_rst=Documentation/userspace-api/ksalloc.rst
: > "$out/cover.log"
for f in $(sed -n 's/^EXPORT_SYMBOL_NS_GPL(\([a-z_]*\),.*/\1/p' module/*.c); do
	grep -q "id=\"c\.$f\"" "$driver_html" 2>/dev/null ||
		echo "$f: exported, not documented in $driver_html" >> "$out/cover.log"
done
for f in $(sed -n 's/^#define \(KSALLOC[A-Z_]*_IOC_[A-Z_]*\)[[:space:]].*/\1/p' include/uapi/linux/*.h); do
	[[ $f = *_IOC_MAGIC ]] && continue
	grep -q "\`\`$f\`\`" "$user_rst" || echo "$f: not in $user_rst" >> "$out/cover.log"
done
for m in $(sed -n 's/^#define KSALLOC[A-Z_]*_IOC_MAGIC[[:space:]]*\(0x[0-9A-Fa-f]*\).*/\1/p' include/uapi/linux/*.h); do
	grep -qi "^$m  " "$user_rst" || echo "ioctl code $m: no ioctl-number.rst line in $user_rst" >> "$out/cover.log"
done
for p in $(sed -n 's/^module_param[a-z_]*(\([a-z_]*\),.*/\1/p' module/*.c); do
	grep -q "\`\`$p\`\`" "$user_rst" || echo "module parameter $p: not in $user_rst" >> "$out/cover.log"
done
gate "docs cover every export, ioctl and module parameter" "$out/cover.log"

[ "$failed" = 1 ] || echo "check-docs: HTML in $out/html/index.html"
exit $failed
