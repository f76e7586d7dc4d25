/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * port.c - ports: the queue kind, and what every kind shares.
 *
 * A queue port holds what is returned or sent to it until somebody takes
 * it: no notification but its readiness descriptor.  It serves both ends
 * of the classic exchange: as a reply port, and as the target port of a
 * server thread that takes requests with getport() and answers them with
 * replymsg().
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "msgport-internal.h"
#include "trace-internal.h"

/*
 * mp_port_alloc
 *	Allocate and set up a port of size bytes (a kind may embed struct
 *	msgport first) with the kind's vector.  Returns NULL with errno set.
 */
msgport_t *
mp_port_alloc(size_t size, const struct msgport_ops *ops)
{
	msgport_t *port;
	int r;

	port = aligned_alloc(64, (size + 63) & ~(size_t)63);
	if (port == NULL)
		return NULL;
	memset(port, 0, size);
	if ((r = mp_q_init(&port->mp_queue)) != 0) {
		free(port);
		errno = r;
		return NULL;
	}
	port->mp_ops = ops;
	return port;
}

void
mp_port_free(msgport_t *port)
{
	mp_q_fini(&port->mp_queue);
	free(port);
}

/* Stubs for the slots a kind does not support: fail loudly, never NULL. */
int
mp_port_nosend(msgport_t *port, msg_t *msg)
{
	(void)port;
	return mp_msg_refuse(msg, EOPNOTSUPP);
}

msg_t *
mp_port_noget(msgport_t *port)
{
	(void)port;
	errno = EOPNOTSUPP;
	return NULL;
}

int
mp_port_nowait(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	(void)port, (void)msg, (void)deadline;
	return EOPNOTSUPP;
}

void
mp_port_noreply(msgport_t *port, msg_t *msg)
{
	/* Never a reply port: sendsys() cannot get here, so this is a bug. */
	(void)port, (void)msg;
	abort();
}

int
mp_port_nodrop(msgport_t *port, msg_t *msg)
{
	(void)port, (void)msg;
	return ENOENT;
}

int
mp_port_nofd(msgport_t *port)
{
	(void)port;
	errno = EOPNOTSUPP;
	return -1;
}

/* A port that lasts for ever (the system port) is never closed either. */
int
mp_port_noclose(msgport_t *port)
{
	(void)port;
	return EPERM;
}

/* The queue kind. */

static int
queue_putport(msgport_t *port, msg_t *msg)
{
	bool sync = !(msg->ms_flags & MSGF_ASYNC);

	if (msg->ms_flags & MSGF_PERSISTENT)
		return mp_msg_refuse(msg, EINVAL);
	if (port_closed(port))
		return mp_msg_refuse(msg, EPIPE);
	mp_faa_32(&port->mp_serving, 1);
	mp_msg_setflags(msg, MSGF_QUEUED | MSGF_ABORTABLE | MSGF_COUNTED | (sync ? MSGF_SYNC : 0), 0);
	mp_q_put(&port->mp_queue, msg);
	if (!sync)
		return EASYNC;
	mp_msg_sleep(msg, NULL);
	return msg->ms_error;
}

msg_t *
mp_queue_getport(msgport_t *port)
{
	msg_t *msg = mp_q_get(port);

	if (msg == NULL) {
		errno = port_closed(port) ? EPIPE : EAGAIN;
		return NULL;
	}
	mp_msg_taken(port, msg);
	return msg;
}

int
mp_queue_waitport(msgport_t *port, msg_t *msg, const struct timespec *deadline)
{
	int r;

	if (msg == NULL)
		return mp_q_wait(port, deadline);
	if ((r = mp_q_waitmsg(port, msg, deadline)) != 0)
		return r;
	return msg->ms_error;
}

static void
queue_replyport(msgport_t *port, msg_t *msg)
{
	mp_q_put(&port->mp_queue, msg);
}

/*
 * queue_dropmsg
 *	A request still queued here was never started: take it back.
 *	NOTE: MSGF_QUEUED is set just before the push, so a request that is
 *	queued but not found is still on its way in; wait for it.
 */
static int
queue_dropmsg(msgport_t *port, msg_t *msg)
{
	uint32_t f;

	while (!mp_q_remove(port, msg)) {
		f = mp_load_acq_32(&msg->ms_flags);
		if (!(f & MSGF_QUEUED) || (f & MSGF_DONE))
			return ENOENT;
		sched_yield();
	}
	mp_msg_setflags(msg, 0, MSGF_QUEUED);
	return 0;
}

int
mp_queue_portfd(msgport_t *port)
{
	return mp_q_fd(port);
}

int
mp_queue_closeport(msgport_t *port)
{
	mp_q_close(&port->mp_queue);
	return 0;
}

/*
 * mp_queue_rmport
 *	Close the port; requests nobody took yet go back to their senders
 *	with ECANCELED; replies still queued are handed back to the user as
 *	they are (done, idle).  While a server still holds a request sent
 *	here, or replies are still owed here, it refuses with EBUSY and stays
 *	closed but intact, so the user can finish, drain and retry.
 */
int
mp_queue_rmport(msgport_t *port)
{
	const char *via;
	msg_t *msg, *next;
	uint32_t queued;

	mp_queue_closeport(port);
	for (msg = mp_q_split(port, &queued); msg != NULL; msg = next) {
		next = msg->ms_next;
		msg->ms_next = NULL;
		mp_msg_setflags(msg, 0, MSGF_QUEUED);
		msg->ms_error = ECANCELED;
		mp_msg_return(msg);
	}
	mp_q_split(port, &queued);
	if (mp_load_acq_32(&port->mp_serving) != 0 ||
	    mp_load_acq_32(&port->mp_inflight) > queued)
		return EBUSY;
	/* Everything owed is queued, and a queued message's producer is
	   done with the port once its eventfd sync is (see mp_q_put). */
	mp_q_quiesce(&port->mp_queue);
	via = mp_trace_via;
	mp_trace_via = "rmport";
	while ((msg = mp_q_get(port)) != NULL)
		mp_msg_taken(port, msg);
	mp_trace_via = via;
	mp_port_free(port);
	return 0;
}

static const struct msgport_ops queue_ops = {
	.mp_name = "queue",
	.mp_sendport = mp_msg_send,
	.mp_putport = queue_putport,
	.mp_getport = mp_queue_getport,
	.mp_waitport = mp_queue_waitport,
	.mp_replyport = queue_replyport,
	.mp_dropmsg = queue_dropmsg,
	.mp_portfd = mp_queue_portfd,
	.mp_closeport = mp_queue_closeport,
	.mp_rmport = mp_queue_rmport,
};

/* Is port a queue port (mkport_queue)?  Its replies wait to be taken. */
bool
mp_port_isqueue(const msgport_t *port)
{
	return port->mp_ops == &queue_ops;
}

/*
 * mkport_queue
 *	Make a queue port.  Returns NULL with errno set on failure.
 */
msgport_t *
mkport_queue(void)
{
	return mp_port_alloc(sizeof(struct msgport), &queue_ops);
}

/* Calls every kind shares. */

int
closeport(msgport_t *port)
{
	if (port == NULL)
		return EFAULT;
	return port->mp_ops->mp_closeport(port);
}

int
rmport(msgport_t *port)
{
	if (port == NULL)
		return EFAULT;
	return port->mp_ops->mp_rmport(port);
}

/*
 * portcmdnames
 *	The trace shows a message sent to port with command cmd by
 *	names[cmd] (nothing kept: names stays the caller's, for the port's
 *	life).  The count is stored after the array, released, so that a
 *	sender that sees the count sees the array it counts.
 */
int
portcmdnames(msgport_t *port, const char *const *names, unsigned count)
{
	if (port == NULL || (names == NULL && count != 0))
		return EFAULT;
	if (count > INT32_MAX)
		return EINVAL;
	mp_store_32(&port->mp_ncmdnames, 0);
	mp_store_rel_ptr((void **)&port->mp_cmdnames, (void *)names);
	mp_store_rel_32(&port->mp_ncmdnames, count);
	return 0;
}

int
portfd(msgport_t *port)
{
	if (port == NULL) {
		errno = EFAULT;
		return -1;
	}
	return port->mp_ops->mp_portfd(port);
}
