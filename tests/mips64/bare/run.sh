#!/bin/sh
# Run the MIPS64 guest half's bare-metal test (tests/mips64/bare/) under
# qemu-system TCG on the malta board, with a generic MIPS64R2 CPU and with
# a Loongson-3A4000's CP0; its TAP comes over the UART.  Prints one TAP
# line per CPU and the sub-test lines as comments, then "N passed, N failed".
# Usage: run.sh IMAGE
set -u
image=${1:?usage: run.sh IMAGE}
qemu=${QEMU_SYSTEM_MIPS:-qemu-system-mips64el}
cpus=${MIPS_BARE_CPUS:-MIPS64R2-generic Loongson-3A4000}
command -v "$qemu" >/dev/null || { echo "$qemu not found (Debian: qemu-system-mips)"; exit 1; }
# shellcheck disable=SC2086 # a list of CPU names
set -- $cpus
echo "1..$#"
n=0 pass=0 fail=0
for cpu in "$@"; do
	n=$((n + 1))
	out=$(timeout 60 "$qemu" -M malta -cpu "$cpu" -m 256 -nographic -no-reboot \
		-monitor none -serial stdio -kernel "$image" </dev/null 2>&1 | tr -d '\r')
	last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
	plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p' | head -n 1)
	# shellcheck disable=SC2086 # the count line, word by word
	set -- $last
	if [ -n "$plan" ] && [ $# -eq 6 ] && [ "$3" -eq 0 ] && [ $(($1 + $5)) -eq "$plan" ]; then
		pass=$((pass + 1))
		echo "ok $n - guest half bare-metal on $cpu ($last)"
	else
		fail=$((fail + 1))
		why="${last:-no count line: the test did not finish}"
		echo "not ok $n - guest half bare-metal on $cpu ($why, plan ${plan:-none})"
	fi
	printf '%s\n' "$out" | sed 's/^/#   /'
done
echo "$pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
