# shellcheck shell=bash
# A private APT configuration per Debian suite under $apt_root/SUITE/ (the
# system's sources and dpkg state stay untouched), shared by fetch-kernel.sh,
# fetch-headers.sh and kbuild.sh.  Callers set apt_root and define die().

mirror=${DUNE_VM_MIRROR:-}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# The system's Debian mirror (so a local mirror or proxy set-up carries over).
pick_mirror() {
	local f=/etc/apt/sources.list.d/debian.sources
	[ -z "$mirror" ] || return 0
	if [ -r "$f" ]; then
		mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f")
	fi
	if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
		mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++)
			if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
	fi
	: "${mirror:=http://deb.debian.org/debian}"
}

# Sets aptcfg: a private APT configuration for suite $1 alone, updated.
# The lists are reused when they are less than DUNE_VM_APT_AGE minutes old
# (default 60), so that one run's several scripts update once.
apt_for() {
	local suite=$1 d
	d=${apt_root:?}/$suite
	aptcfg=$d/apt.conf
	[ -n "$mirror" ] || pick_mirror
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	touch "$d/status"
	echo "deb [arch=amd64 signed-by=$keyring] $mirror $suite main" >"$d/sources.list"
	cat >"$aptcfg" <<-EOF
		Dir::Etc::SourceList "$d/sources.list"; Dir::Etc::SourceParts "/nonexistent";
		Dir::State::Lists "$d/lists"; Dir::Cache "$d/cache"; Dir::State::status "$d/status";
		APT::Architectures { "amd64"; }; APT::Get::AllowUnauthenticated "false";
	EOF
	if [ -n "$(find "$d/update.ok" -mmin -"${DUNE_VM_APT_AGE:-60}" 2>/dev/null)" ]; then
		return 0
	fi
	echo "apt: apt-get update ($suite, $mirror)" >&2
	rm -f "$d/update.ok"
	APT_CONFIG=$aptcfg apt-get -q update >"$d/update.log" 2>&1 ||
		APT_CONFIG=$aptcfg apt-get -q update >"$d/update.log" 2>&1 ||
		die "apt-get update for $suite failed: $(tail -n 3 "$d/update.log" | xargs)"
	touch "$d/update.ok"
}

# Field $2 of package $1 in the current configuration's candidate.
field() {
	APT_CONFIG=$aptcfg apt-cache show --no-all-versions "$1" 2>/dev/null |
		sed -n "s/^$2: //p" | head -n 1
}

# Package names among the Depends of $1 that match the regex $2.
deps_matching() {
	field "$1" Depends | tr ',|' '\n' | sed 's/^ *//; s/ .*//' | grep -E "$2" || true
}

# Downloads packages $3... into the fresh directory $2 (one retry) and
# unpacks them into the fresh directory $1.
unpack() {
	local dest=$1 dir=$2 p
	shift 2
	rm -rf "$dir" "$dest"
	mkdir -p "$dir" "$dest"
	(cd "$dir" && { APT_CONFIG=$aptcfg apt-get -q download "$@" ||
		APT_CONFIG=$aptcfg apt-get -q download "$@"; }) >"$dir/download.log" 2>&1 ||
		die "apt-get download $* failed: $(tail -n 3 "$dir/download.log" | xargs)"
	for p in "$dir"/*.deb; do
		dpkg -x "$p" "$dest"
	done
	rm -rf "$dir"
}
