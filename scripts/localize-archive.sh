#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# localize-archive.sh ARCHIVE OBJECT.lo...
#
# Make libtool's static ARCHIVE one relocatable object whose hidden
# symbols are local.  The library is built with -fvisibility=hidden, so
# hidden means internal: nm -g then shows only the public names, and a
# program's own pool_start or kstate no longer collides with ours in a
# static link.  (Hidden symbols are still global in each .o, which is why
# the objects are joined first: only then can they be made local.)
# Built from the objects, not the archive, so it can run again safely.
# Uses $LD, $OBJCOPY, $AR and $RANLIB.
set -e
archive=$1
shift
[ -f "$archive" ] || exit 0	# configure --disable-static
objs=
for lo; do
	case $lo in
	*/*) dir=${lo%/*}/ ;;
	*) dir= ;;
	esac
	non_pic_object=none
	case $lo in
	/*) . "$lo" ;;
	*) . "./$lo" ;;
	esac
	if [ "$non_pic_object" = none ]; then
		echo "$0: $lo has no static object" >&2
		exit 1
	fi
	objs="$objs $dir$non_pic_object"
done
one=${archive%.a}.o
rm -f "$one"
${LD:-ld} -r -o "$one" $objs
${OBJCOPY:-objcopy} --localize-hidden "$one"
rm -f "$archive"
${AR:-ar} cr "$archive" "$one"
${RANLIB:-ranlib} "$archive"
rm -f "$one"
