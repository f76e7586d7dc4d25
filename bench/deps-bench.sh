#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what bench/du-bench.sh alone needs, on Debian 12 as root: the
# peers it times (GNU du and find are in coreutils and findutils; gdu and
# bfs are packages of their own), taskset (util-linux) and iostat
# (sysstat) for the cold notes.  Never needed to build or test msgport.
exec sh "$(dirname "$0")/../scripts/deps.sh" coreutils findutils util-linux gdu bfs sysstat
