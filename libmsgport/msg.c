/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msg.c - a message's life: sent, returned exactly once, aborted.
 *
 * A message's flags word is its state.  While it is in flight every
 * change goes through one compare-and-swap, so the user, the port that
 * holds it and an aborting thread can race without losing a bit; and the
 * same word is the futex a waiting thread sleeps on.
 */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include "futex-internal.h"
#include "msgport-internal.h"
#include "owncalls-internal.h"
#include "persist-internal.h"
#include "trace-internal.h"

/*
 * mp_msg_setflags
 *	Set and clear bits of msg's flags atomically; returns the old flags.
 */
uint32_t
mp_msg_setflags(msg_t *msg, uint32_t set, uint32_t clear)
{
	uint32_t f = mp_load_32(&msg->ms_flags);

	while (!mp_cas_32(&msg->ms_flags, &f, (f | set) & ~clear))
		continue;
	return f;
}

/*
 * msg_claim
 *	Make an idle message in flight, for a send.  Refuses one already in
 *	flight (EBUSY) or one asking for requests nobody knows (EINVAL).
 *	The state bits of its last life are cleared.
 */
static int
msg_claim(msg_t *msg)
{
	uint32_t f = mp_load_32(&msg->ms_flags);

	do {
		if (f & MSGF_INFLIGHT)
			return EBUSY;
		if (f & MSGF_REQUESTS & ~(MSGF_ASYNC | MSGF_NONBLOCK | MSGF_PERSISTENT))
			return EINVAL;
	} while (!mp_cas_32(&msg->ms_flags, &f,
	    (f & (MSGF_REQUESTS | MSGF_USERMASK)) | MSGF_INFLIGHT));
	return 0;
}

/*
 * mp_msg_refuse
 *	Give a claimed message back to the user, unsent, with error.
 */
int
mp_msg_refuse(msg_t *msg, int error)
{
	mp_store_ptr((void **)&msg->ms_target, NULL);	/* see abortsys() */
	msg->ms_error = error;
	MP_TRACE("refuse", msg, NULL, NULL, NULL);
	mp_msg_setflags(msg, 0, MSGF_STATE);
	return error;
}

/*
 * mp_msg_return
 *	Return msg, its results stored, to its sender: wake a synchronous
 *	sender, queue it on its reply port, or with no reply port just mark
 *	it done.  Every stored result happens-before MSGF_DONE.
 *	NOTE: the last touch of msg; the sender may reuse or free it the
 *	moment this makes it visible (the futex wake uses the address only).
 *	A request its target port counted (MSGF_COUNTED) is uncounted after
 *	that, so the target outlives every touch.
 */
void
mp_msg_return(msg_t *msg)
{
	msgport_t *rport = msg->ms_reply_port, *target = msg->ms_target;
	uint32_t f = mp_load_32(&msg->ms_flags), nf;
	bool queue = rport != NULL && !(f & MSGF_SYNC);

	/* before it is the sender's again */
	MP_TRACE("return", msg, queue ? rport : NULL, NULL,
	    queue ? "port" : (f & MSGF_SYNC) ? "wake" : "done");
	/* Its life ends here, unless a persistent one is to be returned
	   again: a next life's abortsys() must not find this target (the
	   port may be gone by then).  See abortsys(). */
	if (!(f & MSGF_PERSISTENT) || (f & MSGF_FINAL))
		mp_store_ptr((void **)&msg->ms_target, NULL);
	do {
		nf = (f | MSGF_DONE) &
		    ~(MSGF_WAITING | MSGF_ABORTABLE | MSGF_RETURNING | MSGF_COUNTED);
		if (queue)
			nf |= MSGF_REPLY | MSGF_QUEUED;
		else
			nf &= ~(MSGF_INFLIGHT | MSGF_SYNC);
	} while (!mp_cas_32(&msg->ms_flags, &f, nf));

	if (queue)
		rport->mp_ops->mp_replyport(rport, msg);
	if (f & MSGF_WAITING)
		mp_futex_wake(&msg->ms_flags);
	/* Last: the target may be removed once it serves nothing. */
	if (f & MSGF_COUNTED)
		mp_faa_32(&target->mp_serving, (uint32_t)-1);
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* This thread's timer slack, as it was before the first timed wait here. */
static __thread unsigned long mp_msg_slack;

/*
 * persist_sleep
 *	mp_msg_sleep() for a persistent message whose kernel knows when its
 *	next occurrence is due (a timer): sleep on msg until then, then let
 *	the kernel look (pp_poll, once after each pp_next), as often as needed.  The thread's timer
 *	slack is 1 ns during that sleep: by default the kernel lets a timed
 *	futex wait sleep up to 50 us past its deadline (PR_SET_TIMERSLACK),
 *	where a timerfd has no slack.  1: settled; 0: not such a message
 *	(sleep the usual way); ETIMEDOUT.
 */
static int
persist_sleep(msg_t *msg, uint32_t f, const struct timespec *deadline)
{
	struct mp_persist *ps = mp_load_acq_ptr(&msg->ms_kstate);
	const struct timespec *until;
	struct timespec due;
	int r = 1, t;

	if (!(f & MSGF_PERSISTENT) || ps == NULL || ps->pp_ops->pp_next == NULL)
		return 0;
	if (mp_msg_slack == 0)
		mp_msg_slack = (unsigned long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	while (!msg_settled(f)) {
		if (!(f & MSGF_WAITING)) {
			if (!mp_cas_32(&msg->ms_flags, &f, f | MSGF_WAITING))
				continue;
			f |= MSGF_WAITING;
		}
		if (!ps->pp_ops->pp_next(ps, msg, &due)) {
			r = 0;		/* ended meanwhile, or no longer due: the usual way */
			break;
		}
		until = deadline != NULL && ts_before(deadline, &due) ? deadline : &due;
		t = mp_futex_wait(&msg->ms_flags, f, until);
		ps->pp_ops->pp_poll(ps, msg);	/* after every pp_next, whatever woke us */
		f = mp_load_acq_32(&msg->ms_flags);
		if (t == ETIMEDOUT && until == deadline && !msg_settled(f)) {
			r = ETIMEDOUT;
			break;
		}
	}
	prctl(PR_SET_TIMERSLACK, mp_msg_slack, 0, 0, 0);
	return r;
}

/*
 * mp_msg_sleep
 *	Sleep until msg is done or idle, or until the deadline (ETIMEDOUT).
 *	Spins briefly first: a reply that is about to land costs no sleep.
 */
int
mp_msg_sleep(msg_t *msg, const struct timespec *deadline)
{
	uint32_t f;
	int spin, r;

	for (spin = 0; spin < MP_SPIN; spin++) {
		if (msg_settled(mp_load_acq_32(&msg->ms_flags)))
			return 0;
		mp_pause();
	}
	f = mp_load_acq_32(&msg->ms_flags);
	if ((r = persist_sleep(msg, f, deadline)) != 0)
		return r == 1 ? 0 : r;
	f = mp_load_acq_32(&msg->ms_flags);
	while (!msg_settled(f)) {
		if (!(f & MSGF_WAITING)) {
			if (!mp_cas_32(&msg->ms_flags, &f, f | MSGF_WAITING))
				continue;
			f |= MSGF_WAITING;
		}
		if (mp_futex_wait(&msg->ms_flags, f, deadline) == ETIMEDOUT &&
		    !msg_settled(mp_load_acq_32(&msg->ms_flags)))
			return ETIMEDOUT;
		f = mp_load_acq_32(&msg->ms_flags);
	}
	return 0;
}

/*
 * mp_msg_taken
 *	msg has just been taken off port's queue.  A returned message is the
 *	user's again; a request stays in flight with the server that took it.
 */
void
mp_msg_taken(msgport_t *port, msg_t *msg)
{
	uint32_t f = mp_load_acq_32(&msg->ms_flags);

	MP_TRACE("take", msg, port, NULL, mp_trace_via != NULL ? mp_trace_via : "getport");
	if (msg_persists(f)) {
		/* an occurrence: the user's to read, the kernel's still */
		mp_msg_setflags(msg, 0, MSGF_QUEUED);
		return;
	}
	if (f & MSGF_DONE) {
		mp_faa_32(&port->mp_inflight, (uint32_t)-1);
		mp_msg_setflags(msg, 0, MSGF_INFLIGHT | MSGF_QUEUED);
	} else {
		/* a server has it now: abortsys() can only flag it */
		mp_msg_setflags(msg, 0, MSGF_QUEUED | MSGF_ABORTABLE);
	}
}

void
initmsg(msg_t *msg, uint32_t cmd, uint32_t flags, msgport_t *reply_port)
{
	if (msg == NULL)
		return;
	memset(msg, 0, sizeof(*msg));
	msg->ms_cmd = cmd;
	msg->ms_flags = flags & (MSGF_REQUESTS | MSGF_USERMASK);
	msg->ms_reply_port = reply_port;
}

/*
 * mp_msg_send
 *	The generic send (every port's mp_sendport but the system port's
 *	fast path): claim msg, reset its header, count an owed reply, and
 *	hand it to port's mp_putport.
 *	NOTE: an asynchronous message with a reply port is counted against
 *	that port until it is taken off it, so rmport() knows what is owed.
 */
int
mp_msg_send(msgport_t *port, msg_t *msg, size_t msgsize)
{
	msgport_t *rport;
	bool owed;
	int r;

	if ((r = msg_claim(msg)) != 0)
		return r;

	msg->ms_size = (uint32_t)msgsize;
	msg->ms_error = 0;
	msg->ms_result = 0;
	msg->ms_count = 0;
	msg->ms_next = msg->ms_prev = NULL;
	mp_store_ptr((void **)&msg->ms_onport, NULL);
	msg->ms_kstate = NULL;
	mp_store_rel_ptr((void **)&msg->ms_target, port);	/* last: see abortsys() */
	MP_TRACE("send", msg, port, NULL, mp_load_32(&msg->ms_flags) & MSGF_ASYNC ? "async" : "sync");

	rport = msg->ms_reply_port;
	owed = rport != NULL && (mp_load_32(&msg->ms_flags) & MSGF_ASYNC);
	if (owed) {
		mp_faa_32(&rport->mp_inflight, 1);
		if (port_closed(rport)) {
			mp_faa_32(&rport->mp_inflight, (uint32_t)-1);
			return mp_msg_refuse(msg, EPIPE);
		}
	}
	{
		/* the only calls made here are the library's own (owncalls-internal.h) */
		MP_OWNCALLS_BEGIN(own);
		r = port->mp_ops->mp_putport(port, msg);
		MP_OWNCALLS_END(own);
	}
	if (owed && r != EASYNC)
		mp_faa_32(&rport->mp_inflight, (uint32_t)-1);
	return r;
}

/*
 * sendsys
 *	Send msg to port.  0 or the call's errno when it completed in place,
 *	EASYNC when it will be returned to its reply port later, or a
 *	transport error when it was refused (EINVAL for a header short of
 *	msg_t's alignment: one test of the low bits, before any touch).
 *	NOTE: checks what every kind needs checked, then goes straight to
 *	the port's mp_sendport (a tail call): the system port's synchronous
 *	fast path starts there, with no frame of ours around it.
 */
int MP_HOT
sendsys(msgport_t *port, msg_t *msg, size_t msgsize)
{
	if (msg == NULL || port == NULL)
		return EFAULT;
	if (msgsize < sizeof(msg_t) || msgsize > MSG_MAXSIZE || msg_misaligned(msg))
		return EINVAL;
	/* the ops are loaded once: the system port's change while a thread
	   records (mp_sysport_generic) */
	return ((const struct msgport_ops *)mp_load_ptr((void *const *)&port->mp_ops))->mp_sendport(
	    port, msg, msgsize);
}

/*
 * replymsg
 *	Return msg, taken off a port this thread serves, with error.
 *	Refused with EINVAL, changing nothing: an idle message, a second
 *	reply, a request still queued (not taken yet), a misaligned header,
 *	and an error that is negative or EASYNC (a sender could not tell it
 *	from the transport's).
 */
int
replymsg(msg_t *msg, int error)
{
	uint32_t f;

	if (msg == NULL)
		return EFAULT;
	if (error < 0 || error == EASYNC || msg_misaligned(msg))
		return EINVAL;
	f = mp_load_32(&msg->ms_flags);
	do {
		if (!(f & MSGF_INFLIGHT) || (f & (MSGF_DONE | MSGF_RETURNING | MSGF_QUEUED)))
			return EINVAL;
	} while (!mp_cas_32(&msg->ms_flags, &f, f | MSGF_RETURNING));
	msg->ms_error = error;
	mp_msg_return(msg);
	return 0;
}

/*
 * abortsys
 *	Ask for msg to be cut short.  It is still returned exactly once: with
 *	ECANCELED if its port could take it back unstarted, else with
 *	whatever it finishes with (its server may look at MSGF_ABORTED).
 *	Returns 0, or EINVAL for a message that is not in flight (or is
 *	misaligned: never sent).
 */
int
abortsys(msg_t *msg)
{
	msgport_t *target;
	uint32_t f;

	if (msg == NULL)
		return EFAULT;
	if (msg_misaligned(msg))
		return EINVAL;
	f = mp_load_32(&msg->ms_flags);
	do {
		if (!(f & MSGF_INFLIGHT))
			return EINVAL;
	} while (!mp_cas_32(&msg->ms_flags, &f, f | MSGF_ABORTED));
	MP_TRACE("abort", msg, NULL, NULL, NULL);
	if (f & (MSGF_DONE | MSGF_RETURNING | MSGF_ABORTED))
		return 0;
	/* Its sender is in sendsys() and nobody can drop it: running inline
	   in the sender's thread (claimed so; ms_target may not be stored
	   yet), or a synchronous request a server has taken. */
	if ((f & (MSGF_SYNC | MSGF_ABORTABLE | MSGF_QUEUED)) == MSGF_SYNC)
		return 0;
	/* Claimed, but its sender has not yet said where it goes (a life's
	   end clears ms_target, mp_msg_send() stores it last): the flag is all,
	   and the port it goes to looks at it (mp_kreq_submit(), say). */
	if ((target = mp_load_acq_ptr((void *const *)&msg->ms_target)) == NULL)
		return 0;

	if (target->mp_ops->mp_dropmsg(target, msg) == 0) {
		msg->ms_error = ECANCELED;
		mp_msg_return(msg);
	}
	return 0;
}
