#!/bin/sh
# dune-exec-static as the kernel's execve: under a policy every program, and
# everything it execs, starts there (it enters dune before the program's
# first instruction), so what execve does natively it must do too.  Each
# case runs natively and under `dune-run --deny=mkdir`; output and exit
# status must match.  Then, under the policy, the program really is inside
# from its start, and without dune-run the loader runs a program natively.
# POSIX sh: check-vm runs it too.  Installed as build/tests/t-loader.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dune_run=$here/../dune-run
loader=$here/../dune-exec-static
[ -x "$dune_run" ] && [ -x "$loader" ] || { echo "dune-run is not built next to the tests"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dune-loader.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$here/check.sh"
# same DESCRIPTION COMMAND: sh -c COMMAND natively and under the policy
same() {
	(cd "$work" && sh -c "$2" >"$work/native" 2>&1 </dev/null; echo "status $?" >>"$work/native")
	(cd "$work" && "$dune_run" --deny=mkdir sh -c "$2" >"$work/inside" 2>&1 </dev/null
	 echo "status $?" >>"$work/inside")
	if cmp -s "$work/native" "$work/inside"; then
		check "$1" true
	else
		check "$1: natively $(tr '\n' ' ' <"$work/native"), inside $(tr '\n' ' ' <"$work/inside")" false
	fi
}

printf '#!/bin/sh -u\necho "$0:$*:$-"\n' >"$work/script"
printf '#! %s  \necho nested "$0:$*"\n' "$work/script" >"$work/nested"
printf 'echo no interpreter line\n' >"$work/plain"
printf '#!/nonexistent/sh\n' >"$work/missing"
printf '#!/bin/echo one two  \n' >"$work/onearg"
cp "$work/script" "$work/noexec"
mkdir "$work/dir"
chmod 755 "$work/script" "$work/nested" "$work/plain" "$work/missing" "$work/onearg"
chmod 644 "$work/noexec"

same "a dynamic program" 'ls -d dir; /bin/echo "$0" x'
same "a #! script with an option" './script a "b c"'
same "a #! script whose interpreter is a #! script" './nested a'
same "the #! line's argument is one word, up to its end" './onearg x'
same "no #! line: ENOEXEC, and the shell runs it" './plain'
# (the loader finds it missing after the exec: the status is the same, the message not)
same "a missing interpreter" './missing 2>/dev/null; echo $?'
same "no execute permission: EACCES" './noexec; echo $?'
same "a directory: EACCES" './dir; echo $?'
same "a missing file: ENOENT" './nothing; echo $?'
same "exec of /proc/self/exe runs the program again" 'exec /proc/self/exe -c "echo again \$0"'
same "exec from a script's child" 'sh -c "exec ./script deep"'

# inside from the first instruction: .preinit_array code sees dune
out=$(HOSTILE_PREINIT_WRITE=$work/pre "$dune_run" --deny=mkdir "$here/hostile" mkdir "$work/d" 2>&1)
check "under a policy the program is inside dune: $out" sh -c "echo '$out' | grep -q 'inside=1'"
check "  ... and its .preinit_array code ran, inside" grep -q written "$work/pre"
out=$("$dune_run" --deny=mkdir sh -c 'exec cat /proc/self/comm')
check "  ... the process is named after the program ($out)" [ "$out" = cat ]

out=$("$dune_run" --deny=mkdir "$dune_run" --deny=rmdir sh -c 'mkdir "$1"; echo $?' sh \
	"$work/nd" 2>/dev/null)
check "dune-run under dune-run's policy: the outer policy holds ($out)" \
	sh -c "[ '$out' = 1 ] && [ ! -e '$work/nd' ]"

# without dune the loader runs a program natively (the fallback without a policy)
# (DUNE_MODE=auto: with kmod, as check-vm's second pass sets, a failed entry stops it)
out=$(DUNE_MODE=auto DUNE_KVM_DEVICE=/nonexistent DUNE_RUN_QUIET=1 "$loader" "$work/script" \
	argv0 x 2>&1)
check "the loader without dune runs the program natively ($out)" [ "$out" = "$work/script:x:u" ]

[ $fail = 0 ]
