/*
 * wait.c - waiting for returned messages, and taking them.
 *
 * Three ways to wait, as DragonFly's lwkt_waitmsg/lwkt_waitport: for one
 * message (no port needed), for anything on a port, or for one message
 * on its reply port, which also takes it off.
 */
#include <errno.h>

#include "futex-internal.h"
#include "msgport-internal.h"

__thread void (*mp_held_send)(void) __attribute__((tls_model("initial-exec")));

static int
wait_until(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	int r;

	if ((port == NULL && msg == NULL) || (msg != NULL && msg_misaligned(msg)))
		return EINVAL;
	mp_send_held();		/* what this thread waits for may be among them */
	if (port == NULL) {
		if ((r = msg_sleep(msg, deadline)) != 0)
			return r;
		return msg->ms_error;
	}
	if (msg != NULL && msg->ms_reply_port != port)
		return EINVAL;
	return port->mp_ops->mp_waitport(port, msg, deadline);
}

/*
 * waitsys
 *	Sleep until msg has been returned (port NULL), until a message is
 *	pending on port (msg NULL), or until msg has been returned to port,
 *	its reply port, and take it off.  Returns msg's error, 0 for a
 *	pending port, or EPIPE for a closed, empty port.
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
	return port->mp_ops->mp_getport(port);
}
