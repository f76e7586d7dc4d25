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
 * handler (up_handler) then asks each port on the thread's list whether
 * its upcall is due (up_due) and runs it (up_run), or, when the thread is
 * inside the library, leaves a "held back" mark; crit_exit(), flushsys()
 * and the library's own section exits (crit.c, thread-internal.h) run
 * what was held back through the same dispatcher, mp_up_dispatch().  No
 * library thread ever runs an upcall.
 *
 * Here too: installing the signal, and each thread's list of the ports
 * it owns (attached at creation, detached at rmport(), orphaned when the
 * thread exits or in a fork child).
 *
 * The upcall runs once per message that is still queued when it runs;
 * each run is expected to take one message with getport().
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "msgport-internal.h"
#include "owncalls-internal.h"
#include "thread-internal.h"
#include "trace-internal.h"
#include "upcall-internal.h"

/* The upcall signal: chosen once, for the process, under up_lock. */
static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static int up_signo;			/* 0 until installed */
static pthread_key_t up_exitkey;	/* its destructor orphans a thread's ports */
static uint32_t up_procpid;		/* this process: changes in a fork child */
static uint32_t up_lastid;		/* ids for the timers' signals */

/* The calling process's id, as of the last fork. */
static pid_t
up_process(void)
{
	return (pid_t)mp_load_acq_32(&up_procpid);
}

int
mp_up_signal(void)
{
	return up_signo;
}

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
		if (tid != UP_TID_ORPHAN && tid != UP_TID_DYING && up->up_pid == up_process())
			up_notify(up, tid);
	}
	mp_faa_32(&q->q_busy, (uint32_t)-1);
	mp_libcrit_exit();
}

/*
 * up_due
 *	Should up's upcall run now, on its owner's thread td?  A port whose
 *	upcall is already on the stack never is (it is run again when that
 *	one returns); one held by a critical section marks td.
 *	NOTE: a passive port's timer is never disarmed once started (a
 *	replier may be re-arming it at that moment); an expiry that finds
 *	nothing pending is forgotten here, so at worst a later message is
 *	upcalled before its own timeout, never after.
 */
static bool
up_due(struct mp_td *td, struct upcall_port *up, bool flush)
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
 * up_run
 *	Run up's upcall once per message queued on it, taking the pending
 *	count back to zero; returns how many ran.
 *	NOTE: the count is cleared with a compare-and-swap against what was
 *	seen before running: a reply that came meanwhile makes it fail and
 *	is run too (or, on a passive port outside flushsys(), gets a
 *	timeout of its own), and one after it finds zero and notifies anew.
 */
static int
up_run(struct upcall_port *up, bool flush)
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
 * up_orphan
 *	up's owner is exiting: stop notifying it.  The port stays, as a
 *	plain queue port any thread may drain and remove.
 *	NOTE: called by the owner, already unlinked from its list.
 */
static void
up_orphan(struct upcall_port *up)
{
	mp_store_rel_32(&up->up_tid, UP_TID_DYING);
	mp_faa_32(&up->up_pending, 0);	/* full barrier: repliers now see DYING */
	mp_q_quiesce(&up->up_port.mp_queue);
	if (up->up_kind == UP_PASSIVE)
		timer_delete(up->up_timer);
	mp_store_rel_32(&up->up_tid, UP_TID_ORPHAN);
}

/*
 * mp_up_dispatch
 *	Run the upcalls that are due on this thread, one port at a time,
 *	until none is; returns how many upcalls ran.  flush: flushsys(),
 *	which also runs passive ports whose timer has not fired.
 *	NOTE: the scan runs as a library section, so a signal meanwhile only
 *	marks TD_HELD_LIB and the scan starts over; the upcall itself runs
 *	outside it, may be interrupted by other ports' upcalls, and may
 *	remove other ports, which is why every run is followed by a fresh
 *	scan from the head.
 */
int
mp_up_dispatch(bool flush)
{
	struct mp_td *td = &mp_td;
	struct upcall_port *up;
	int ran = 0;

	for (;;) {
		td->td_libcrit++;
		mp_barrier();
		td->td_held = 0;
		mp_barrier();
		for (up = td->td_ports; up != NULL; up = up->up_next)
			if (up_due(td, up, flush))
				break;
		if (up != NULL)
			up->up_running = 1;
		mp_barrier();
		td->td_libcrit--;
		mp_barrier();
		if (up == NULL) {
			if (td->td_held & TD_HELD_LIB)
				continue;
			return ran;
		}
		ran += up_run(up, flush);
		mp_barrier();
		up->up_running = 0;
	}
}

/*
 * up_handler
 *	The upcall signal.  A passive port's timer names its port in
 *	si_value; mark that port fired.  Then run what is due, unless the
 *	thread is inside the library, where only a mark is left.
 *	NOTE: walking td_ports here is safe at any instruction: the owner
 *	changes the list with single pointer stores, and frees a port only
 *	after unlinking it.
 */
static void
up_handler(int signo, siginfo_t *si, void *ctx)
{
	struct mp_td *td = &mp_td;
	struct upcall_port *up;
	int saved = errno;
	MP_OWNCALLS_BEGIN(own);

	(void)signo, (void)ctx;
	if (si->si_code == SI_TIMER) {
		for (up = td->td_ports; up != NULL; up = up->up_next)
			if (up->up_id == (uintptr_t)si->si_value.sival_ptr)
				up->up_fired = 1;
	}
	if (td->td_libcrit != 0)
		td->td_held |= TD_HELD_LIB;
	else
		mp_up_dispatch(false);
	MP_OWNCALLS_END(own);
	errno = saved;
}

/* A thread that owns ports is exiting: its ports become plain queues. */
static void
up_threadexit(void *unused)
{
	struct mp_td *td = &mp_td;
	struct upcall_port *up, *next;

	(void)unused;
	mp_libcrit_enter();
	for (up = td->td_ports; up != NULL; up = next) {
		next = up->up_next;
		td->td_ports = next;
		mp_barrier();
		up_orphan(up);
	}
	td->td_held = 0;
	mp_libcrit_exit();
}

/*
 * up_atfork_child
 *	In a fork child, no port made before the fork has its owner any
 *	more (the child has one thread, and the timers are gone): they all
 *	become plain queue ports, like those of an exited thread.  Ports of
 *	the parent's other threads are recognised by their process id.
 */
static void
up_atfork_child(void)
{
	struct mp_td *td = &mp_td;
	struct upcall_port *up;

	mp_store_rel_32(&up_procpid, (uint32_t)getpid());
	for (up = td->td_ports; up != NULL; up = up->up_next)
		mp_store_rel_32(&up->up_tid, UP_TID_ORPHAN);
	td->td_ports = NULL;
	td->td_held = 0;
}

/* Is there a handler of the application's own on signo? */
static bool
up_sigtaken(int signo)
{
	struct sigaction old;

	if (sigaction(signo, NULL, &old) != 0)
		return true;
	if (old.sa_flags & SA_SIGINFO)
		return old.sa_sigaction != up_handler;
	return old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
}

/* Install the handler on signo; up_lock held. */
static int
up_installsig(int signo)
{
	struct sigaction sa;
	int r;

	if (up_signo != 0)
		return signo == up_signo ? 0 : EBUSY;
	if (up_sigtaken(signo))
		return EBUSY;
	if ((r = pthread_key_create(&up_exitkey, up_threadexit)) != 0)
		return r;
	if ((r = pthread_atfork(NULL, NULL, up_atfork_child)) != 0) {
		pthread_key_delete(up_exitkey);
		return r;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = up_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) != 0) {
		r = errno;
		pthread_key_delete(up_exitkey);
		return r;
	}
	mp_store_rel_32(&up_procpid, (uint32_t)getpid());
	up_signo = signo;
	return 0;
}

static bool
up_sigvalid(int signo)
{
	return signo >= SIGRTMIN && signo <= SIGRTMAX;
}

/*
 * upcallsig
 *	Choose the upcall signal, a real-time one, and install its handler.
 *	Returns 0, EINVAL for a signal that is not real-time, or EBUSY when
 *	another upcall signal is already installed or the application has a
 *	handler of its own on signo.
 */
int
upcallsig(int signo)
{
	int r;

	if (!up_sigvalid(signo))
		return EINVAL;
	pthread_mutex_lock(&up_lock);
	r = up_installsig(signo);
	pthread_mutex_unlock(&up_lock);
	return r;
}

/*
 * up_install
 *	Make sure the upcall signal is installed: the one upcallsig() chose,
 *	else $MSGPORT_UPCALL_SIGNAL (a number), else MSGPORT_UPCALL_DEFAULT.
 *	Returns 0 or an errno value.
 */
static int
up_install(void)
{
	const char *env;
	char *end;
	long v;
	int r, signo = SIGRTMIN + MSGPORT_UPCALL_DEFAULT;

	pthread_mutex_lock(&up_lock);
	if (up_signo != 0) {
		pthread_mutex_unlock(&up_lock);
		return 0;
	}
	if ((env = getenv("MSGPORT_UPCALL_SIGNAL")) != NULL && *env != '\0') {
		v = strtol(env, &end, 10);
		signo = *end == '\0' && v > 0 && v < 1024 ? (int)v : -1;
	}
	r = up_sigvalid(signo) ? up_installsig(signo) : EINVAL;
	pthread_mutex_unlock(&up_lock);
	return r;
}

/*
 * up_attach
 *	Add up to the calling thread's ports, and make sure this thread
 *	takes the upcall signal and orphans its ports when it exits.
 */
static int
up_attach(struct upcall_port *up)
{
	struct mp_td *td = &mp_td;
	sigset_t set;
	int r;

	if (!td->td_registered) {
		if ((r = pthread_setspecific(up_exitkey, td)) != 0)
			return r;
		td->td_registered = true;
	}
	sigemptyset(&set);
	sigaddset(&set, up_signo);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	mp_libcrit_enter();
	up->up_next = td->td_ports;
	mp_barrier();
	td->td_ports = up;
	mp_libcrit_exit();
	return 0;
}

/*
 * up_detach
 *	Take up off the calling thread's ports.
 *	NOTE: the caller is inside a library section, so neither the handler
 *	nor an upcall walks the list while it changes.
 */
static void
up_detach(struct upcall_port *up)
{
	struct upcall_port *volatile *pp;

	for (pp = &mp_td.td_ports; *pp != NULL; pp = (struct upcall_port *volatile *)&(*pp)->up_next) {
		if (*pp == up) {
			*pp = up->up_next;
			mp_barrier();
			return;
		}
	}
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

	if (tid == UP_TID_ORPHAN || up->up_pid != up_process())
		return mp_queue_rmport(port);	/* owner gone (exited, or a fork parent's) */
	if (tid != (uint32_t)gettid())
		return EPERM;
	if (up->up_running)
		return EBUSY;
	mp_libcrit_enter();
	up_detach(up);
	if ((r = mp_queue_rmport(port)) != 0) {
		/* still ours: back on the list, and look at it again on the way out */
		up_attach(up);
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
	if ((r = up_install()) != 0) {
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
	if ((r = up_attach(up)) != 0) {
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
