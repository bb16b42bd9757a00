#!/bin/sh
# Validate the MIPS64 port end to end on a machine that can run it: a
# Loongson-3A4000 (or another MIPS64 CPU with the VZ extension) under a
# Linux with KVM for MIPS (CONFIG_KVM, CONFIG_KVM_MIPS_VZ), Debian mips64el
# or similar.  Builds natively, says which of the KVM features dune needs
# are missing, then runs the whole suite (`make check`) and the unit and
# bare-metal tests.  Nothing here ran on such hardware yet: see README.md.
# Usage: tests/mips64/validate-hardware.sh   (from the top of the tree)
set -u
fail=0
say() { printf '%s\n' "$*"; }
missing() { say "MISSING: $*"; fail=1; }

[ "$(uname -m)" = mips64 ] || { say "not a MIPS64 machine (uname -m: $(uname -m))"; exit 1; }
grep -qw vz /proc/cpuinfo || missing "the CPU reports no VZ ASE in /proc/cpuinfo"
[ -c "${DUNE_KVM_DEVICE:-/dev/kvm}" ] || missing "${DUNE_KVM_DEVICE:-/dev/kvm} (modprobe kvm; CONFIG_KVM_MIPS_VZ)"
case $(getconf PAGESIZE) in
16384) ;;
*) missing "a 16 KiB-page kernel (this one has $(getconf PAGESIZE)-byte pages; dune's MIPS64 build assumes 16 KiB)" ;;
esac

# The capabilities arch/mips64/cpu.c needs, asked of KVM by a small program.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
cat > "$probe/caps.c" <<'EOC'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
int main(void)
{
	const char *dev = getenv("DUNE_KVM_DEVICE") ? getenv("DUNE_KVM_DEVICE") : "/dev/kvm";
	int kvm = open(dev, O_RDWR), bad = 0;
	struct { long cap; const char *name; long need; } caps[] = {
		{ KVM_CAP_MIPS_VZ, "KVM_CAP_MIPS_VZ", 1 },
		{ KVM_CAP_MIPS_64BIT, "KVM_CAP_MIPS_64BIT (2: 64-bit segments)", 2 },
		{ KVM_CAP_MIPS_FPU, "KVM_CAP_MIPS_FPU", 1 },
		{ KVM_CAP_MIPS_MSA, "KVM_CAP_MIPS_MSA (optional: MSA stays off without it)", 0 },
		{ KVM_CAP_ONE_REG, "KVM_CAP_ONE_REG", 1 },
		{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS (old kernels: 16, which few programs fit in)", 1 },
		{ KVM_CAP_MAX_VCPUS, "KVM_CAP_MAX_VCPUS (threads inside at once)", 1 },
	};
	if (kvm < 0) {
		perror(dev);
		return 1;
	}
	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		long v = ioctl(kvm, KVM_CHECK_EXTENSION, caps[i].cap);
		printf("%s %s: %ld\n", v >= caps[i].need && v > 0 ? "have" : caps[i].need ? "MISSING:" : "lacks", caps[i].name, v);
		bad |= v < caps[i].need;
	}
	return bad;
}
EOC
if cc -o "$probe/caps" "$probe/caps.c"; then
	"$probe/caps" || fail=1
else
	missing "a native C compiler and the Linux UAPI headers (apt-get install gcc linux-libc-dev)"
fi
[ $fail -eq 0 ] || say "some of what dune needs is missing: the suite below will say where it fails"

make -j"$(nproc)" || exit 1
status=0
say "== the unit tests of the backend (natively, as check-cross runs them under qemu-user)"
tests/run-tests.sh build t-syscall-names t-mips-decode t-mips-paging t-mips-sigframe || status=1
say "== the whole suite inside dune: make check"
make check || status=1
if command -v qemu-system-mips64el >/dev/null; then
	say "== the guest half bare-metal under qemu-system (as check-cross)"
	make check-mips-bare || status=1
fi
if [ $status -eq 0 ]; then
	say "MIPS64 port validated on this machine"
else
	say "MIPS64 port: failures above"
fi
exit $status
