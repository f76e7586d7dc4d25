/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kport-internal.h - the emulated kernel: the system port, its command
 * table and its executors.
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
#include <linux/io_uring.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "msgport-internal.h"
#include "msgport-sys.h"
#include "systab-internal.h"
#include "trace-internal.h"
#include "upcall-internal.h"

struct event;
struct event_base;

/* Nothing here leaves the library (and the table is reached without the GOT). */
#pragma GCC visibility push(hidden)


/* guess.c: predictive inline for KC_GUESS commands */
void	mp_kguess_init(void);
bool	mp_kguess_inline(uint32_t cmd);
int	mp_kguess_run(msg_t *msg, const struct kcmd *kc);
void	mp_kguess_resync(void);

/*
 * klock, kunlock
 *	The kernel's locks are held inside a library section: an upcall
 *	could otherwise interrupt a thread holding one and, sending a message
 *	itself, wait for it for ever.  An upcall held back meanwhile runs at
 *	kunlock() (see upcall-internal.h).
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

/* Store a raw call's outcome (r < 0: failed with errno) in msg. */
static inline int
kret(msg_t *msg, long r)
{
	if (r < 0) {
		msg->ms_result = -1;
		return errno;
	}
	msg->ms_result = r;
	return 0;
}

/*
 * ksys
 *	A system call made right here rather than through libc's wrapper,
 *	for calls that never block: the synchronous path then touches no
 *	libc page and no errno after the kernel returns, and where every
 *	system call flushes the TLB (PTI without PCID) each page touched
 *	after it is a page walk (sync getpid: 1.07 -> 1.02 of the raw call,
 *	bench/README.md).  Returns what the kernel does: -errno on failure.
 *	Sanitizer builds take libc's wrapper, which the sanitizers watch.
 */
#if defined(__x86_64__) && defined(__LP64__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
static inline long
ksys(long nr, long a1, long a2, long a3)
{
	long r;

	__asm__ volatile ("syscall" : "=a"(r) : "0"(nr), "D"(a1), "S"(a2), "d"(a3)
	    : "rcx", "r11", "memory");
	return r;
}
#else
#include <unistd.h>
static inline long
ksys(long nr, long a1, long a2, long a3)
{
	long r;

	errno = 0;
	r = syscall(nr, a1, a2, a3);
	return r == -1 && errno != 0 ? -errno : r;
}
#endif

/* Store ksys()'s outcome in msg, as kret() does a libc call's: only
   -4095..-1 are errors (an lseek() offset can be "negative"). */
static inline int
kret_sys(msg_t *msg, long r)
{
	if ((unsigned long)r > -4096UL) {
		msg->ms_result = -1;
		return (int)-r;
	}
	msg->ms_result = r;
	return 0;
}

/* Treat "no non-blocking form for this descriptor" as "would block". */
static inline int
kwould(int e)
{
	return e == EOPNOTSUPP || e == EWOULDBLOCK ? EAGAIN : e;
}

/* A try's outcome, as kret() stores it: EAGAIN when it would block. */
static inline int
kret_try(msg_t *msg, long r)
{
	return kwould(kret(msg, r));
}

/*
 * ksqe_prep
 *	The common part of a kc_sqe form: a request of kind op on fd with
 *	the buffer addr, len.  EINVAL for a length a request cannot hold:
 *	the plain try then gets the call's own answer.
 */
static inline int
ksqe_prep(struct io_uring_sqe *sqe, uint8_t op, int fd, const void *addr, size_t len)
{
	if (len > UINT32_MAX)
		return EINVAL;
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->len = (uint32_t)len;
	return 0;
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
 * guarded by the kernel lock (ks_lock).  56 bytes on x86-64, plus the
 * slot's libevent event (128 bytes with 2.1), allocated at start.
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
};

enum { KDIR_READ, KDIR_WRITE, KDIR_TIMER };	/* KDIR_TIMER: a sleep (kc_sleep) */
#define KFD_TIMER	(-2)	/* mp_evloop_arm()'s fd for a sleep */

/* A pool worker.  kw_cur: the slot whose call it runs now (NULL: none);
   written by the worker alone, read by whoever interrupts it (pool.c). */
struct kworker {
	pthread_t	kw_thread;
	struct kreq	*kw_cur;
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

	/* the pool */
	struct kreq	*ks_head, *ks_tail;
	uint32_t	ks_queued;	/* messages on the queue */
	uint32_t	ks_idle;	/* workers waiting for work */
	bool		ks_waking;	/* one of them has been woken */
	struct kworker	*ks_workers;
	uint32_t	ks_nworkers;
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
	struct kfd	*ks_fdfree;
	struct kfd	**ks_fdhash;	/* by descriptor number */
	uint32_t	ks_fdmask;	/* buckets - 1 */
	uint32_t	ks_nfds;	/* records in use; atomic read without ks_lock */

	uint32_t	ks_gen;		/* stops so far: held messages of an earlier run are canceled */
	uint32_t	ks_noring;	/* plugged threads try their messages one by one; atomic */
};

extern struct mp_kstate mp_kstate;

/* The interrupt signal's worker mask, for kc_intr forms (ppoll): only it. */
static inline const sigset_t *
kintrmask(void)
{
	return &mp_kstate.ks_intrmask;
}

/* sys_proc.c: the kc_intr forms' interruptible wait */
struct pollfd;
int	mp_kwait(msg_t *msg, struct pollfd *fds, unsigned long nfds, const struct timespec *deadline);

/* signal.c, timer.c: persistent messages */
void	mp_ksignal_stop(void);
#define KSIG_RING	4096		/* signal occurrences in transit; a power of two */
void	mp_ksignal_hold(bool hold);	/* tests only: see signal.c */
void	mp_ktimer_stop(void);

/* pool.c */
extern __thread bool mp_kpool_worker __attribute__((tls_model("initial-exec")));	/* a worker's thread */

/*
 * krestarts
 *	May a call that said EINTR without an abort be made again on a
 *	worker (the interrupt was meant for an earlier message)?  Not a
 *	generic close() (on Linux the descriptor is gone by then), nor a
 *	plain connect() (it goes on in the kernel: mp_kintr_connect()).
 */
static inline bool
krestarts(const msg_t *msg)
{
	if (msg->ms_cmd == KCMD_CONNECT)
		return false;
	return msg->ms_cmd != KCMD_SYSCALL || ((const struct sys_syscall *)msg)->nr != SYS_close;
}

#define POOL_BATCH	16	/* messages a worker takes at once, at most */
int	mp_pool_start(struct mp_kstate *ks);
void	mp_pool_stop(struct mp_kstate *ks);
/* mp_kreq_submit()'s how: what the descriptor says about the wait */
#define KQ_CHARDEV	0x1u	/* a character device: once ready, the pool makes the call */
#define KQ_FILE		0x2u	/* a file or block device: the kernel finishes the call */
int	mp_kreq_submit(msg_t *msg, const struct kcmd *kc, int fd, short events, unsigned how,
	    bool held);
void	mp_kreq_queue(struct kreq *kr);
void	mp_kreq_interrupt(struct kreq *kr);
void	mp_kreq_done(struct kreq *kr, int error);
int	mp_kreq_drop(msg_t *msg);
void	mp_kreq_cancelall(struct mp_kstate *ks);

/* sysport.c: an asynchronous message its try found blocking, on its way */
int	mp_kpass(msg_t *msg, const struct kcmd *kc, bool held);
bool	mp_kbehind(msg_t *msg, const struct kcmd *kc);
bool	mp_sysport_running(void);

/*
 * ring.c: a thread's io_uring (see there).  A batch is at most KRING_MAX
 * requests; each one's result is a negative errno or what the call
 * returns, or KRING_UNSENT if the ring failed before the kernel took it.
 */
#define KRING_MAX	32
#define KRING_UNSENT	(-0x7fff)
struct kring {
	int		kg_index;	/* its registered index; -1: none */
	uint32_t	*kg_sqhead, *kg_sqtail, *kg_sqarray, kg_sqmask;
	uint32_t	*kg_cqhead, *kg_cqtail, kg_cqmask;
	struct io_uring_sqe *kg_sqes;
	struct io_uring_cqe *kg_cqes;
	void		*kg_ring;	/* the two queues' mapping */
	size_t		kg_ringlen, kg_sqeslen;
};
int	mp_kring_open(struct kring *r);
void	mp_kring_close(struct kring *r);
struct io_uring_sqe *mp_kring_sqe(struct kring *r, unsigned i);
int	mp_kring_run(struct kring *r, unsigned n, int *res);

/*
 * plug.c: plugsys().  While this thread is plugged (mp_kplug_depth > 0) its
 * asynchronous messages with a ring form are held by mp_kplug_hold()
 * (EASYNC) and tried together later.
 */
extern __thread uint32_t mp_kplug_depth __attribute__((tls_model("initial-exec")));
int	mp_kplug_hold(msg_t *msg, const struct kcmd *kc);

/* evguard.c: libevent's callbacks, and a start that cannot end the process */
int	mp_kev_init(void);
int	mp_kev_start(struct mp_kstate *ks);

/*
 * evloop.c: the event loop.  mp_evloop_arm() puts kr at the tail of fd's
 * FIFO, or for fd KFD_TIMER starts its sleep (-1: cannot be done); mp_evloop_disarm() takes a waiting kr out
 * of it; mp_evloop_busy() says whether messages wait on fd for events, so
 * a new one must queue behind them rather than try first; mp_evloop_cancelfd()
 * returns (ECANCELED) everything that waits on fd, for a close.  All but
 * mp_evloop_busy() and mp_evloop_cancelfd() are called with ks_lock held, and
 * none waits for the loop.
 */
int	mp_evloop_start(struct mp_kstate *ks);
void	mp_evloop_stop(struct mp_kstate *ks);
int	mp_evloop_arm(struct kreq *kr, int fd, short events, bool chardev);
void	mp_evloop_disarm(struct kreq *kr);
bool	mp_evloop_busy(int fd, short events);
void	mp_evloop_cancelfd(int fd);

/*
 * ucopy.c: user memory the library itself reads or writes (argument
 * arrays, slate entries), copied as the kernel would: 0, or EFAULT for
 * a bad address, never a fault.  mp_ucopyv() copies n user areas in one
 * call (in: from them into la[], else from la[] into them).
 */
struct iovec;
int	mp_ucopyv(const struct iovec *la, unsigned nl, const struct iovec *ua, unsigned n, bool in);
int	mp_ucopyin(void *to, const void *from, size_t len);
int	mp_ucopyout(void *to, const void *from, size_t len);

#pragma GCC visibility pop

#endif /* KPORT_INTERNAL_H */
