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
# what udev would add: dune-run -s writes to /dev/stderr, bash's process
# substitution (run-ltp.sh) opens /dev/fd/N, LTP's tests use /dev/shm
for i in 0:stdin 1:stdout 2:stderr; do ln -sf "/proc/self/fd/${i%%:*}" "/dev/${i#*:}"; done
ln -sf /proc/self/fd /dev/fd
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
# the loopback interface, which LTP's socket tests (and t-programs) bind to
ip link set lo up 2>/dev/null
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

# File $2 to the host, into its directory $1 (check-vm.sh's guest_files).
send_file() {
	[ -f "$2" ] && sed "s|^|DUNE-VM-FILE $1/${2##*/}: |" "$2"
}

# The suite once, DUNE_MODE=$1 if given; its status in /tmp/suite.rc and
# its count line in /tmp/suite.counts.
suite() {
	{
		DUNE_MODE=$1 /dune/run-tests.sh "$DUNE_BUILD" $DUNE_TESTS
		echo $? >/tmp/suite.rc
	} </dev/null 2>&1 | tee -a /tmp/suite.log
	tail -n 1 /tmp/suite.log >/tmp/suite.counts
}

if [ -z "$DUNE_KMOD" ]; then
	suite ""
	result="$(cat /tmp/suite.rc 2>/dev/null || echo 255) $(cat /tmp/suite.counts)"
else
	# dune.ko was loaded with the others: both paths, then its removal.
	[ -c /dev/dune ] || die "no /dev/dune after loading dune.ko"
	rc=0 pass=0 fail=0 skip=0
	for mode in user kmod; do
		say "the suite with DUNE_MODE=$mode"
		suite $mode
		[ "$(cat /tmp/suite.rc 2>/dev/null)" = 0 ] || rc=1
		read -r p _ f _ s _ </tmp/suite.counts
		pass=$((pass + ${p:-0})) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
	done
	if [ -n "$DUNE_BENCH" ]; then
		# in /tmp/dune-bench, whose files go to the host on the console
		say "dune-bench $DUNE_BENCH"
		mkdir -p /tmp/dune-bench
		(cd /tmp/dune-bench && "$DUNE_BUILD/dune-bench" $DUNE_BENCH) </dev/null 2>&1 |
			tee -a /tmp/suite.log
		for f in /tmp/dune-bench/*; do
			send_file bench "$f"
		done
	fi
	if [ -n "$DUNE_LTP" ]; then
		say "LTP's syscall tests matching '$DUNE_LTP', DUNE_MODE=user and kmod"
		LTP_PREBUILT=1 LTP_SIDES="user kmod" /dune/run-ltp.sh "$DUNE_BUILD" "$DUNE_LTP" \
			</dev/null 2>&1 | tee -a /tmp/suite.log
		# why each test failed on the user path (on both, if differ.txt is empty)
		awk '$2 == "user" && $3 != "pass" { print $1 }' "$DUNE_BUILD/ltp/results" |
			while read -r name; do
				echo "$name: $(grep -m1 -E 'TFAIL|TBROK|TCONF' \
					"$DUNE_BUILD/ltp/log/$name.user" 2>/dev/null)"
			done >"$DUNE_BUILD/ltp/not-passing.txt"
		for f in results differ.txt not-passing.txt; do
			send_file ltp "$DUNE_BUILD/ltp/$f"
		done
		# run-ltp.sh's summary: "passing user: N; of them kmod: M"
		if grep -q '^passing user: \([1-9][0-9]*\); of them kmod: \1$' /tmp/suite.log; then
			say "ok - LTP: every test that passes with DUNE_MODE=user passes with kmod"
			pass=$((pass + 1))
		else
			say "not ok - LTP: tests that pass with DUNE_MODE=user only:" \
				"$(cat "$DUNE_BUILD/ltp/differ.txt" 2>/dev/null)"
			rc=1 fail=$((fail + 1))
		fi
	fi
	# every dune process has exited: the module must go now
	if rmmod dune 2>&1 | tee -a /tmp/suite.log; [ ! -d /sys/module/dune ]; then
		say "ok - rmmod dune after the suite"
		pass=$((pass + 1))
	else
		say "not ok - rmmod dune after the suite"
		rc=1 fail=$((fail + 1))
	fi
	echo "$pass passed, $fail failed, $skip skipped" | tee -a /tmp/suite.log
	result="$rc $pass passed, $fail failed, $skip skipped"
fi
: >/tmp/done
echo "DUNE-VM-RESULT: $result"

if [ "$DUNE_VM_SHELL" = after ]; then
	echo "dune-vm: shell after the suite; exit it to power off"
	setsid cttyhack sh
fi
off
