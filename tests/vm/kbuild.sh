#!/bin/bash
# Build the module (kmod/) for Debian kernel VER against that kernel's own
# headers and compiler: on this system when the kernel is of this system's
# suite, else in a debootstrap'd chroot of the kernel's suite (newer Debian
# kernels are built with a newer gcc, and their kbuild tools link against a
# newer glibc).
# Usage: tests/vm/kbuild.sh [--dkms] BUILD_DIR VER [MAKE_ARG...]
#   VER: as for tests/vm/fetch-headers.sh, which this runs first; or, with
#   DUNE_VM_KMOD_KDIR=DIR, the kernel of build tree DIR, built here.
#   Builds a fresh copy of kmod/, include/ and dkms.conf in
#   BUILD_DIR/vm/kmod/VER/dune/ with `make -C kmod KDIR=... MAKE_ARG...`.
#   --dkms: `dkms add` and `dkms build` that copy instead, with DKMS trees
#   of its own under BUILD_DIR/vm/kmod/VER/ (the system's stay untouched).
# Prints the path of the built dune.ko, alone, on stdout.
# The chroot is BUILD_DIR/vm/chroot/SUITE/ (made once, 40 s to 3 min and
# 460 MB; needs root and debootstrap).  DUNE_VM_MIRROR overrides the Debian mirror.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # debootstrap, chroot, dkms

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/vm/apt.sh
. "$here/apt.sh"

say() { echo "kbuild: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# The suite whose system builds modules for a kernel of suite $1: backports
# are built on the suite they extend.
base_suite() {
	case $1 in
	installed) echo "$host_suite" ;;
	*-backports | *-updates | *-security) echo "${1%-*}" ;;
	*) echo "$1" ;;
	esac
}

# Sets pkgs: what building a module against $kdir needs, by Debian package
# name: the compiler the kernel was built with (its Makefile says gcc-N),
# make, libc headers, dkms and what its kbuild tools link against.
build_packages() {
	local cc kbuild
	cc=$(sed -n 's/^CC = .*)\(gcc-[0-9][0-9]*\)$/\1/p' "$kdir/.kernelvariables" 2>/dev/null)
	[ -n "$cc" ] || die "$kdir/.kernelvariables names no gcc-N compiler"
	kbuild=$(readlink "$kdir/scripts")
	kbuild=${kbuild%/scripts}
	kbuild=${kbuild##*/}
	pkgs="$cc make libc6-dev dkms kmod"
	if [ "$(base_suite "$suite")" = "$host_suite" ]; then
		command -v "x86_64-linux-gnu-$cc" >/dev/null || die "no $cc here (apt-get install $cc)"
		return 0
	fi
	apt_for "$suite"
	pkgs+=" $(deps_matching "$kbuild" . | xargs)"
}

# Sets root to a chroot of suite $1 that has $pkgs, made or completed first.
chroot_for() {
	local base=$1 missing p
	root=$build/vm/chroot/$base
	if [ ! -e "$root/.dune-ok" ]; then
		command -v debootstrap >/dev/null || die "debootstrap not found (package debootstrap)"
		say "debootstrap $base into $root (once)"
		rm -rf "$root.tmp"
		mkdir -p "$build/vm/chroot"
		debootstrap --variant=minbase --include="${pkgs// /,}" "$base" "$root.tmp" "$mirror" \
			>"$root.log" 2>&1 || die "debootstrap $base failed: $(tail -n 3 "$root.log" | xargs)"
		chroot "$root.tmp" apt-get clean
		rm -rf "$root"
		mv "$root.tmp" "$root"
		touch "$root/.dune-ok"
	fi
	missing=
	for p in $pkgs; do
		chroot "$root" dpkg -s "$p" >/dev/null 2>&1 || missing+=" $p"
	done
	[ -z "$missing" ] && return 0
	say "installing$missing into $root"
	# shellcheck disable=SC2086 # one package per word
	chroot "$root" sh -c "apt-get -q update && apt-get -q install -y --no-install-recommends$missing && apt-get clean" \
		>"$root.log" 2>&1 || die "apt-get install$missing in $root failed: $(tail -n 3 "$root.log" | xargs)"
}

# A fresh copy of the module's sources in $src: what dkms.conf and kmod/
# need, without another kernel's objects.
copy_sources() {
	local p
	rm -rf "$src"
	mkdir -p "$src"
	[ -d "$top/kmod" ] || die "$top/kmod: no such directory"
	for p in kmod include dkms.conf; do
		[ ! -e "$top/$p" ] || cp -a "$top/$p" "$src/"
	done
	find "$src/kmod" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \) -delete
}

# Runs "$@" in the kernel's build system: here, or in the chroot with
# BUILD_DIR at the same path (a private mount namespace: the mounts go away
# with the command).
run() {
	if [ -z "$root" ]; then
		"$@"
		return
	fi
	# shellcheck disable=SC2016 # expanded by that sh
	unshare --mount --propagation private -- sh -ec '
		root=$1 build=$2
		shift 2
		mkdir -p "$root$build"
		mount --bind "$build" "$root$build"
		mount --bind /dev "$root/dev"
		mount -t proc proc "$root/proc"
		exec chroot "$root" env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
	' sh "$root" "$build" "$@"
}

# dkms add + build of the copy in $src, in DKMS trees of its own; prints the
# module it built.
dkms_build() {
	local name version tree=$work/dkms ko
	name=$(sed -n 's/^PACKAGE_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$src/dkms.conf")
	version=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$src/dkms.conf")
	if [ -z "$name" ] || [ -z "$version" ]; then
		die "$src/dkms.conf: no PACKAGE_NAME or PACKAGE_VERSION"
	fi
	rm -rf "$tree" "$work/$name-$version"
	mkdir -p "$tree"
	mv "$src" "$work/$name-$version"
	src=$work/$name-$version
	# sign_file: no signing, so no key appears in /var/lib/dkms (the test
	# guests do not enforce signatures).
	run env sign_file=/nonexistent dkms add -m "$name" -v "$version" \
		--sourcetree "$work" --dkmstree "$tree" >&2
	run env sign_file=/nonexistent dkms build -m "$name" -v "$version" -k "$ver" \
		--kernelsourcedir "$kdir" --sourcetree "$work" --dkmstree "$tree" >&2 || {
		cat "$tree/$name/$version/build/make.log" >&2 2>/dev/null || true
		die "dkms build for $ver failed"
	}
	ko=$(find "$tree/$name/$version/$ver" -name 'dune.ko*' | head -n 1)
	[ -n "$ko" ] || die "dkms build for $ver left no dune.ko in $tree"
	echo "$ko"
}

main() {
	local use_dkms='' build base pkgs root='' src work ko
	if [ "${1:-}" = --dkms ]; then
		use_dkms=1
		shift
	fi
	[ $# -ge 2 ] || die "usage: $0 [--dkms] BUILD_DIR VER [MAKE_ARG...]"
	[ -d "$1" ] || die "$1: no such directory"
	build=$(cd "$1" && pwd -P)
	ver=$2
	shift 2
	apt_root=$build/vm/apt
	# shellcheck disable=SC1091 # the system's
	host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [ -n "${DUNE_VM_KMOD_KDIR:-}" ]; then
		kdir=$(cd "$DUNE_VM_KMOD_KDIR" && pwd -P) || die "DUNE_VM_KMOD_KDIR: no such directory"
		suite=installed
	else
		kdir=$("$here/fetch-headers.sh" "$build" "$ver")
		suite=$(cat "$build/vm/headers/$ver/suite")
		build_packages
	fi
	base=$(base_suite "$suite")
	if [ "$base" != "$host_suite" ]; then
		[ "$(id -u)" = 0 ] || die "building for $ver ($suite) needs a chroot: run as root"
		pick_mirror
		chroot_for "$base"
	fi
	work=$build/vm/kmod/$ver
	src=$work/dune
	copy_sources
	say "building for $ver ($suite) ${root:+in $root}"
	if [ -n "$use_dkms" ]; then
		dkms_build
		return
	fi
	run make -C "$src/kmod" KDIR="$kdir" "$@" >&2 || die "make for $ver failed"
	ko=$src/kmod/dune.ko
	[ -r "$ko" ] || die "make for $ver left no $ko"
	echo "$ko"
}

main "$@"
