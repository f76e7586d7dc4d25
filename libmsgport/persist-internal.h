/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * persist-internal.h - the contract between persistent messages and the
 * kernel that keeps them.
 *
 * A persistent message (MSGF_PERSISTENT) stays in flight for its whole
 * life.  Each occurrence returns it the usual way (MSGF_DONE, and
 * MSGF_REPLY | MSGF_QUEUED on a reply port) but leaves MSGF_INFLIGHT
 * set, so taking it off the port makes it the user's to *read* while
 * the kernel still owns it.  rearmsys() clears MSGF_DONE again: from
 * then on the kernel may return it.  So MSGF_DONE alone says who may
 * write the message's results:
 *
 *	DONE clear	the kernel (it stores, then sets DONE in mp_persist_return)
 *	DONE set	the user reads; the kernel only counts, in its own state
 *
 * The final return (abortsys, a one-shot timer, shutdown) adds
 * MSGF_FINAL, and taking it makes the message idle as any other.
 *
 * The kernel's per-message state begins with struct mp_persist, and
 * ms_kstate points at it from the send on.
 *
 * pp_owed	Set by the kernel (an atomic read-modify-write) when it has
 *		something for a held message, before it looks at MSGF_DONE;
 *		read by rearmsys() (also a read-modify-write) after it
 *		clears MSGF_DONE.  Whichever comes second sees the other: the
 *		kernel returns the message itself, or rearmsys() kicks it.
 * pp_dead	0 while the kernel keeps it.  1: the kernel has stopped;
 *		whoever moves 1 -> 2 (the stop, finding it not held, or
 *		rearmsys()) makes the final return, ECANCELED.
 * pp_kick	Tell the kernel that msg was handed back and something is
 *		owed (or it was aborted while held).  Must be lock-free and
 *		async-signal-safe: rearmsys() may run inside an upcall.
 * pp_name	The trace's name for the command, on each occurrence's step.
 * pp_drop	abortsys() on msg, not held (the system port's mp_dropmsg):
 *		0 when the kernel let go of it, its results stored and
 *		MSGF_FINAL set (the caller returns it with ECANCELED), or
 *		ENOENT when it is held or being returned (the final return
 *		then follows rearmsys()).
 * pp_next	Optional.  When the kernel next has an occurrence for msg, an
 *		absolute CLOCK_MONOTONIC time (false: not known, or msg is no
 *		longer ps's).  A thread waiting for msg then sleeps until that
 *		time itself and calls pp_poll, so the kernel's own timer wakes
 *		the thread that waits, as a timerfd read would, instead of
 *		waking a kernel thread that then wakes it (one wake-up, not two).
 *		Each pp_next that returns true is followed by one pp_poll, when
 *		the thread wakes for whatever reason.
 * pp_poll	Look for an occurrence now and return msg if there is one (as
 *		the kernel's thread would have).  Not async-signal-safe.
 */
#ifndef MSGPORT_PERSIST_INTERNAL_H
#define MSGPORT_PERSIST_INTERNAL_H

#include "msgport-internal.h"

struct mp_persist;

struct mp_persist_ops {
	void	(*pp_kick)(struct mp_persist *ps);
	int	(*pp_drop)(struct mp_persist *ps, msg_t *msg);
	const char *pp_name;	/* what the trace calls an occurrence: "timer", "signal" */
	bool	(*pp_next)(struct mp_persist *ps, msg_t *msg, struct timespec *due);
	void	(*pp_poll)(struct mp_persist *ps, msg_t *msg);
};

struct mp_persist {
	const struct mp_persist_ops *pp_ops;
	uint32_t	pp_owed;
	uint32_t	pp_dead;
};

void	mp_persist_bind(msg_t *msg, struct mp_persist *ps);
bool	mp_persist_held(msg_t *msg, struct mp_persist *ps);
void	mp_persist_return(msg_t *msg, struct mp_persist *ps);
void	mp_persist_final(msg_t *msg, int error);
int	mp_persist_drop(msg_t *msg);
void	mp_persist_kill(msg_t *msg, struct mp_persist *ps);

#endif /* MSGPORT_PERSIST_INTERNAL_H */
