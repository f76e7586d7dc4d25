/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * queue.c - the message queue behind every waitable port.
 *
 * Many threads return messages to a port at once; whoever drains it takes
 * them in order.  The message carries its own links, so nothing is
 * allocated per message.  See struct mp_queue for the layout.
 *
 * Every call that takes q_lock or q_fdlock runs inside mp_libcrit_enter():
 * an upcall may interrupt this thread anywhere else and call getport()
 * or sendsys() itself, which must never find the lock held by the very
 * code it interrupted.
 *
 * A child of fork() shares the parent's eventfds: a write there would
 * wake the parent's pollers, a read would take the parent's readiness.
 * So a port's eventfd belongs to a fork generation, and the first touch
 * in a later one puts an eventfd of the child's own under the same
 * number (mpq_ownfd()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "futex-internal.h"
#include "msgport-internal.h"
#include "thread-internal.h"
#include "trace-internal.h"

static uint32_t mpq_forks;		/* fork children this process descends through */
static uint32_t mpq_watching;		/* the fork handler is in */

static void
mpq_atfork_child(void)
{
	mp_store_32(&mpq_forks, mp_load_32(&mpq_forks) + 1);
}

/* Count forks from the first port on: 0, or why the handler is not in. */
static int
mpq_watchforks(void)
{
	int r;

	if (mp_load_acq_32(&mpq_watching))
		return 0;
	/* two racing first ports may both register: it only counts twice */
	if ((r = pthread_atfork(NULL, NULL, mpq_atfork_child)) != 0)
		return r;
	mp_store_rel_32(&mpq_watching, 1);
	return 0;
}

/*
 * mpq_ownfd
 *	Is q_efd this process's?  In a child after fork() it is the
 *	parent's until an eventfd of the child's own takes its number
 *	(pending messages make it readable).  False if none could be made:
 *	then the parent's is not touched either.
 *	NOTE: q_fdlock held.
 */
static bool
mpq_ownfd(struct mp_queue *q)
{
	uint32_t gen = mp_load_32(&mpq_forks), st;
	uint64_t v = 1;
	int fd;

	if (__builtin_expect(q->q_efdgen == gen, 1))
		return true;
	if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return false;
	if (dup3(fd, q->q_efd, O_CLOEXEC) < 0) {
		close(fd);
		return false;
	}
	close(fd);
	q->q_efdgen = gen;
	st = mp_load_acq_32(&q->q_state);
	q->q_signalled = (st & QS_ARMED) && (st & QS_COUNT) &&
	    write(q->q_efd, &v, sizeof(v)) == sizeof(v);
	return true;
}

int
mp_q_init(struct mp_queue *q)
{
	int r;

	if ((r = mpq_watchforks()) != 0)
		return r;
	q->q_efdgen = mp_load_32(&mpq_forks);
	q->q_incoming = NULL;
	q->q_state = 0;
	q->q_busy = 0;
	q->q_head = q->q_tail = NULL;
	q->q_signalled = false;
	q->q_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->q_efd < 0)
		return errno;
	pthread_mutex_init(&q->q_lock, NULL);
	pthread_mutex_init(&q->q_fdlock, NULL);
	return 0;
}

void
mp_q_fini(struct mp_queue *q)
{
	close(q->q_efd);
	pthread_mutex_destroy(&q->q_lock);
	pthread_mutex_destroy(&q->q_fdlock);
}

/*
 * mpq_fdsignal, mpq_fdclear
 *	The eventfd is readable while a message is pending.  While armed,
 *	every put writes it after its push: each message that lands is an
 *	edge, so an edge-triggered user who drains until getport() finds
 *	nothing never strands one, even when pushes land out of the order
 *	they were counted in.  A consumer reads it empty once the count is
 *	zero: after a take that emptied the port, and whenever getport()
 *	finds nothing (a write can trail its message, which was taken).
 */
static void
mpq_fdsignal(struct mp_queue *q)
{
	uint64_t v = 1;

	pthread_mutex_lock(&q->q_fdlock);
	if (mpq_ownfd(q) && write(q->q_efd, &v, sizeof(v)) == sizeof(v))
		q->q_signalled = true;
	pthread_mutex_unlock(&q->q_fdlock);
}

static void
mpq_fdclear(struct mp_queue *q)
{
	uint64_t v;

	pthread_mutex_lock(&q->q_fdlock);
	if (mpq_ownfd(q) && q->q_signalled && (mp_load_acq_32(&q->q_state) & QS_COUNT) == 0 &&
	    read(q->q_efd, &v, sizeof(v)) == sizeof(v))
		q->q_signalled = false;
	pthread_mutex_unlock(&q->q_fdlock);
}

/*
 * mp_q_put
 *	Put msg on the queue, from any thread.
 *	NOTE: the caller has set msg's flags.  The message is counted before
 *	it is pushed, because once pushed it belongs to the consumer, and the
 *	port may be removed as soon as everything owed to it is queued: after
 *	the push only the futex wake remains, which uses the address alone --
 *	unless the descriptor is armed, when q_busy keeps rmport() waiting
 *	until the eventfd is written.
 */
void
mp_q_put(struct mp_queue *q, msg_t *msg)
{
	uint32_t old = mp_load_32(&q->q_state);
	bool fd;
	void *head, *lent = NULL;

	mp_libcrit_enter();
	/* Count it, and take the sleepers' flags: we wake them all below. */
	while (!mp_cas_32(&q->q_state, &old, (old + 1) & ~(QS_WAITERS | QS_LENT)))
		continue;
	if (old & QS_LENT)
		lent = mp_load_ptr(&q->q_lent);	/* before the push: then the port may go */
	fd = (old & QS_ARMED) != 0;
	if (fd)
		mp_faa_32(&q->q_busy, 1);

	head = mp_load_ptr(&q->q_incoming);
	do {
		msg->ms_next = head;
	} while (!mp_cas_ptr(&q->q_incoming, &head, msg));

	if (fd) {
		mpq_fdsignal(q);
		mp_faa_32(&q->q_busy, (uint32_t)-1);
	}
	if (old & QS_WAITERS)
		mp_futex_wake(&q->q_state);
	if (lent != NULL && lent != mp_td.td_lent)
		mp_lender->ml_ring(lent);
	mp_libcrit_exit();
}

/* Wait until no put still touches the port after its push: then it may go. */
void
mp_q_quiesce(struct mp_queue *q)
{
	while (mp_load_acq_32(&q->q_busy) != 0)
		sched_yield();
}

/* closeport(): refuse new messages and wake every sleeper to see it. */
void
mp_q_close(struct mp_queue *q)
{
	uint32_t old = mp_load_32(&q->q_state);
	void *lent;

	while (!mp_cas_32(&q->q_state, &old, (old | QS_CLOSED) & ~QS_LENT))
		continue;
	lent = (old & QS_LENT) ? mp_load_ptr(&q->q_lent) : NULL;
	mp_futex_wake(&q->q_state);
	if (lent != NULL && lent != mp_td.td_lent)
		mp_lender->ml_ring(lent);
}

/* Move the lock-free stack, reversed into arrival order, onto the list. */
static void
mpq_drain(msgport_t *port)
{
	struct mp_queue *q = &port->mp_queue;
	msg_t *m, *next, *first = NULL, *last;

	last = m = mp_fas_ptr(&q->q_incoming, NULL);
	while (m != NULL) {
		next = m->ms_next;
		m->ms_next = first;
		if (first != NULL)
			first->ms_prev = m;
		mp_store_ptr((void **)&m->ms_onport, port);
		first = m;
		m = next;
	}
	if (first == NULL)
		return;
	first->ms_prev = q->q_tail;
	if (q->q_tail != NULL)
		q->q_tail->ms_next = first;
	else
		q->q_head = first;
	q->q_tail = last;
}

static void
mpq_unlink(struct mp_queue *q, msg_t *m)
{
	if (m->ms_prev != NULL)
		m->ms_prev->ms_next = m->ms_next;
	else
		q->q_head = m->ms_next;
	if (m->ms_next != NULL)
		m->ms_next->ms_prev = m->ms_prev;
	else
		q->q_tail = m->ms_prev;
	m->ms_next = m->ms_prev = NULL;
	mp_store_ptr((void **)&m->ms_onport, NULL);
}

/* Account for a message taken off the queue. */
static void
mpq_took(struct mp_queue *q)
{
	uint32_t old = mp_faa_32(&q->q_state, (uint32_t)-1);

	if ((old & (QS_ARMED | QS_COUNT)) == (QS_ARMED | 1))
		mpq_fdclear(q);
}

/* Take the oldest message, or NULL. */
msg_t *
mp_q_get(msgport_t *port)
{
	struct mp_queue *q = &port->mp_queue;
	msg_t *m;

	/* a message is counted before it is pushed and until it is taken: at
	   a count of 0 the port is empty, no lock needed (a walker polls) */
	if ((mp_load_32(&q->q_state) & (QS_COUNT | QS_ARMED)) == 0)
		return NULL;
	mp_libcrit_enter();
	pthread_mutex_lock(&q->q_lock);
	if (q->q_head == NULL)
		mpq_drain(port);
	m = q->q_head;
	if (m != NULL)
		mpq_unlink(q, m);
	pthread_mutex_unlock(&q->q_lock);
	if (m != NULL)
		mpq_took(q);
	else if (mp_load_32(&q->q_state) & QS_ARMED)
		mpq_fdclear(q);
	mp_libcrit_exit();
	return m;
}

/* Take msg off the queue if it is there. */
bool
mp_q_remove(msgport_t *port, msg_t *msg)
{
	struct mp_queue *q = &port->mp_queue;
	bool found;

	mp_libcrit_enter();
	pthread_mutex_lock(&q->q_lock);
	mpq_drain(port);
	found = mp_load_ptr((void *const *)&msg->ms_onport) == port;
	if (found)
		mpq_unlink(q, msg);
	pthread_mutex_unlock(&q->q_lock);
	if (found)
		mpq_took(q);
	mp_libcrit_exit();
	return found;
}

/*
 * mp_q_split
 *	Take the requests (messages not yet done) off the queue, chained on
 *	ms_next, and count the replies left on it.
 */
msg_t *
mp_q_split(msgport_t *port, uint32_t *replies)
{
	struct mp_queue *q = &port->mp_queue;
	msg_t *m, *next, *requests = NULL, **tail = &requests;
	uint32_t taken = 0;

	*replies = 0;
	mp_libcrit_enter();
	pthread_mutex_lock(&q->q_lock);
	mpq_drain(port);
	for (m = q->q_head; m != NULL; m = next) {
		next = m->ms_next;
		if (mp_load_acq_32(&m->ms_flags) & MSGF_DONE) {
			/* a persistent one's occurrence: more is owed */
			if (!msg_persists(mp_load_acq_32(&m->ms_flags)))
				(*replies)++;
			continue;
		}
		mpq_unlink(q, m);
		*tail = m;
		tail = &m->ms_next;
		taken++;
	}
	pthread_mutex_unlock(&q->q_lock);
	while (taken-- > 0)
		mpq_took(q);
	mp_libcrit_exit();
	return requests;
}

/* Is a message on the queue, pushed and ready to take? */
bool
mp_q_landed(msgport_t *port)
{
	struct mp_queue *q = &port->mp_queue;
	bool landed;

	mp_libcrit_enter();
	pthread_mutex_lock(&q->q_lock);
	if (q->q_head == NULL)
		mpq_drain(port);
	landed = q->q_head != NULL;
	pthread_mutex_unlock(&q->q_lock);
	mp_libcrit_exit();
	return landed;
}

const struct mp_lender *mp_lender;

/*
 * mpq_lend
 *	Wait for q (empty: v, its state, says so) by lending this thread to
 *	the kernel, which runs here what it would otherwise run elsewhere
 *	and then wake us for (mp_lender).  EAGAIN: it does not want the
 *	thread now, or another thread lends on q: sleep on the futex; else
 *	0 or ETIMEDOUT, and the caller looks again.  q_lent is claimed
 *	before QS_LENT is set and released after it is taken back (if no
 *	producer took it), so a producer that takes QS_LENT finds the turn
 *	of the lender it must ring, or none if that lender is already gone.
 *	NOTE: inside the library's section: an upcall that interrupts the
 *	wait runs once the turn is given back, so it may wait itself.
 */
static int
mpq_lend(struct mp_queue *q, uint32_t v, const struct timespec *deadline)
{
	const struct mp_lender *l = mp_load_acq_ptr((void *const *)&mp_lender);
	void *turn, *none = NULL;
	int r = 0;

	if (l == NULL || (v & QS_LENT))
		return EAGAIN;
	mp_libcrit_enter();
	if ((turn = l->ml_take()) == NULL) {
		r = EAGAIN;
	} else if (!mp_cas_ptr(&q->q_lent, &none, turn)) {
		l->ml_give(turn);	/* another thread lends on q */
		r = EAGAIN;
	} else {
		if (mp_cas_32(&q->q_state, &v, v | QS_LENT)) {
			mp_td.td_lent = turn;
			r = l->ml_wait(turn, deadline);
			mp_td.td_lent = NULL;
			v = mp_load_32(&q->q_state);
			while ((v & QS_LENT) && !mp_cas_32(&q->q_state, &v, v & ~QS_LENT))
				continue;
		} else {
			l->ml_give(turn);	/* it changed: look again */
		}
		mp_store_rel_ptr(&q->q_lent, NULL);
	}
	mp_libcrit_exit();
	return r;
}

/*
 * mp_q_wait
 *	Sleep until a message is pending on port, or the port is closed,
 *	empty and owed nothing (EPIPE), or the deadline passes (ETIMEDOUT).
 *	NOTE: a sleeper sets QS_WAITERS in the very word it sleeps on, and
 *	a producer clears it in the same compare-and-swap that counts its
 *	message, so either the producer sees the flag and wakes us, or the
 *	futex sees the new count and does not let us sleep.
 */
int
mp_q_wait(msgport_t *port, const struct timespec *deadline)
{
	struct mp_queue *q = &port->mp_queue;
	uint32_t v;
	int spin, r;

	for (spin = 0; spin < MP_SPIN; spin++) {
		if (mp_load_acq_32(&q->q_state) & QS_COUNT)
			break;
		mp_pause();
	}
	for (;;) {
		v = mp_load_acq_32(&q->q_state);
		if (v & QS_COUNT) {
			if (mp_q_landed(port))
				return 0;
			sched_yield();		/* a push is landing */
			continue;
		}
		if ((v & QS_CLOSED) && mp_load_acq_32(&port->mp_inflight) == 0)
			return EPIPE;
		if ((r = mpq_lend(q, v, deadline)) != EAGAIN) {
			if (r == ETIMEDOUT && mp_deadline_passed(deadline) &&
			    !(mp_load_acq_32(&q->q_state) & (QS_COUNT | QS_CLOSED)))
				return ETIMEDOUT;
			continue;
		}
		if (!(v & QS_WAITERS)) {
			if (!mp_cas_32(&q->q_state, &v, v | QS_WAITERS))
				continue;
			v |= QS_WAITERS;
		}
		if (mp_futex_wait(&q->q_state, v, deadline) == ETIMEDOUT &&
		    mp_deadline_passed(deadline) &&
		    !(mp_load_acq_32(&q->q_state) & (QS_COUNT | QS_CLOSED)))
			return ETIMEDOUT;
	}
}

/*
 * mp_q_waitmsg
 *	Sleep until msg, whose reply port this is, has been returned here,
 *	then take it off.  Returns 0 (also when another thread took it
 *	first) or ETIMEDOUT.
 */
int
mp_q_waitmsg(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	uint32_t f = mp_load_acq_32(&msg->ms_flags);
	int r;

	/* Until DONE, msg is not ours to look for: lend this thread to the
	   kernel while it brings msg back here, or sleep on msg itself. */
	while (!msg_settled(f) && !(f & MSGF_PERSISTENT)) {
		r = mpq_lend(&port->mp_queue, mp_load_acq_32(&port->mp_queue.q_state), deadline);
		f = mp_load_acq_32(&msg->ms_flags);
		if (r == EAGAIN)
			break;
		if (r == ETIMEDOUT && mp_deadline_passed(deadline) && !msg_settled(f))
			return ETIMEDOUT;
	}
	if ((r = mp_msg_sleep(msg, deadline)) != 0)
		return r;
	for (;;) {
		if (mp_q_remove(port, msg)) {
			const char *via = mp_trace_via;

			mp_trace_via = "waitsys";
			mp_msg_taken(port, msg);
			mp_trace_via = via;
			return 0;
		}
		/* taken by someone else (a persistent one stays in flight) */
		if (!(mp_load_acq_32(&msg->ms_flags) & MSGF_QUEUED))
			return 0;
		sched_yield();		/* done, and its push is landing */
	}
}

/*
 * mp_q_fd
 *	Arm the readiness eventfd and return it (-1 with errno if a fork
 *	child could not have its own: see mpq_ownfd()).
 *	NOTE: a put counted before the port was armed does not write it; if
 *	any is pending, write it once that has landed.
 */
int
mp_q_fd(msgport_t *port)
{
	struct mp_queue *q = &port->mp_queue;
	bool own;

	mp_libcrit_enter();
	pthread_mutex_lock(&q->q_fdlock);
	own = mpq_ownfd(q);
	pthread_mutex_unlock(&q->q_fdlock);
	mp_libcrit_exit();
	if (!own)
		return -1;

	if (!(mp_load_32(&q->q_state) & QS_ARMED)) {
		/* a full-barrier RMW: either a producer sees armed, or we see its count */
		mp_or_32(&q->q_state, QS_ARMED);
		if (mp_load_acq_32(&q->q_state) & QS_COUNT) {
			while (!mp_q_landed(port))
				sched_yield();
			mp_libcrit_enter();
			mpq_fdsignal(q);
			mp_libcrit_exit();
		}
	}
	return q->q_efd;
}
