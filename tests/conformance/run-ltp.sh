#!/usr/bin/env bash
# Conformance: the Linux Test Project's syscall tests, natively and inside
# dune (dune-run), pass counts side by side, and the tests that fail only
# inside dune.  LTP is fetched and built in a scratch directory (never
# committed).  Usage: run-ltp.sh BUILD_DIR [TEST-NAME-REGEX]
#   LTP_SRC=DIR|URL   where to clone LTP from (default: GitHub)
#   LTP_TIMEOUT=S     per test (default 60)
set -euo pipefail
build=$(cd "${1:?usage: run-ltp.sh BUILD_DIR [REGEX]}" && pwd)
filter=${2:-.}
src=${LTP_SRC:-https://github.com/linux-test-project/ltp}
limit=${LTP_TIMEOUT:-60}
scratch=$build/ltp
packages="autoconf automake m4 pkg-config bison flex libaio-dev libacl1-dev libcap-dev libnuma-dev libkeyutils-dev libssl-dev"

die() { echo "conformance: $*" >&2; exit 1; }

fetch_and_build() {
	for p in $packages; do
		dpkg -s "$p" >/dev/null 2>&1 || die "missing package $p (apt-get install -y $packages)"
	done
	if [ ! -d "$scratch/src" ]; then
		git clone -q --depth 1 "$src" "$scratch/src" || die "cannot clone LTP from $src"
	fi
	if [ ! -x "$scratch/src/testcases/kernel/syscalls/getpid/getpid01" ]; then
		(cd "$scratch/src" && make autotools >/dev/null && ./configure >/dev/null &&
		 make -C lib -j2 >/dev/null && make -C testcases/kernel/syscalls -j2 -k >/dev/null 2>&1) ||
			echo "conformance: some LTP syscall tests did not build (skipped below)" >&2
	fi
}

# The runtest/syscalls entries: "name command args"
tests() {
	grep -v '^#' "$scratch/src/runtest/syscalls" | awk 'NF >= 2' | grep -E "^($filter)" || true
}

# LTP's exit status: 0 pass, 32 TCONF (not applicable), anything else fail
verdict() {
	case $1 in
	0) echo pass ;;
	32) echo conf ;;
	*) echo fail ;;
	esac
}

run_all() {
	local bin="$scratch/src/testcases/kernel/syscalls" name cmd native dune
	local np=0 nf=0 nc=0 dp=0 df=0 dc=0
	: >"$scratch/only-in-dune.txt"
	export PATH="$PATH:$(find "$bin" -mindepth 1 -maxdepth 2 -type d | tr '\n' ':')"
	export LTPROOT="$scratch/src" TMPDIR="${TMPDIR:-/tmp}"
	while read -r name cmd; do
		command -v "${cmd%% *}" >/dev/null || continue
		native=$(verdict "$(cd /tmp && timeout "$limit" sh -c "$cmd" >/dev/null 2>&1 </dev/null; echo $?)")
		dune=$(verdict "$(cd /tmp && timeout "$limit" "$build/dune-run" -q sh -c "$cmd" >"$scratch/last.log" 2>&1 </dev/null; echo $?)")
		case $native in pass) np=$((np + 1)) ;; fail) nf=$((nf + 1)) ;; *) nc=$((nc + 1)) ;; esac
		case $dune in pass) dp=$((dp + 1)) ;; fail) df=$((df + 1)) ;; *) dc=$((dc + 1)) ;; esac
		if [ "$dune" = fail ] && [ "$native" != fail ]; then
			echo "$name: $(grep -E 'TFAIL|TBROK' "$scratch/last.log" | head -1)" >>"$scratch/only-in-dune.txt"
		fi
		printf '%-28s native %-4s dune %s\n' "$name" "$native" "$dune"
	done < <(tests)
	echo
	printf '%-10s %8s %8s %8s\n' "" pass fail tconf
	printf '%-10s %8d %8d %8d\n' native $np $nf $nc dune $dp $df $dc
	echo "failing only inside dune: $(wc -l <"$scratch/only-in-dune.txt") (list: $scratch/only-in-dune.txt)"
}

[ -x "$build/dune-run" ] || die "build first: make"
fetch_and_build
run_all
