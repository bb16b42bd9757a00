#!/bin/bash
# Run the whole test suite (tests/run-tests.sh BUILD_DIR) inside a Debian
# kernel booted under QEMU/TCG with kvm-amd and nested SVM, so the tests meet
# hardware KVM semantics (this machine's own /dev/kvm is a different kind).
# Usage: tests/vm/check-vm.sh BUILD_DIR      (see tests/vm/README.md)
# Exit 0 only if the guest's suite reported "N passed, 0 failed" with N > 0.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # modprobe

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite_timeout=${DUNE_VM_TIMEOUT:-2400}       # whole suite, guest watchdog (s)
# one test, run-tests.sh's limit (s): TCG is slow, t-memscale takes 190 s on a
# quiet host, so twice that and more on a loaded one
test_timeout=${DUNE_TEST_TIMEOUT:-450}
stall=${DUNE_VM_STALL:-$((test_timeout + 60))} # no test output, guest watchdog (s)
boot_limit=${DUNE_VM_BOOT_TIMEOUT:-120}      # QEMU start to the guest's /init (s)
heartbeat=${DUNE_VM_HEARTBEAT:-60}           # guest heartbeat silence (s)
mem=${DUNE_VM_MEM:-2G}
smp=${DUNE_VM_SMP:-2}
# One TCG thread for all vCPUs: with multi-threaded TCG (the default for
# -smp 2) about one KVM_CREATE_VCPU in 30 hung the guest for good (a static
# key flip patches kernel text while the other vCPU spins on its int3).
accel=${DUNE_VM_ACCEL:-tcg,thread=single}
kvm_amd_opts=${DUNE_VM_KVM_AMD_OPTS:-nested=1}
# A kernel root with boot/vmlinuz-VER and lib/modules/VER (tests/vm/
# fetch-kernel.sh unpacks newer Debian kernels so) instead of / itself.
kdir=${DUNE_VM_KDIR:-}
# DUNE_VM_KMOD=kbuild (or 1) or dkms: build the kernel module for the
# booted kernel with kbuild or with `dkms build` (tests/vm/kbuild.sh: its
# Debian headers, in a chroot of its suite where needed, or the build tree
# DUNE_VM_KMOD_KDIR), load it and run the suite twice, DUNE_MODE=user and
# DUNE_MODE=kmod.
kmod=${DUNE_VM_KMOD:-}
# DUNE_VM_BENCH="ARGS": also run BUILD_DIR/dune-bench ARGS after the suite,
# in a directory whose files come back to BUILD_DIR/vm/bench (e.g.
# "--paths=.": native, user-space and kernel path, paths.dat and paths.gp,
# which gnuplot draws here; needs DUNE_VM_KMOD).
bench=${DUNE_VM_BENCH:-}
# DUNE_VM_LTP='REGEX': also run LTP's syscall tests whose names match after
# the suite, inside dune with DUNE_MODE=user and kmod (tests/conformance/
# run-ltp.sh; LTP built by `make conformance` in BUILD_DIR/ltp; needs
# DUNE_VM_KMOD).  The results come back to BUILD_DIR/vm/ltp.  The guest
# watchdog's limit is then 4 hours unless DUNE_VM_TIMEOUT says otherwise.
ltp=${DUNE_VM_LTP:-}
[ -z "$ltp" ] || suite_timeout=${DUNE_VM_TIMEOUT:-14400}
shell_mode=${DUNE_VM_SHELL:-}                # "before"/"after": interactive shell
[ "$shell_mode" != 1 ] || shell_mode=after
qemu_pid=

say() { echo "check-vm: $*"; }
die() {
	say "error: $*"
	exit 1
}

# shellcheck disable=SC2317  # called by the trap
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
	need modinfo kmod
	need ldd libc-bin
	need ldconfig libc-bin
	! ldd "$(command -v busybox)" >/dev/null 2>&1 ||
		die "busybox is dynamically linked; install busybox-static"
}

# Sets kver and vmlinuz: the newest kernel under $kdir (default /) that has
# both boot/vmlinuz-VER and lib/modules/VER/modules.dep, so the image and the
# modules always match.
pick_kernel() {
	local d
	kver=${DUNE_VM_KVER:-}
	if [ -z "$kver" ]; then
		for d in "$kdir"/lib/modules/*/modules.dep; do
			d=${d%/modules.dep}
			if [ -r "$kdir/boot/vmlinuz-${d##*/}" ]; then echo "${d##*/}"; fi
		done | sort -V | tail -n 1 >"$vmdir/kver"
		kver=$(cat "$vmdir/kver")
	fi
	vmlinuz=$kdir/boot/vmlinuz-$kver
	if [ -z "$kver" ] || [ ! -r "$vmlinuz" ] || [ ! -r "$kdir/lib/modules/$kver/modules.dep" ]; then
		die "no readable ${kdir:-}/boot/vmlinuz-VER with ${kdir:-}/lib/modules/VER/modules.dep" \
			"(package linux-image-amd64, or tests/vm/fetch-kernel.sh for DUNE_VM_KDIR)"
	fi
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
	deps=$(modprobe -d "${kdir:-/}" -S "$kver" --show-depends kvm-amd) ||
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
	[ -z "$kmod" ] || add_kmod "$kver" "$root"
}

# dune.ko built for $1 by tests/vm/kbuild.sh (make, or dkms add and build
# as users install it), loaded last (kvm.ko must be there for its symbols).
add_kmod() {
	local log=$vmdir/kbuild.log ko vermagic how=
	case $kmod in
	1 | kbuild) ;;
	dkms) how=--dkms ;;
	*) die "DUNE_VM_KMOD=$kmod: expected kbuild or dkms" ;;
	esac
	say "building dune.ko for $1 with ${how:+dkms and }kbuild (log $log)"
	ko=$("$here/kbuild.sh" ${how:+"$how"} "$build" "$1" 2>"$log") ||
		die "building dune.ko for $1 ($kmod) failed: $(grep -E 'error|Error' "$log" | head -n 5 | xargs)"
	read -r vermagic _ <<<"$(modinfo -F vermagic "$ko")"
	[ "$vermagic" = "$1" ] || die "$ko is built for ${vermagic:-no kernel}, not $1"
	cp "$ko" "$2/lib/modules/dune.ko"
	echo "/lib/modules/dune.ko" >>"$2/etc/dune-vm-modules"
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

# dune-run and its companions, which t-dune-run and t-policy run from
# BUILD_DIR/tests/.. as on the host, dune-stat, and dune-bench (t-bench-paths,
# DUNE_VM_BENCH).
tools() {
	echo "$build/dune-run $build/libdune-run.so $build/dune-exec-static $build/dune-stat"
	echo "$build/dune-bench"
}

# For DUNE_VM_BENCH: the real programs of tests/programs that busybox does
# not provide and that fit in the initramfs (not python3 or gcc), at their
# host paths.
bench_programs() {
	local p
	[ -n "$bench" ] || return 0
	for p in bash sqlite3; do
		command -v "$p" || true
	done
}

# For DUNE_VM_LTP: run-ltp.sh needs bash and pkill; the selected tests'
# binaries.
ltp_programs() {
	[ -n "$ltp" ] || return 0
	command -v bash pkill
	"$here/../conformance/run-ltp.sh" --list "$build" "$ltp"
}

# The LTP tests at BUILD_DIR/ltp/src as run-ltp.sh expects them, with the
# other programs of their directories (helpers they run), stripped: the
# initramfs lives in the guest's memory.  LTP's list of syscall tests, the
# kernel's config (LTP's kconfig checks read /boot/config-VER), and the
# users and groups LTP's tests look for.
add_ltp() {
	local root=$1 kver=$2 src=$build/ltp/src f d dst dirs=()
	[ -n "$ltp" ] || return 0
	[ -n "$kmod" ] || die "DUNE_VM_LTP needs DUNE_VM_KMOD: it compares the two paths"
	[ -f "$src/runtest/syscalls" ] || die "no LTP in $build/ltp (make conformance builds it)"
	mkdir -p "$root$build/ltp/src/runtest"
	cp "$src/runtest/syscalls" "$root$build/ltp/src/runtest/"
	cp "$here/../conformance/run-ltp.sh" "$root/dune/run-ltp.sh"
	for f in $(ltp_programs); do
		case $f in
		"$src"/*) dirs+=("${f%/*}") ;;
		*) copy_abs "$f" "$root" ;;
		esac
	done
	for d in $(printf '%s\n' "${dirs[@]}" | sort -u); do
		mkdir -p "$root$build/ltp/src/${d#"$src"/}"
		for f in "$d"/*; do
			[ -f "$f" ] && [ -x "$f" ] || continue
			dst=$root$build/ltp/src/${f#"$src"/}
			strip -o "$dst" "$f" 2>/dev/null || cp "$f" "$dst"
		done
	done
	if [ -r "$kdir/boot/config-$kver" ]; then
		mkdir -p "$root/boot"
		cp "$kdir/boot/config-$kver" "$root/boot/"
	fi
	printf '%s\n' root:x:0:0:root:/root:/bin/sh daemon:x:1:1::/:/bin/false \
		bin:x:2:2::/:/bin/false nobody:x:65534:65534::/nonexistent:/bin/false \
		>"$root/etc/passwd"
	printf '%s\n' root:x:0: daemon:x:1: bin:x:2: users:x:100: nogroup:x:65534: \
		>"$root/etc/group"
}

# Every shared library the test programs and tools load, at its host path
# (the dynamic loader too: it is what PT_INTERP names).
add_libraries() {
	local root=$1 f lib
	# shellcheck disable=SC2046 # one path per word
	for f in "$build/tests"/* $(tools) $(bench_programs) $(ltp_programs); do
		if [ ! -f "$f" ] || [ ! -x "$f" ]; then
			continue
		fi
		ldd "$f" 2>/dev/null | grep -q 'not found' &&
			die "$f: $(ldd "$f" | grep 'not found' | head -n 1 | xargs)"
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
			[ -e "$root$lib" ] || copy_abs "$lib" "$root"
		done
	done
	# glibc dlopen()s libgcc_s for pthread_exit/pthread_cancel: ldd cannot
	# see that.
	lib=$(ldconfig -p | sed -n 's/^\tlibgcc_s\.so\.1 (libc6,x86-64) => //p' | head -n 1)
	if [ -n "$lib" ]; then
		copy_abs "$lib" "$root"
	fi
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
	# shellcheck disable=SC2046 # one path per word
	cp $(tools) "$root$build/"
	for f in $(bench_programs); do copy_abs "$f" "$root"; done
	cp "$here/../run-tests.sh" "$root/dune/run-tests.sh"
	add_ltp "$root" "$kver"
	add_libraries "$root"
	cp "$here/init.sh" "$root/init"
	chmod 755 "$root/init" "$root/dune/run-tests.sh"
	: >"$root/etc/dune-vm.conf"
	conf DUNE_BUILD "$build"
	conf DUNE_TESTS "${DUNE_VM_TESTS:-}"
	if [ -n "$shell_mode" ]; then # a person at the shell: no guest watchdog
		suite_timeout=999999 stall=999999
	fi
	conf DUNE_SUITE_TIMEOUT "$suite_timeout"
	conf DUNE_STALL "$stall"
	conf DUNE_VM_SHELL "$shell_mode"
	conf DUNE_KMOD "$kmod"
	conf DUNE_BENCH "$bench"
	conf DUNE_LTP "$ltp"
	echo "export DUNE_TEST_TIMEOUT=$test_timeout" >>"$root/etc/dune-vm.conf"
	# DUNE_VM_ENV="DUNE_DEBUG=1 ...": environment for the guest's tests.
	local kv
	for kv in ${DUNE_VM_ENV:-}; do
		[[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "DUNE_VM_ENV: not NAME=VALUE: $kv"
		conf "${kv%%=*}" "${kv#*=}"
		echo "export ${kv%%=*}" >>"$root/etc/dune-vm.conf"
	done
	# Uncompressed: unpacking is faster than decompressing under TCG.
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out"
}

# A CPU stuck in the guest kernel panics with its stack (and QEMU exits)
# instead of wedging the guest until the host's limit.
kargs="softlockup_panic=1 watchdog_thresh=20"

# Sets the array qemu: the QEMU command line, ttyS1 (the guest's heartbeat)
# going to file $1.  TCG, since this machine's /dev/kvm cannot run QEMU;
# -cpu max has SVM for kvm-amd.
set_qemu() {
	qemu=(qemu-system-x86_64 -accel "$accel" -cpu max -m "$mem" -smp "$smp"
		-nographic -no-reboot -nodefaults -serial stdio -serial "file:$1"
		-kernel "$vmlinuz" -initrd "$initrd"
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
	set_qemu "$hb"
	say "boot: ${qemu[*]}"
	"${qemu[@]}" </dev/null >"$log" 2>&1 &
	qemu_pid=$!
	# Line-buffered, without CRs and the firmware's terminal resets.
	tail -n +1 -s 0.5 -f --pid="$qemu_pid" "$log" |
		sed -u 's/\r$//; s/\x1bc/\n/g; s/\x1b\[[0-9;?]*[A-Za-z]//g' &
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
			why="the guest did not start /init within ${boot_limit}s"
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
	local text result rc counts
	text=$(tr -d '\r' <"$1")
	field() { sed -n "s/^DUNE-VM-$1: //p" <<<"$text" | tail -n 1; }
	# "DUNE-VM-RESULT: <rc> <run-tests.sh's count line>", one line so that
	# kernel messages on the same console cannot split the two.
	result=$(field RESULT)
	if [[ $result =~ ^([0-9]+)\ ([0-9]+\ passed,\ [0-9]+\ failed.*)$ ]]; then
		rc=${BASH_REMATCH[1]} counts=${BASH_REMATCH[2]}
		say "$counts"
		[ "$rc" = 0 ] && [[ $counts =~ ^[1-9][0-9]*\ passed,\ 0\ failed ]] && return 0
		return 1
	fi
	if [ -n "$(field ERROR)" ]; then
		say "error: guest setup failed: $(field ERROR)"
		return 1
	fi
	if [ -n "$(field HANG)" ]; then
		say "error: guest watchdog: $(field HANG)"
	elif grep -q 'Kernel panic' <<<"$text"; then
		say "error: guest $(grep -o 'Kernel panic.*' <<<"$text" | tail -n 1)"
	elif [ -n "$(field KILLED)" ]; then
		say "error: $(field KILLED)"
	else
		say "error: the guest exited without a result (boot failure?)"
	fi
	return 2
}

# The files the guest sent back ("DUNE-VM-FILE DIR/NAME: LINE" on the
# console, init.sh: dune-bench's in bench/, LTP's in ltp/) into $vmdir/DIR/.
guest_files() {
	local dir name names
	names=$(tr -d '\r' <"$1" |
		sed -n 's#^DUNE-VM-FILE \(bench\|ltp\)/\([A-Za-z0-9._-]*\): .*#\1/\2#p' | sort -u)
	for dir in bench ltp; do
		grep -q "^$dir/" <<<"$names" || continue
		rm -rf "${vmdir:?}/$dir"
		mkdir -p "$vmdir/$dir"
		for name in $(grep "^$dir/" <<<"$names"); do
			tr -d '\r' <"$1" | sed -n "s|^DUNE-VM-FILE $name: ||p" >"$vmdir/$name"
		done
		if [ "$dir" = bench ]; then
			bench_plot "$vmdir/bench"
		else
			say "LTP's results: $vmdir/ltp"
		fi
	done
}

# dune-bench's paths.gp drawn in $1.
bench_plot() {
	local out=$1
	say "dune-bench's files: $out"
	if [ ! -e "$out/paths.gp" ]; then
		return 0
	elif ! command -v gnuplot >/dev/null; then
		say "no gnuplot here (package gnuplot-nox): no $out/paths.png"
	elif (cd "$out" && gnuplot paths.gp); then
		say "plot: $out/paths.png"
	else
		say "gnuplot failed: no $out/paths.png"
	fi
}

main() {
	[ $# -eq 1 ] || die "usage: $0 BUILD_DIR"
	[ -d "$1/tests" ] || die "$1/tests: no such directory (build first: make)"
	build=$(cd "$1" && pwd -P)
	compgen -G "$build/tests/t-*" >/dev/null || die "no test programs $build/tests/t-*"
	check_prereqs
	# Initramfs, console logs and verdict; check-vm-kernels.sh gives each
	# kernel its own.
	vmdir=${DUNE_VM_OUT:-$build/vm}
	mkdir -p "$vmdir"
	vmdir=$(cd "$vmdir" && pwd -P)
	if [ -n "$kdir" ]; then
		[ -d "$kdir" ] || die "DUNE_VM_KDIR=$kdir: no such directory"
		kdir=$(cd "$kdir" && pwd -P)
	fi
	pick_kernel
	initrd=$vmdir/initramfs.cpio
	build_initramfs "$kver" "$initrd"
	say "kernel $kver, initramfs $(du -h "$initrd" | cut -f1), -accel $accel -smp $smp -m $mem, kvm-amd $kvm_amd_opts${kmod:+, dune.ko}"

	if [ -n "$shell_mode" ]; then
		# Interactive debugging: the console is this terminal, no host watchdog.
		set_qemu "$vmdir/heartbeat-shell"
		exec "${qemu[@]}"
	fi

	local try log status
	for try in 1 2; do
		log=$vmdir/console-$try.log
		boot "$log" || true
		status=0
		verdict "$log" >"$vmdir/verdict" || status=$?
		if [ $status -ne 2 ] || [ $try -eq 2 ]; then
			break
		fi
		cat "$vmdir/verdict"
		say "retrying the boot once (console log kept in $log)"
	done
	guest_files "$log"
	say "total ${SECONDS}s"
	cat "$vmdir/verdict"
	exit $((status == 0 ? 0 : 1))
}

main "$@"
