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

# The processes under $1 (itself included), one pid per line.
tree() {
	for d in /proc/[0-9]*; do
		read -r pid _ _ ppid _ <"$d/stat" 2>/dev/null && echo "$pid $ppid"
	done | awk -v root="$1" '{ parent[$1] = $2 }
		END { for (p in parent) for (q = p; q != ""; q = parent[q])
			if (q == root) { print p; break } }'
}

# What each thread of the hung test $1 waits in; then kill it all.
dump_and_kill() {
	pids=$(tree "$1")
	for p in $pids; do
		echo "hung: pid $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		for task in /proc/"$p"/task/*; do
			echo "  tid ${task##*/} $(sed -n 's/^State:[[:space:]]*//p' "$task/status" 2>/dev/null)" \
				"wchan $(cat "$task/wchan" 2>/dev/null) syscall $(cat "$task/syscall" 2>/dev/null)"
			sed 's/^/    /' "$task/stack" 2>/dev/null
		done
	done
	# shellcheck disable=SC2086 # a list of pids
	kill -KILL $pids 2>/dev/null
}

# Waits up to $limit seconds for the test $1 to end, or dumps and kills it.
# Ends quietly at SIGTERM (the test ended first).
watch() {
	i=0 nap=
	trap 'kill $nap 2>/dev/null; exit 0' TERM
	while kill -0 "$1" 2>/dev/null; do
		if [ $i -ge "$limit" ]; then
			dump_and_kill "$1" >"$log.hung" 2>&1
			return
		fi
		sleep 1 >/dev/null 2>&1 &
		nap=$!
		wait $nap
		i=$((i + 1))
	done
}

if [ $# -eq 0 ]; then
	set -- $(cd "$dir/tests" && ls t-* | sort)
fi
echo "1..$#"
n=0 pass=0 fail=0 skip=0
for t in "$@"; do
	n=$((n + 1))
	t0=$(date +%s)
	rm -f "$log.hung"
	# shellcheck disable=SC2086 # the runner is a command and its arguments
	( cd "$dir/tests" && exec ${DUNE_TEST_RUNNER:-} "./$t" ) >"$log" 2>&1 </dev/null &
	pid=$!
	watch "$pid" &
	wd=$!
	wait "$pid"
	rc=$?
	kill "$wd" 2>/dev/null
	wait "$wd"
	secs=$(($(date +%s) - t0))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $n - $t"
		echo "# took ${secs}s"
		grep '^# ' "$log"
		# dune giving up on a VM is never part of a test's plan: show it
		grep 'continuing natively' "$log" | sed 's/^/# unexpected: /' | head -n 5
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
		echo "ok $n - $t # SKIP $(tail -n 1 "$log")"
	else
		fail=$((fail + 1))
		why="exit status $rc"
		[ -e "$log.hung" ] && why="timed out after ${limit}s"
		echo "not ok $n - $t ($why, ${secs}s)"
		sed 's/^/#   /' "$log" | tail -n 40
		[ -e "$log.hung" ] && sed 's/^/#   /' "$log.hung"
	fi
done
rm -f "$log" "$log.hung"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
