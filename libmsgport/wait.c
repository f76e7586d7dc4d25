/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wait.c - waiting for returned messages, and taking them.
 *
 * Three ways to wait, as DragonFly's lwkt_waitmsg/lwkt_waitport: for one
 * message (no port needed), for anything on a port, or for one message
 * on its reply port.  Waiting for a message takes it off its reply port
 * either way, so it is idle on return and no getport() hands it out.
 */
#include <errno.h>

#include "futex-internal.h"
#include "msgport-internal.h"
#include "owncalls-internal.h"
#include "trace-internal.h"

__thread void (*mp_held_send)(void) __attribute__((tls_model("initial-exec")));

/*
 * wait_until
 *	The three forms.  The message alone sleeps on the message; once it
 *	is done, one returned to its reply port (queued there) is taken off
 *	through that port, as if both had been given.
 *	NOTE: an idle message's reply port is never touched: it may be gone.
 *	One still queued is owed to its port, which is there until taken.
 */
static int
wait_until_(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	int r;

	if ((port == NULL && msg == NULL) || (msg != NULL && msg_misaligned(msg)))
		return EINVAL;
	mp_send_held();		/* what this thread waits for may be among them */
	if (port == NULL) {
		if ((r = mp_msg_sleep(msg, deadline)) != 0)
			return r;
		if (!(mp_load_acq_32(&msg->ms_flags) & MSGF_QUEUED)) {
			/* idle, or taken by now: no port says so, the trace must */
			MP_TRACE("wait", msg, NULL, NULL, "done");
			return msg->ms_error;
		}
		port = msg->ms_reply_port;
	}
	if (msg != NULL && msg->ms_reply_port != port)
		return EINVAL;
	return port->mp_ops->mp_waitport(port, msg, deadline);
}

static int
wait_until(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	MP_OWNCALLS_BEGIN(own);
	int r = wait_until_(port, msg, deadline);

	MP_OWNCALLS_END(own);
	return r;
}

/*
 * waitsys
 *	Sleep until msg has been returned and is idle, taken off its reply
 *	port if it has one (port NULL, or port its reply port), or until a
 *	message is pending on port (msg NULL).  Returns msg's error, 0 for
 *	a pending port, or EPIPE for a closed, empty port.
 *	NOTE: on an upcall port, whoever takes msg first has it: waitsys
 *	(the upcall then never sees it) or the upcall (waitsys returns once
 *	it is idle).
 */
int
waitsys(msgport_t *port, msg_t *msg)
{
	return wait_until(port, msg, NULL);
}

/*
 * timedwaitsys
 *	waitsys(), giving up with ETIMEDOUT after timeout (relative; NULL
 *	waits for ever, zero only looks).
 */
int
timedwaitsys(msgport_t *port, msg_t *msg, const struct timespec *timeout)
{
	struct timespec buf;

	if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
	    timeout->tv_nsec >= 1000000000L))
		return EINVAL;
	return wait_until(port, msg, mp_deadline(timeout, &buf));
}

/*
 * getport
 *	Take the next message off port without waiting: NULL with errno
 *	EAGAIN when none is pending (EPIPE once the port is closed).
 */
msg_t *
getport(msgport_t *port)
{
	if (port == NULL) {
		errno = EFAULT;
		return NULL;
	}
	{
		MP_OWNCALLS_BEGIN(own);
		msg_t *m = port->mp_ops->mp_getport(port);

		MP_OWNCALLS_END(own);
		return m;
	}
}
