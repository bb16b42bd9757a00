#!/bin/bash
# Download and unpack a Debian amd64 kernel (vmlinuz + modules) of a newer
# suite for check-vm, without touching the system's APT sources or dpkg
# state: a private APT configuration under BUILD_DIR/vm/apt/SUITE.
# Usage: tests/vm/fetch-kernel.sh BUILD_DIR SUITE
#   SUITE: a Debian suite (trixie, trixie-backports, sid, ...), or "newest":
#   the highest linux-image-amd64 of trixie-backports and sid
#   (DUNE_VM_NEWEST_SUITES overrides that list).
# Unpacks into BUILD_DIR/vm/kernels/VER/ (boot/vmlinuz-VER, a link where the
# package has lib/modules/VER/vmlinuz, and lib/modules/VER with modules.dep)
# and prints VER, alone, on stdout: check-vm.sh boots it with
# DUNE_VM_KDIR=BUILD_DIR/vm/kernels/VER.  The suite it came from goes into
# BUILD_DIR/vm/kernels/VER/suite.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # depmod

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/apt.sh
. "$here/apt.sh"

say() { echo "fetch-kernel: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

main() {
	[ $# -eq 2 ] || die "usage: $0 BUILD_DIR SUITE|newest"
	local build suite=$2 s v best='' best_suite='' image ver pkgs dest p
	mkdir -p "$1"
	build=$(cd "$1" && pwd -P)
	apt_root=$build/vm/apt
	command -v apt-get >/dev/null || die "apt-get not found (Debian only)"
	command -v depmod >/dev/null || die "depmod not found (package kmod)"
	[ -r "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"

	local suites=$suite
	[ "$suite" != newest ] || suites=${DUNE_VM_NEWEST_SUITES:-trixie-backports sid}
	for s in $suites; do
		apt_for "$s"
		v=$(field linux-image-amd64 Version)
		[ -n "$v" ] || die "no linux-image-amd64 in $s"
		say "$s: linux-image-amd64 $v"
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then
			best=$v best_suite=$s
		fi
	done
	aptcfg=$apt_root/$best_suite/apt.conf # updated in the loop

	# linux-image-amd64 -> linux-image-VER.  Up to 6.x that package holds
	# vmlinuz and the modules; newer ones split them into linux-binary-VER
	# and linux-modules-VER, which it depends on.
	image=$(deps_matching linux-image-amd64 '^linux-image-[0-9]' | head -n 1)
	[ -n "$image" ] || die "$best_suite: linux-image-amd64 depends on no linux-image-VER"
	ver=${image#linux-image-}
	dest=$build/vm/kernels/$ver
	if [ -r "$dest/boot/vmlinuz-$ver" ] && [ -r "$dest/lib/modules/$ver/modules.dep" ]; then
		say "$ver ($best_suite) already in $dest"
		echo "$best_suite" >"$dest/suite"
		echo "$ver"
		return 0
	fi
	pkgs=$image
	for p in $(deps_matching "$image" '^linux-(binary|modules)-'); do
		case $p in linux-binary-"$ver" | linux-modules-"$ver") pkgs+=" $p" ;; esac
	done
	say "downloading $pkgs ($best_suite)"
	# shellcheck disable=SC2086 # one package per word
	unpack "$dest" "$build/vm/kernels/.dl-$ver" $pkgs
	# Merged-/usr packages ship usr/lib/modules; depmod -b and modprobe -d
	# look in DIR/lib/modules.
	if [ ! -e "$dest/lib" ] && [ -d "$dest/usr/lib" ]; then
		ln -s usr/lib "$dest/lib"
	fi
	[ -d "$dest/lib/modules/$ver" ] || die "$pkgs: no lib/modules/$ver"
	# 7.x packages put the image at lib/modules/VER/vmlinuz.
	if [ ! -e "$dest/boot/vmlinuz-$ver" ] && [ -r "$dest/lib/modules/$ver/vmlinuz" ]; then
		mkdir -p "$dest/boot"
		ln -s "../lib/modules/$ver/vmlinuz" "$dest/boot/vmlinuz-$ver"
	fi
	[ -r "$dest/boot/vmlinuz-$ver" ] || die "$pkgs: no boot/vmlinuz-$ver"
	# The packages ship no modules.dep: their postinst runs depmod.
	depmod -b "$dest" "$ver" || die "depmod -b $dest $ver failed"
	echo "$best_suite" >"$dest/suite" # for fetch-headers.sh
	say "$ver ($best_suite) in $dest"
	echo "$ver"
}

main "$@"
