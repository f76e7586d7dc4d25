/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * thread-internal.h - the per-thread state: critical sections, the
 * library's own sections, and what the upcall signal held back.
 *
 * Everything here is touched by one thread only, its code and its signal
 * handler, so plain accesses ordered by compiler barriers are enough.
 * The state is read by crit.c (crit_enter, crit_exit, flushsys), by every
 * library section (mp_libcrit_*), and by the upcall dispatcher in
 * upcall.c, the one function that runs what was held back.
 */
#ifndef MSGPORT_THREAD_INTERNAL_H
#define MSGPORT_THREAD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "atomic-internal.h"

struct upcall_port;

/* td_held: why work was held back */
#define TD_HELD_LIB	0x1u	/* the signal came while inside the library */
#define TD_HELD_CRIT	0x2u	/* a port waits for the critical section to end */

/*
 * The per-thread state.  td_critcount counts the user's crit_enter()s;
 * td_libcrit counts the library's own sections that hold a lock an upcall
 * might want (a port's queue locks) or walk td_ports: inside one no
 * upcall of any kind runs, so an upcall may call the library freely.
 */
struct mp_td {
	volatile uint32_t td_critcount;
	volatile uint32_t td_libcrit;
	volatile uint32_t td_held;	/* TD_HELD_* */
	struct upcall_port *volatile td_ports;	/* the ports this thread owns (upcall.c) */
	bool		td_registered;	/* thread-exit hook set (upcall.c) */
	void		*td_lent;	/* the kernel's turn this thread holds (mp_lender) */
};

extern __thread struct mp_td mp_td __attribute__((tls_model("initial-exec")));

/*
 * mp_up_dispatch (upcall.c)
 *	Run the upcalls that are due on this thread; returns how many ran.
 *	flush: flushsys(), which also runs passive ports whose timer has
 *	not fired.
 */
int	mp_up_dispatch(bool flush);

/*
 * mp_libcrit_enter, mp_libcrit_exit
 *	Bracket a library section no upcall may interrupt on this thread.
 *	Nestable; an upcall held back meanwhile runs at the outermost exit.
 */
static inline void
mp_libcrit_enter(void)
{
	mp_td.td_libcrit++;
	mp_barrier();
}

static inline void
mp_libcrit_exit(void)
{
	uint32_t n;

	mp_barrier();
	n = mp_td.td_libcrit - 1;
	mp_td.td_libcrit = n;
	mp_barrier();
	if (n == 0 && (mp_td.td_held & TD_HELD_LIB))
		mp_up_dispatch(false);
}

#endif /* MSGPORT_THREAD_INTERNAL_H */
