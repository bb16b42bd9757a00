#!/bin/sh
# dune-run's own behaviour: exit statuses (as env(1)), --trace, --stats-json,
# --deny, --policy, static executables (also exec'd from inside).  Installed as build/tests/t-dune-run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dune_run=$here/../dune-run
[ -x "$dune_run" ] || { echo "dune-run is not built next to the tests"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dune-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/programs/check.sh
. "$here/check.sh"
status() { "$dune_run" "$@" >"$work/out" 2>"$work/err" </dev/null; echo $?; }

check "exit status passes through" [ "$(status sh -c 'exit 42')" = 42 ]
check "a killing signal passes through" [ "$(status sh -c 'kill -TERM $$')" = 143 ]
check "not found: 127" [ "$(status /nonexistent/program)" = 127 ]
echo data >"$work/plain"	# (not /etc/hostname: check-vm's guest has none)
check "cannot execute: 126" [ "$(status "$work/plain")" = 126 ]
check "bad option: 125" [ "$(status --no-such-option true)" = 125 ]
check "one error line, then where to read more" [ "$(wc -l <"$work/err")" -le 2 ]
check "--help" [ "$(status --help)" = 0 ]
check "inside: the program sees dune" [ "$(status "$here/getppid-errno")" = 0 ]
check "  ... and dune_is_inside() = 1" grep -q "inside=1" "$work/out"

"$dune_run" -t"$work/trace" sh -c "cat $work/plain >/dev/null" </dev/null
check "--trace logs syscalls with decoded paths" grep -q "openat(.*\"$work/plain\"" "$work/trace"
check "--trace logs errors by name" sh -c "$dune_run -t$work/trace2 cat /nonexistent 2>/dev/null;
	grep -q 'ENOENT' $work/trace2"
"$dune_run" --stats-json="$work/stats.json" sh -c 'true' </dev/null
check "--stats-json: one object per process" grep -q '"syscalls":{' "$work/stats.json"
if command -v python3 >/dev/null; then
	check "  ... valid JSON" python3 -c "import json,sys
[json.loads(l) for l in open(sys.argv[1])]" "$work/stats.json"
fi
"$dune_run" --deny=getppid "$here/getppid-errno" >"$work/out" </dev/null
check "--deny refuses with EPERM" grep -q "getppid=-1 errno=1 " "$work/out"
printf '# no getppid\ndeny getppid EACCES\n' >"$work/policy"
"$dune_run" --policy="$work/policy" "$here/getppid-errno" >"$work/out" </dev/null
check "--policy with an errno name" grep -q "getppid=-1 errno=13 " "$work/out"
check "deny=kill ends with SIGSYS" [ "$(status --deny=getppid=kill "$here/getppid-errno")" = 159 ]
for bad in getppid=65536 getppid=4096 getppid= getppid=k getppid=-1 getppid=EPERMX; do
	check "--deny=$bad is refused, the program does not run" \
		[ "$(status --deny="$bad" sh -c 'echo ran')" = 125 ] && [ ! -s "$work/out" ]
	check "  ... with one clear line" sh -c "[ \$(wc -l <$work/err) -eq 1 ] &&
		grep -q 'must be an errno' $work/err"
done
check "--deny=getppid=4095 is an errno" [ "$(status --deny=getppid=4095 "$here/getppid-errno")" = 0 ]
check "  ... refused with it" grep -q "getppid=-1 errno=4095 " "$work/out"
"$dune_run" --deny=getppid "$here/try-escape" >"$work/out" </dev/null
check "a policy refuses the escape operation" grep -q "escape=-1 inside=1 getppid=-1 errno=1$" \
	"$work/out"
"$dune_run" "$here/try-escape" >"$work/out" </dev/null
check "  ... which works without one" grep -q "escape=0 inside=0 getppid=1 errno=0$" "$work/out"
check "a policy that cannot hold stops the program" \
	[ "$(DUNE_KVM_DEVICE=/nonexistent status --deny=mkdir sh -c 'echo ran')" = 125 ]
check "  ... before it runs" [ ! -s "$work/out" ]
# (a dynamic program: a static one has only dune-exec-static, which needs dune;
# the default mode: with --mode=kmod a failed entry stops the program)
check "without a policy it runs natively" \
	[ "$(DUNE_KVM_DEVICE=/nonexistent status --mode=auto "$here/getppid-errno")" = 0 ]

check "--mode=kmod without the module stops the program" \
	[ "$(DUNE_KMOD_DEVICE=/nonexistent status --mode=kmod sh -c 'echo ran')" = 125 ]
check "  ... with one line naming the module" sh -c "[ \$(wc -l <$work/err) -eq 1 ] &&
	grep -q 'kernel module' $work/err" && [ ! -s "$work/out" ]
check "--mode=user runs inside" [ "$(status --mode=user "$here/getppid-errno")" = 0 ]
check "  ... and -s says which path served the syscalls" \
	sh -c "$dune_run --mode=user -s true 2>&1 | grep -q 'in user space, 0 in the kernel'"
check "--mode=fast is refused" [ "$(status --mode=fast true)" = 125 ]

# static executables: loaded by dune-exec-static, inside dune, exec'd ones too
static=$here/static-inside
check "a static program is not inside natively" sh -c "$static | grep -q inside=0"
check "a static program runs inside, status passes" [ "$(status "$static" a)" = 3 ]
check "  ... its thread and signal handler too, argv intact" \
	grep -q "inside=1 thread=1 signal=1 argc=2 argv0=$static" "$work/out"
check "a static PIE program runs inside" [ "$(status "$here/static-pie-inside")" = 3 ]
check "  ... inside" grep -q "inside=1 thread=1 signal=1 argc=1 " "$work/out"
check "a static program exec'd by a shell inside" \
	[ "$(status sh -c "$static x; echo status=\$?")" = 0 ]
check "  ... runs inside" grep -q "inside=1 thread=1 signal=1 argc=2 argv0=$static" "$work/out"
check "  ... and its status reaches the shell" grep -q "status=3" "$work/out"
status "$here/static-pie-inside" exec "$static" y >/dev/null
check "a static program execs a static program, inside" \
	[ "$(grep -c "inside=1 thread=1 signal=1" "$work/out")" = 2 ]
status "$static" exec /proc/self/exe again >/dev/null
check "a static program execs /proc/self/exe: itself again, inside" \
	[ "$(grep -c "inside=1 thread=1 signal=1 argc=2 argv0=/proc/self/exe" "$work/out")" = 1 ]
if command -v busybox >/dev/null && ! ldd "$(command -v busybox)" >/dev/null 2>&1; then
	check "static busybox runs inside" [ "$(status -s busybox sh -c 'echo hi; exit 5')" = 5 ]
	check "  ... with the right output" [ "$(cat "$work/out")" = hi ]
	check "  ... and its syscalls go through dune" grep -q "exit_group" "$work/err"
	printf 'a\nb\n' >"$work/lines"
	check "static busybox runs its applets (an execve of /proc/self/exe)" \
		[ "$(status busybox sh -c "busybox wc -l <$work/lines")" = 0 ]
	check "  ... with the right output" [ "$(cat "$work/out")" = 2 ]
fi
[ $fail -eq 0 ]
