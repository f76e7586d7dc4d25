/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgport-internal.h - ports as objects with their own operations.
 *
 * Every port, whatever its kind, starts with struct msgport; a kind that
 * needs more state embeds it first.  The public calls check their
 * arguments and then call through the port's vector, so a new kind of
 * port is a new vector, not a change to the calls.
 */
#ifndef MSGPORT_INTERNAL_H
#define MSGPORT_INTERNAL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>

#include "msgport.h"
#include "atomic-internal.h"

/*
 * The port vector.  No slot is ever NULL: a kind that cannot do something
 * points the slot at a stub that returns an error (see port.c).
 *
 * mp_sendport	sendsys() once its arguments are checked (msg, port not NULL,
 *		msgsize in range); msg is not claimed yet.  Every kind but
 *		the system port points it at mp_msg_send(): claim, reset the
 *		header, count an owed reply, then mp_putport.  A kind may
 *		take a fast path of its own first, but must hand anything
 *		it does not finish to mp_msg_send() untouched, so the outcomes
 *		(EBUSY, EINVAL, ...) stay mp_msg_send()'s.
 * mp_putport	Accept msg, just sent to this port and already claimed
 *		(MSGF_INFLIGHT, ms_target set).  Returns EASYNC when msg will
 *		be returned later through replymsg(); anything else means
 *		msg is idle again: 0 or the call's errno when it completed
 *		in place, or a transport error (EPIPE, EAGAIN, ...) when it
 *		was refused, with MSGF_INFLIGHT cleared.
 * mp_getport	Take the next returned or received message off the port,
 *		or return NULL with errno set (EAGAIN: none pending; EPIPE:
 *		closed and none pending).  Never blocks.
 * mp_waitport	Sleep until a message is pending (msg NULL) or until msg
 *		has been returned to this port, in which case take it off.
 *		Returns 0 (or msg's error), ETIMEDOUT, EPIPE.
 * mp_replyport	Make msg, returned to this port (its reply port), reachable
 *		there and notify as the kind does.  mp_msg_return() has already
 *		stored the results and set MSGF_DONE|MSGF_REPLY|MSGF_QUEUED;
 *		once msg is reachable it is the consumer's, never touch it.
 * mp_dropmsg	abortsys() on msg, sent to this port.  If the port still
 *		holds msg unstarted, take it back and return 0 (the caller
 *		then returns it with ECANCELED); otherwise return ENOENT and
 *		let it finish (MSGF_ABORTED is already set).
 * mp_portfd	The descriptor readable while a message is pending, or -1
 *		with errno set.
 * mp_closeport	closeport(): refuse messages sent to the port or naming it
 *		as reply port (EPIPE) from now on, and wake its sleepers
 *		to see that; what it holds or is owed still comes off.
 *		Returns 0, or an error leaving the port as it was.
 * mp_rmport	Tear down the port's own state and free it.  Returns
 *		EBUSY, leaving it closed but intact, while messages sent to
 *		it are still being served or replies are still owed to it.
 */
struct msgport_ops {
	const char *mp_name;		/* the kind, for the trace: "queue", "system"... */
	int	(*mp_sendport)(msgport_t *port, msg_t *msg, size_t msgsize);
	int	(*mp_putport)(msgport_t *port, msg_t *msg);
	msg_t	*(*mp_getport)(msgport_t *port);
	int	(*mp_waitport)(msgport_t *port, msg_t *msg, const struct timespec *deadline);
	void	(*mp_replyport)(msgport_t *port, msg_t *msg);
	int	(*mp_dropmsg)(msgport_t *port, msg_t *msg);
	int	(*mp_portfd)(msgport_t *port);
	int	(*mp_closeport)(msgport_t *port);
	int	(*mp_rmport)(msgport_t *port);
};

/*
 * A port's queue: many producers, any consumer.
 *
 * Producers push onto a lock-free stack (q_incoming, newest first).  A
 * consumer, holding q_lock, moves the whole stack over at once into the
 * private list q_head..q_tail, oldest first, which keeps each producer's
 * order.
 *
 * NOTE: that stack is written out in queue.c (a CAS push, a swap to take
 * it all), not Concurrency Kit's ck_stack_push_upmc/batch_pop_upmc, the
 * same two operations, because ck_stack gains nothing measurable and
 * costs two things (measured 2026-12-02, bench/README.md "ck_stack and
 * ck_ring").  64 instructions per message put and drained against 63
 * here (callgrind); timed, 0.98-0.99 of this one's reply_same_thread and
 * 0.97 of its cross-thread handoff, within this machine's noise.  Its
 * entry cannot be a member of msg_t, whose layout is ABI, so it would
 * overlay ms_next (a struct msg *) as another pointer type, which C's
 * aliasing rules forbid.  And ThreadSanitizer cannot see it synchronize
 * (ck_pr's inline asm, or with CK_USE_CC_BUILTINS plain volatile loads):
 * on ck_stack the TSan suite fails 47 of its 61 programs (46 with the
 * builtins), every report on a link ck_stack_push_upmc wrote or on the
 * stack's head.
 *
 * q_state is the one word producers, consumers and sleepers share: the
 * count of messages put and not yet taken, and the QS_* bits.  It is
 * also the futex sleepers wait on, so every put, take and close wakes
 * them by changing it.  A producer counts its message before pushing it,
 * then never touches the port again but for a futex wake (which uses the
 * address only): once a message is queued the port may go.  So the count
 * can run ahead of what is on the stack, for the few instructions of a
 * push; whoever sees it so waits for the push to land.  Only on a port
 * whose descriptor is in use does a producer write the eventfd, after
 * its push (readable must mean takeable, and every landing an edge, or
 * edge-triggered users would miss one); it, and a kind that notifies
 * after the push, hold q_busy meanwhile, so rmport() waits for them.
 */
struct mp_queue {
	/* producers */
	alignas(64) void *q_incoming;	/* lock-free stack of msg_t */
	uint32_t	q_state;	/* QS_* | count */
	uint32_t	q_busy;		/* puts still touching the port after their push */
	void		*q_lent;	/* the turn of the thread that lends (QS_LENT) */

	/* consumers */
	alignas(64) pthread_mutex_t q_lock;
	msg_t		*q_head;	/* oldest */
	msg_t		*q_tail;

	/* readiness: an eventfd readable while a message is pending */
	pthread_mutex_t	q_fdlock;
	int		q_efd;
	uint32_t	q_efdgen;	/* the fork generation q_efd belongs to (under q_fdlock) */
	bool		q_signalled;	/* q_efd has been written (under q_fdlock) */
};

#define QS_CLOSED	0x80000000u	/* closeport(): refuses new messages */
#define QS_ARMED	0x40000000u	/* portfd() was called: keep q_efd true */
#define QS_WAITERS	0x20000000u	/* someone may sleep on q_state: wake on change */
#define QS_LENT		0x10000000u	/* a waiter lends itself to the kernel: ring it (mp_lender) */
#define QS_COUNT	0x0fffffffu	/* messages put and not yet taken */

/*
 * mp_lender
 *	A kernel that can use a thread about to sleep on a queue port: it
 *	runs there the work it would otherwise do on a thread of its own
 *	and then wake this one for (kport/evloop.c: the messages of the
 *	descriptors this thread waits on, once ready), saving a hop per
 *	message.  ml_take() claims this thread's turn (NULL: not now, sleep
 *	on the futex), ml_give() hands it back unused, ml_wait() waits until
 *	the deadline (ETIMEDOUT), a ring or such work, does the work and
 *	hands the turn back.  The lender claims q_lent with its turn, sets
 *	QS_LENT; a producer that clears QS_LENT rings that turn (ml_ring())
 *	unless it is the lender itself (td_lent): its wait's loop sees the
 *	message.  Set by the kernel's first start, never unset.
 */
struct mp_lender {
	void	*(*ml_take)(void);
	void	(*ml_give)(void *turn);
	int	(*ml_wait)(void *turn, const struct timespec *deadline);
	void	(*ml_ring)(void *turn);
};
extern const struct mp_lender *mp_lender;

/*
 * The synchronous path's functions go together (.text.hot): on a machine
 * whose system calls flush the TLB, every page the path touches after a
 * call is a page walk, and the path is a handful of small functions in
 * as many files.
 */
#define MP_HOT		__attribute__((hot))

/*
 * What this thread holds back from sending (kport's plugsys()), to be
 * sent before it waits: waitsys(), timedwaitsys() and flushsys() call
 * it.  NULL: nothing held.
 */
extern __thread void (*mp_held_send)(void) __attribute__((tls_model("initial-exec")));

static inline void
mp_send_held(void)
{
	void (*send)(void) = mp_held_send;

	if (__builtin_expect(send != NULL, 0))
		send();
}

/* How long a waiter spins before it sleeps: a reply that lands within
   it costs no futex round trip. */
#define MP_SPIN		200

struct msgport {
	const struct msgport_ops *mp_ops;
	uint32_t	mp_inflight;	/* async messages still to be returned here */
	uint32_t	mp_serving;	/* requests sent here and not yet returned */
	struct mp_queue	mp_queue;
	/* portcmdnames(3): the names its commands show in the trace */
	const char *const *mp_cmdnames;
	uint32_t	mp_ncmdnames;
};

/* port.c: is port a queue port (mkport_queue)? */
bool	mp_port_isqueue(const msgport_t *port);

/* Messages put on port's queue and not taken yet: one load, no lock. */
static inline uint32_t
mp_q_waiting(msgport_t *port)
{
	return mp_load_32(&port->mp_queue.q_state) & QS_COUNT;
}

/* Largest message sendsys() takes. */
#define MSG_MAXSIZE	65536

/* msg.c: message state, for ports' use */
uint32_t mp_msg_setflags(msg_t *msg, uint32_t set, uint32_t clear);
int	mp_msg_send(msgport_t *port, msg_t *msg, size_t msgsize);
int	mp_msg_refuse(msg_t *msg, int error);
void	mp_msg_return(msg_t *msg);
int	mp_msg_sleep(msg_t *msg, const struct timespec *deadline);
void	mp_msg_taken(msgport_t *port, msg_t *msg);

/* queue.c: the queue every waitable port has */
int	mp_q_init(struct mp_queue *q);
void	mp_q_fini(struct mp_queue *q);
void	mp_q_put(struct mp_queue *q, msg_t *msg);
msg_t	*mp_q_get(msgport_t *port);
bool	mp_q_remove(msgport_t *port, msg_t *msg);
msg_t	*mp_q_split(msgport_t *port, uint32_t *replies);
int	mp_q_wait(msgport_t *port, const struct timespec *deadline);
bool	mp_q_landed(msgport_t *port);
int	mp_q_waitmsg(msgport_t *port, msg_t *msg, const struct timespec *deadline);
int	mp_q_fd(msgport_t *port);
void	mp_q_close(struct mp_queue *q);
void	mp_q_quiesce(struct mp_queue *q);

/* port.c: filling a vector, and stubs for slots a kind lacks */
msgport_t *mp_port_alloc(size_t size, const struct msgport_ops *ops);
void	mp_port_free(msgport_t *port);
int	mp_port_nosend(msgport_t *port, msg_t *msg);
msg_t	*mp_port_noget(msgport_t *port);
int	mp_port_nowait(msgport_t *port, msg_t *msg, const struct timespec *deadline);
void	mp_port_noreply(msgport_t *port, msg_t *msg);
int	mp_port_nodrop(msgport_t *port, msg_t *msg);
int	mp_port_nofd(msgport_t *port);
int	mp_port_noclose(msgport_t *port);

/* port.c: the queue kind's slots, for kinds that are a queue plus more */
msg_t	*mp_queue_getport(msgport_t *port);
int	mp_queue_waitport(msgport_t *port, msg_t *msg, const struct timespec *deadline);
int	mp_queue_portfd(msgport_t *port);
int	mp_queue_closeport(msgport_t *port);
int	mp_queue_rmport(msgport_t *port);

/* A persistent message returned for an occurrence: still owed, not final. */
static inline bool
msg_persists(uint32_t f)
{
	return (f & (MSGF_DONE | MSGF_PERSISTENT | MSGF_FINAL)) == (MSGF_DONE | MSGF_PERSISTENT);
}

/* Has msg come back: done, or no longer in flight at all? */
static inline bool
msg_settled(uint32_t f)
{
	return (f & MSGF_DONE) || !(f & MSGF_INFLIGHT);
}

/*
 * msg_misaligned
 *	Is msg short of msg_t's alignment?  Such a header is refused with
 *	EINVAL, untouched: its flags word could not be an atomic or a futex.
 */
static inline bool
msg_misaligned(const msg_t *msg)
{
	return ((uintptr_t)msg & (alignof(msg_t) - 1)) != 0;
}

static inline bool
port_closed(msgport_t *port)
{
	return (mp_load_acq_32(&port->mp_queue.q_state) & QS_CLOSED) != 0;
}

#endif /* MSGPORT_INTERNAL_H */
