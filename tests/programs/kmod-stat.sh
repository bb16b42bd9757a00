#!/bin/sh
# dune-stat with the module loaded (the QEMU legs of check-vm: this machine
# cannot load it): its table, --json and --list against the counters a dune
# process reads itself with dune_get_stats(); --disable makes the module
# decline every syscall (reason "disabled") and --enable undoes it; an
# unprivileged user may read but gets EPERM for the switch.
# Installed as build/tests/t-kmod-stat.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dune_stat=$here/../dune-stat
[ -x "$dune_stat" ] || { echo "dune-stat is not built next to the tests"; exit 77; }
[ -d /sys/module/dune ] || { echo "the dune module is not loaded"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root (the switch is admin-only)"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/kmod-stat.XXXXXX")
holder=
trap '[ -z "$holder" ] || kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT
export DUNE_MODE=kmod
# shellcheck source=tests/programs/check.sh
. "$here/check.sh"

"$dune_stat" --enable || exit 1

# A dune process that made 1000 getpids and then waits in pause(): what it
# read of its counters, and what dune-stat says of it, while it waits.
"$here/kmod-counters" hold "$work/counters" 1000 </dev/null &
holder=$!
n=0
until tr -d '\000' <"$work/counters" 2>/dev/null | grep -q '^ready '; do
	n=$((n + 1))
	if [ $n -gt 300 ] || ! kill -0 "$holder" 2>/dev/null; then
		echo "FAIL: kmod-counters did not get ready"
		exit 1
	fi
	sleep 0.1
done
# shellcheck disable=SC2046 # the fields of the line
set -- $(tr -d '\000' <"$work/counters" | grep '^ready ')
pid=$2 served=$3 policy=$4 thread=$5 restart=$6 state=$7 disabled=$8 reach=$9
check "the holder is the process we started" [ "$pid" = "$holder" ]
check "it served its getpids in the kernel ($served)" [ "$served" -ge 1000 ]
"$dune_stat" >"$work/table"
"$dune_stat" --json >"$work/json"
"$dune_stat" --list >"$work/list"
sed 's/^/#   /' "$work/table"

check "table: the switch is on" grep -q '^in-kernel syscalls: enabled;' "$work/table"
# PID COMM SERVED policy thread restart state disabled reach TOP...; pause() came
# after the process read its counters: one policy decline more
row=$(awk -v pid="$pid" '$1 == pid' "$work/table")
check "table: a row for it" [ -n "$row" ]
# shellcheck disable=SC2086 # the fields of the row
set -- $row
check "table: comm" [ "${2:-}" = kmod-counters ]
check "table: served = dune_get_stats ($served)" [ "${3:-}" = "$served" ]
check "table: declined by policy = its own + pause()" [ "${4:-}" = $((policy + 1)) ]
check "table: the other reasons as it read them" \
	[ "${5:-}/${6:-}/${7:-}/${8:-}/${9:-}" = "$thread/$restart/$state/$disabled/$reach" ]
check "table: getpid tops its list" sh -c "echo '$row' | grep -Eq ' getpid:([0-9]+)' &&
	[ \$(echo '$row' | sed -n 's/.* getpid:\([0-9]*\).*/\1/p') -ge 1000 ]"
check "json: the same process" grep -q "{\"pid\":$pid,\"comm\":\"kmod-counters\",\"served\":$served," \
	"$work/json"
check "json: declined by reason" grep -q "\"declined\":{\"policy\":$((policy + 1)),\"thread\":$thread,\"restart\":$restart,\"state\":$state,\"disabled\":$disabled,\"reach\":$reach}" \
	"$work/json"
check "json: getpid by name" grep -q '"name":"getpid","count":' "$work/json"
check "json: one object" [ "$(wc -l <"$work/json")" = 1 ]
if command -v python3 >/dev/null; then
	check "json: valid" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/json"
fi
check "--list: it is attached" grep -qx "$pid kmod-counters" "$work/list"

kill "$holder"
wait "$holder" 2>/dev/null
holder=
n=0
while "$dune_stat" --list | grep -q "^$pid "; do
	n=$((n + 1))
	[ $n -lt 50 ] || break
	sleep 0.1
done
check "--list: gone once it exited" sh -c "! '$dune_stat' --list | grep -q '^$pid '"

# The switch: off, every syscall is declined as disabled; on again, served.
check "--disable as root" "$dune_stat" --disable
check "  ... the table says so" sh -c "'$dune_stat' | grep -q '^in-kernel syscalls: disabled;'"
"$here/kmod-counters" run 200 >"$work/off"
sed 's/^/#   off: /' "$work/off"
check "  ... nothing served" grep -qx 'served 0' "$work/off"
check "  ... 200 declined as disabled" sh -c "[ \$(sed -n 's/^declined\[4\] //p' '$work/off') -ge 200 ]"
check "  ... every getpid right" grep -qx 'wrong 0' "$work/off"
check "--enable as root" "$dune_stat" --enable
"$here/kmod-counters" run 200 >"$work/on"
check "  ... served again" grep -qx 'served 200' "$work/on"
check "  ... every getpid right" grep -qx 'wrong 0' "$work/on"

# An unprivileged user: reads, but may not switch.
"$here/kmod-counters" nobody "$dune_stat" --disable >"$work/out" 2>"$work/err"
check "--disable as uid 65534: status 1" [ $? = 1 ]
check "  ... one line: permission denied" \
	[ "$(cat "$work/err")" = "dune-stat: --disable: permission denied (needs CAP_NET_ADMIN)" ]
check "  ... the switch stays on" sh -c "'$dune_stat' | grep -q '^in-kernel syscalls: enabled;'"
check "the table as uid 65534" "$here/kmod-counters" nobody "$dune_stat"

# Another network namespace has no family "dune": say why.
if unshare -n true 2>/dev/null; then
	unshare -n "$dune_stat" >"$work/out" 2>"$work/err"
	check "in a new network namespace: status 1" [ $? = 1 ]
	check "  ... one line: only the initial namespace" \
		grep -qx 'dune-stat: the dune module is loaded, but its generic netlink family "dune" exists only in the initial network namespace' "$work/err"
fi
[ $fail -eq 0 ]
