#!/bin/sh
# Real programs under dune-run must behave exactly as natively: each case
# runs once natively and once under dune-run, in fresh copies of the same
# directory, and the outputs and exit statuses must match.
# Installed as build/tests/t-programs (run from build/tests by run-tests.sh).
# With --bench (dune-bench --programs): also syscalls per second and the
# syscalls that take the most host time inside dune, from --stats-json.
# With --list DIR (dune-bench --paths): only the directory each case starts
# from, DIR/seed, and each case's command in DIR/cases/NN-NAME.sh (or
# NN-NAME.missing holding the tool this system lacks), to run them itself.
# DUNE_RUN_OPTS: more dune-run options (t-policy: a seccomp profile).
set -u
bench=0 list=
[ "${1:-}" = --bench ] && bench=1
[ "${1:-}" = --list ] && list=${2:?usage: $0 --list DIR}
here=$(cd "$(dirname "$0")" && pwd)
dune_run=$here/../dune-run
if [ -n "$list" ]; then
	work=$list
	rm -rf "$work/seed" "$work/cases" && mkdir -p "$work/cases" || exit 1
else
	[ -x "$dune_run" ] || { echo "dune-run is not built next to the tests"; exit 77; }
	command -v python3 >/dev/null || { echo "no python3 on this system"; exit 77; }
	work=$(mktemp -d "${TMPDIR:-/tmp}/dune-programs.XXXXXX")
	trap 'rm -rf "$work"' EXIT
fi
pass=0 fail=0

# case NAME TOOL COMMAND: TOOL must exist (CI installs them all)
case_() {
	name=$1 tool=$2 cmd=$3
	if [ -n "$list" ]; then
		n=$(($(ls "$work/cases" | wc -l) + 10))
		if command -v "$tool" >/dev/null; then
			echo "$cmd" >"$work/cases/$n-$name.sh"
		else
			echo "$tool" >"$work/cases/$n-$name.missing"
		fi
		return
	fi
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL $name: $tool is not installed"
		fail=$((fail + 1))
		return
	fi
	for how in native dune; do
		rm -rf "$work/$how" && mkdir "$work/$how" && cp -r "$work/seed/." "$work/$how/"
		start=$(date +%s%N)
		if [ $how = native ]; then
			(cd "$work/$how" && sh -c "$cmd") >"$work/$how.out" 2>&1 </dev/null
		else
			rm -f "$work/stats.json"
			# shellcheck disable=SC2086 # one option per word
			(cd "$work/$how" && "$dune_run" -q ${DUNE_RUN_OPTS:-} --stats-json="$work/stats.json" \
				sh -c "$cmd") \
				>"$work/$how.out" 2>&1 </dev/null
		fi
		echo "status $?" >>"$work/$how.out"
		eval "${how}_ms=\$(( ($(date +%s%N) - start) / 1000000 ))"
	done
	if cmp -s "$work/native.out" "$work/dune.out"; then
		echo "# $name: same output and status (native ${native_ms} ms, dune ${dune_ms} ms)"
		[ $bench = 1 ] && bench_line "$name"
		pass=$((pass + 1))
	else
		echo "FAIL $name: outputs differ"
		diff "$work/native.out" "$work/dune.out" | head -20
		fail=$((fail + 1))
	fi
}

# For the benchmark: wall times, syscalls/s, where the host time went.
bench_line() {
	python3 - "$1" "$native_ms" "$dune_ms" "$work/stats.json" <<'PY'
import json, sys
name, native, dune, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
calls, ns = {}, {}
for line in open(path):
    for sc, v in json.loads(line)["syscalls"].items():
        calls[sc] = calls.get(sc, 0) + v["calls"]
        ns[sc] = ns.get(sc, 0) + v["ns"]
total = sum(calls.values())
top = sorted(calls, key=calls.get, reverse=True)[:3]
print("%-16s native %6d ms  dune %7d ms  %6.1fx  %7d syscalls  %6.0f/s  most: %s" % (
    name, native, dune, dune / max(native, 1), total, total / max(dune, 1) * 1000,
    ", ".join("%s %d%%" % (s, 100 * calls[s] // max(total, 1)) for s in top)))
PY
}

# a small C project for make, a script for bash
mkdir -p "$work/seed/proj"
for i in 1 2 3 4; do
	printf 'int f%d(int x) { return x * %d; }\n' $i $i >"$work/seed/proj/f$i.c"
done
cat >"$work/seed/proj/main.c" <<'C'
#include <stdio.h>
int f1(int), f2(int), f3(int), f4(int);
int main(void) { printf("%d\n", f1(1) + f2(2) + f3(3) + f4(4)); return 0; }
C
printf 'prog: main.o f1.o f2.o f3.o f4.o\n\tgcc -o $@ $^\n%%.o: %%.c\n\tgcc -O2 -c $<\n' \
	>"$work/seed/proj/Makefile"
cat >"$work/seed/script.bash" <<'BASH'
trap 'echo got USR1' USR1
trap 'echo exiting' EXIT
f() { echo "f $1"; }
( f subshell; echo "nested $(echo deeper)" ) | tr a-z A-Z
sleep 0.2 & pid=$!
jobs | wc -l
wait $pid; echo "waited $?"
kill -USR1 $$; echo after
echo $(( $(seq 1 100 | paste -sd+) ))
for i in 1 2 3; do echo $i; done | sort -r | head -2
{ echo to-stderr >&2; } 2>&1 | cat
BASH
mkdir -p "$work/seed/tree/sub"
seq 1 20000 >"$work/seed/tree/numbers"
if [ -n "$list" ] && [ ! -d /usr/include/linux ]; then
	echo "no /usr/include/linux here (the QEMU guest): find-wc and tar have less to do" >&2
else
	cp -r /usr/include/linux "$work/seed/tree/sub/"
fi

# (/proc's link count is the number of processes: it differs between any two runs)
case_ shell-pipeline sh 'ls -la / | grep -v " proc$" | sort | head; echo $?'
case_ ulimit-n sh 'ulimit -n 64 && ls / | sort | head -3 && exec 9>&1 && echo x | cat >&9; echo $?'
case_ find-wc find "find /usr/include -name '*.h' | wc -l"
case_ tar tar 'tar czf t.tgz tree && mkdir out && tar xzf t.tgz -C out &&
	(cd tree && find . -type f | sort | xargs cat | md5sum) &&
	(cd out/tree && find . -type f | sort | xargs cat | md5sum)'
case_ python3 python3 "python3 -c '
import json, threading, subprocess
out = []
def work(i): out.append(json.dumps({\"i\": i, \"sq\": i * i}))
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(out))
print(subprocess.run([\"sh\", \"-c\", \"echo from a child; exit 3\"], capture_output=True, text=True))
'"
case_ sqlite3 sqlite3 "sqlite3 db.sqlite 'CREATE TABLE t(a INTEGER, b TEXT);
	BEGIN;
	WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
	INSERT INTO t SELECT x, printf(\"row%d\", x) FROM c;
	COMMIT;
	SELECT count(*), sum(a), max(b) FROM t WHERE a % 7 = 0;'"
case_ make-j2 make 'make -s -j2 -C proj && ./proj/prog'
case_ bash-script bash 'bash script.bash'

[ -z "$list" ] || exit 0
echo "# $pass programs behave as natively, $fail differ"
[ $fail -eq 0 ]
