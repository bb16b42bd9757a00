#!/bin/sh
# Policies under attack (issue 11): each way a hostile program might get
# around `dune-run --deny=mkdir` is tried, and the directory it then makes
# must not exist afterwards; without a policy the same run must make it (so
# the way does reach mkdir).  Then the allow-list, the rule checks and a
# seccomp profile under which the real programs of t-programs run unchanged.
# POSIX sh: check-vm runs it too.  Installed as build/tests/t-policy.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dune_run=$here/../dune-run
hostile=$here/hostile
[ -x "$dune_run" ] || { echo "dune-run is not built next to the tests"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dune-policy.XXXXXX")
trap 'rm -rf "$work"' EXIT
d=$work/made
. "$here/check.sh"
# run [dune-run options] -- hostile arguments: status in $rc, output in $work/out
run() {
	opts=
	while [ "$1" != -- ]; do opts="$opts $1"; shift; done
	shift
	rm -rf "$d"
	# shellcheck disable=SC2086 # one option per word
	"$dune_run" $opts "$hostile" "$@" "$d" >"$work/out" 2>&1 </dev/null
	rc=$?
}
# denied WHAT MODE...: the policy holds, and the mode does reach mkdir without one
denied() {
	what=$1
	shift
	run --deny=mkdir -- "$@"
	check "$what: the denied mkdir never happened" [ ! -e "$d" ]
	cp "$work/out" "$work/policy.out"
	policy_rc=$rc
	# (the default mode: with --mode=kmod a failed entry stops the program)
	run --mode=auto -- "$@"
	check "  ... which it makes without a policy" [ -d "$d" ]
	cp "$work/policy.out" "$work/out"
	rc=$policy_rc
}

denied "plain mkdir" mkdir
check "  ... refused with EPERM, inside" grep -q "mkdir=-1 errno=1 inside=1" "$work/out"
denied "the escape operation" escape
check "  ... is refused" grep -q "escape=-1" "$work/out"
denied "out to ports 0x21-0x23" ports
denied "exec without LD_PRELOAD" exec-clean mkdir
check "  ... refused, inside all the same" grep -q "mkdir=-1 errno=1 inside=1" "$work/out"
for how in nokvm nofile as; do
	denied "exec where dune cannot enter ($how)" exec-$how
	check "  ... stops with 125 and says why" sh -c "[ $rc = 125 ] &&
		grep -q 'cannot enter dune, so the policy cannot hold' $work/out"
done
denied "a fork child with the fd table full" fork-full
denied "a static program started with execveat" execveat "$here/hostile-static"
denied "io_uring's mkdirat" uring
check "  ... io_uring is refused" grep -q "mkdirat=-1$" "$work/out"
rm -rf "$work/pre"
HOSTILE_PREINIT=$work/pre "$dune_run" --deny=mkdir "$hostile" mkdir "$d" >/dev/null 2>&1 </dev/null
check ".preinit_array code (native, before dune's constructor): refused" [ ! -e "$work/pre" ]
HOSTILE_PREINIT=$work/pre "$dune_run" "$hostile" mkdir "$d" >/dev/null 2>&1 </dev/null
check "  ... which it makes without a policy" [ -d "$work/pre" ]
# A rule on a call dune makes natively itself binds the program's calls all
# the same: every program starts in dune-exec-static, inside, under a policy.
# written DESCRIPTION [VAR=VALUE] -- hostile arguments: the file stays empty
# under --deny=write, and the same run writes it without a policy
written() {
	what=$1
	shift
	vars=
	while [ "$1" != -- ]; do vars="$vars $1"; shift; done
	shift
	for opts in --deny=write --mode=auto; do
		rm -f "$work/w"
		# shellcheck disable=SC2086 # one assignment per word
		env $vars "$dune_run" $opts "$hostile" "$@" "$work/w" >/dev/null 2>&1 </dev/null
		if [ "$opts" = --deny=write ]; then
			check "$what: the denied write never happened" [ ! -s "$work/w" ]
		else
			check "  ... which it makes without a policy" grep -q written "$work/w"
		fi
	done
}
written "write(2), a call dune makes natively" -- write
written "write(2) from an exec without LD_PRELOAD" -- exec-clean write
written "write(2) from .preinit_array code" HOSTILE_PREINIT_WRITE="$work/w" -- mkdir
run --deny=mkdir -- open-mem
check "/proc/PID/mem does not open for writing (EACCES), the parent's neither" \
	grep -q "open-mem: self=13 symlink=13 parent=13" "$work/out"
run -- open-mem
check "  ... which it does without a policy" grep -q "open-mem: self=0 symlink=0 parent=0" "$work/out"
run --deny=mkdir -- exec-clean i386
check "the i386 ABI (int \$0x80, natively): killed" sh -c "[ $rc = 159 ] && [ ! -e $d ]"
run --deny=mkdir -- exec-clean x32
check "the x32 ABI (natively): killed" sh -c "[ $rc = 159 ] && [ ! -e $d ]"
DUNE_KVM_DEVICE=/nonexistent "$dune_run" --deny=write echo hi >"$work/out" 2>"$work/err" </dev/null
rc=$?
check "DUNE_KVM_DEVICE=/nonexistent dune-run --deny=write echo hi: nothing printed" \
	sh -c "[ $rc = 125 ] && [ ! -s $work/out ]"
check "  ... and one line says why" sh -c "[ \$(wc -l <$work/err) = 1 ]"

# dune's memory edited through /proc/self/mem or process_vm_writev: a hole
# for the program (lib/reach.c), so neither the kernel's rules nor the ones
# the host loop alone enforces (DUNE_DENY) fall
for how in mem vm; do
	run --deny=mkdir -- edit-$how
	check "edit-$how: dune's deny table and policy flag cannot be edited, mkdir refused" \
		sh -c "grep -q 'area not found, 0 of 2' $work/out && [ ! -e $d ]"
	rm -rf "$d"
	DUNE_DENY="mkdir" "$dune_run" "$hostile" edit-$how "$d" >"$work/out" 2>&1 </dev/null
	check "  ... nor under a rule the host loop alone enforces (DUNE_DENY)" \
		sh -c "grep -q 'area not found, 0 of 2' $work/out && [ ! -e $d ]"
	rm -rf "$d"
done

# the allow-list (with what the dynamic loader and the C library's start
# need, which they make inside dune, as under any seccomp filter)
base=execve,brk,mmap,munmap,mprotect,read,write,openat,close,newfstatat,fstat,exit_group,pread64
base=$base,arch_prctl,set_tid_address,set_robust_list,rseq,prlimit64,getrandom
run --allow=$base -- mkdir
check "--allow without mkdir refuses it with EPERM" \
	sh -c "[ ! -e $d ] && grep -q 'mkdir=-1 errno=1 ' $work/out"
run --allow=$base --default=EACCES -- mkdir
check "  ... or with --default's errno" grep -q "mkdir=-1 errno=13 " "$work/out"
run --allow=$base --default=kill -- mkdir
check "  ... or kills" sh -c "[ $rc = 159 ] && [ ! -e $d ]"
run --allow=$base,mkdir -- mkdir
check "  ... and lets mkdir run when named" [ -d "$d" ]
run --allow=$base,mkdir -- uring
check "  ... io_uring stays refused unless named" sh -c "[ ! -e $d ] && grep -q 'mkdirat=-1$' $work/out"
run --allow=$base,io_uring_setup,io_uring_enter -- uring
check "  ... and does mkdir once named" [ -d "$d" ]

# another process writing this one's memory could change its dune's state
run --deny=mkdir -- poke
check "ptrace and process_vm_writev are refused unless an allow-list names them" \
	sh -c "grep -q 'poke: vm_writev=1 ptrace=1' $work/out && grep -q 'poke: target=1' $work/out"
run -- poke
check "  ... which write the parent without a policy" \
	sh -c "grep -q 'poke: vm_writev=0 ptrace=0' $work/out && grep -q 'poke: target=3' $work/out"
# (a tracer, allowed, tries the loader's code)
run --allow=$base,ptrace,process_vm_writev,clone,wait4,getpid,getppid,rt_sigaction,\
rt_sigprocmask,exit -- edit-loader
check "dune-exec-static's image (the host loop's code, libdune's data) is out of reach" \
	grep -q "edit-loader: data found vm_writev=14 mprotect=12 load=fault" "$work/out"
check "  ... and its code is sealed, even for a tracer" \
	grep -q "edit-loader: code found poke=5" "$work/out"

# rules the kernel cannot enforce, and bad values, stop dune-run before the program
for bad in --allow=nosuchcall --default=sometimes --deny=mkdir=0 --deny=mkdir=4096; do
	"$dune_run" "$bad" "$hostile" mkdir "$d" >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	check "$bad is refused with 125 and one line" \
		sh -c "[ $rc = 125 ] && [ ! -s $work/out ] && [ \$(wc -l <$work/err) = 1 ]"
done

# calls dune performs itself (clone, the signal calls...): it asks the filter first
"$dune_run" "$here/sysargs" clone:17 rt_sigaction:10:0:0:8 >"$work/out" 2>&1 </dev/null
check "clone and rt_sigaction without a policy: a child, and a handler set" \
	sh -c "[ \$(grep -c '^clone:17=' $work/out) = 2 ] && grep -qx 'rt_sigaction:10:0:0:8=0' $work/out"
"$dune_run" --deny=clone=EACCES,rt_sigaction "$here/sysargs" clone:17 rt_sigaction:10:0:0:8 \
	>"$work/out" 2>&1 </dev/null
check "  ... --deny=clone,rt_sigaction: no child, no handler (EACCES, EPERM)" \
	sh -c "[ \$(grep -c '^clone:17=' $work/out) = 1 ] && grep -qx 'clone:17=-13' $work/out &&
	grep -qx 'rt_sigaction:10:0:0:8=-1' $work/out"
"$dune_run" --deny=clone=EACCES,rt_sigaction "$here/sysargs" enter clone:17 rt_sigaction:10:0:0:8 \
	>"$work/out" 2>&1 </dev/null
check "  ... the same in a nested dune (the outer one judges its calls)" \
	sh -c "grep -qx 'enter=0' $work/out && [ \$(grep -c '^clone:17=' $work/out) = 1 ] &&
	grep -qx 'clone:17=-13' $work/out && grep -qx 'rt_sigaction:10:0:0:8=-1' $work/out"
"$dune_run" --allow=execve,brk,mmap,munmap,mprotect,read,write,openat,close,newfstatat,fstat,\
exit_group,pread64,arch_prctl,set_tid_address,set_robust_list,rseq,prlimit64,getrandom,\
rt_sigaction,wait4 "$here/sysargs" clone:17 rt_sigaction:10:0:0:8 >"$work/out" 2>&1 </dev/null
check "  ... an allow-list without clone: no child" \
	sh -c "grep -qx 'clone:17=-1' $work/out && grep -qx 'rt_sigaction:10:0:0:8=0' $work/out"
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":
"SCMP_ACT_ERRNO","errnoRet":18,"args":[{"index":0,"value":131072,"valueTwo":131072,
"op":"SCMP_CMP_MASKED_EQ"}]}]}\n' >"$work/clone.json"
"$dune_run" --seccomp-profile="$work/clone.json" "$here/sysargs" clone:0x20011 clone:17 \
	>"$work/out" 2>&1 </dev/null
check "  ... a rule with conditions on clone: CLONE_NEWNS refused (EXDEV), fork-like clone not" \
	sh -c "grep -qx 'clone:0x20011=-18' $work/out && [ \$(grep -c '^clone:17=' $work/out) = 2 ]"

# a seccomp profile (OCI/Docker JSON)
profile=$here/seccomp-profile.json
run --seccomp-profile="$profile" -- mkdir
check "--seccomp-profile allows what it names" [ -d "$d" ]
run --seccomp-profile="$profile" -- uring
check "  ... and refuses the rest (io_uring)" sh -c "[ ! -e $d ] && grep -q 'mkdirat=-1$' $work/out"
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],
"action":"SCMP_ACT_ERRNO","errnoRet":13}]}\n' >"$work/deny.json"
run --seccomp-profile="$work/deny.json" -- mkdir
check "  ... a deny profile with errnoRet" sh -c "[ ! -e $d ] && grep -q 'errno=13 ' $work/out"
# a rule with conditions: mkdir(DIR, 0755) (hostile's) refused, other modes not
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":18,
 "args":[{"index":1,"value":511,"valueTwo":493,"op":"SCMP_CMP_MASKED_EQ"}]},
{"names":["mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":18,
 "args":[{"index":2,"value":511,"valueTwo":493,"op":"SCMP_CMP_MASKED_EQ"}]}]}\n' \
	>"$work/args.json"
run --seccomp-profile="$work/args.json" -- mkdir
check "  ... conditions on the arguments (mkdir's mode 0755: EXDEV)" \
	sh -c "[ ! -e $d ] && grep -q 'errno=18 ' $work/out"
"$dune_run" --seccomp-profile="$work/args.json" mkdir -m 0700 "$d" </dev/null
check "  ... and another mode passes" [ -d "$d" ]
rm -rf "$d"
sed 's/"index":2/"index":6/' "$work/args.json" >"$work/bad-args.json"
printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],"action":
"SCMP_ACT_ERRNO","args":[{"index":5,"value":1,"op":"SCMP_CMP_EQ"}]}]}\n' >"$work/clone5.json"
for bad in bad-args.json clone5.json nonexistent.json; do
	"$dune_run" --seccomp-profile="$work/$bad" "$hostile" mkdir "$d" >"$work/out" \
		2>"$work/err" </dev/null
	rc=$?
	check "  ... $bad is refused with one line" \
		sh -c "[ $rc = 125 ] && [ ! -e $d ] && [ \$(wc -l <$work/err) = 1 ]"
done

# The containers tools' default profile (the format of Docker's, with its
# includes, excludes and conditions): personality() takes only the values it
# names, and without CAP_AUDIT_WRITE socket() refuses the audit protocol.
containers=$here/containers-seccomp.json
if [ -f "$containers" ]; then
	"$dune_run" --seccomp-profile="$containers" "$here/sysargs" personality:0xffffffff \
		personality:0x40000 personality:0x20008 >"$work/out" 2>&1 </dev/null
	check "the containers profile: personality(ADDR_NO_RANDOMIZE) refused (ENOSYS)" \
		grep -qx 'personality:0x40000=-38' "$work/out"
	check "  ... the values it names pass" sh -c "grep -qx 'personality:0xffffffff=0' $work/out &&
		grep -qx 'personality:0x20008=0' $work/out"
	"$here/sysargs" personality:0x40000 >"$work/out" 2>&1
	check "  ... which passes natively without it" grep -qx 'personality:0x40000=0' "$work/out"
	if setpriv --bounding-set=-audit_write true 2>/dev/null; then
		setpriv --bounding-set=-audit_write "$dune_run" --seccomp-profile="$containers" \
			"$here/sysargs" socket:16:3:9 socket:16:3:0 >"$work/out" 2>&1 </dev/null
		check "  ... without CAP_AUDIT_WRITE: no audit netlink socket (EINVAL), others" \
			sh -c "grep -qx 'socket:16:3:9=-22' $work/out &&
			grep -q '^socket:16:3:0=[0-9]' $work/out"
		"$dune_run" --seccomp-profile="$containers" "$here/sysargs" socket:16:3:9 \
			>"$work/out" 2>&1 </dev/null
		check "  ... with it, the audit socket too" grep -q '^socket:16:3:9=[0-9]' "$work/out"
	else
		echo "# skip: no setpriv --bounding-set (util-linux) to drop CAP_AUDIT_WRITE"
	fi
else
	echo "# skip: no containers-seccomp.json (golang-github-containers-common not installed)"
fi
if [ -x "$here/t-programs" ] && command -v python3 >/dev/null; then
	for p in "$profile" "$containers"; do
		[ -f "$p" ] || continue
		DUNE_RUN_OPTS="--seccomp-profile=$p" "$here/t-programs" >"$work/programs" 2>&1
		check "t-programs' real programs run unchanged under $(basename "$p")" [ $? = 0 ]
		sed 's/^/#   /' "$work/programs" | tail -n 1
	done
fi
[ $fail -eq 0 ]
