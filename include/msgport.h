/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msgport.h - system calls as messages: messages, ports, replies, waiting.
 *
 * A message is a struct in the caller's memory: this header first, then
 * whatever arguments its command needs.  It is *sent* to a target port
 * (the system port, or any port a server thread reads), and *returned*
 * ("replied") to its reply port when done.  How the return reaches the
 * sender depends on the reply port's kind; see mkport_queue(3).
 *
 * Errors follow one convention everywhere: calls return 0 or an errno
 * value (never -1 with errno), and a message's own outcome is in
 * ms_error.  Calls returning a pointer or a descriptor return NULL or -1
 * and set errno.  EASYNC is not an error: the message went asynchronous
 * and will be returned later.
 */
#ifndef MSGPORT_H
#define MSGPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The library is built with -fvisibility=hidden: what these headers
 * declare is its interface, and the only names it exports.
 */
#ifdef __GNUC__
#pragma GCC visibility push(default)
#endif

/*
 * The version of this header; msgport_version() returns the library's
 * (msgport_version(3)).  A program built with MAJOR m runs with any
 * library of the same soname; see msgport(7), ABI.
 */
#define MSGPORT_VERSION_MAJOR	0
#define MSGPORT_VERSION_MINOR	3
#define MSGPORT_VERSION_PATCH	0
#define MSGPORT_VERSION \
	((MSGPORT_VERSION_MAJOR << 16) | (MSGPORT_VERSION_MINOR << 8) | MSGPORT_VERSION_PATCH)

uint32_t msgport_version(void);

/* sendsys() accepted the message for asynchronous completion. */
#define EASYNC		1024

typedef struct msgport msgport_t;	/* opaque: made by mkport_*() */
typedef struct msg msg_t;

/*
 * Message flags (ms_flags).
 *
 * A message is either idle, owned by the user, or in flight
 * (MSGF_INFLIGHT), owned by the system.  A message may only be changed by
 * whoever owns it: while in flight the whole flags word belongs to the
 * system, which changes it with atomic operations only, and the user may
 * only read it.  Every store to a message's results happens-before
 * MSGF_DONE is visible, so a reader that sees DONE with an acquire load
 * (or through waitsys/getport) sees the results.
 *
 * Request bits are set by the user before sending; state bits are set
 * by the system and cleared by the next send; the top eight bits are the
 * user's, carried along and never interpreted.
 */
/* requests: set by the user before sendsys() */
#define MSGF_ASYNC	0x00000001u	/* may complete asynchronously: EASYNC */
#define MSGF_NONBLOCK	0x00000002u	/* refuse with EAGAIN where it would wait for room */
#define MSGF_PERSISTENT	0x00000004u	/* stays live: returned once per occurrence */
#define MSGF_REQUESTS	0x000000ffu	/* the request bits (unknown ones: EINVAL) */

/* state: set by the system, cleared by the next send */
#define MSGF_INFLIGHT	0x00000100u	/* owned by the system until returned to the user */
#define MSGF_DONE	0x00000200u	/* results stored; set with release ordering */
#define MSGF_REPLY	0x00000400u	/* returned through its reply port */
#define MSGF_QUEUED	0x00000800u	/* sits on a port's queue */
#define MSGF_SYNC	0x00001000u	/* its sender sleeps in sendsys() until it is done */
#define MSGF_ABORTABLE	0x00002000u	/* abortsys() can cut it short in its present state */
#define MSGF_ABORTED	0x00004000u	/* abortsys() was called on it */
#define MSGF_WAITING	0x00008000u	/* private: a thread sleeps on it, wake it */
#define MSGF_RETURNING	0x00010000u	/* private: replymsg() has begun returning it */
#define MSGF_COUNTED	0x00020000u	/* private: counted as a request its target port serves */
#define MSGF_FINAL	0x00040000u	/* persistent: this return is its last; idle once taken */
#define MSGF_STATE	0x00ffff00u	/* the state bits */

#define MSGF_USERMASK	0xff000000u	/* the user's own bits */

/*
 * The message header.  Per-command messages embed it first.
 *
 * public, set by the user: ms_cmd, ms_flags (requests), ms_reply_port,
 *	ms_cookie.
 * public, set by the system: ms_error, ms_result, ms_count, ms_size (by
 *	sendsys), and the state bits of ms_flags; readable once MSGF_DONE
 *	is seen.
 * private: the rest; the library's own, never touch.
 */
struct msg {
	uint32_t	ms_cmd;		/* what to do: the target port's command */
	uint32_t	ms_flags;	/* MSGF_* */
	int32_t		ms_error;	/* outcome: 0 or an errno value */
	uint32_t	ms_size;	/* whole message's size, as given to sendsys */
	union {				/* the call's return value */
		int64_t		ms_result;
		off_t		ms_offset;
		void		*ms_resultp;
		int		ms_fds[2];
	};
	msgport_t	*ms_reply_port;	/* where it is returned; NULL: nowhere */
	void		*ms_cookie;	/* the user's; never touched */
	uint64_t	ms_count;	/* persistent: occurrences since last taken */

	/* private */
	struct msg	*ms_next;	/* queue links */
	struct msg	*ms_prev;
	msgport_t	*ms_onport;	/* the port whose queue holds it */
	msgport_t	*ms_target;	/* the port it was sent to */
	void		*ms_kstate;	/* the target port's per-message state */
};

/*
 * msgflags - read a message's flags while it may be in flight (an acquire
 * load: results stored before MSGF_DONE are visible once it shows).
 * msgdone - has the message been returned?  Neither is a call.
 */
static inline uint32_t
msgflags(const msg_t *msg)
{
	return __atomic_load_n(&msg->ms_flags, __ATOMIC_ACQUIRE);
}

static inline int
msgdone(const msg_t *msg)
{
	return (msgflags(msg) & MSGF_DONE) != 0;
}

/*
 * initmsg - zero a message header and set its command, requests and
 * reply port.  The arguments that follow the header are left alone.
 */
void	initmsg(msg_t *msg, uint32_t cmd, uint32_t flags, msgport_t *reply_port);

/* Sending and returning messages. */
int	sendsys(msgport_t *port, msg_t *msg, size_t msgsize);
int	replymsg(msg_t *msg, int error);
int	abortsys(msg_t *msg);

/*
 * Persistent messages (MSGF_PERSISTENT: signals, periodic timers) are
 * returned once per occurrence and stay in flight: the user reads a
 * returned one, then hands it back with rearmsys(); occurrences meanwhile
 * are counted (ms_count) and reported by the next return.  abortsys()
 * ends one: its final return carries ECANCELED and MSGF_FINAL, and once
 * taken the message is idle.  See rearmsys(3).
 */
int	rearmsys(msg_t *msg);

/* Waiting for and taking returned messages. */
int	waitsys(msgport_t *port, msg_t *msg);
int	timedwaitsys(msgport_t *port, msg_t *msg, const struct timespec *timeout);
msg_t	*getport(msgport_t *port);

/* Ports. */
msgport_t *mkport_queue(void);
int	closeport(msgport_t *port);
int	rmport(msgport_t *port);
int	portfd(msgport_t *port);
/* The names the message-life trace gives port's commands: names[cmd]. */
int	portcmdnames(msgport_t *port, const char *const *names, unsigned count);

/*
 * Upcall ports: reply ports that interrupt the thread that made them (its
 * owner) to run fn(port, arg) once per returned message, from a
 * thread-directed real-time signal; see mkport_upcall(3) and
 * doc/upcalls.md for what an upcall may do.  A critical-section port
 * holds its upcalls while the owner is inside crit_enter(); a passive
 * port holds them for timeout, for the owner to drain it first.
 */
typedef void (*upcall_fn)(msgport_t *port, void *arg);

msgport_t *mkport_upcall(upcall_fn fn, void *arg);
msgport_t *mkport_critupcall(upcall_fn fn, void *arg);
msgport_t *mkport_passive(upcall_fn fn, void *arg, const struct timespec *timeout);
int	upcallsig(int signo);

/* Critical sections: per thread, nestable, a few nanoseconds. */
void	crit_enter(void);
void	crit_exit(void);
int	flushsys(void);

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* MSGPORT_H */
