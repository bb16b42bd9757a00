#!/bin/bash
# Build dune.ko (kmod/) against one kernel's build tree, out of the source
# tree so that builds for several kernels can run side by side.
# Usage: tests/vm/build-kmod.sh KDIR OUT_DIR
# Copies kmod/'s sources and include/ to OUT_DIR/src, runs kbuild there (make -C kmod
# KDIR=...) and prints the path of the module it built.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$here/../..
[ $# -eq 2 ] || {
	echo "usage: $0 KDIR OUT_DIR" >&2
	exit 1
}
kdir=$1 out=$2
[ -e "$kdir/Makefile" ] || {
	echo "build-kmod: $kdir: no kernel build tree (package linux-headers-VER)" >&2
	exit 1
}
rm -rf "$out/src"
mkdir -p "$out/src/kmod"
# sources only: objects left in kmod/ may be another kernel's
cp "$top"/kmod/{Kbuild,Makefile,*.c,*.h} "$out/src/kmod/"
cp -r "$top/include" "$out/src/"
make -s -C "$out/src/kmod" KDIR="$(cd "$kdir" && pwd -P)" >"$out/build.log" 2>&1 || {
	cat "$out/build.log" >&2
	echo "build-kmod: building dune.ko against $kdir failed" >&2
	exit 1
}
echo "$out/src/kmod/dune.ko"
