#!/bin/sh
# Run every test program build/tests/t-* and report in TAP, ending with one
# "N passed, N failed, N skipped" line.  POSIX sh only: it also runs inside
# the busybox initramfs of `make check-vm`.
#
# A test passes with status 0, is skipped with status 77 (its last output line
# says why), and fails otherwise.  Usage: run-tests.sh BUILD_DIR [NAME...]
# DUNE_TEST_RUNNER, if set, is a command each test runs under (a cross
# build's tests run under qemu-user: `make ARCH=... check-cross`).
set -u
dir=${1:?usage: run-tests.sh BUILD_DIR [NAME...]}
shift
limit=${DUNE_TEST_TIMEOUT:-300}
log=${TMPDIR:-/tmp}/dune-test.$$.log

if [ $# -eq 0 ]; then
	set -- $(cd "$dir/tests" && ls t-* | sort)
fi
echo "1..$#"
n=0 pass=0 fail=0 skip=0
for t in "$@"; do
	n=$((n + 1))
	# shellcheck disable=SC2086 # the runner is a command and its arguments
	( cd "$dir/tests" && exec timeout "$limit" ${DUNE_TEST_RUNNER:-} "./$t" ) >"$log" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $n - $t"
		grep '^# ' "$log"
		# dune giving up on a VM is never part of a test's plan: show it
		grep 'continuing natively' "$log" | sed 's/^/# unexpected: /' | head -n 5
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
		echo "ok $n - $t # SKIP $(tail -n 1 "$log")"
	else
		fail=$((fail + 1))
		[ $rc -eq 124 ] && why="timed out after ${limit}s" || why="exit status $rc"
		echo "not ok $n - $t ($why)"
		sed 's/^/#   /' "$log" | tail -n 40
	fi
done
rm -f "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
