# shellcheck shell=sh
# Sourced by the test scripts, next to which it is installed (build/tests/
# check.sh): "check DESCRIPTION CONDITION..." reports and counts in $fail.
fail=0

check() {
	what=$1
	shift
	if "$@"; then echo "# ok: $what"; else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
