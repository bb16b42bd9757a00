#!/bin/sh
# /init (PID 1) of the `make check-vm` initramfs, busybox sh.  check-vm.sh
# writes /etc/dune-vm.conf and /etc/dune-vm-modules next to it.  Everything
# the host parses is a "DUNE-VM-<WORD>: ..." line on the serial console:
#   RESULT: <rc> <count line>   run-tests.sh finished with status rc
#   ERROR: <why>   the guest could not set up KVM (deterministic: no retry)
#   HANG: <why>    the watchdog fired; kernel stacks follow (the host retries once)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
. /etc/dune-vm.conf

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The build tree sits at its host path, which may be under /tmp: keep that
# visible (the initramfs root is in RAM and writable anyway).
[ -n "$(ls -A /tmp)" ] || mount -t tmpfs tmpfs /tmp
echo 1 >/proc/sys/kernel/sysrq
# Boot was quiet; from now on show warnings (KVM's, soft-lockup registers).
echo 5 >/proc/sys/kernel/printk

off() {
	sync
	poweroff -f
	sleep 10
}

die() {
	echo "DUNE-VM-ERROR: $*"
	off
}

now() {
	read -r up _ </proc/uptime
	echo "${up%%.*}"
}

# Where each process is stuck (user processes, and kernel threads that are
# running or in D state), blocked tasks and CPU backtraces, new kernel log
# lines; then power off.  Used when the suite hangs.
dump_and_off() {
	echo "DUNE-VM-HANG: $*"
	for d in /proc/[0-9]*; do
		st=$(sed -n 's/^State:[[:space:]]*//p' "$d/status" 2>/dev/null) || continue
		cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
		[ -n "$cmd" ] || case $st in R* | D*) ;; *) continue ;; esac
		echo "--- pid ${d#/proc/} [$(cat "$d/comm")] $st: $cmd"
		cat "$d/stack" 2>/dev/null
	done
	echo w >/proc/sysrq-trigger
	echo l >/proc/sysrq-trigger
	sleep 1
	echo "--- kernel log since the suite started"
	dmesg | tail -n +"$dmesg_lines"
	echo "DUNE-VM-HANG: $*"
	off
}

# Runs until /tmp/done exists.  Fires when setup and suite take longer than
# DUNE_SUITE_TIMEOUT seconds in all, or /tmp/suite.log stays unchanged for
# DUNE_STALL seconds (a test stuck in the kernel, which run-tests.sh's own
# per-test timeout cannot kill; or a stuck insmod).
watchdog() {
	start=$(now)
	last=$start
	size=0
	while [ ! -e /tmp/done ]; do
		printf . 2>/dev/null >/dev/ttyS1 # heartbeat for the host
		sleep 5
		t=$(now)
		s=$(wc -c </tmp/suite.log)
		if [ "$s" != "$size" ]; then
			size=$s
			last=$t
		fi
		[ $((t - start)) -lt "$DUNE_SUITE_TIMEOUT" ] ||
			dump_and_off "suite still running after ${DUNE_SUITE_TIMEOUT}s"
		[ $((t - last)) -lt "$DUNE_STALL" ] ||
			dump_and_off "no test output for ${DUNE_STALL}s"
	done
}

say() {
	echo "dune-vm: $*" | tee -a /tmp/suite.log
}

: >/tmp/suite.log
dmesg_lines=$(($(dmesg | wc -l) + 1))
watchdog &
say "kernel $(uname -r), $(nproc) CPUs, $(grep MemTotal /proc/meminfo)"
while read -r mod opts; do
	insmod "$mod" $opts || die "insmod $mod $opts failed"
done </etc/dune-vm-modules
[ -c /dev/kvm ] || die "no /dev/kvm after loading kvm-amd (no SVM in the CPU model?)"
say "kvm_amd nested=$(cat /sys/module/kvm_amd/parameters/nested)" \
	"npt=$(cat /sys/module/kvm_amd/parameters/npt)"

if [ "$DUNE_VM_SHELL" = before ]; then
	echo "dune-vm: shell before the suite; exit it to run the suite"
	setsid cttyhack sh
fi

# The suite once, or once per DUNE_MODE of DUNE_MODES ("user kmod"): then
# a "DUNE-VM-MODE: <mode> <rc> <count line>" line each, and the RESULT line
# adds them up.
suite() {
	{
		/dune/run-tests.sh "$DUNE_BUILD" $DUNE_TESTS
		echo $? >/tmp/suite.rc
	} </dev/null 2>&1 | tee -a /tmp/suite.log
	return "$(cat /tmp/suite.rc 2>/dev/null || echo 255)"
}

if [ -z "$DUNE_MODES" ]; then
	suite
	rc=$?
	counts=$(tail -n 1 /tmp/suite.log)
else
	rc=0 p=0 f=0 s=0
	for mode in $DUNE_MODES; do
		say "DUNE_MODE=$mode"
		export DUNE_MODE="$mode"
		suite
		r=$?
		c=$(tail -n 1 /tmp/suite.log)
		echo "DUNE-VM-MODE: $mode $r $c"
		[ "$r" = 0 ] || rc=$r
		set -- $c
		case "$1 $2 $3 $4 $5 $6" in
		*passed,*failed,*skipped) p=$((p + $1)) f=$((f + $3)) s=$((s + $5)) ;;
		*) rc=255 ;;
		esac
	done
	counts="$p passed, $f failed, $s skipped"
fi
: >/tmp/done
echo "DUNE-VM-RESULT: $rc $counts"

if [ "$DUNE_VM_SHELL" = after ]; then
	echo "dune-vm: shell after the suite; exit it to power off"
	setsid cttyhack sh
fi
off
