#!/bin/sh
# dune-stat's own behaviour without the module (this machine cannot load it):
# the one error line and exit status 1, --help, usage errors with status 2.
# Installed as build/tests/t-dune-stat.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dune_stat=$here/../dune-stat
[ -x "$dune_stat" ] || { echo "dune-stat is not built next to the tests"; exit 77; }
[ ! -d /sys/module/dune ] || { echo "the dune module is loaded: see t-kmod-stat"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/dune-stat.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/programs/check.sh
. "$here/check.sh"
status() { "$dune_stat" "$@" >"$work/out" 2>"$work/err" </dev/null; echo $?; }

missing='dune-stat: the dune module is not loaded (no generic netlink family "dune")'
for opt in "" --json --list --enable --disable; do
	check "no module ($opt): status 1" [ "$(status $opt)" = 1 ]
	check "  ... one line that says so" [ "$(cat "$work/err")" = "$missing" ]
	check "  ... nothing on stdout" [ ! -s "$work/out" ]
done
check "--help: status 0" [ "$(status --help)" = 0 ]
check "  ... usage on stdout" grep -q '^usage: dune-stat' "$work/out"
check "a bad option: status 2" [ "$(status --no-such-option)" = 2 ]
check "an argument: status 2" [ "$(status extra)" = 2 ]
check "--json with --disable: status 2" [ "$(status --json --disable)" = 2 ]
check "  ... says why" grep -q 'exclude each other' "$work/err"
[ $fail -eq 0 ]
