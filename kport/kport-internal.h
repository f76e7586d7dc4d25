/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kport-internal.h - the emulated kernel's state: its lock, its request
 * slots (slots.c), and how a message that ran is settled.  Each part of
 * the kernel has its own header besides: the command table
 * (systab-internal.h), the raw call helpers (ksys-internal.h), where a
 * blocking message goes (kreq-internal.h), the pool (pool-internal.h),
 * the event loop (evloop-internal.h), plugged threads and their rings
 * (plug-internal.h), predictive inline (guess-internal.h), user memory
 * (ucopy-internal.h).
 *
 * A message sent to the system port goes one of three ways:
 *
 *   inline	in the sender's thread: every synchronous message, and an
 *		asynchronous one whose command cannot block or whose
 *		non-blocking try (kc_try) finished it;
 *   event loop	an asynchronous message on a pollable descriptor that would
 *		block: it waits for readiness in the one libevent thread,
 *		which then runs kc_try again (evloop.c);
 *   pool	an asynchronous message that can only block: a bounded pool
 *		of worker threads runs kc_run (pool.c).
 *
 * The last two need per-message kernel state, a struct kreq taken from a
 * fixed array of slots (sa_slots of them) and pointed to by ms_kstate; no
 * allocation happens per message.
 */
#ifndef KPORT_INTERNAL_H
#define KPORT_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "msgport-internal.h"
#include "msgport-sys.h"
#include "systab-internal.h"
#include "trace-internal.h"
#include "thread-internal.h"

struct event;
struct event_base;

/* Nothing here leaves the library (and the table is reached without the GOT). */
#pragma GCC visibility push(hidden)

/*
 * klock, kunlock
 *	The kernel's locks are held inside a library section: an upcall
 *	could otherwise interrupt a thread holding one and, sending a message
 *	itself, wait for it for ever.  An upcall held back meanwhile runs at
 *	kunlock() (see thread-internal.h).
 */
static inline void
klock(pthread_mutex_t *lock)
{
	mp_libcrit_enter();
	pthread_mutex_lock(lock);
}

static inline void
kunlock(pthread_mutex_t *lock)
{
	pthread_mutex_unlock(lock);
	mp_libcrit_exit();
}

/* A message cut short: the call "returned" -1 with ECANCELED. */
static inline int
kcancel(msg_t *msg)
{
	msg->ms_result = -1;
	return ECANCELED;
}

/*
 * ksettle_untraced
 *	Finish a message that ran in the sender's thread: it is idle and
 *	done at once, never returned to a reply port.  A plain release store
 *	of the flags (no CAS): the sender owns the message, and the only
 *	other writer, abortsys(), merely adds MSGF_ABORTED, which loses its
 *	meaning once the call is over.
 */
static inline int
ksettle_untraced(msg_t *msg, int error)
{
	uint32_t f = mp_load_32(&msg->ms_flags);

	msg->ms_error = error;
	mp_store_rel_32(&msg->ms_flags,
	    (f | MSGF_DONE) & ~(MSGF_INFLIGHT | MSGF_SYNC | MSGF_ABORTABLE));
	return error;
}

/* As ksettle_untraced(), and the trace says where it ran. */
static inline int
ksettle(msg_t *msg, int error)
{
	if (mp_tracing()) {
		msg->ms_error = error;
		mp_trace_step("inline", msg, NULL, mp_systab[msg->ms_cmd].kc_name, NULL);
	}
	return ksettle_untraced(msg, error);
}

static inline bool
kaborted(msg_t *msg)
{
	return (mp_load_acq_32(&msg->ms_flags) & MSGF_ABORTED) != 0;
}

/*
 * Per-message kernel state: one slot per asynchronous message in flight
 * that left the sender's thread.  kr_state and the queue links are
 * guarded by the kernel lock (ks_lock).  Allocated at start (slots.c).
 */
enum { KR_FREE, KR_QUEUED, KR_WAITING, KR_RUNNING, KR_CANCELED };

struct kfd;

struct kreq {
	msg_t		*kr_msg;
	const struct kcmd *kr_cmd;
	struct kreq	*kr_next;	/* free list, pool queue */
	struct kreq	*kr_prev;	/* pool queue */
	uint32_t	kr_state;	/* KR_* */
	bool		kr_onworker;	/* kr_wk is running it */
	bool		kr_intr;	/* aborted while on kr_wk: interrupt its call */
	struct kworker	*kr_wk;
	/* the event loop: the descriptor's FIFO it waits in (evloop.c) */
	struct kfd	*kr_kf;		/* NULL: in no FIFO */
	struct kreq	*kr_fnext, *kr_fprev;
	uint8_t		kr_dir;		/* KDIR_* */
	bool		kr_chardev;	/* no non-blocking form: once ready, the pool runs it */
	bool		kr_nointr;	/* KC_NOINTR, or on a file: the kernel finishes it */
	bool		kr_spread;	/* a sender's inline call, handed to a helper (pool.c) */
	/* what freeing kr must undo where it waits (evloop.c: its place in
	   the FIFO, whose next one it lets go); NULL: nothing */
	void		(*kr_leave)(struct kreq *kr);
};

enum { KDIR_READ, KDIR_WRITE, KDIR_TIMER };	/* KDIR_TIMER: a sleep (kc_sleep) */

/* A pool worker.  kw_cur: the slot whose call it runs now (NULL: none);
   written by the worker alone, read by whoever interrupts it (pool.c). */
struct kworker {
	pthread_t	kw_thread;
	struct kreq	*kw_cur;
	bool		kw_helping;	/* its batch is spread work (ks_helping counts it) */
};

/*
 * The kernel: one per process.  It is never freed, so a stale ms_kstate
 * pointer always points at a slot (a restart with more slots leaves the
 * old array behind).
 */
struct mp_kstate {
	pthread_mutex_t	ks_lock;
	pthread_cond_t	ks_work;	/* the pool queue is not empty, or stopping */
	pthread_cond_t	ks_room;	/* a slot came free, or stopping */
	bool		ks_stopping;
	uint32_t	ks_roomwait;	/* senders waiting for a slot */

	struct kreq	*ks_slots;
	uint32_t	ks_nslots;	/* in use now */
	uint32_t	ks_cap;		/* the array's size */
	struct kreq	*ks_retired;	/* smaller arrays of earlier starts, kept */
	struct kreq	*ks_free;
	uint32_t	ks_fresh;	/* ks_slots[ks_fresh..] never used since the reset: all zero */

	/* the pool */
	struct kreq	*ks_head, *ks_tail;
	uint32_t	ks_queued;	/* messages on the queue */
	uint32_t	ks_idle;	/* workers waiting for work */
	bool		ks_waking;	/* one of them has been woken */
	struct kworker	*ks_workers;
	uint32_t	ks_nworkers;	/* the pool's bound: ks_workers' size */
	uint32_t	ks_nthreads;	/* workers started so far (on demand, pool.c) */
	uint32_t	ks_starting;	/* of them, started but not yet at the queue */
	bool		ks_wantmore;	/* the interrupter is asked to start more */
	/* spread work: inline calls of a sender's burst, run by helpers (pool.c) */
	uint32_t	ks_helpers;	/* workers it may keep busy: the CPUs but the sender's */
	uint32_t	ks_helping;	/* workers running it now */
	uint32_t	ks_spreadq;	/* its messages queued; atomic read without ks_lock */
	int		ks_intrsig;
	sigset_t	ks_intrmask;	/* a worker's mask while it waits interruptibly */

	/* the interrupter: re-signals workers in aborted calls (pool.c) */
	pthread_cond_t	ks_intrcv;	/* ks_intrs became non-zero, or quitting */
	uint32_t	ks_intrs;	/* slots with kr_intr set */
	bool		ks_intrquit;
	pthread_t	ks_intrthread;

	/* the event loop: one record per descriptor waited on (evloop.c) */
	struct event_base *ks_base;
	struct event	*ks_stopev;	/* activated to end the loop */
	pthread_t	ks_evthread;
	struct kfd	*ks_fds;	/* ks_nslots records, allocated at start */
	struct kfd	**ks_sleeps;	/* the sleeping ones: a heap by deadline */
	uint32_t	ks_nsleeps;
	uint64_t	ks_sleepseq;	/* sleeps started: equal deadlines end in order */
	struct event	*ks_sleepev;	/* the loop's one timer, for the earliest */
	struct kfd	*ks_fdfree;
	uint32_t	ks_fdfresh;	/* ks_fds[ks_fdfresh..] never used since the start */
	struct kfd	**ks_fdhash;	/* by descriptor number */
	uint32_t	ks_fdmask;	/* buckets - 1 */
	uint32_t	ks_nfds;	/* records in use; atomic read without ks_lock */
	int		ks_gate;	/* the sets of records whose threads do not lend now */
	struct event	*ks_gateev;	/* the loop's event on ks_gate */

	uint32_t	ks_running;	/* the system port takes messages (sysport.c); atomic */
	uint32_t	ks_gen;		/* stops so far: held messages of an earlier run are canceled */
	uint32_t	ks_noring;	/* plugged threads try their messages one by one; atomic */
};

extern struct mp_kstate mp_kstate;

/* Does the system port take messages now? */
static inline bool
kstate_running(void)
{
	return mp_load_acq_32(&mp_kstate.ks_running) != 0;
}

/* slots.c: the request slots (all but mp_kreq_done() with ks_lock held) */
void	mp_kreq_free(struct mp_kstate *ks, struct kreq *kr);
void	mp_kreq_done(struct kreq *kr, int error);
bool	mp_kreq_ours(const struct mp_kstate *ks, const struct kreq *kr);
void	mp_kslots_retire(struct mp_kstate *ks);
int	mp_kslots_reset(struct mp_kstate *ks, uint32_t nslots);

/* The interrupt signal's worker mask, for kc_intr forms (ppoll): only it. */
static inline const sigset_t *
kintrmask(void)
{
	return &mp_kstate.ks_intrmask;
}

/* sysport.c: while on, every message to the system port takes the generic way */
void	mp_sysport_generic(bool on);

/* sys_proc.c: the kc_intr forms' interruptible wait */
struct pollfd;
int	mp_kwait(msg_t *msg, struct pollfd *fds, unsigned long nfds, const struct timespec *deadline);

/* signal.c, timer.c: persistent messages */
void	mp_ksignal_stop(void);
#define KSIG_RING	4096		/* signal occurrences in transit; a power of two */
void	mp_ksignal_hold(bool hold);	/* tests only: see signal.c */
void	mp_ktimer_stop(void);

#pragma GCC visibility pop

#endif /* KPORT_INTERNAL_H */
