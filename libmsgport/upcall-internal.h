/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upcall-internal.h - reply ports that interrupt their owner, and the
 * per-thread state behind critical sections.
 *
 * An upcall port belongs to the thread that made it.  Any thread may
 * return messages to it; the replier queues the message, counts it in
 * up_pending and, when the count leaves zero, notifies the owner: a
 * thread-directed signal (upcall and critical-section kinds) or the
 * port's timer (passive kind), which sends the same signal to the owner
 * when it expires.  The owner's signal handler looks at the ports the
 * thread owns and runs the upcalls that are due, or, when it may not run
 * them yet, leaves a "held back" mark that crit_exit(), the library's own
 * exits and flushsys() look at.
 *
 * Everything in struct mp_td and the owner-only fields of struct
 * upcall_port are touched by one thread only, its code and its signal
 * handler, so plain accesses ordered by compiler barriers are enough.
 * The fields a replier touches are marked and use the mp_* atomics.
 */
#ifndef MSGPORT_UPCALL_INTERNAL_H
#define MSGPORT_UPCALL_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "msgport-internal.h"

/* upcall port kinds (up_kind) */
#define UP_PLAIN	1	/* runs at once, even inside a critical section */
#define UP_CRIT		2	/* held while the owner is inside a critical section */
#define UP_PASSIVE	3	/* runs only once its timer fired; then as UP_CRIT */

struct upcall_port {
	struct msgport	up_port;	/* first: a port like any other */

	/* set at creation, read-only after */
	upcall_fn	up_fn;
	void		*up_arg;
	int		up_kind;	/* UP_* */
	struct timespec	up_timeout;	/* UP_PASSIVE: how long messages may wait */
	timer_t		up_timer;	/* UP_PASSIVE: signals the owner at expiry */
	uintptr_t	up_id;		/* unique; the timer's signal carries it */

	pid_t		up_pid;		/* the owner's process, for tgkill */
	int		up_signo;	/* the upcall signal */

	/* shared with repliers: mp_* atomics only */
	uint32_t	up_pending;	/* replies since the owner last looked */
	uint32_t	up_tid;		/* the owner's thread id, or UP_TID_* */

	/* owner only (its code and its signal handler) */
	struct upcall_port *up_next;	/* in the owner's td_ports */
	volatile int	up_running;	/* its upcall is on the owner's stack */
	volatile int	up_fired;	/* UP_PASSIVE: the timer expired */
	volatile int	up_heldtraced;	/* the trace has said its upcalls are held */
};

/* up_tid when there is no owner to notify */
#define UP_TID_ORPHAN	0u		/* the owner exited: a plain queue now */
#define UP_TID_DYING	0xffffffffu	/* the owner is exiting right now */

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
	struct upcall_port *volatile td_ports;	/* the ports this thread owns */
	bool		td_registered;	/* thread-exit hook set */
};

extern __thread struct mp_td mp_td __attribute__((tls_model("initial-exec")));

void	mp_td_flushlib(void);

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
		mp_td_flushlib();
}

/* The default upcall signal: SIGRTMIN + this. */
#define MSGPORT_UPCALL_DEFAULT	5

/* crit.c: the signal, and the thread's list of ports */
int	mp_up_install(void);
int	mp_up_signal(void);
pid_t	mp_up_process(void);
int	mp_up_attach(struct upcall_port *up);
void	mp_up_detach(struct upcall_port *up);

/* upcall.c: what the dispatcher asks of a port */
bool	mp_up_due(struct mp_td *td, struct upcall_port *up, bool flush);
int	mp_up_run(struct upcall_port *up, bool flush);
void	mp_up_orphan(struct upcall_port *up);

#endif /* MSGPORT_UPCALL_INTERNAL_H */
