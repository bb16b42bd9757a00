#!/bin/bash
# The check-vm suite on several host kernels, one boot after the other (one
# QEMU at a time: TCG is slow enough already).  Each leg has its own work
# directory and log, BUILD_DIR/vm/LEG/ and BUILD_DIR/vm/LEG.log.
# Usage: tests/vm/check-vm-kernels.sh BUILD_DIR [LEG...]
#   LEG: "installed" (the newest kernel in /boot, Debian 12's 6.1), or a suite
#   for tests/vm/fetch-kernel.sh ("trixie" is 6.12, "newest" the highest of
#   trixie-backports and sid).  Default (or DUNE_VM_KERNELS): installed trixie
#   newest.
# Prints one summary line per leg and exits non-zero if any leg failed.
# DUNE_VM_KMOD=1 (make check-vm-kmod-kernels): each leg builds dune.ko for
# its kernel (tests/vm/kbuild.sh: make and dkms, in a chroot of the
# kernel's suite where it is newer than this system), loads it and runs the
# suite with DUNE_MODE=user and DUNE_MODE=kmod; the summary line has both.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "check-vm-kernels: $*"; }

# Runs leg $1; sets leg_ver, leg_counts, leg_modes, leg_secs; returns
# check-vm's status.
run_leg() {
	local leg=$1 log=$build/vm/$1.log start=$SECONDS rc kdir=
	leg_ver='?' leg_counts='' leg_modes='' leg_secs=0
	: >"$log"
	if [ "$leg" != installed ]; then
		leg_ver=$("$here/fetch-kernel.sh" "$build" "$leg" 2> >(tee -a "$log" >&2)) || {
			leg_counts="fetch-kernel.sh $leg failed"
			leg_secs=$((SECONDS - start))
			return 1
		}
		kdir=$build/vm/kernels/$leg_ver
	fi
	say "$leg: running the suite (log $log)"
	DUNE_VM_KDIR=$kdir DUNE_VM_OUT=$build/vm/$leg "$here/check-vm.sh" "$build" 2>&1 | tee -a "$log"
	rc=${PIPESTATUS[0]}
	leg_secs=$((SECONDS - start))
	[ "$leg" != installed ] || leg_ver=$(cat "$build/vm/$leg/kver" 2>/dev/null || echo "?")
	leg_counts=$(sed -n 's/^check-vm: \([0-9]* passed, [0-9]* failed.*\)$/\1/p' "$log" | tail -n 1)
	[ -n "$leg_counts" ] || leg_counts=$(grep '^check-vm: error' "$log" | tail -n 1 | sed 's/^check-vm: //')
	[ -n "$leg_counts" ] || leg_counts="no result"
	# "dune-vm: the suite with DUNE_MODE=M", then that run's count line
	leg_modes=$(tr -d '\r' <"$log" | awk '
		/^dune-vm: the suite with DUNE_MODE=/ { mode = substr($0, index($0, "=") + 1) }
		mode != "" && /^[0-9]+ passed, [0-9]+ failed/ { out = out sep mode ": " $0; sep = "; "; mode = "" }
		END { print out }')
	return "$rc"
}

main() {
	[ $# -ge 1 ] || {
		echo "usage: $0 BUILD_DIR [LEG...]" >&2
		exit 2
	}
	build=$(cd "$1" && pwd -P) || exit 2
	shift
	local legs=("$@") leg failed=0 summary=() p=0 f=0 s=0
	# shellcheck disable=SC2206 # one leg per word
	[ ${#legs[@]} -gt 0 ] || legs=(${DUNE_VM_KERNELS:-installed trixie newest})
	mkdir -p "$build/vm"
	for leg in "${legs[@]}"; do
		local status=PASS
		run_leg "$leg" || {
			status=FAIL
			failed=$((failed + 1))
		}
		summary+=("$status $leg $leg_ver: $leg_counts${leg_modes:+ ($leg_modes)} (${leg_secs}s, log $build/vm/$leg.log)")
		if [[ $leg_counts =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
			p=$((p + BASH_REMATCH[1])) f=$((f + BASH_REMATCH[2])) s=$((s + ${BASH_REMATCH[4]:-0}))
		elif [ $status = FAIL ]; then
			f=$((f + 1)) # no count line: the leg itself counts as one failure
		fi
	done
	say "summary (${SECONDS}s):"
	for leg in "${summary[@]}"; do say "$leg"; done
	[ "$failed" = 0 ] || say "$failed of ${#legs[@]} kernels failed"
	# All legs' tests together, as the last line.
	echo "$p passed, $f failed, $s skipped"
	[ "$failed" = 0 ]
}

main "$@"
