/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * persistutil.h - what the persistent message tests (signals, timers)
 * share: taking a return with a generous deadline, a child process that
 * sends signals, and a barrier that proves the signal thread has dealt
 * with every occurrence raised before it.
 */
#ifndef MSGPORT_PERSISTUTIL_H
#define MSGPORT_PERSISTUTIL_H

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "msgport.h"
#include "msgport-sys.h"
#include "clockutil.h"

/* Under ThreadSanitizer (PS_TSAN): signals are deferred and repeats of
   one number folded, so exact counts of real-time storms only hold
   without it; and a child of a threaded process may not start threads. */
#if defined(__SANITIZE_THREAD__)
#define PS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PS_TSAN 1
#endif
#endif
#ifndef PS_TSAN
#define PS_TSAN 0
#endif
#define PS_EXACT_SIGNALS (!PS_TSAN)

/* Take m off rp, waiting at most 30 s: its error. */
static inline int
ps_take(msgport_t *rp, msg_t *m)
{
	struct timespec t = { 30, 0 };

	return timedwaitsys(rp, m, &t);
}

/* A returned, taken occurrence: done, still in flight, not final. */
static inline void
ps_assert_occurrence(msg_t *m)
{
	uint32_t f = msgflags(m);

	assert_true(f & MSGF_DONE);
	assert_true(f & MSGF_INFLIGHT);
	assert_false(f & (MSGF_FINAL | MSGF_QUEUED));
}

/* A taken final return: idle, final. */
static inline void
ps_assert_final(msg_t *m)
{
	uint32_t f = msgflags(m);

	assert_true(f & MSGF_DONE);
	assert_true(f & MSGF_FINAL);
	assert_false(f & MSGF_INFLIGHT);
}

/* sigqueue that waits out a full queue (EAGAIN: too many pending). */
static inline void
ps_sigqueue(pid_t pid, int sig, int value)
{
	union sigval v = { .sival_int = value };

	while (sigqueue(pid, sig, v) != 0) {
		if (errno != EAGAIN)
			_exit(3);
		sched_yield();
	}
}

/*
 * ps_child_queue
 *	Fork a child that sends sig to us n times with sigqueue, values
 *	first..first+n-1 (or with kill() when use_kill), then exits.
 */
static inline pid_t
ps_child_queue(int sig, int first, int n, int use_kill)
{
	pid_t parent = getpid(), pid;
	int i;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < n; i++) {
			if (use_kill) {
				if (kill(parent, sig) != 0)
					_exit(2);
			} else {
				ps_sigqueue(parent, sig, first + i);
			}
		}
		_exit(0);
	}
	return pid;
}

static inline void
ps_reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * ps_abort
 *	abortsys() m and take returns (rearming them) until its final one:
 *	returns the occurrences the non-final ones still reported.
 */
static inline uint64_t
ps_abort(msgport_t *rp, msg_t *m)
{
	uint64_t seen = 0;
	int r;

	assert_int_equal(abortsys(m), 0);
	if (msgflags(m) & MSGF_DONE && !(msgflags(m) & MSGF_QUEUED))
		assert_int_equal(rearmsys(m), 0);	/* held: the final comes on rearm */
	while ((r = ps_take(rp, m)) == 0) {
		seen += m->ms_count;
		assert_int_equal(rearmsys(m), 0);
	}
	assert_int_equal(r, ECANCELED);
	ps_assert_final(m);
	return seen;
}

/*
 * ps_barrier
 *	Raise sig (a real-time signal numbered above any the test storms
 *	with, so the kernel hands it to us after theirs) with a message of
 *	its own on rp, and wait for that message: every occurrence raised
 *	before has then been dealt with by the signal thread.
 */
static inline void
ps_barrier(msgport_t *rp, int sig)
{
	struct sys_signal b;

	prep_signal(&b, sig, rp);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	ps_sigqueue(getpid(), sig, 0);
	assert_int_equal(ps_take(rp, &b.hdr), 0);
	assert_int_equal(abortsys(&b.hdr), 0);
	assert_int_equal(rearmsys(&b.hdr), 0);
	assert_int_equal(ps_take(rp, &b.hdr), ECANCELED);
	ps_assert_final(&b.hdr);
}

#endif /* MSGPORT_PERSISTUTIL_H */
