/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crit.c - critical sections and flushsys().
 *
 * A thread's upcalls arrive as a signal (upcall.c); what may not run yet,
 * because the thread is inside a critical section, is held back and runs
 * when the outermost section ends or at flushsys(), through the one
 * dispatcher, mp_up_dispatch().  Critical sections cost one increment on
 * entry and one decrement plus a test on exit: the only other party is
 * the signal handler on the same thread, so compiler barriers order them.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "msgport-internal.h"
#include "thread-internal.h"

__thread struct mp_td mp_td __attribute__((tls_model("initial-exec")));

void
crit_enter(void)
{
	mp_td.td_critcount++;
	mp_barrier();
}

static void __attribute__((noinline, noreturn))
crit_underflow(void)
{
	static const char msg[] = "msgport: crit_exit() without crit_enter()\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		abort();
	abort();
}

/*
 * crit_exit
 *	Leave a critical section; leaving the outermost runs the upcalls
 *	held back meanwhile.  Unbalanced, it aborts: that is a bug.
 */
void
crit_exit(void)
{
	struct mp_td *td = &mp_td;
	uint32_t n;

	mp_barrier();
	n = td->td_critcount;
	if (__builtin_expect(n == 0, 0))
		crit_underflow();
	td->td_critcount = --n;
	mp_barrier();
	if (n == 0 && td->td_held != 0)
		mp_up_dispatch(false);
}

/*
 * flushsys
 *	Run now what was held back for the calling thread: upcalls of
 *	critical-section ports held by crit_enter(), and queued messages of
 *	passive ports whose timeout has not run out, after sending the
 *	messages a plugged thread holds (plugsys()).  The upcalls run
 *	outside the critical section, which is reopened afterwards.
 *	Returns how many upcalls ran.
 */
int
flushsys(void)
{
	struct mp_td *td = &mp_td;
	uint32_t saved = td->td_critcount;
	int ran;

	mp_send_held();		/* their replies may be what is flushed */
	td->td_critcount = 0;
	mp_barrier();
	ran = mp_up_dispatch(true);
	mp_barrier();
	td->td_critcount = saved;
	return ran;
}
