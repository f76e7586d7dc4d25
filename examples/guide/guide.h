/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * guide.h - what every program of the guide (doc/guide) shares: a
 * check that says what it expected, and a verdict at the end.  Each
 * program checks its own output, so `make check` notices when a chapter
 * no longer tells the truth.
 */
#ifndef GUIDE_H
#define GUIDE_H

#include <stdio.h>
#include <stdlib.h>

static int guide_failed;

/* Say what was expected and whether it held; remember a failure. */
static inline void
check(int ok, const char *what)
{
	printf("  %s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		guide_failed = 1;
}

/* The exit status: 0 when every check held. */
static inline int
verdict(const char *prog)
{
	printf("%s: %s\n", prog, guide_failed ? "some checks FAILED" : "all checks hold");
	return guide_failed ? 1 : 0;
}

#endif /* GUIDE_H */
