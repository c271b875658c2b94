#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# check-core.sh CORE.a KERNEL.a CORE_SRC...
#
# The core library (every user/lib/*.c not in the Makefile's KERNEL_SRCS)
# links, runs and is fuzzed without libbpf (docs/design-notes.md,
# "Layers").  Run by the build after both archives are made; fails, naming
# the file and what it uses, when a core file
#   - includes a libbpf header, <linux/bpf.h> or a skeleton, or
#   - calls libbpf or a function of the kernel archive,
# and finally links the whole core archive without libbpf as the proof.
set -u
export LC_ALL=C
core=$1 kernel=$2
shift 2
cc=${CC:-cc}
fail=0
hint="add the file to KERNEL_SRCS in the Makefile, or move the kernel-facing part into a kernel-side file (as ports_maps.c, responder_maps.c)"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
for f in "$@"; do
	grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]((bpf/)|(linux/bpf\.h)|([^>"]*\.skel\.h))' "$f" |
		sed "s|^\([0-9]*\):#[[:space:]]*include *\(.*\)|$f:\1: the core library includes \2: $hint|"
done > "$tmp/includes"
if [ -s "$tmp/includes" ]; then
	cat "$tmp/includes" >&2
	fail=1
fi

nm -g --defined-only "$core" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/core"
nm -g --defined-only "$kernel" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/kernel"
# member: symbol, for every symbol a core object needs from elsewhere
nm -A --undefined-only "$core" | sed -n 's|^[^:]*:\([^:]*\.o\): *U \(.*\)$|\1 \2|p' |
	sort -u > "$tmp/needs"
# symbol member, of the symbols the core defines nowhere
sort -k2,2 "$tmp/needs" | awk '{ print $2, $1 }' | join -v1 - "$tmp/core" > "$tmp/outside"
join "$tmp/outside" "$tmp/kernel" | while read -r sym obj; do
	echo "user/lib/${obj%.o}.c: calls $sym of the kernel archive from the core library: $hint"
done > "$tmp/bad"
grep -E '^(bpf|libbpf|btf|ring_buffer|perf_buffer|user_ring_buffer)_' "$tmp/outside" |
	while read -r sym obj; do
		echo "user/lib/${obj%.o}.c: calls libbpf's $sym from the core library: $hint"
	done >> "$tmp/bad"
if [ -s "$tmp/bad" ]; then
	sort -u "$tmp/bad" >&2
	fail=1
fi

# The proof: every object of the core archive links without libbpf.
echo 'int main(void) { return 0; }' > "$tmp/main.c"
if ! $cc -o "$tmp/core-only" "$tmp/main.c" -Wl,--whole-archive "$core" -Wl,--no-whole-archive \
		-lmaxminddb -lsqlite3 -lcurl -ljansson -lpthread 2> "$tmp/ld"; then
	sed 's/^/  /' "$tmp/ld" | head -20 >&2
	echo "$core does not link without libbpf: $hint" >&2
	fail=1
fi
if [ "$fail" != 0 ]; then
	echo "check-core: the core library must not need libbpf (docs/design-notes.md, Layers)" >&2
	exit 1
fi
exit 0
