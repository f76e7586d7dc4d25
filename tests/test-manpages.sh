#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Description: every call the public headers define or declare has its
# manual page (doc/man/NAME.3, a page or a .so link to its family's), and
# every page is installed (listed in doc/include.am): a new call without
# its page fails here, not silently.
top=${srcdir:-.}
names=$( { grep -hoE '^[a-z_][a-z0-9_]*\(' "$top"/include/*.h
	   grep -hoE '^(int|void|unsigned|bool|uint32_t|const char|msgport_t|msg_t)[[:space:]*]+[a-z_][a-z0-9_]*\(' \
	       "$top"/include/*.h | grep -oE '[a-z_][a-z0-9_]*\($'; } | tr -d '(' | sort -u)
[ -n "$names" ] || { echo "no public calls found in $top/include"; exit 1; }
fail=0
for n in $names; do
	if [ ! -f "$top/doc/man/$n.3" ]; then
		echo "$n: no manual page doc/man/$n.3"
		fail=1
	elif ! grep -q "doc/man/$n\.3" "$top/doc/include.am"; then
		echo "$n: doc/man/$n.3 is not listed in doc/include.am"
		fail=1
	fi
done
for f in "$top"/doc/man/*.[0-9]; do
	grep -q "doc/man/${f##*/}" "$top/doc/include.am" ||
		{ echo "${f##*/}: not listed in doc/include.am"; fail=1; }
done
[ $fail -eq 0 ] && echo "$(echo "$names" | wc -w) calls, each with its page"
exit $fail
