#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Build the Debian packages (libmsgport2, libmsgport-dev, msgport-tools)
# on Debian 12 as root, from a copy of this tree in a temporary directory.
#
#   sh scripts/build-deb.sh [--install] [OUTDIR]
#
# Installs what the build needs if it is missing, runs
# `dpkg-buildpackage -us -uc -b`, collects the .deb, .changes and
# .buildinfo files into OUTDIR (default _build-deb in the tree), and runs lintian on
# them: errors fail, warnings are printed.  --install then installs the
# packages and builds and runs an outside program (debian/tests/getpid.c)
# with only `pkg-config --cflags --libs msgport`; the packages stay
# installed (apt-get purge -y libmsgport2 libmsgport-dev msgport-tools).
# DEB_BUILD_OPTIONS=nocheck skips make check in the package build.
set -eu
install=no
out=$(dirname "$0")/../_build-deb
for arg; do
	case $arg in
	--install) install=yes ;;
	-h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "build-deb.sh: unknown option $arg" >&2; exit 2 ;;
	*) out=$arg ;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
top=$(pwd)

# What the build needs: the library's own (deps.sh), then the packaging tools.
sh scripts/deps.sh
tools=yes
for c in dpkg-buildpackage dh lintian fakeroot; do
	command -v "$c" >/dev/null || tools=no
done
[ "$tools" = yes ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends dpkg-dev debhelper lintian fakeroot; }
dpkg-checkbuilddeps

# A copy of the tree: only what git knows (tracked or not ignored), so no
# build output of the checkout gets in and nothing lands in the checkout.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/msgport
mkdir "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		tar --null --ignore-failed-read -T - -cf - | tar -C "$src" -xf -
else	# not a git checkout (or not git's to read): all but build dirs
	tar --exclude=./.git --exclude='./_build*' -cf - . | tar -C "$src" -xf -
fi

(cd "$src" && dpkg-buildpackage -us -uc -b -jauto)

ver=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out"/
ls -l "$out"

echo "==== lintian (errors fail, warnings shown)"
lintian --fail-on error --display-level '>=warning' "$out/msgport_${ver}_${arch}.changes"

[ "$install" = yes ] || exit 0

echo "==== install"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"$out/libmsgport2_${ver}_${arch}.deb" \
	"$out/libmsgport-dev_${ver}_${arch}.deb" \
	"$out/msgport-tools_${ver}_${arch}.deb"

echo "==== an outside program, built with pkg-config only"
cd "$tmp"
# shellcheck disable=SC2046
cc -o getpid "$top/debian/tests/getpid.c" $(pkg-config --cflags --libs msgport)
./getpid
# The tools: the asynchronous du agrees with its synchronous twin.
msgport-timeline --help >/dev/null
a=$(msgport-du /usr/include /usr/share/doc/libmsgport-dev)
b=$(msgport-du-sync /usr/include /usr/share/doc/libmsgport-dev)
[ "$a" = "$b" ] || { echo "msgport-du: $a, msgport-du-sync: $b" >&2; exit 1; }
echo "msgport-du agrees with msgport-du-sync: $a"
