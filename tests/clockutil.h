/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * clockutil.h - time for the tests that wait on something asynchronous
 * (upcalls, signals, timers): the monotonic clock, a sleep that signals
 * do not cut short, and the generous "does it complete" deadline.
 */
#ifndef MSGPORT_CLOCKUTIL_H
#define MSGPORT_CLOCKUTIL_H

#include <errno.h>
#include <time.h>

/* "Does it complete" deadline: generous, for sanitizers on a busy machine. */
#define TEST_DEADLINE_S	30.0

static inline double
test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep ms milliseconds in all: an upcall or a handler (EINTR) only pauses it. */
static inline void
test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

#endif /* MSGPORT_CLOCKUTIL_H */
