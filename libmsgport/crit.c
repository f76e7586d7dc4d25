/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crit.c - critical sections, flushsys(), and the upcall signal.
 *
 * A thread's upcalls arrive as one real-time signal, sent to that thread
 * only.  Its handler runs the upcalls that are due, as a software
 * interrupt would; what may not run yet (the thread is inside a critical
 * section, or inside the library) is marked held back, and runs when the
 * section ends or at flushsys().  Critical sections cost one increment on
 * entry and one decrement plus a test on exit: the only other party is
 * the signal handler on the same thread, so compiler barriers order them.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msgport-internal.h"
#include "owncalls-internal.h"
#include "upcall-internal.h"

__thread struct mp_td mp_td __attribute__((tls_model("initial-exec")));

/* The upcall signal: chosen once, for the process, under up_lock. */
static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static int up_signo;			/* 0 until installed */
static pthread_key_t up_exitkey;	/* its destructor orphans a thread's ports */
static uint32_t up_procpid;		/* this process: changes in a fork child */

static void up_handler(int signo, siginfo_t *si, void *ctx);

/*
 * td_dispatch
 *	Run the upcalls that are due on this thread, one port at a time,
 *	until none is; returns how many upcalls ran.  flush: flushsys(),
 *	which also runs passive ports whose timer has not fired.
 *	NOTE: the scan runs as a library section, so a signal meanwhile only
 *	marks TD_HELD_LIB and the scan starts over; the upcall itself runs
 *	outside it, may be interrupted by other ports' upcalls, and may
 *	remove other ports, which is why every run is followed by a fresh
 *	scan from the head.
 */
static int
td_dispatch(struct mp_td *td, bool flush)
{
	struct upcall_port *up;
	int ran = 0;

	for (;;) {
		td->td_libcrit++;
		mp_barrier();
		td->td_held = 0;
		mp_barrier();
		for (up = td->td_ports; up != NULL; up = up->up_next)
			if (mp_up_due(td, up, flush))
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
		ran += mp_up_run(up, flush);
		mp_barrier();
		up->up_running = 0;
	}
}

/* The outermost library section ended with work held back. */
void
mp_td_flushlib(void)
{
	td_dispatch(&mp_td, false);
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
		td_dispatch(td, false);
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
		mp_up_orphan(up);
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
 * mp_up_install
 *	Make sure the upcall signal is installed: the one upcallsig() chose,
 *	else $MSGPORT_UPCALL_SIGNAL (a number), else MSGPORT_UPCALL_DEFAULT.
 *	Returns 0 or an errno value.
 */
int
mp_up_install(void)
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

int
mp_up_signal(void)
{
	return up_signo;
}

/* The calling process's id, as of the last fork. */
pid_t
mp_up_process(void)
{
	return (pid_t)mp_load_acq_32(&up_procpid);
}

/*
 * mp_up_attach
 *	Add up to the calling thread's ports, and make sure this thread
 *	takes the upcall signal and orphans its ports when it exits.
 */
int
mp_up_attach(struct upcall_port *up)
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
 * mp_up_detach
 *	Take up off the calling thread's ports.
 *	NOTE: the caller is inside a library section, so neither the handler
 *	nor an upcall walks the list while it changes.
 */
void
mp_up_detach(struct upcall_port *up)
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

/* Critical sections. */

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
		td_dispatch(td, false);
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
	ran = td_dispatch(td, true);
	mp_barrier();
	td->td_critcount = saved;
	return ran;
}
