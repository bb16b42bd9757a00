#!/bin/sh
# `make check`: the suite on this machine, then each port's check-cross (its
# unit tests under qemu-user, its guest code bare-metal under qemu-system),
# ending with one "N passed, N failed, N skipped" line for all of them.  A
# port whose cross toolchain is not installed is one skipped test, named with
# what to install.  Usage: check-all.sh BUILD_DIR [ISA...]
set -u
build=${1:?usage: check-all.sh BUILD_DIR [ISA...]}
shift
log=${TMPDIR:-/tmp}/dune-check.$$.log
pass=0 fail=0 skip=0

# Add the count lines of one run's output to the totals.
count() {
	eval "$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/pass=$((pass + \1)) fail=$((fail + \2)) skip=$((skip + \3))/p' "$log")"
}

# Run a suite, show its output and count it; a run that fails with no
# failed test counted (a build error) counts as one failure.
suite() {
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	before=$fail
	count
	if [ $rc -ne 0 ] && [ $fail -eq "$before" ]; then
		fail=$((fail + 1))
		echo "not ok - $* (exit status $rc)"
	fi
}

# What a port needs to build and run its checks, or nothing if it has it.
missing() {
	case $1 in
	mips64)		tools="mips64el-linux-gnuabi64-gcc qemu-mips64el-static qemu-system-mips64el" ;;
	loongarch64)	tools="clang-19 ld.lld-19 llvm-ar-19 qemu-system-loongarch64" ;;
	*)		tools= ;;
	esac
	for t in $tools; do
		command -v "$t" >/dev/null 2>&1 || printf '%s ' "$t"
	done
}

suite tests/run-tests.sh "$build"
for isa in "$@"; do
	echo "# port $isa: make ARCH=$isa check-cross"
	need=$(missing "$isa")
	if [ -n "$need" ]; then
		skip=$((skip + 1))
		echo "ok - $isa # SKIP not installed: ${need}(tests/cross/packages.txt)"
		continue
	fi
	suite make --no-print-directory ARCH="$isa" -j2 check-cross
done
rm -f "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
