#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Draw the guide's pictures again: run each program of examples/guide
# (and the tour) with MSGPORT_TRACE, and render its trace as the SVG
# sequence diagram doc/guide/img/NAME.svg (msgport-timeline --svg); the
# tour's is the one the README shows.  Run from a built tree:
# sh scripts/guide-pictures.sh [BUILDDIR]
set -eu
build=${1:-.}
src=$(cd "$(dirname "$0")/.." && pwd)
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
for p in ports async replyports upcalls persistent kernel slate record; do
	MSGPORT_TRACE=$trace "$build/examples/guide/$p" >/dev/null
	"$build/tools/msgport-timeline" --svg "$trace" >"$src/doc/guide/img/$p.svg"
	echo "doc/guide/img/$p.svg"
done
MSGPORT_TRACE=$trace "$build/examples/tour/tour" >/dev/null
"$build/tools/msgport-timeline" --svg "$trace" >"$src/doc/guide/img/tour.svg"
echo "doc/guide/img/tour.svg"
