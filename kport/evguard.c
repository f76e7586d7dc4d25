/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evguard.c - libevent kept from ending or printing into the application.
 *
 * libevent 2.1 logs to stderr, and on some failures calls its fatal
 * callback and then exit() (event_exit(): a callback that returns is
 * followed by exit() all the same).  With fewer than four descriptors
 * free, event_base_new() reaches such a path: the epoll instance takes
 * one, then the signal socketpair cannot be made, and evsig_init_()
 * ends the process; with three it prints and fails.  So:
 *
 *   - its log callback is silent (nothing it says is the application's
 *     business: every failure that matters comes back as an error);
 *   - before the base is made, the descriptors it needs are checked to
 *     be free (KEV_NFDS), and if not, the start fails with the error as
 *     the system says it (EMFILE, ENFILE, ENOMEM);
 *   - should another thread take them in between, its fatal callback
 *     jumps back out of event_base_new() to the start, which fails with
 *     that error; the half-made base is lost (a descriptor or two and
 *     some memory), the process lives and a later start can succeed.
 */
#include "config.h"

#include <setjmp.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "evloop-internal.h"
#include "kport-internal.h"

/* event_base_new(): the epoll instance, the signal socketpair, the notify eventfd */
#define KEV_NFDS	4

static bool kev_ready;			/* the callbacks are in; under sysp_ctl */
static __thread jmp_buf *kev_jmp;	/* set while this thread starts the loop */
static __thread int kev_errno;

static void
kev_log(int severity, const char *msg)
{
	(void)severity, (void)msg;
}

/*
 * kev_fatal
 *	libevent cannot go on, and exits if this returns.  Inside a start,
 *	jump back to it.  Anywhere else it is one of libevent's internal
 *	assertions (a bug, memory corrupted): end as an assertion does.
 */
static void
kev_fatal(int err)
{
	(void)err;
	if (kev_jmp != NULL) {
		kev_errno = errno;
		longjmp(*kev_jmp, 1);
	}
	abort();
}

/*
 * mp_kev_init
 *	Install libevent's callbacks and its pthreads locking, before the
 *	first base.  0, or ENOMEM (nothing lasting: the next start tries
 *	again).
 *	NOTE: called with sysp_ctl held.
 */
int
mp_kev_init(void)
{
	if (kev_ready)
		return 0;
	event_set_log_callback(kev_log);
	event_set_fatal_callback(kev_fatal);
	if (evthread_use_pthreads() != 0)
		return ENOMEM;
	kev_ready = true;
	return 0;
}

/* Are KEV_NFDS descriptors free?  0, or the error taking them gave. */
static int
kev_reserve(void)
{
	int fd[KEV_NFDS], i, n, r = 0;

	for (n = 0; n < KEV_NFDS; n++) {
		if ((fd[n] = eventfd(0, EFD_CLOEXEC)) < 0) {
			r = errno;
			break;
		}
	}
	for (i = 0; i < n; i++)
		close(fd[i]);
	return r;
}

/*
 * mp_kev_start
 *	mp_evloop_start(), with the descriptors it needs checked first and
 *	libevent's fatal paths turned into an error.
 */
int
mp_kev_start(struct mp_kstate *ks)
{
	jmp_buf jb;
	volatile int r;

	if ((r = kev_reserve()) != 0)
		return r;
	kev_jmp = &jb;
	if (setjmp(jb) == 0) {
		r = mp_evloop_start(ks);
	} else {
		ks->ks_base = NULL;
		ks->ks_stopev = NULL;
		r = kev_errno != 0 ? kev_errno : EMFILE;
	}
	kev_jmp = NULL;
	return r;
}
