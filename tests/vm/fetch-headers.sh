#!/bin/bash
# Download and unpack the Debian headers that build external modules for
# kernel VER (linux-headers-VER, its -common part and linux-kbuild), from the
# suite the kernel came from, without touching the system's APT sources or
# dpkg state.
# Usage: tests/vm/fetch-headers.sh BUILD_DIR VER
#   VER: a kernel that tests/vm/fetch-kernel.sh unpacked (its suite is in
#   BUILD_DIR/vm/kernels/VER/suite), or one installed on this system (its
#   headers come through the system's own APT sources).
# Unpacks into BUILD_DIR/vm/headers/VER/, rewritten so that the tree works
# where it lies (Debian's headers name /usr/src/... absolutely); writes the
# suite to BUILD_DIR/vm/headers/VER/suite and prints the kernel build
# directory, BUILD_DIR/vm/headers/VER/usr/src/linux-headers-VER, on stdout.
# tests/vm/kbuild.sh runs kbuild against it (in a chroot of that suite when
# the suite is newer than this system's).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/apt.sh
. "$here/apt.sh"

say() { echo "fetch-headers: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# Makes the unpacked tree $1 self-contained: the arch part's Makefile
# includes the -common part by absolute path (7.x also sets KBUILD_OUTPUT
# to itself so), and lib/modules/VER/build and source are absolute links.
relocate() {
	local root=$1 ver=$2 mk l
	mk=$root/usr/src/linux-headers-$ver/Makefile
	[ -r "$mk" ] || die "no usr/src/linux-headers-$ver/Makefile in the packages"
	sed -i "s|\([ =]\)/usr/src/|\1$root/usr/src/|g" "$mk"
	grep -q "^include $root/usr/src/linux-headers-[^/]*-common/Makefile" "$mk" ||
		die "$mk: unexpected contents: $(head -c 200 "$mk")"
	for l in "$root"/usr/lib/modules/"$ver"/build "$root"/usr/lib/modules/"$ver"/source; do
		[ -L "$l" ] || continue
		ln -sfn "../../../src/$(basename "$(readlink "$l")")" "$l"
	done
}

main() {
	[ $# -eq 2 ] || die "usage: $0 BUILD_DIR VER"
	local build ver=$2 suite dest kdir pkgs
	[ -d "$1" ] || die "$1: no such directory"
	build=$(cd "$1" && pwd -P)
	apt_root=$build/vm/apt
	command -v apt-get >/dev/null || die "apt-get not found (Debian only)"
	if [ -r "$build/vm/kernels/$ver/suite" ]; then
		suite=$(cat "$build/vm/kernels/$ver/suite")
		apt_for "$suite"
	elif [ -d "/lib/modules/$ver" ]; then
		suite=installed
		aptcfg= # the system's own sources, with its security updates
	else
		die "$ver: neither installed nor fetched (tests/vm/fetch-kernel.sh)"
	fi
	dest=$build/vm/headers/$ver
	kdir=$dest/usr/src/linux-headers-$ver
	if [ -r "$dest/suite" ] && [ -r "$kdir/Module.symvers" ]; then
		say "$ver ($suite) already in $dest"
		echo "$kdir"
		return 0
	fi

	pkgs=linux-headers-$ver
	[ -n "$(field "$pkgs" Version)" ] || die "no $pkgs in $suite"
	pkgs+=" $(deps_matching "$pkgs" '^linux-(headers-.*-common|kbuild-)' | xargs)"
	say "downloading $pkgs ($suite)"
	# shellcheck disable=SC2086 # one package per word
	unpack "$dest" "$build/vm/headers/.dl-$ver" $pkgs
	# Older packages ship lib/modules, newer ones usr/lib/modules.
	if [ -d "$dest/lib/modules" ] && [ ! -e "$dest/usr/lib/modules" ]; then
		mkdir -p "$dest/usr/lib"
		mv "$dest/lib/modules" "$dest/usr/lib/modules"
		rmdir "$dest/lib" 2>/dev/null || true
	fi
	relocate "$dest" "$ver"
	echo "$suite" >"$dest/suite"
	say "$ver ($suite) in $dest"
	echo "$kdir"
}

main "$@"
