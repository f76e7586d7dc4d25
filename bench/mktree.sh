#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mktree.sh DIR [SCALE] - a generated tree for the du benchmark: SCALE*10
# top directories, each with 3 levels of subdirectories and 40 files per
# directory of varied sizes, some symlinks and hard links (43 entries per
# directory: SCALE 30 makes about 52,000).  Idempotent: an existing DIR is left as it is.
set -euo pipefail
dir=$1 scale=${2:-30}
[ -d "$dir" ] && exit 0
mkdir -p "$dir.tmp"
cd "$dir.tmp"
for ((t = 0; t < scale * 10; t++)); do
	for sub in "t$t" "t$t/a" "t$t/a/b" "t$t/a/c"; do
		mkdir -p "$sub"
		(cd "$sub" && touch f{1..40} && truncate -s $((t * 97 % 8192)) f1 f7 f13 &&
			ln -s f1 link && ln f2 hard)
	done
done
cd ..
mv "$dir.tmp" "$dir"
