/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * upcall.c - reply ports that interrupt their owner: the upcall,
 * critical-section upcall and passive kinds.
 *
 * All three are a queue port plus an upcall function: a message returned
 * to one is queued like on a queue port, and the port's owner (the thread
 * that made it) is told, by the upcall signal sent to that thread alone,
 * or, for a passive port, by a POSIX timer that sends the same signal to
 * the same thread when the port's timeout runs out.  The owner's signal
 * handler (crit.c) then asks each port whether its upcall is due
 * (mp_up_due) and runs it (mp_up_run).  No library thread ever runs an upcall.
 *
 * The upcall runs once per message that is still queued when it runs;
 * each run is expected to take one message with getport().
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "msgport-internal.h"
#include "trace-internal.h"
#include "upcall-internal.h"

static uint32_t up_lastid;	/* ids for the timers' signals */

/* Start the passive port's timeout. */
static void
up_arm(struct upcall_port *up)
{
	struct itimerspec its = { .it_value = up->up_timeout };

	timer_settime(up->up_timer, 0, &its, NULL);
}

/* Tell the owner, tid, that up has something. */
static void
up_notify(struct upcall_port *up, uint32_t tid)
{
	if (up->up_kind == UP_PASSIVE)
		up_arm(up);
	else
		syscall(SYS_tgkill, up->up_pid, (pid_t)tid, up->up_signo);
}

/*
 * up_replyport
 *	Queue msg, then count it; the reply that finds the count at zero
 *	tells the owner, and later ones ride on that until the owner looks.
 *	NOTE: q_busy covers the notification as well as the push, so
 *	rmport() cannot free the port (or delete its timer) under us; and
 *	as a library section, no upcall of this thread runs in the middle.
 */
static void
up_replyport(msgport_t *port, msg_t *msg)
{
	struct upcall_port *up = (struct upcall_port *)port;
	struct mp_queue *q = &port->mp_queue;
	uint32_t tid;

	mp_libcrit_enter();
	mp_faa_32(&q->q_busy, 1);
	mp_q_put(q, msg);
	if (mp_faa_32(&up->up_pending, 1) == 0) {
		tid = mp_load_acq_32(&up->up_tid);
		if (tid != UP_TID_ORPHAN && tid != UP_TID_DYING && up->up_pid == mp_up_process())
			up_notify(up, tid);
	}
	mp_faa_32(&q->q_busy, (uint32_t)-1);
	mp_libcrit_exit();
}

/*
 * mp_up_due
 *	Should up's upcall run now, on its owner's thread td?  A port whose
 *	upcall is already on the stack never is (it is run again when that
 *	one returns); one held by a critical section marks td.
 *	NOTE: a passive port's timer is never disarmed once started (a
 *	replier may be re-arming it at that moment); an expiry that finds
 *	nothing pending is forgotten here, so at worst a later message is
 *	upcalled before its own timeout, never after.
 */
bool
mp_up_due(struct mp_td *td, struct upcall_port *up, bool flush)
{
	if (up->up_running)
		return false;
	if (mp_load_acq_32(&up->up_pending) == 0) {
		up->up_fired = 0;	/* a stale expiry: nothing was waiting */
		return false;
	}
	if (up->up_kind == UP_PLAIN)
		return true;
	if (up->up_kind == UP_PASSIVE && !up->up_fired && !flush)
		return false;
	if (td->td_critcount == 0)
		return true;
	td->td_held |= TD_HELD_CRIT;
	/* the trace says so once per hold, not at every scan */
	if (!up->up_heldtraced) {
		up->up_heldtraced = 1;
		MP_TRACE("hold", NULL, &up->up_port, NULL, "crit");
	}
	return false;
}

/*
 * mp_up_run
 *	Run up's upcall once per message queued on it, taking the pending
 *	count back to zero; returns how many ran.
 *	NOTE: the count is cleared with a compare-and-swap against what was
 *	seen before running: a reply that came meanwhile makes it fail and
 *	is run too (or, on a passive port outside flushsys(), gets a
 *	timeout of its own), and one after it finds zero and notifies anew.
 */
int
mp_up_run(struct upcall_port *up, bool flush)
{
	msgport_t *port = &up->up_port;
	struct mp_queue *q = &port->mp_queue;
	uint32_t seen = mp_load_acq_32(&up->up_pending);
	int32_t n;
	int ran = 0;

	up->up_fired = 0;
	up->up_heldtraced = 0;
	for (;;) {
		/* the count runs ahead of a push that is landing: run only
		   for messages getport() can take now; a landing one's own
		   up_pending increment brings it back here */
		n = (int32_t)(mp_load_acq_32(&q->q_state) & QS_COUNT);
		for (; n > 0 && mp_q_landed(port); n--) {
			const char *via = mp_trace_via;

			mp_trace_via = flush ? "flushsys" : "upcall";
			up->up_fn(port, up->up_arg);
			mp_trace_via = via;
			ran++;
		}
		if (mp_cas_32(&up->up_pending, &seen, 0))
			return ran;
		if (up->up_kind == UP_PASSIVE && !flush) {
			up_arm(up);
			return ran;
		}
	}
}

/*
 * mp_up_orphan
 *	up's owner is exiting: stop notifying it.  The port stays, as a
 *	plain queue port any thread may drain and remove.
 *	NOTE: called by the owner, already unlinked from its list.
 */
void
mp_up_orphan(struct upcall_port *up)
{
	mp_store_rel_32(&up->up_tid, UP_TID_DYING);
	mp_faa_32(&up->up_pending, 0);	/* full barrier: repliers now see DYING */
	mp_q_quiesce(&up->up_port.mp_queue);
	if (up->up_kind == UP_PASSIVE)
		timer_delete(up->up_timer);
	mp_store_rel_32(&up->up_tid, UP_TID_ORPHAN);
}

/*
 * up_rmport
 *	rmport() on an upcall port: as a queue port's (queued replies are
 *	handed back done and idle, EBUSY while replies are owed), but only
 *	by the owner (EPERM), and not from the port's own upcall (EBUSY).
 *	A port whose owner is gone (exited, or left behind in the parent of
 *	a fork) is a plain queue port any thread may remove.
 *	NOTE: the port leaves its owner's list before it is freed, inside a
 *	library section, so no upcall or handler can reach it afterwards; a
 *	signal or timer expiry still on its way finds nothing to do.
 */
static int
up_rmport(msgport_t *port)
{
	struct upcall_port *up = (struct upcall_port *)port;
	uint32_t tid = mp_load_acq_32(&up->up_tid);
	timer_t timer = up->up_timer;
	bool passive = up->up_kind == UP_PASSIVE;
	int r;

	if (tid == UP_TID_ORPHAN || up->up_pid != mp_up_process())
		return mp_queue_rmport(port);	/* owner gone (exited, or a fork parent's) */
	if (tid != (uint32_t)gettid())
		return EPERM;
	if (up->up_running)
		return EBUSY;
	mp_libcrit_enter();
	mp_up_detach(up);
	if ((r = mp_queue_rmport(port)) != 0) {
		/* still ours: back on the list, and look at it again on the way out */
		mp_up_attach(up);
		mp_td.td_held |= TD_HELD_LIB;
	}
	mp_libcrit_exit();
	if (r == 0 && passive)
		timer_delete(timer);
	return r;
}

static const struct msgport_ops upcall_ops = {
	.mp_name = "upcall",
	.mp_sendport = mp_msg_send,
	.mp_putport = mp_port_nosend,
	.mp_getport = mp_queue_getport,
	.mp_waitport = mp_queue_waitport,
	.mp_replyport = up_replyport,
	.mp_dropmsg = mp_port_nodrop,
	.mp_portfd = mp_queue_portfd,
	.mp_closeport = mp_queue_closeport,
	.mp_rmport = up_rmport,
};

/*
 * up_make
 *	Make an upcall port of the given kind, owned by the calling thread.
 *	Returns NULL with errno set.
 */
static msgport_t *
up_make(int kind, upcall_fn fn, void *arg, const struct timespec *timeout)
{
	struct upcall_port *up;
	struct sigevent sev;
	int r;

	if (fn == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((r = mp_up_install()) != 0) {
		errno = r;
		return NULL;
	}
	up = (struct upcall_port *)mp_port_alloc(sizeof(*up), &upcall_ops);
	if (up == NULL)
		return NULL;
	up->up_fn = fn;
	up->up_arg = arg;
	up->up_kind = kind;
	up->up_id = mp_faa_32(&up_lastid, 1) + 1;
	up->up_pid = getpid();
	up->up_signo = mp_up_signal();
	up->up_tid = (uint32_t)gettid();
	if (kind == UP_PASSIVE) {
		up->up_timeout = *timeout;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = up->up_signo;
		sev.sigev_value.sival_ptr = (void *)up->up_id;
		sev._sigev_un._tid = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &up->up_timer) != 0) {
			r = errno;
			goto fail;
		}
	}
	if ((r = mp_up_attach(up)) != 0) {
		if (kind == UP_PASSIVE)
			timer_delete(up->up_timer);
		goto fail;
	}
	return &up->up_port;
fail:
	mp_port_free(&up->up_port);
	errno = r;
	return NULL;
}

/*
 * mkport_upcall
 *	A port whose upcall fn(port, arg) runs in the calling thread, from
 *	the upcall signal, as soon as a message is returned to it.
 */
msgport_t *
mkport_upcall(upcall_fn fn, void *arg)
{
	return up_make(UP_PLAIN, fn, arg, NULL);
}

/*
 * mkport_critupcall
 *	As mkport_upcall(), but held while the owner is inside a critical
 *	section: then it runs at the outermost crit_exit() or at flushsys().
 */
msgport_t *
mkport_critupcall(upcall_fn fn, void *arg)
{
	return up_make(UP_CRIT, fn, arg, NULL);
}

/*
 * mkport_passive
 *	A port the owner is expected to drain; messages still queued timeout
 *	after they arrived get their upcall, as on a critical-section port.
 */
msgport_t *
mkport_passive(upcall_fn fn, void *arg, const struct timespec *timeout)
{
	if (timeout == NULL || timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
	    timeout->tv_nsec >= 1000000000L || (timeout->tv_sec == 0 && timeout->tv_nsec == 0)) {
		errno = EINVAL;
		return NULL;
	}
	return up_make(UP_PASSIVE, fn, arg, timeout);
}
