#!/usr/bin/env bash
# Conformance: the Linux Test Project's syscall tests (every entry of
# runtest/syscalls), natively and inside dune (dune-run), pass counts side by
# side, and the tests that fail only inside dune.  LTP is fetched and built in
# a scratch directory (never committed).  Slow: not part of CI.
#   Usage: run-ltp.sh [--list] BUILD_DIR [NAME-REGEX]
#   --list            print the selected tests' binaries instead (check-vm.sh)
#   NAME-REGEX        runtest names to run, matched whole (default: all),
#                     e.g. 'getrusage03|pkey01|fanotify.*'
#   LTP_SRC=DIR|URL   where to clone LTP from (default: GitHub)
#   LTP_TIMEOUT_MUL=N LTP's own timeouts are scaled by it (default 4)
#   LTP_TIMEOUT=S     per test and side, then killed (default 75 * LTP_TIMEOUT_MUL)
#                     (LTP_RUNTIME_MUL, if set, reaches the tests: it scales the
#                     runtime of runtime-bound tests such as fork13)
#   LTP_RESUME=1      keep the results already recorded (an interrupted run),
#                     run only the rest; otherwise the selected tests run again
#   LTP_PREBUILT=1    BUILD_DIR/ltp/src holds what is needed: neither fetch
#                     nor build (check-vm.sh's guest)
#   LTP_SIDES=...     "native dune" (default), or one of them (the other's
#                     results are kept); "user kmod": inside dune with the
#                     user-space path and with the kernel module's
#                     (dune-run --mode, tests/vm/check-vm.sh's DUNE_VM_LTP)
# Results: BUILD_DIR/ltp/results (name side verdict status seconds), each
# run's output in BUILD_DIR/ltp/log/NAME.SIDE.  The summary compares the
# first two sides of LTP_SIDES ("native dune" if it names one): the tests
# that pass on the first only are in BUILD_DIR/ltp/differ.txt.
set -euo pipefail
list=0
[ "${1:-}" != --list ] || { list=1; shift; }
build=$(cd "${1:?usage: run-ltp.sh [--list] BUILD_DIR [NAME-REGEX]}" && pwd)
filter=${2:-.*}
src=${LTP_SRC:-https://github.com/linux-test-project/ltp}
export LTP_TIMEOUT_MUL=${LTP_TIMEOUT_MUL:-4}
limit=${LTP_TIMEOUT:-$((75 * LTP_TIMEOUT_MUL))}
sides=${LTP_SIDES:-native dune}
read -r ref other _ <<<"$sides"
[ -n "${other:-}" ] || { ref=native other=dune; }
scratch=$build/ltp
results=$scratch/results
packages="autoconf automake m4 pkg-config bison flex libaio-dev libacl1-dev libcap-dev libnuma-dev libkeyutils-dev libssl-dev"

die() { echo "conformance: $*" >&2; exit 1; }

fetch_and_build() {
	[ "${LTP_PREBUILT:-0}" != 1 ] || return 0
	[ ! -x "$scratch/src/testcases/kernel/syscalls/getpid/getpid01" ] || return 0
	for p in $packages; do
		dpkg -s "$p" >/dev/null 2>&1 || die "missing package $p (apt-get install -y $packages)"
	done
	if [ ! -d "$scratch/src" ]; then
		git clone -q --depth 1 "$src" "$scratch/src" || die "cannot clone LTP from $src"
	fi
	echo "conformance: building LTP's syscall tests (log: $scratch/build.log)" >&2
	(cd "$scratch/src" && make autotools && ./configure && make -C lib -j2 &&
	 make -C testcases/kernel/syscalls -j2 -k) >"$scratch/build.log" 2>&1 ||
		echo "conformance: some LTP syscall tests did not build (counted as missing)" >&2
}

# The runtest/syscalls entries "name command args" whose name matches.
tests() {
	grep -v '^#' "$scratch/src/runtest/syscalls" | awk -v re="^($filter)\$" 'NF >= 2 && $1 ~ re'
}

# LTP's exit status: 0 pass, 32 TCONF (not applicable), anything else fail;
# timeout(1) gives 124 (or 137 after its SIGKILL) when the limit ran out.
verdict() {
	case $1 in
	0) echo pass ;;
	32) echo conf ;;
	124|137) [ "$2" -ge "$limit" ] && echo time || echo fail ;;
	*) echo fail ;;
	esac
}

# Run one test command on one side in a session of its own, then kill what
# is left of that session (children a killed or careless test left behind).
# It runs in its binary's directory, where LTP looks for its resource files
# (helper programs, data) when LTP is not installed.
run_one() {
	local side=$1 cmd=$2 log=$3 sid status
	local wrap=() dir

	case $side in
	dune) wrap=("$build/dune-run" -q) ;;
	user | kmod) wrap=("$build/dune-run" -q --mode="$side") ;;
	esac
	dir=$(dirname "$(command -v "${cmd%% *}")")
	set +e
	(cd "$dir" && exec setsid sh -c 'echo $$ >"$0.sid"; exec "$@"' "$log" \
		timeout -k 10 "$limit" "${wrap[@]}" sh -c "$cmd" >"$log" 2>&1 </dev/null)
	status=$?
	set -e
	sid=$(cat "$log.sid" 2>/dev/null || true)
	rm -f "$log.sid"
	[ -n "$sid" ] && pkill -KILL -s "$sid" 2>/dev/null || true
	remove_leftovers
	echo "$status"
}

# A killed test leaves its temporary directory, with its mounts and loop
# devices (they would make the next tests fail); tests that end clean it.
remove_leftovers() {
	local dir mnt dev

	for dir in "$TMPDIR"/LTP_*; do
		[ -d "$dir" ] || continue
		grep -qx "$dir" "$scratch/tmpdirs.before" 2>/dev/null && continue
		awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
			while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
		losetup -j "$dir/test_dev.img" 2>/dev/null | cut -d: -f1 |
			while read -r dev; do losetup -d "$dev" 2>/dev/null || true; done
		rm -rf "$dir" 2>/dev/null || echo "conformance: cannot remove $dir" >&2
	done
}

recorded() {
	[ -f "$results" ] && awk -v n="$1" -v s="$2" '$1 == n && $2 == s { f = 1 } END { exit !f }' "$results"
}

# The tests' commands on PATH: every directory of LTP's syscall tests.
ltp_path() {
	PATH="$PATH:$(find "$scratch/src/testcases/kernel/syscalls" -mindepth 1 -maxdepth 3 -type d |
		tr '\n' ':')"
	export PATH
}

list_binaries() {
	local name cmd
	ltp_path
	tests | while read -r name cmd; do command -v "${cmd%% *}" || true; done | sort -u
}

run_all() {
	local name cmd side status start
	mkdir -p "$scratch/log"
	touch "$results"
	if [ "${LTP_RESUME:-0}" != 1 ]; then	# forget the selected tests' old results, these sides'
		tests | awk '{ print $1 }' >"$scratch/selected"
		awk -v sides="$sides" 'BEGIN { split(sides, s); for (i in s) side[s[i]] = 1 }
			NR == FNR { sel[$1] = 1; next } !($1 in sel && $2 in side)' \
			"$scratch/selected" "$results" >"$results.new"
		mv "$results.new" "$results"
	fi
	ltp_path
	export LTPROOT="$scratch/src" TMPDIR="${TMPDIR:-/tmp}"
	ls -d "$TMPDIR"/LTP_* 2>/dev/null >"$scratch/tmpdirs.before" || true
	while read -r name cmd; do
		for side in $sides; do
			recorded "$name" "$side" && continue
			if ! command -v "${cmd%% *}" >/dev/null; then
				echo "$name $side missing - 0" >>"$results"
				continue
			fi
			start=$SECONDS
			status=$(run_one "$side" "$cmd" "$scratch/log/$name.$side")
			echo "$name $side $(verdict "$status" $((SECONDS - start))) $status" \
				"$((SECONDS - start))" >>"$results"
		done
		awk -v n="$name" '$1 == n { printf "%s %s %s (%ss)  ", $1, $2, $3, $5 } END { print "" }' \
			"$results"
	done < <(tests)
	summary
}

# Why a test failed on the compared side: its first TFAIL/TBROK line, or
# how it ended.
why() {
	local log=$scratch/log/$1.$other line

	line=$(grep -m1 -E 'TFAIL|TBROK' "$log" 2>/dev/null || true)
	case $2 in
	time) echo "timed out after ${limit}s${line:+; $line}" ;;
	conf) echo "TCONF on $other only: $(grep -m1 TCONF "$log" 2>/dev/null || true)" ;;
	*) [ $(($3)) -gt 128 ] && echo "killed by signal $(($3 - 128))${line:+; $line}" ||
		echo "${line:-exit status $3}" ;;
	esac
}

summary() {
	local name v
	tests | awk '{ print $1 }' >"$scratch/selected"
	awk 'NR == FNR { sel[$1] = 1; next } $1 in sel' "$scratch/selected" "$results" >"$scratch/selected.results"
	echo
	printf '%-8s %6s %6s %8s %6s %8s\n' "" pass fail timeout tconf missing
	for side in $ref $other; do
		awk -v s=$side '$2 == s { n[$3]++ } END {
			printf "%-8s %6d %6d %8d %6d %8d\n", s, n["pass"], n["fail"], n["time"], n["conf"], n["missing"] }' \
			"$scratch/selected.results"
	done
	awk -v r="$ref" -v o="$other" '$2 == r && $3 == "pass" { p[$1] = 1 } $2 == o { d[$1] = $3 " " $4 }
	     END { for (n in p) if (n in d) { both++; if (d[n] ~ /^pass/) ok++; else print n, d[n] >"/dev/stderr" }
		   printf "passing %s: %d; of them %s: %d\n", r, both, o, ok }' \
		"$scratch/selected.results" 2>"$scratch/differ.tmp"
	sort "$scratch/differ.tmp" | while read -r name v status; do
		echo "$name: $(why "$name" "$v" "$status")"
	done >"$scratch/differ.txt"
	rm -f "$scratch/differ.tmp"
	echo "passing $ref only: $(wc -l <"$scratch/differ.txt") (list: $scratch/differ.txt)"
}

[ -x "$build/dune-run" ] || die "build first: make"
mkdir -p "$scratch"
fetch_and_build
if [ $list = 1 ]; then
	list_binaries
else
	run_all
fi
