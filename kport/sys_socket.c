/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sys_socket.c - the socket calls.
 *
 * Data calls try with MSG_DONTWAIT, so a blocking socket need not be
 * switched to non-blocking; accept4, which has no such flag, looks at
 * readiness first.  Calls that never wait (socket, bind, listen,
 * shutdown) always run inline.  connect on a non-blocking socket starts
 * the connection and waits in the event loop for it to be writable; on a
 * blocking one it goes to the pool, which can interrupt it.  send and receive (without an address) and sendmsg and recvmsg
 * also have ring forms, for a plugged thread (plug.c).
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "kport-internal.h"
#include "ksys-internal.h"

#define ARGS(type) struct type *a = (struct type *)msg

int
mp_krun_socket(msg_t *msg)
{
	ARGS(sys_socket);
	return kret(msg, socket(a->domain, a->type, a->protocol));
}

int
mp_krun_bind(msg_t *msg)
{
	ARGS(sys_bind);
	return kret(msg, bind(a->fd, a->addr, a->addrlen));
}

int
mp_krun_listen(msg_t *msg)
{
	ARGS(sys_listen);
	return kret(msg, listen(a->fd, a->backlog));
}

int
mp_krun_accept4(msg_t *msg)
{
	ARGS(sys_accept4);
	return kret(msg, accept4(a->fd, a->addr, a->addrlen, a->flags));
}

int
mp_ktry_accept4(msg_t *msg)
{
	ARGS(sys_accept4);
	struct pollfd pfd = { .fd = a->fd, .events = POLLIN };

	if (poll(&pfd, 1, 0) == 0)
		return EAGAIN;
	return kret_try(msg, accept4(a->fd, a->addr, a->addrlen, a->flags));
}

int
mp_kfd_accept4(msg_t *msg, short *events)
{
	*events = KEV_READ;
	return ((struct sys_accept4 *)msg)->fd;
}

int
mp_krun_connect(msg_t *msg)
{
	ARGS(sys_connect);
	return kret(msg, connect(a->fd, a->addr, a->addrlen));
}

/* ms_result while a connection this message started is under way: a
   message is sent with 0, and only a failure stores -1. */
#define KCONN_STARTED	1

/*
 * kconn_result
 *	A connection under way: EAGAIN while it still is, else its outcome,
 *	which SO_ERROR holds (a second connect() would only say EALREADY or
 *	EISCONN, and could start a new attempt after a failed one).
 */
static int
kconn_result(msg_t *msg, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&pfd, 1, 0) == 0)
		return EAGAIN;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return kret(msg, -1);
	msg->ms_result = err != 0 ? -1 : 0;
	return err;
}

/*
 * mp_ktry_connect
 *	A non-blocking socket: start the connection (EINPROGRESS: EAGAIN,
 *	and the event loop waits for writability), or, started, see how it
 *	went.  A blocking socket would block in connect(): EAGAIN at once,
 *	nothing started, and mp_kfd_connect() sends it to the pool.
 */
int
mp_ktry_connect(msg_t *msg)
{
	ARGS(sys_connect);
	int fl;

	if (msg->ms_result == KCONN_STARTED)
		return kconn_result(msg, a->fd);
	if ((fl = fcntl(a->fd, F_GETFL)) < 0)
		return kret(msg, -1);
	if (!(fl & O_NONBLOCK))
		return EAGAIN;
	if (connect(a->fd, a->addr, a->addrlen) == 0)
		return kret(msg, 0);
	if (errno != EINPROGRESS)
		return kret_try(msg, -1);	/* EAGAIN (a full AF_UNIX backlog): the pool says so */
	msg->ms_result = KCONN_STARTED;
	return EAGAIN;
}

/* The loop waits only for a connection under way; otherwise the pool. */
int
mp_kfd_connect(msg_t *msg, short *events)
{
	*events = KEV_WRITE;
	return msg->ms_result == KCONN_STARTED ? ((struct sys_connect *)msg)->fd : -1;
}

/*
 * mp_kintr_connect
 *	The pool's connect: an interrupted blocking connect() goes on in
 *	the kernel, so it is not made again: the worker waits for the
 *	socket to be writable (interruptibly) and reads SO_ERROR.
 */
int
mp_kintr_connect(msg_t *msg)
{
	ARGS(sys_connect);
	struct pollfd pfd = { .fd = a->fd, .events = POLLOUT };
	int r;

	if (msg->ms_result != KCONN_STARTED) {
		if (connect(a->fd, a->addr, a->addrlen) == 0)
			return kret(msg, 0);
		if (errno != EINTR && errno != EINPROGRESS)
			return kret(msg, -1);
		msg->ms_result = KCONN_STARTED;
	}
	for (;;) {
		if ((r = mp_kwait(msg, &pfd, 1, NULL)) < 0)
			return r == -2 ? kcancel(msg) : kret(msg, r);
		if ((r = kconn_result(msg, a->fd)) != EAGAIN)
			return r;
	}
}

int
mp_krun_sendto(msg_t *msg)
{
	ARGS(sys_sendto);
	return kret(msg, sendto(a->fd, a->buf, a->len, a->flags, a->addr, a->addrlen));
}

int
mp_ktry_sendto(msg_t *msg)
{
	ARGS(sys_sendto);
	return kret_try(msg, sendto(a->fd, a->buf, a->len, a->flags | MSG_DONTWAIT,
	    a->addr, a->addrlen));
}

/* The ring forms: io_uring's send and receive take no address, and its
   sends never raise SIGPIPE (it adds MSG_NOSIGNAL): a send that might
   raise it is tried the plain way. */
static int
ksqe_sr(struct io_uring_sqe *sqe, uint8_t op, int fd, const void *addr, size_t len, int flags)
{
	int e = ksqe_prep(sqe, op, fd, addr, len);

	sqe->msg_flags = (uint32_t)flags | MSG_DONTWAIT;
	return e;
}

int
mp_ksqe_sendto(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_sendto);
	if (a->addr != NULL || !(a->flags & MSG_NOSIGNAL))
		return EINVAL;
	return ksqe_sr(sqe, IORING_OP_SEND, a->fd, a->buf, a->len, a->flags);
}

int
mp_kfd_sendto(msg_t *msg, short *events)
{
	*events = KEV_WRITE;
	return ((struct sys_sendto *)msg)->fd;
}

int
mp_krun_recvfrom(msg_t *msg)
{
	ARGS(sys_recvfrom);
	return kret(msg, recvfrom(a->fd, a->buf, a->len, a->flags, a->addr, a->addrlen));
}

int
mp_ktry_recvfrom(msg_t *msg)
{
	ARGS(sys_recvfrom);
	return kret_try(msg, recvfrom(a->fd, a->buf, a->len, a->flags | MSG_DONTWAIT,
	    a->addr, a->addrlen));
}

int
mp_ksqe_recvfrom(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_recvfrom);
	if (a->addr != NULL || a->addrlen != NULL)
		return EINVAL;
	return ksqe_sr(sqe, IORING_OP_RECV, a->fd, a->buf, a->len, a->flags);
}

int
mp_kfd_recvfrom(msg_t *msg, short *events)
{
	*events = KEV_READ;
	return ((struct sys_recvfrom *)msg)->fd;
}

int
mp_krun_sendmsg(msg_t *msg)
{
	ARGS(sys_sendmsg);
	return kret(msg, sendmsg(a->fd, a->mh, a->flags));
}

int
mp_ktry_sendmsg(msg_t *msg)
{
	ARGS(sys_sendmsg);
	return kret_try(msg, sendmsg(a->fd, a->mh, a->flags | MSG_DONTWAIT));
}

int
mp_ksqe_sendmsg(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_sendmsg);
	if (!(a->flags & MSG_NOSIGNAL))
		return EINVAL;
	return ksqe_sr(sqe, IORING_OP_SENDMSG, a->fd, a->mh, 1, a->flags);
}

int
mp_kfd_sendmsg(msg_t *msg, short *events)
{
	*events = KEV_WRITE;
	return ((struct sys_sendmsg *)msg)->fd;
}

int
mp_krun_recvmsg(msg_t *msg)
{
	ARGS(sys_recvmsg);
	return kret(msg, recvmsg(a->fd, a->mh, a->flags));
}

int
mp_ktry_recvmsg(msg_t *msg)
{
	ARGS(sys_recvmsg);
	return kret_try(msg, recvmsg(a->fd, a->mh, a->flags | MSG_DONTWAIT));
}

int
mp_ksqe_recvmsg(msg_t *msg, struct io_uring_sqe *sqe)
{
	ARGS(sys_recvmsg);
	return ksqe_sr(sqe, IORING_OP_RECVMSG, a->fd, a->mh, 1, a->flags);
}

int
mp_kfd_recvmsg(msg_t *msg, short *events)
{
	*events = KEV_READ;
	return ((struct sys_recvmsg *)msg)->fd;
}

int
mp_krun_shutdown(msg_t *msg)
{
	ARGS(sys_shutdown);
	return kret(msg, shutdown(a->fd, a->how));
}
