#!/bin/sh
# dune-bench --paths runs and prints a well-formed table, with tiny counts:
# the calls on each path (no timing is checked: ratios are for the benchmark,
# never a test), who served them (the module getpid, on the kernel path),
# one round of the real programs, the data file and the gnuplot script, and
# the PNG or the one line saying gnuplot is missing.  Skipped where
# /dev/dune is absent (inside `make check-vm-kmod` it is there).
# Installed as build/tests/t-bench-paths.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench=$here/../dune-bench
[ -x "$bench" ] || { echo "dune-bench is not built next to the tests"; exit 77; }
[ -c /dev/dune ] || { echo "no dune kernel module (/dev/dune): it is tested inside \`make check-vm-kmod\`"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-paths.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/programs/check.sh
. "$here/check.sh"

"$bench" --paths="$work" 20 2 1 >"$work/out" 2>"$work/err"
check "dune-bench --paths=DIR 20 2 1: status 0" [ $? = 0 ]
sed 's/^/#   /' "$work/out"
check "the header" grep -q '^dune-bench .* --paths: 20 calls per batch, .* 2 interleaved rounds' \
	"$work/out"
# NAME, then native, user, kernel path and kernel/user as "MEDIAN [MIN..MAX]", then N%
cell=' +[0-9.]+ \[[0-9.]+\.\.[0-9.]+\]'
for load in getpid '1-byte pipe write\+read' '4 KiB pread' 'getpriority \(declined\)'; do
	check "a row for $load" grep -Eq "^$load$cell$cell$cell$cell +[0-9.]+%$" "$work/out"
done
# the guest is x86-64 (check-vm): KVM's own exit (the share: of the timer's syscalls, if any)
check "a row for KVM's own exit (cpuid)" \
	grep -Eq "^KVM's own exit \(cpuid\)$cell$cell$cell$cell +([0-9.]+%|-)$" "$work/out"
share=$(sed -n 's/^getpid .* \([0-9.]*\)%$/\1/p' "$work/out")
check "the module served getpid on the kernel path (${share:-?}%)" \
	awk -v s="${share:-0}" 'BEGIN { exit !(s > 50) }'
check "getpriority declined by policy" grep -q '^getpriority (declined) on the kernel path, declined by the module: policy [1-9]' \
	"$work/out"
check "the getpid ratio" grep -Eq '^getpid kernel/user: [0-9.]+ \[.* [0-9.]+ of the best rounds' "$work/out"
check "KVM's own exit against getpid" \
	grep -Eq "^KVM's own exit on the kernel path / getpid on the user path: [0-9.]+ \[" "$work/out"
check "the declined-call overhead" grep -Eq '^declined syscall, .*: [-+][0-9.]+% \[' "$work/out"
check "the programs' header" grep -q '^real programs (tests/programs), ms per run; 1 ' "$work/out"
check "a row for shell-pipeline" grep -Eq "^shell-pipeline( +[0-9]+ \[[0-9]+\.\.[0-9]+\]){3}$cell( |$)" \
	"$work/out"
# whether a program behaves as natively is t-programs' to check (in the
# guest, static busybox's applets exec'd inside dune fail: README)
grep 'exit status differs' "$work/out" | sed 's/^/# note: /'
check "paths.txt is the table" sh -c "grep -v '^dune-bench: ' '$work/out' | cmp -s - '$work/paths.txt'"
check "paths.dat: 5 calls with 3 paths x 3 numbers" \
	[ "$(awk 'NF == 0 { exit } !/^#/ && NF >= 10' "$work/paths.dat" | wc -l)" = 5 ]
check "paths.gp draws paths.png from paths.dat" grep -q "paths.dat' index 0" "$work/paths.gp"
if command -v gnuplot >/dev/null; then
	check "paths.png" [ -s "$work/paths.png" ]
else
	check "without gnuplot: one line that says so" \
		[ "$(grep -c '^dune-bench: no gnuplot here (package gnuplot-nox)' "$work/out")" = 1 ]
fi
# (t-programs --list says when /usr/include/linux is missing, as in the guest)
check "progress on stderr only" sh -c "! grep -v '^dune-bench: \(calls\|programs\), round\|^no /usr/include/linux here' '$work/err'"
[ $fail -eq 0 ]
