#!/bin/bash
# Run the whole test suite (tests/run-tests.sh BUILD_DIR) inside a Debian
# kernel booted under QEMU/TCG with kvm-amd and nested SVM, so the tests meet
# hardware KVM semantics (this machine's own /dev/kvm is a different kind).
# Usage: tests/vm/check-vm.sh BUILD_DIR      (see tests/vm/README.md)
# Exit 0 only if the guest's suite reported "N passed, 0 failed" with N > 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite_timeout=${DUNE_VM_TIMEOUT:-2400}       # whole suite, guest watchdog (s)
test_timeout=${DUNE_TEST_TIMEOUT:-300}       # one test, run-tests.sh's limit (s)
stall=${DUNE_VM_STALL:-$((test_timeout + 60))} # no console output (s)
boot_limit=${DUNE_VM_BOOT_TIMEOUT:-300}      # boot to the suite's start (s)
heartbeat=${DUNE_VM_HEARTBEAT:-60}           # guest heartbeat silence (s)
mem=${DUNE_VM_MEM:-2G}
smp=${DUNE_VM_SMP:-2}
accel=${DUNE_VM_ACCEL:-tcg}
kvm_amd_opts=${DUNE_VM_KVM_AMD_OPTS:-nested=1}
shell_mode=${DUNE_VM_SHELL:-}                # "before"/"after": interactive shell
qemu_pid=

say() { echo "check-vm: $*"; }
die() {
	say "error: $*"
	exit 1
}

on_exit() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
	fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

need() {
	command -v "$1" >/dev/null ||
		die "missing '$1' (package $2); install: apt-get install -y \$(cat tests/vm/packages.txt)"
}

check_prereqs() {
	need qemu-system-x86_64 qemu-system-x86
	need busybox busybox-static
	need cpio cpio
	need modprobe kmod
	need ldd libc-bin
	! ldd "$(command -v busybox)" >/dev/null 2>&1 ||
		die "busybox is dynamically linked; install busybox-static"
}

# Newest kernel that has both /boot/vmlinuz-VER and the KVM modules for VER,
# so the image and the modules always match.
pick_kernel() {
	local v best=
	if [ -n "${DUNE_VM_KVER:-}" ]; then
		best=$DUNE_VM_KVER
	else
		for v in $(ls /lib/modules 2>/dev/null | sort -V); do
			[ -r "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/modules.dep" ] && best=$v
		done
	fi
	[ -n "$best" ] && [ -r "/boot/vmlinuz-$best" ] ||
		die "no readable /boot/vmlinuz-VER with /lib/modules/VER (package linux-image-amd64)"
	echo "$best"
}

# Copy file $1 to the same absolute path under the initramfs root $2.
copy_abs() {
	mkdir -p "$2$(dirname "$1")"
	cp -L "$1" "$2$1"
}

# kvm-amd and its dependencies in load order, decompressed (busybox insmod
# reads plain .ko only), listed in /etc/dune-vm-modules with their options.
add_modules() {
	local kver=$1 root=$2 path name dst opts
	local deps
	deps=$(modprobe -S "$kver" --show-depends kvm-amd) ||
		die "modprobe cannot resolve kvm-amd for $kver (package linux-image-amd64)"
	mkdir -p "$root/lib/modules"
	: >"$root/etc/dune-vm-modules"
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		name=$(basename "$path")
		name=${name%%.ko*}
		dst=/lib/modules/$name.ko
		case $path in
		*.ko) cp "$path" "$root$dst" ;;
		*.ko.xz) need xz xz-utils && xz -dc "$path" >"$root$dst" ;;
		*.ko.zst) need zstd zstd && zstd -qdc "$path" >"$root$dst" ;;
		*.ko.gz) gzip -dc "$path" >"$root$dst" ;;
		*) die "unknown module format: $path" ;;
		esac
		opts=
		[ "$name" = kvm-amd ] && opts=$kvm_amd_opts
		echo "$dst $opts" >>"$root/etc/dune-vm-modules"
	done <<<"$deps"
	grep -q kvm-amd "$root/etc/dune-vm-modules" || die "kvm-amd.ko not found for $kver"
}

# Busybox as /bin/busybox with every applet linked at its usual path.
add_busybox() {
	local root=$1 applet
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	cp "$(command -v busybox)" "$root/bin/busybox"
	for applet in $(busybox --list-full); do
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
}

# Every shared library the test programs load, at its host path (the
# dynamic loader too: it is what PT_INTERP names).
add_libraries() {
	local root=$1 f lib
	for f in "$build/tests"/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		ldd "$f" 2>/dev/null | grep -q 'not found' &&
			die "$f: $(ldd "$f" | grep 'not found' | head -n 1 | xargs)"
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
			[ -e "$root$lib" ] || copy_abs "$lib" "$root"
		done
	done
}

# Single-quote $2 for the guest's sh and append NAME='VALUE' to the config.
conf() {
	local q=\'
	echo "$1='${2//$q/$q\\$q$q}'" >>"$root/etc/dune-vm.conf"
}

build_initramfs() {
	local kver=$1 out=$2
	root=$vmdir/root
	rm -rf "$root"
	mkdir -p "$root"/{etc,proc,sys,dev,tmp,root,dune} "$root$build"
	add_busybox "$root"
	add_modules "$kver" "$root"
	# The build's tests at the build's absolute path, so rpaths into the
	# build tree and run-tests.sh's "BUILD_DIR/tests" both work as on the host.
	cp -a "$build/tests" "$root$build/"
	cp "$here/../run-tests.sh" "$root/dune/run-tests.sh"
	add_libraries "$root"
	cp "$here/init.sh" "$root/init"
	chmod 755 "$root/init" "$root/dune/run-tests.sh"
	: >"$root/etc/dune-vm.conf"
	conf DUNE_BUILD "$build"
	conf DUNE_TESTS "${DUNE_VM_TESTS:-}"
	conf DUNE_SUITE_TIMEOUT "$suite_timeout"
	conf DUNE_STALL "$stall"
	conf DUNE_VM_SHELL "$shell_mode"
	echo "export DUNE_TEST_TIMEOUT=$test_timeout" >>"$root/etc/dune-vm.conf"
	# Uncompressed: unpacking is faster than decompressing under TCG.
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
}

# A CPU stuck in the guest kernel panics with its stack (and QEMU exits)
# instead of wedging the guest until the host's limit.
kargs="softlockup_panic=1 watchdog_thresh=20"

# Sets the array qemu: the QEMU command line.  TCG, since this machine's
# /dev/kvm cannot run QEMU; -cpu max has SVM for kvm-amd.
set_qemu() {
	qemu=(qemu-system-x86_64 -accel "$accel" -cpu max -m "$mem" -smp "$smp"
		-nographic -no-reboot -nodefaults -serial stdio
		-kernel "/boot/vmlinuz-$1" -initrd "$2"
		-append "console=ttyS0 panic=-1 quiet rdinit=/init $kargs ${DUNE_VM_APPEND:-}")
}

# One boot: stream the console to stdout and into $log.  Kill QEMU when the
# guest does not start the suite, stops its heartbeat (the guest watchdog
# writes to a second serial port every 5 s: silence there means the guest
# kernel is wedged and no guest-side watchdog can run) or overruns.
boot() {
	local log=$1 hb=$1.heartbeat start last size now n tail_pid why=
	: >"$log"
	: >"$hb"
	"${qemu[@]}" -serial "file:$hb" </dev/null >"$log" 2>&1 &
	qemu_pid=$!
	tail -n +1 -s 0.5 -f --pid="$qemu_pid" "$log" | sed -u 's/\r$//' &
	tail_pid=$!
	start=$SECONDS
	last=$SECONDS
	size=0
	while kill -0 "$qemu_pid" 2>/dev/null; do
		sleep 1
		n=$(stat -c %s "$hb")
		now=$SECONDS
		if [ "$n" != "$size" ]; then
			size=$n
			last=$now
		fi
		if [ "$n" = 0 ] && [ $((now - start)) -ge "$boot_limit" ]; then
			why="the suite did not start within ${boot_limit}s"
		elif [ "$n" != 0 ] && [ $((now - last)) -ge "$heartbeat" ]; then
			why="no guest heartbeat for ${heartbeat}s (guest kernel stuck)"
		elif [ $((now - start)) -ge $((suite_timeout + boot_limit + 60)) ]; then
			why="guest still running after $((now - start))s"
		fi
		if [ -n "$why" ]; then
			kill "$qemu_pid" 2>/dev/null || true
			break
		fi
	done
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
	wait "$tail_pid" 2>/dev/null || true
	say "QEMU ran $((SECONDS - start))s"
	if [ -n "$why" ]; then
		say "killed QEMU: $why"
		echo "DUNE-VM-KILLED: $why" >>"$log"
		return 1
	fi
}

# Decide from the console log: prints the count line, returns 0 (pass),
# 1 (fail: do not retry) or 2 (hang or boot failure: worth one retry).
verdict() {
	local log=$1 rc counts
	rc=$(tr -d '\r' <"$log" | sed -n 's/^DUNE-VM-RESULT: \([0-9]*\).*/\1/p' | tail -n 1)
	counts=$(tr -d '\r' <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1 || true)
	if [ -n "$rc" ] && [ -n "$counts" ]; then
		say "$counts"
		[ "$rc" = 0 ] && [[ $counts =~ ^([1-9][0-9]*)\ passed,\ 0\ failed ]] && return 0
		return 1
	fi
	if grep -q '^DUNE-VM-ERROR:' "$log"; then
		say "error: guest setup failed: $(tr -d '\r' <"$log" | sed -n 's/^DUNE-VM-ERROR: //p' | tail -n 1)"
		return 1
	fi
	if grep -q '^DUNE-VM-HANG:' "$log"; then
		say "error: guest watchdog: $(tr -d '\r' <"$log" | sed -n 's/^DUNE-VM-HANG: //p' | tail -n 1)"
	elif grep -q 'Kernel panic' "$log"; then
		say "error: guest $(tr -d '\r' <"$log" | grep -o 'Kernel panic.*' | tail -n 1)"
	elif grep -q '^DUNE-VM-KILLED:' "$log"; then
		say "error: $(sed -n 's/^DUNE-VM-KILLED: //p' "$log" | tail -n 1)"
	else
		say "error: the guest exited without a result (boot failure or QEMU killed)"
	fi
	return 2
}

main() {
	[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
	[ -d "$1/tests" ] || die "$1/tests: no such directory (build first: make)"
	build=$(cd "$1" && pwd -P)
	compgen -G "$build/tests/t-*" >/dev/null || die "no test programs $build/tests/t-*"
	check_prereqs
	local kver initrd log try status
	kver=$(pick_kernel)
	vmdir=$build/vm
	mkdir -p "$vmdir"
	initrd=$vmdir/initramfs.cpio
	build_initramfs "$kver" "$initrd"
	set_qemu "$kver" "$initrd"
	say "kernel $kver, initramfs $(du -h "$initrd" | cut -f1), mem $mem, smp $smp, kvm-amd $kvm_amd_opts"

	if [ -n "$shell_mode" ]; then
		# Interactive debugging: the console is this terminal, no watchdog here.
		exec "${qemu[@]}"
	fi

	for try in 1 2; do
		log=$vmdir/console-$try.log
		say "boot $try: ${qemu[*]}"
		boot "$log" || true
		status=0
		verdict "$log" >"$vmdir/verdict" || status=$?
		if [ $status -ne 2 ] || [ $try -eq 2 ]; then
			cat "$vmdir/verdict"
			exit $((status == 0 ? 0 : 1))
		fi
		cat "$vmdir/verdict"
		say "retrying the boot once (console log kept in $log)"
	done
}

main "$@"
