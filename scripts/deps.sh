#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what building and testing msgport needs, on Debian 12 as root.
# Only what is missing is installed; nothing is downloaded but packages.
# With arguments, those packages instead (bench/deps-bench.sh).
set -e
pkgs="$*"
[ -n "$pkgs" ] || pkgs="build-essential g++ clang autoconf automake libtool pkg-config
      libevent-dev libck-dev libcmocka-dev liburing-dev
      libxml2-utils librsvg2-bin"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
