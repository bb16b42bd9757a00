#!/bin/bash
# `dkms add` and `dkms build` of this tree for kernel KVER, in a private DKMS
# tree under OUT_DIR (the system's /var/lib/dkms and /usr/src stay as they
# are; DKMS may still create its signing key in /var/lib/dkms).
# Usage: tests/vm/dkms-build.sh KVER OUT_DIR [KDIR]   (needs dkms; KDIR, the
# kernel's build tree, defaults to DKMS's own /lib/modules/KVER/build)
# Prints the path of the module DKMS built.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$here/../..
[ $# -eq 2 ] || [ $# -eq 3 ] || {
	echo "usage: $0 KVER OUT_DIR [KDIR]" >&2
	exit 1
}
kver=$1 out=$2 kdir=${3:-}
command -v dkms >/dev/null || {
	echo "dkms-build: missing dkms (apt-get install -y dkms)" >&2
	exit 1
}
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
src=$out/src/dune-$version
rm -rf "$out"
mkdir -p "$src/kmod" "$out/tree" "$out/install"
cp "$top/dkms.conf" "$src/"
cp "$top"/kmod/{Kbuild,Makefile,*.c,*.h} "$src/kmod/"
cp -r "$top/include" "$src/"
dkms=(dkms --dkmstree "$out/tree" --sourcetree "$out/src" --installtree "$out/install")
{
	"${dkms[@]}" add "dune/$version" &&
		"${dkms[@]}" build "dune/$version" -k "$kver" ${kdir:+--kernelsourcedir "$kdir"}
} >"$out/dkms.log" 2>&1 || {
	cat "$out/dkms.log" "$out"/tree/dune/"$version"/build/make.log >&2 2>/dev/null || true
	echo "dkms-build: dkms build of dune/$version for $kver failed" >&2
	exit 1
}
ls "$out"/tree/dune/"$version"/"$kver"/*/module/dune.ko*
