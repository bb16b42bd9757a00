#!/bin/sh
# Validate the LoongArch64 backend on real hardware (Loongson 3A5000/3A6000,
# Linux >= 6.7 with KVM; 6.14 or later recommended): checks what dune needs
# from the machine and its KVM, says what is missing, then builds natively
# and runs the whole `make check`.  Nothing here could be run where dune was
# written: no emulator provides LoongArch's virtualization extension (LVZ).
# Usage: tests/loongarch64/validate-hardware.sh   (from the source tree)
set -u
missing=0
need() {	# need WHAT COMMAND...: say whether WHAT holds
	what=$1; shift
	if "$@" > /dev/null 2>&1; then echo "ok: $what"; else echo "MISSING: $what"; missing=1; fi
}

[ "$(uname -m)" = loongarch64 ] || { echo "$0: not a LoongArch64 machine ($(uname -m))" >&2; exit 1; }
kver=$(uname -r | sed 's/[^0-9.].*//')
echo "kernel $(uname -r), CPU: $(grep -m1 'Model Name' /proc/cpuinfo | sed 's/.*: //')"
need "Linux >= 6.7 (LoongArch KVM)" sh -c "printf '%s\n' 6.7 $kver | sort -V -C"
need "the CPU has LVZ (cpuinfo: lvz)" grep -qw lvz /proc/cpuinfo
need "/dev/kvm readable and writable" test -r /dev/kvm -a -w /dev/kvm
need "16 KiB pages (dune is built for them)" test "$(getconf PAGESIZE)" = 16384
need "a C compiler" command -v "${CC:-cc}"
need "make" command -v make
need "pkg-config, libjson-c" pkg-config --exists json-c
if [ -r /dev/kvm ]; then
	# what the backend asks KVM for (arch/loongarch64/cpu.c): a tiny probe
	probe=$(mktemp -d)
	cat > "$probe/p.c" <<'EOC'
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR), vm, bad = 0;
	struct kvm_device_attr lsx = { .group = 0, .attr = 0 }, lasx = { .group = 0, .attr = 1 };

	if (kvm < 0 || (vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) { puts("MISSING: KVM_CREATE_VM"); return 1; }
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ONE_REG) <= 0) { puts("MISSING: KVM_CAP_ONE_REG"); bad = 1; }
	else puts("ok: KVM_CAP_ONE_REG");
	printf("%s: LSX for guests (KVM_LOONGARCH_VM_FEAT_LSX)\n", ioctl(vm, KVM_HAS_DEVICE_ATTR, &lsx) ? "absent" : "ok");
	printf("%s: LASX for guests (KVM_LOONGARCH_VM_FEAT_LASX)\n", ioctl(vm, KVM_HAS_DEVICE_ATTR, &lasx) ? "absent" : "ok");
	printf("info: KVM_CAP_NR_MEMSLOTS %d\n", ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));
	return bad;
}
EOC
	if "${CC:-cc}" -o "$probe/p" "$probe/p.c" 2> "$probe/err"; then
		"$probe/p" || missing=1
	else
		echo "MISSING: <linux/kvm.h> with LoongArch KVM (linux-libc-dev >= 6.7)"; missing=1
	fi
	rm -rf "$probe"
	grep -qw lsx /proc/cpuinfo && echo "note: the host has LSX: dune_enter() fails if KVM cannot give it"
fi
[ $missing = 0 ] || { echo "$0: something dune needs is missing (above); stopping" >&2; exit 1; }
echo "building natively and running the whole suite (make check)"
make -j"$(nproc)" && make check
