/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * trace-internal.h - a message's life, written down as it happens.
 *
 * With MSGPORT_TRACE=FILE in the environment when the library loads
 * (FILE "-" is standard error), every step of every message's life is
 * one line of FILE: sent, refused, run where (inline in the sender's
 * thread, queued for the pool because it would block (how=queued) or
 * spread to a helper (how=spread), waiting in the event loop, run by a
 * worker or the loop thread), returned how (the sender woken, queued on
 * its reply port, no port at all), taken how (getport, waitsys, an
 * upcall, flushsys), aborted.  msgport-timeline(1) renders the file.
 *
 * Off, each place costs one load and a branch not taken; the system
 * port's synchronous fast path costs nothing more, since a traced
 * message leaves it for the generic path, where the hooks are.  On,
 * each step is one write(2) with O_APPEND, so lines from many threads
 * never mix, and a line is formatted without stdio: steps happen in
 * signal handlers too (upcalls, signals).
 */
#ifndef MSGPORT_TRACE_INTERNAL_H
#define MSGPORT_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "msgport-internal.h"

#pragma GCC visibility push(hidden)

extern int mp_trace_fd;			/* -1: tracing is off */

static inline bool
mp_tracing(void)
{
	return __builtin_expect(mp_trace_fd >= 0, 0);
}

/*
 * mp_trace_step
 *	Write one step of msg's life: what happened (a word: "send",
 *	"inline", "pool", "loop", "run", "return", "take", "abort",
 *	"refuse", "hold", "owe", "wait"), the port it concerns (NULL: none), the command's name if
 *	known, and how (a word, or NULL).  Reads msg's header only, by
 *	whoever owns msg at that step (an "abort" leaves its results out:
 *	the aborting thread does not own it).
 */
void	mp_trace_step(const char *what, const msg_t *msg, const msgport_t *port,
	    const char *cmdname, const char *how);

/*
 * mp_name_thread
 *	Name the calling thread "mp-" what, and index when index >= 0
 *	("mp-pool-3"), for ps, gdb and the trace, which writes a thread's
 *	name down (a "name" line) at its first step and whenever it changed.
 */
void	mp_name_thread(const char *what, int index);

/* How this thread is taking messages now (NULL: getport): "upcall", "flushsys", ... */
extern __thread const char *mp_trace_via __attribute__((tls_model("initial-exec")));

#define MP_TRACE(what, msg, port, cmdname, how) do {			\
	if (mp_tracing())						\
		mp_trace_step((what), (msg), (port), (cmdname), (how));	\
} while (0)

#pragma GCC visibility pop

#endif /* MSGPORT_TRACE_INTERNAL_H */
