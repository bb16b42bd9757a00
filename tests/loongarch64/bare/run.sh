#!/bin/sh
# Boot the bare-metal guest-kernel test (tests/loongarch64/bare) under
# qemu-system-loongarch64 TCG and pass if its count line says 0 failed.
# Usage: run.sh ELF
set -u
elf=${1:?usage: $0 ELF}
command -v qemu-system-loongarch64 > /dev/null ||
	{ echo "$0: qemu-system-loongarch64 not found (apt-get install qemu-system-misc)" >&2; exit 1; }
out=$(timeout 60 qemu-system-loongarch64 -M virt -cpu la464 -m 1G -nographic -no-reboot \
	-kernel "$elf" < /dev/null 2>&1 | tr -d '\r')
printf '%s\n' "$out"
if ! printf '%s\n' "$out" | grep -q '^[0-9]* passed, [0-9]* failed, 0 skipped$'; then
	echo "not ok - the guest kernel did not finish (hung or crashed under QEMU)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
printf '%s\n' "$out" | grep -q '^[0-9]* passed, 0 failed, 0 skipped$'
