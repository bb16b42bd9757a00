#!/usr/bin/env bash
# A LoongArch64 glibc sysroot for `make ARCH=loongarch64`: Debian 12 has
# clang-19 for LoongArch but no libc, so take sid's arch-all cross packages
# through a private APT configuration (the system's sources, lists and dpkg
# architectures stay untouched) and unpack them with dpkg -x.  Also unpacks
# sid's qemu-user (QEMU 7.2 lacks the LSX that sid's glibc uses) into DIR/qemu.
# Usage: tests/cross/sysroot-loongarch64.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
packages="libc6-dev-loong64-cross libc6-loong64-cross libgcc-14-dev-loong64-cross
	libgcc-s1-loong64-cross linux-libc-dev-loong64-cross linux-libc-dev qemu-user"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
apt=$dir.apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
touch "$apt/status"
uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null ||
      true)
uri=${uri:-http://deb.debian.org/debian}
key=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [arch=amd64,loong64 signed-by=$key] $uri sid main" > "$apt/sources.list"
cat > "$apt/apt.conf" <<EOT
Dir::Etc::SourceList "$apt/sources.list"; Dir::Etc::SourceParts "/nonexistent";
Dir::State::Lists "$apt/lists"; Dir::Cache "$apt/cache"; Dir::State::status "$apt/status";
APT::Architectures { "amd64"; "loong64"; };
APT::Sandbox::User "root";
EOT
export APT_CONFIG=$apt/apt.conf
apt-get -q update > "$apt/update.log" 2>&1 ||
	{ echo "$0: apt-get update of sid failed (see $apt/update.log)" >&2; exit 1; }
# shellcheck disable=SC2086 # one package per word
(cd "$apt/dl" && apt-get -q download $packages > "$apt/download.log" 2>&1) ||
	{ echo "$0: a package is gone from sid: $(tail -1 "$apt/download.log")" >&2; exit 1; }
for deb in "$apt"/dl/*.deb; do
	case $deb in
	*/qemu-user_*) dpkg -x "$deb" "$dir/qemu" ;;
	*) dpkg -x "$deb" "$dir" ;;
	esac
done
touch "$dir/.complete"
