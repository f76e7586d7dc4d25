/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * persist.c - persistent messages: returned once per occurrence, handed
 * back with rearmsys(), ended by one final return.
 *
 * The kernel side (kport/signal.c, kport/timer.c) decides when a message
 * has something to report; this file owns the message's flags while it
 * does, so that every occurrence is reported exactly once, no return
 * ever lands on a message the user still holds, and the final return
 * happens exactly once however abortsys(), rearmsys() and shutdown race.
 * See persist-internal.h for the protocol.
 */
#include "config.h"

#include <errno.h>

#include "futex-internal.h"
#include "persist-internal.h"
#include "trace-internal.h"

/*
 * mp_persist_bind
 *	Point msg, just accepted by the kernel, at its state ps.
 *	NOTE: a full barrier, so that an abortsys() that found ms_kstate
 *	still NULL has set MSGF_ABORTED where the caller's check sees it.
 */
void
mp_persist_bind(msg_t *msg, struct mp_persist *ps)
{
	mp_store_32(&ps->pp_owed, 0);
	mp_store_32(&ps->pp_dead, 0);
	(void)mp_fas_ptr(&msg->ms_kstate, ps);
}

/*
 * mp_persist_held
 *	The kernel has something for msg: is the user holding it?  If so the
 *	owed mark stays and rearmsys() will kick the kernel; if not, the
 *	kernel may store results and return it.
 */
bool
mp_persist_held(msg_t *msg, struct mp_persist *ps)
{
	mp_or_32(&ps->pp_owed, 1);
	if (mp_faa_32(&msg->ms_flags, 0) & MSGF_DONE)
		return true;
	mp_store_32(&ps->pp_owed, 0);
	return false;
}

/*
 * mp_persist_return
 *	Return msg, not held and its results stored, for one more
 *	occurrence: done, queued on its reply port, still in flight.
 *	NOTE: as mp_msg_return(), the last touch of msg but for the futex wake.
 */
void
mp_persist_return(msg_t *msg, struct mp_persist *ps)
{
	msgport_t *rport = msg->ms_reply_port;
	uint32_t f = mp_load_32(&msg->ms_flags), nf;

	MP_TRACE("return", msg, rport, ps->pp_ops->pp_name, "occurrence");
	do {
		nf = (f | MSGF_DONE) & ~MSGF_WAITING;
		if (rport != NULL)
			nf |= MSGF_REPLY | MSGF_QUEUED;
	} while (!mp_cas_32(&msg->ms_flags, &f, nf));
	if (rport != NULL)
		rport->mp_ops->mp_replyport(rport, msg);
	if (f & MSGF_WAITING)
		mp_futex_wake(&msg->ms_flags);
}

/*
 * mp_persist_final
 *	The last return of msg, not held, with error: taken (or at once with
 *	no reply port) it is idle.
 */
void
mp_persist_final(msg_t *msg, int error)
{
	msg->ms_error = error;
	mp_msg_setflags(msg, MSGF_FINAL, 0);
	mp_msg_return(msg);
}

/*
 * mp_persist_drop
 *	abortsys() on a persistent message that is not held: ask its kernel.
 *	ENOENT if it has no state yet (its send is still arming it, and will
 *	see MSGF_ABORTED).
 */
int
mp_persist_drop(msg_t *msg)
{
	struct mp_persist *ps = mp_load_acq_ptr(&msg->ms_kstate);

	if (ps == NULL)
		return ENOENT;
	return ps->pp_ops->pp_drop(ps, msg);
}

/*
 * mp_persist_kill
 *	The kernel stops keeping msg: return it ECANCELED now if the user
 *	does not hold it, else leave that to rearmsys().
 */
void
mp_persist_kill(msg_t *msg, struct mp_persist *ps)
{
	uint32_t one = 1;

	mp_faa_32(&ps->pp_dead, 1);
	if (mp_faa_32(&msg->ms_flags, 0) & MSGF_DONE)
		return;
	if (mp_cas_32(&ps->pp_dead, &one, 2))
		mp_persist_final(msg, ECANCELED);
}

/*
 * rearmsys
 *	Hand msg, a persistent message returned and taken, back to the
 *	kernel: the next occurrence returns it again, and occurrences
 *	counted while it was held return it at once.  An aborted message
 *	gets its final return now.
 *	Returns 0; EFAULT for NULL; EINVAL for a misaligned header or a
 *	message that is not persistent, not in flight, not returned yet, still queued on its
 *	reply port (take it first), or already final.
 *	NOTE: lock-free and async-signal-safe: call it from an upcall.
 */
int
rearmsys(msg_t *msg)
{
	struct mp_persist *ps;
	uint32_t f, one = 1;

	if (msg == NULL)
		return EFAULT;
	if (msg_misaligned(msg))
		return EINVAL;
	f = mp_load_32(&msg->ms_flags);
	do {
		if ((f & (MSGF_PERSISTENT | MSGF_INFLIGHT | MSGF_DONE)) !=
		    (MSGF_PERSISTENT | MSGF_INFLIGHT | MSGF_DONE) ||
		    (f & (MSGF_QUEUED | MSGF_FINAL)))
			return EINVAL;
	} while (!mp_cas_32(&msg->ms_flags, &f, f & ~(MSGF_DONE | MSGF_REPLY)));

	ps = mp_load_acq_ptr(&msg->ms_kstate);
	if (mp_faa_32(&ps->pp_dead, 0) != 0) {
		if (mp_cas_32(&ps->pp_dead, &one, 2))
			mp_persist_final(msg, ECANCELED);
		return 0;
	}
	if ((f & MSGF_ABORTED) || mp_faa_32(&ps->pp_owed, 0) != 0)
		ps->pp_ops->pp_kick(ps);
	return 0;
}
