/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sys_proc.c - process and waiting calls: getpid, kill, waitpid, poll,
 * nanosleep (whose asynchronous form is a timer of the event loop).
 *
 * The waiting ones have their own form for the worker pool (kc_intr),
 * which keeps a deadline across interrupts: they wait in mp_kwait(), which
 * gives up once the message is aborted.  Workers keep the interrupt
 * signal unblocked: one that lands before ppoll() starts is spent, and
 * the abort's next one (pool.c repeats it until the worker has left the
 * call) ends the wait.  An EINTR with the message not aborted was meant
 * for an earlier message: wait again.
 */
#include "config.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "futex-internal.h"
#include "kport-internal.h"
#include "ksys-internal.h"
#include "ucopy-internal.h"

#define ARGS(type) struct type *a = (struct type *)msg

/*
 * mp_kwait
 *	ppoll() until something is ready or the deadline (NULL: none)
 *	passes, with the interrupt signal unblocked.  Returns ppoll's
 *	count, -1 with errno, or -2 when msg was aborted.
 */
int
mp_kwait(msg_t *msg, struct pollfd *fds, unsigned long nfds, const struct timespec *deadline)
{
	struct timespec rem;
	int r;

	for (;;) {
		if (kaborted(msg))
			return -2;
		r = ppoll(fds, nfds, deadline ? mp_remaining(deadline, &rem) : NULL, kintrmask());
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

int MP_HOT
mp_krun_getpid(msg_t *msg)
{
	return kret_sys(msg, ksys(SYS_getpid, 0, 0, 0));
}

int
mp_krun_kill(msg_t *msg)
{
	ARGS(sys_kill);
	return kret_sys(msg, ksys(SYS_kill, a->pid, a->sig, 0));
}

int
mp_krun_waitpid(msg_t *msg)
{
	ARGS(sys_waitpid);
	return kret(msg, wait4(a->pid, a->status, a->options, NULL));
}

int
mp_ktry_waitpid(msg_t *msg)
{
	ARGS(sys_waitpid);
	pid_t r = wait4(a->pid, a->status, a->options | WNOHANG, NULL);

	if (r == 0 && !(a->options & WNOHANG))
		return EAGAIN;
	return kret(msg, r);
}

/*
 * mp_kintr_waitpid
 *	For one child's exit, wait on its pidfd; other waits (any child,
 *	stops) cannot be cut short and block in wait4().
 */
int
mp_kintr_waitpid(msg_t *msg)
{
	ARGS(sys_waitpid);
	struct pollfd pfd = { .events = POLLIN };
	int r;

	if (a->pid <= 0 || (a->options & (WUNTRACED | WCONTINUED)))
		return mp_krun_waitpid(msg);
	pfd.fd = (int)syscall(SYS_pidfd_open, a->pid, 0);
	if (pfd.fd < 0)
		return mp_krun_waitpid(msg);
	for (;;) {
		r = mp_ktry_waitpid(msg);
		if (r != EAGAIN)
			break;
		if ((r = mp_kwait(msg, &pfd, 1, NULL)) < 0) {
			r = r == -2 ? kcancel(msg) : kret(msg, r);
			break;
		}
	}
	close(pfd.fd);
	return r;
}

int
mp_krun_poll(msg_t *msg)
{
	ARGS(sys_poll);
	return kret(msg, poll(a->fds, a->nfds, a->timeout));
}

int
mp_ktry_poll(msg_t *msg)
{
	ARGS(sys_poll);
	int r = poll(a->fds, a->nfds, 0);

	if (r == 0 && a->timeout != 0)
		return EAGAIN;
	return kret(msg, r);
}

int
mp_kintr_poll(msg_t *msg)
{
	ARGS(sys_poll);
	struct timespec dl, rel;
	int r;

	if (a->timeout >= 0) {
		rel.tv_sec = a->timeout / 1000;
		rel.tv_nsec = (a->timeout % 1000) * 1000000L;
		mp_deadline(&rel, &dl);
	}
	r = mp_kwait(msg, a->fds, a->nfds, a->timeout >= 0 ? &dl : NULL);
	return r == -2 ? kcancel(msg) : kret(msg, r);
}

int
mp_krun_nanosleep(msg_t *msg)
{
	ARGS(sys_nanosleep);
	return kret(msg, nanosleep(a->req, a->rem));
}

/*
 * mp_ksleep_nanosleep
 *	An asynchronous nanosleep waits as a timer of the event loop
 *	(evloop.c), not in a worker: how long (the request, read without
 *	trusting it: EFAULT, or EINVAL as nanosleep(2) says), or, cut short,
 *	what was left, into rem as an interrupted nanosleep(2) does.
 */
int
mp_ksleep_nanosleep(msg_t *msg, struct timespec *t, bool left)
{
	ARGS(sys_nanosleep);

	if (left)
		return a->rem != NULL ? mp_ucopyout(a->rem, t, sizeof(*t)) : 0;
	if (mp_ucopyin(t, a->req, sizeof(*t)) != 0) {
		msg->ms_result = -1;
		return EFAULT;
	}
	if (t->tv_sec < 0 || t->tv_nsec < 0 || t->tv_nsec >= 1000000000L) {
		msg->ms_result = -1;
		return EINVAL;
	}
	return 0;
}
