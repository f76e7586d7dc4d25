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
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "futex-internal.h"
#include "msgport-internal.h"
#include "upcall-internal.h"

int
mpq_init(struct mp_queue *q)
{
	q->q_incoming = NULL;
	q->q_count = 0;
	q->q_seq = 0;
	q->q_waiters = 0;
	q->q_busy = 0;
	q->q_head = q->q_tail = NULL;
	q->q_armed = 0;
	q->q_signalled = false;
	q->q_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->q_efd < 0)
		return errno;
	pthread_mutex_init(&q->q_lock, NULL);
	pthread_mutex_init(&q->q_fdlock, NULL);
	return 0;
}

void
mpq_fini(struct mp_queue *q)
{
	close(q->q_efd);
	pthread_mutex_destroy(&q->q_lock);
	pthread_mutex_destroy(&q->q_fdlock);
}

/*
 * mpq_fdsync
 *	Make the eventfd agree with q_count: readable iff a message is
 *	pending.  Called after every crossing between empty and non-empty
 *	while armed; because each crossing is followed by a sync that reads
 *	the count afresh under q_fdlock, the last sync always sees the truth.
 */
static void
mpq_fdsync(struct mp_queue *q)
{
	uint64_t v = 1;
	int32_t count;

	pthread_mutex_lock(&q->q_fdlock);
	count = (int32_t)mp_load_acq_32(&q->q_count);
	if (count > 0 && !q->q_signalled) {
		if (write(q->q_efd, &v, sizeof(v)) == sizeof(v))
			q->q_signalled = true;
	} else if (count <= 0 && q->q_signalled) {
		if (read(q->q_efd, &v, sizeof(v)) == sizeof(v))
			q->q_signalled = false;
	}
	pthread_mutex_unlock(&q->q_fdlock);
}

/* Wake every sleeper; a sleeper that has not gone to sleep yet sees q_seq move. */
void
mpq_wakeall(struct mp_queue *q)
{
	mp_faa_32(&q->q_seq, 1);
	mp_futex_wake(&q->q_seq);
}

/*
 * mpq_put
 *	Push msg onto the queue, from any thread.
 *	NOTE: the caller has set msg's flags; once pushed, msg belongs to
 *	the consumer and is not touched again.  The port itself stays
 *	referenced (q_busy) until the wakeups are done, so rmport() cannot
 *	free it under us.
 */
void
mpq_put(struct mp_queue *q, msg_t *msg)
{
	void *head;
	int32_t old;

	mp_libcrit_enter();
	mp_faa_32(&q->q_busy, 1);
	head = mp_load_ptr(&q->q_incoming);
	do {
		msg->ms_next = head;
	} while (!mp_cas_ptr(&q->q_incoming, &head, msg));

	old = (int32_t)mp_faa_32(&q->q_count, 1);
	if (old <= 0 && mp_load_32(&q->q_armed))
		mpq_fdsync(q);
	if (mp_load_32(&q->q_waiters) != 0)
		mpq_wakeall(q);
	mp_faa_32(&q->q_busy, (uint32_t)-1);
	mp_libcrit_exit();
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
	int32_t now = (int32_t)mp_faa_32(&q->q_count, (uint32_t)-1) - 1;

	if (now <= 0 && mp_load_32(&q->q_armed))
		mpq_fdsync(q);
}

/* Take the oldest message, or NULL. */
msg_t *
mpq_get(msgport_t *port)
{
	struct mp_queue *q = &port->mp_queue;
	msg_t *m;

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
	mp_libcrit_exit();
	return m;
}

/* Take msg off the queue if it is there. */
bool
mpq_remove(msgport_t *port, msg_t *msg)
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
 * mpq_split
 *	Take the requests (messages not yet done) off the queue, chained on
 *	ms_next, and count the replies left on it.
 */
msg_t *
mpq_split(msgport_t *port, uint32_t *replies)
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

/*
 * mpq_sleep
 *	One round of sleeping on q_seq, seen as seq before the caller looked
 *	at the queue.  Returns 0 or ETIMEDOUT.
 *	NOTE: registering in q_waiters before the last look is what makes
 *	it safe: a producer bumps q_seq only when it sees a waiter, and
 *	either it sees us or we see its message (both sides use sequentially
 *	consistent read-modify-writes).
 */
static int
mpq_sleep(struct mp_queue *q, uint32_t seq, const struct timespec *deadline)
{
	int r = mp_futex_wait(&q->q_seq, seq, deadline);

	return r == ETIMEDOUT ? ETIMEDOUT : 0;
}

/*
 * mpq_wait
 *	Sleep until a message is pending on port, or the port is closed and
 *	empty (EPIPE), or the deadline passes (ETIMEDOUT).
 */
int
mpq_wait(msgport_t *port, const struct timespec *deadline)
{
	struct mp_queue *q = &port->mp_queue;
	uint32_t seq;
	int r = 0, spin;

	for (spin = 0; spin < MP_SPIN; spin++) {
		if ((int32_t)mp_load_acq_32(&q->q_count) > 0)
			return 0;
		mp_pause();
	}
	for (;;) {
		seq = mp_load_acq_32(&q->q_seq);
		mp_faa_32(&q->q_waiters, 1);
		if ((int32_t)mp_load_acq_32(&q->q_count) > 0)
			r = 0;
		else if (port_closed(port))
			r = EPIPE;
		else if (mpq_sleep(q, seq, deadline) == ETIMEDOUT)
			r = ETIMEDOUT;
		else
			r = -1;
		mp_faa_32(&q->q_waiters, (uint32_t)-1);
		if (r >= 0)
			return r;
	}
}

/*
 * mpq_waitmsg
 *	Sleep until msg, whose reply port this is, has been returned here,
 *	then take it off.  Returns 0 (also when another thread took it
 *	first) or ETIMEDOUT.
 */
int
mpq_waitmsg(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	struct mp_queue *q = &port->mp_queue;
	uint32_t seq;
	int r;

	for (;;) {
		/* Until DONE, msg is not ours to look for: sleep on msg itself. */
		if ((r = msg_sleep(msg, deadline)) != 0)
			return r;
		if (!(mp_load_acq_32(&msg->ms_flags) & MSGF_INFLIGHT))
			return 0;
		/* DONE but perhaps not pushed yet: its push bumps q_seq. */
		seq = mp_load_acq_32(&q->q_seq);
		mp_faa_32(&q->q_waiters, 1);
		if (mpq_remove(port, msg))
			r = 1;
		else if (!(mp_load_acq_32(&msg->ms_flags) & MSGF_INFLIGHT))
			r = 2;
		else if (mpq_sleep(q, seq, deadline) == ETIMEDOUT)
			r = ETIMEDOUT;
		mp_faa_32(&q->q_waiters, (uint32_t)-1);
		if (r == 1)
			msg_taken(port, msg);
		if (r != 0)
			return r == ETIMEDOUT ? ETIMEDOUT : 0;
	}
}

/*
 * mpq_fd
 *	Arm the readiness eventfd and return it.
 */
int
mpq_fd(struct mp_queue *q)
{
	if (mp_load_32(&q->q_armed) == 0) {
		/* a full-barrier RMW: either a producer sees armed, or we see its count */
		mp_or_32(&q->q_armed, 1);
		mp_libcrit_enter();
		mpq_fdsync(q);
		mp_libcrit_exit();
	}
	return q->q_efd;
}

/*
 * mpq_quiesce
 *	Wait until no producer is inside mpq_put(), so the queue's memory
 *	may go.  Producers stay inside for a few instructions only.
 */
void
mpq_quiesce(msgport_t *port)
{
	while (mp_load_acq_32(&port->mp_queue.q_busy) != 0)
		sched_yield();
}
