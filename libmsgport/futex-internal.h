/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * futex-internal.h - sleeping on a 32-bit word, and deadlines.
 *
 * The only blocking primitive of libmsgport: a thread sleeps while a word
 * still holds the value it last saw, and is woken by whoever changes it.
 * Deadlines are absolute CLOCK_MONOTONIC times; NULL means forever.
 */
#ifndef MSGPORT_FUTEX_INTERNAL_H
#define MSGPORT_FUTEX_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * mp_futex_wait
 *	Sleep while *word == expect, until woken or the deadline passes.
 *	Returns 0 (woken, perhaps spuriously), EAGAIN (the word had already
 *	changed), EINTR, or ETIMEDOUT.
 */
static inline int
mp_futex_wait(uint32_t *word, uint32_t expect, const struct timespec *deadline)
{
	long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
	    expect, deadline, NULL, FUTEX_BITSET_MATCH_ANY);

	return r == 0 ? 0 : errno;
}

/*
 * mp_futex_wake
 *	Wake every thread sleeping on word.
 *	NOTE: uses only the address, never the memory, so it is safe to call
 *	after the word's owner may have freed it.
 */
static inline void
mp_futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

/* The absolute deadline that lies timeout from now (NULL: none). */
static inline const struct timespec *
mp_deadline(const struct timespec *timeout, struct timespec *buf)
{
	if (timeout == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, buf);
	/* Further than a century away is forever, and cannot overflow. */
	if (timeout->tv_sec > 100L * 366 * 24 * 3600)
		return NULL;
	buf->tv_sec += timeout->tv_sec;
	buf->tv_nsec += timeout->tv_nsec;
	if (buf->tv_nsec >= 1000000000L) {
		buf->tv_sec++;
		buf->tv_nsec -= 1000000000L;
	}
	return buf;
}

/* How long until deadline, never negative (for ppoll() and nanosleep(2)'s rest). */
static inline struct timespec *
mp_remaining(const struct timespec *deadline, struct timespec *rem)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	rem->tv_sec = deadline->tv_sec - now.tv_sec;
	rem->tv_nsec = deadline->tv_nsec - now.tv_nsec;
	if (rem->tv_nsec < 0) {
		rem->tv_sec--;
		rem->tv_nsec += 1000000000L;
	}
	if (rem->tv_sec < 0)
		rem->tv_sec = rem->tv_nsec = 0;
	return rem;
}

/* Has the deadline passed? */
static inline bool
mp_deadline_passed(const struct timespec *deadline)
{
	struct timespec now;

	if (deadline == NULL)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

#endif /* MSGPORT_FUTEX_INTERNAL_H */
