/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sysport.c - the system port: where syscall messages are sent.
 *
 * Its sendport is the whole synchronous path (sys_sendport): check the
 * command and size against the table, claim, run the handler in the
 * sender's thread, store the outcome, all in sendsys's tail call.  What
 * it does not take goes through mp_msg_send() to its putport, which sorts
 * out errors; asynchronous messages are tried without blocking first and
 * only then handed to the event loop or the pool (kreq.c).
 *
 * The port object is made once and never freed, so sysport()'s pointer
 * stays good across sysport_stop()/sysport_start() and fork().  Its
 * state says whether sends are taken:
 *
 *	NEVER	not started yet: sysport() starts it
 *	RUNNING	taken
 *	STOPPED	refused with EPIPE until sysport_start()
 *	DEAD	a child after fork(): refused with EOWNERDEAD (the kernel's
 *		threads live in the parent) until sysport_start()
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop-internal.h"
#include "guess-internal.h"
#include "kport-internal.h"
#include "kreq-internal.h"
#include "persist-internal.h"
#include "plug-internal.h"
#include "pool-internal.h"

enum { SP_NEVER, SP_RUNNING, SP_STOPPED, SP_DEAD };

struct sysport {
	struct msgport	sp_port;
	uint32_t	sp_state;	/* SP_* */
};

static struct sysport *sysp;		/* set once, under sysp_ctl */
static uint32_t sysp_generic;		/* reasons to take the generic way; under sysp_ctl */
static bool sysp_atfork;		/* the fork handler is in; under sysp_ctl */
static pthread_mutex_t sysp_ctl = PTHREAD_MUTEX_INITIALIZER;	/* start, stop */

/*
 * kturn
 *	A KC_STREAM call (a read, write, send or receive on a socket, pipe
 *	or character device) finished in place.  If earlier messages wait
 *	on its reply port, untaken, it is returned behind them (EASYNC)
 *	instead: a server thread that goes on with whatever finished in
 *	place would otherwise serve a client that is always ready again and
 *	again while the others' replies wait (under wrk, runs of hundreds
 *	of requests on one connection, and a p99 latency 1.5x libevent's).  The call itself is made: only its reply
 *	takes its turn, a queue put (and an eventfd write if the port's
 *	descriptor is in use; read and write pay an fstat() to tell a pipe
 *	from a file).  Not an accept (see KC_STREAM), nor a read or write
 *	of a file, and only on a queue port: an upcall port owned by the
 *	sender would run the reply's upcall inside this sendsys(), before it
 *	says EASYNC.
 */
static int
kturn(msg_t *msg, const struct kcmd *kc, int error)
{
	msgport_t *rport = msg->ms_reply_port;

	if (rport == NULL || !mp_port_isqueue(rport) || mp_q_waiting(rport) == 0 ||
	    !mp_kstream(msg, kc))
		return ksettle(msg, error);
	MP_TRACE("run", msg, NULL, kc->kc_name, "turn");
	msg->ms_error = error;
	mp_msg_return(msg);
	return EASYNC;
}

/*
 * sys_putasync
 *	An asynchronous message: run it here if it cannot block or its try
 *	finishes it (its outcome is sendsys's value and it is NOT returned
 *	to its reply port: the sender has it already; but see kturn());
 *	otherwise give it a slot in the event loop or the pool (EASYNC); one
 *	that would run inline may be spread to a helper (EASYNC; pool.c).  A
 *	plugged thread's message that the ring can try is held instead
 *	(EASYNC; plug.c).
 *	NOTE: kept out of line so that the synchronous path in
 *	sys_putport() needs no stack frame.
 */
static __attribute__((noinline)) int
sys_putasync(msg_t *msg, const struct kcmd *kc)
{
	int error;

	if (mp_load_32(&msg->ms_flags) & MSGF_PERSISTENT)
		return mp_msg_refuse(msg, EINVAL);
	if (!(kc->kc_flags & KC_BLOCKS))
		return ksettle(msg, kc->kc_run(msg));
	if (kc->kc_sqe != NULL && mp_kplug_depth != 0)
		return mp_kplug_hold(msg, kc);
	if (mp_kbehind(msg, kc))
		return mp_kpass(msg, kc, false);
	if (kc->kc_try != NULL && (error = kc->kc_try(msg)) != EAGAIN)
		return kc->kc_flags & KC_STREAM ? kturn(msg, kc, error) : ksettle(msg, error);
	if ((kc->kc_flags & KC_GUESS) && mp_kguess_inline(msg->ms_cmd)) {
		if (mp_kguess_spread())	/* a burst: a helper may run it */
			return mp_kreq_submit(msg, kc, -1, 0, KQ_SPREAD, false);
		return ksettle(msg, mp_kguess_run(msg, kc));
	}
	return mp_kpass(msg, kc, false);
}

/*
 * sys_putpersist
 *	A persistent message: only as MSGF_ASYNC | MSGF_PERSISTENT; its
 *	handler arms it (EASYNC) or says why not.
 */
static int
sys_putpersist(msg_t *msg, const struct kcmd *kc)
{
	int r;

	if ((mp_load_32(&msg->ms_flags) & (MSGF_ASYNC | MSGF_PERSISTENT)) != (MSGF_ASYNC | MSGF_PERSISTENT))
		return mp_msg_refuse(msg, EINVAL);
	r = kc->kc_run(msg);
	return r == EASYNC ? r : mp_msg_refuse(msg, r);
}

/*
 * sys_putport
 *	Send msg to the system port (see the mp_putport contract).
 */
static int
sys_putport(msgport_t *port, msg_t *msg)
{
	uint32_t cmd = msg->ms_cmd, state;
	const struct kcmd *kc;

	state = mp_load_acq_32(&((struct sysport *)port)->sp_state);
	if (__builtin_expect(state != SP_RUNNING, 0))
		return mp_msg_refuse(msg, state == SP_DEAD ? EOWNERDEAD : EPIPE);
	if (cmd - 1 >= KCMD_MAX - 1)
		return mp_msg_refuse(msg, ENOSYS);
	kc = &mp_systab[cmd];
	if (msg->ms_size != kc->kc_size)
		return mp_msg_refuse(msg, EINVAL);
	if (__builtin_expect(kc->kc_flags & KC_PERSIST, 0))
		return sys_putpersist(msg, kc);
	if (mp_load_32(&msg->ms_flags) & (MSGF_ASYNC | MSGF_PERSISTENT))
		return sys_putasync(msg, kc);
	return ksettle(msg, kc->kc_run(msg));
}

/*
 * sys_sendport
 *	sendsys() to the system port.  A synchronous message (no request
 *	bits) for a command that is not persistent, of the command's size,
 *	sent while the port runs, is claimed and run right here, in one
 *	frame: one compare-and-swap to claim it (it is what refuses a
 *	concurrent send of the same message, EBUSY), the handler, and one
 *	release store of the flags to settle it.  Anything else, errors
 *	included, goes the generic way (mp_msg_send() and sys_putport()), which
 *	sorts it out with the right error.
 *	NOTE: only the header fields the inline path needs are reset: the
 *	queue links and ms_onport are only for messages that leave this
 *	thread, and mp_msg_send() resets them before any such send.  ms_target
 *	is set and ms_kstate cleared for good measure, but a racing
 *	abortsys() reads neither: MSGF_SYNC without MSGF_ABORTABLE tells it
 *	there is nothing to take back (the claim publishes it; the header
 *	stores after it are not).  Never traced: see sys_ops_traced.
 */
static int MP_HOT
sys_sendport(msgport_t *port, msg_t *msg, size_t msgsize)
{
	const struct kcmd *kc;
	uint32_t cmd = msg->ms_cmd, f;
	int error;

	if (__builtin_expect(cmd - 1 >= KCMD_MAX - 1, 0))
		return mp_msg_send(port, msg, msgsize);
	kc = &mp_systab[cmd];
	f = mp_load_32(&msg->ms_flags);
	if (__builtin_expect(msgsize != kc->kc_size || (kc->kc_flags & KC_PERSIST) ||
	    (f & (MSGF_INFLIGHT | MSGF_REQUESTS)) ||
	    mp_load_acq_32(&((struct sysport *)port)->sp_state) != SP_RUNNING, 0))
		return mp_msg_send(port, msg, msgsize);
	if (__builtin_expect(!mp_cas_32(&msg->ms_flags, &f,
	    (f & MSGF_USERMASK) | MSGF_INFLIGHT | MSGF_SYNC), 0))
		return mp_msg_send(port, msg, msgsize);

	msg->ms_size = (uint32_t)msgsize;
	msg->ms_result = 0;
	msg->ms_count = 0;
	msg->ms_target = port;
	msg->ms_kstate = NULL;
	error = kc->kc_run(msg);
	return ksettle_untraced(msg, error);
}

static int
sys_dropmsg(msgport_t *port, msg_t *msg)
{
	(void)port;
	if (mp_load_32(&msg->ms_flags) & MSGF_PERSISTENT)
		return mp_persist_drop(msg);
	return mp_kreq_drop(msg);
}

/* The system port is for ever: sysport_stop() is how it ends. */
static int
sys_rmport(msgport_t *port)
{
	(void)port;
	return EPERM;
}

/* Traced (MSGPORT_TRACE), every message takes the generic way, where the
   trace's hooks are: the fast path stays as it is, hook-free. */
#define SYS_OPS(sendport) {			\
	.mp_name = "system",			\
	.mp_sendport = (sendport),		\
	.mp_putport = sys_putport,		\
	.mp_getport = mp_port_noget,		\
	.mp_waitport = mp_port_nowait,		\
	.mp_replyport = mp_port_noreply,	\
	.mp_dropmsg = sys_dropmsg,		\
	.mp_portfd = mp_port_nofd,		\
	.mp_closeport = mp_port_noclose,	\
	.mp_rmport = sys_rmport,		\
}
static const struct msgport_ops sys_ops = SYS_OPS(sys_sendport);
static const struct msgport_ops sys_ops_traced = SYS_OPS(mp_msg_send);

/*
 * sysport_atfork_child
 *	The child has none of the kernel's threads: mark the port dead and
 *	make the locks usable again.  Everything of the parent's kernel is
 *	the parent's: its event base and events (the epoll instance and
 *	eventfd are shared with the parent: freeing or deleting anything
 *	there would take the parent's descriptors off it) and its slots,
 *	which are retired, so that an abortsys() here of a message
 *	inherited in flight finds nothing to take back and a restart
 *	builds everything afresh.
 */
static void
sysport_atfork_child(void)
{
	struct mp_kstate *ks = &mp_kstate;

	mp_kslots_retire(ks);
	pthread_mutex_init(&sysp_ctl, NULL);
	pthread_mutex_init(&ks->ks_lock, NULL);
	pthread_cond_init(&ks->ks_work, NULL);
	pthread_cond_init(&ks->ks_room, NULL);
	pthread_cond_init(&ks->ks_intrcv, NULL);
	ks->ks_intrs = 0;
	mp_evloop_forget(ks);
	ks->ks_base = NULL;
	ks->ks_stopev = NULL;
	/* the descriptor records and the sleeps' heap are the parent's too */
	ks->ks_fds = ks->ks_fdfree = NULL;
	ks->ks_fdhash = NULL;
	ks->ks_sleeps = NULL;
	ks->ks_nsleeps = 0;
	ks->ks_sleepev = NULL;
	ks->ks_nfds = 0;
	ks->ks_workers = NULL;
	ks->ks_nworkers = ks->ks_nthreads = ks->ks_starting = 0;
	ks->ks_wantmore = false;
	ks->ks_head = ks->ks_tail = NULL;
	ks->ks_queued = ks->ks_idle = 0;
	ks->ks_waking = false;
	ks->ks_roomwait = 0;
	ks->ks_stopping = true;
	ks->ks_running = 0;
	if (sysp != NULL && sysp->sp_state == SP_RUNNING)
		sysp->sp_state = SP_DEAD;
}

/*
 * sysport_create
 *	Make the port object, unless it is there: 0, or why not (EMFILE,
 *	ENFILE: its descriptor; ENOMEM).  Nothing is left half done, so a
 *	later call tries again.
 *	NOTE: sysp_ctl held.
 */
static int
sysport_create(void)
{
	struct sysport *s;
	int r;

	if (sysp != NULL)
		return 0;
	if (!sysp_atfork) {
		if ((r = pthread_atfork(NULL, NULL, sysport_atfork_child)) != 0)
			return r;
		sysp_atfork = true;
	}
	s = (struct sysport *)mp_port_alloc(sizeof(struct sysport),
	    mp_tracing() || sysp_generic != 0 ? &sys_ops_traced : &sys_ops);
	if (s == NULL)
		return errno;
	mp_store_rel_ptr((void **)&sysp, s);
	return 0;
}

/*
 * mp_sysport_generic
 *	on: one more reason (a thread that records, kport/record.c) for the
 *	system port to take every message the generic way, mp_msg_send(),
 *	whose hooks see it, rather than its synchronous path; off: one
 *	fewer.  A thread's own sends see the change at once.
 */
void
mp_sysport_generic(bool on)
{
	klock(&sysp_ctl);
	sysp_generic += on ? 1 : (uint32_t)-1;
	if (sysp != NULL)
		mp_store_rel_ptr((void **)&sysp->sp_port.mp_ops,
		    (void *)(mp_tracing() || sysp_generic != 0 ? &sys_ops_traced : &sys_ops));
	kunlock(&sysp_ctl);
}

/* The interrupt signal's handler: its only job is to make a worker's
   blocking call return EINTR (installed without SA_RESTART). */
static void
kintr_handler(int sig)
{
	(void)sig;
}

static unsigned
envnum(const char *name, unsigned given, unsigned dflt)
{
	const char *s;
	long v;

	if (given != 0)
		return given;
	if ((s = getenv(name)) != NULL && (v = strtol(s, NULL, 10)) > 0 && v < (1L << 24))
		return (unsigned)v;
	return dflt;
}

/*
 * kstart
 *	Set the kernel up as attr says: the signal, the slots (a larger
 *	array than before replaces the old one, which is retired), the
 *	loop, the pool.
 */
static int
kstart(const struct sysport_attr *attr)
{
	static const struct sysport_attr none;
	struct mp_kstate *ks = &mp_kstate;
	struct sigaction sa;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	if (attr == NULL)
		attr = &none;
	ks->ks_intrsig = attr->sa_intrsig ? attr->sa_intrsig : SIGRTMAX - 2;
	mp_store_32(&ks->ks_noring, attr->sa_noring || envnum("MSGPORT_NORING", 0, 0) != 0);
	if (ks->ks_intrsig < SIGRTMIN || ks->ks_intrsig > SIGRTMAX)
		return EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kintr_handler;		/* no SA_RESTART: interrupt */
	sigemptyset(&sa.sa_mask);
	if (sigaction(ks->ks_intrsig, &sa, NULL) != 0)
		return errno;
	sigfillset(&ks->ks_intrmask);
	sigdelset(&ks->ks_intrmask, ks->ks_intrsig);

	ks->ks_nworkers = envnum("MSGPORT_WORKERS", attr->sa_workers,
	    ncpu < 2 ? 2 : (unsigned)ncpu);
	if ((r = mp_kslots_reset(ks, envnum("MSGPORT_SLOTS", attr->sa_slots, 4096))) != 0)
		return r;

	mp_kguess_init();
	/* A sender delayed since before the last stop may take the lock any
	   moment: it must find the loop ready or ks_stopping set. */
	if ((r = mp_kev_start(ks)) != 0)
		return r;
	klock(&ks->ks_lock);
	ks->ks_stopping = false;
	kunlock(&ks->ks_lock);
	if ((r = mp_pool_start(ks)) != 0) {
		mp_kreq_cancelall(ks);
		mp_evloop_stop(ks);
		return r;
	}
	return 0;
}

/*
 * attr_known
 *	Are attr's reserved words zero?  A nonzero one is a field of a later
 *	version, which this one would silently ignore.
 */
static bool
attr_known(const struct sysport_attr *attr)
{
	size_t i;

	for (i = 0; i < sizeof(attr->sa_reserved) / sizeof(attr->sa_reserved[0]); i++)
		if (attr->sa_reserved[i] != 0)
			return false;
	return true;
}

/*
 * sysport_start
 *	Start the system port with attr (NULL: defaults).  Returns 0, EINVAL
 *	for a nonzero reserved word, EBUSY when it is running, or why it
 *	could not start (EMFILE, ENFILE, ENOMEM, EAGAIN as the system said
 *	them); a failed start leaves nothing behind, and a later one may
 *	succeed.
 */
int
sysport_start(const struct sysport_attr *attr)
{
	int r;

	if (attr != NULL && !attr_known(attr))
		return EINVAL;
	klock(&sysp_ctl);
	if ((r = sysport_create()) == 0 && mp_load_32(&sysp->sp_state) == SP_RUNNING)
		r = EBUSY;
	else if (r == 0 && (r = mp_systab_check()) == 0 && (r = mp_kev_init()) == 0 &&
	    (r = kstart(attr)) == 0) {
		mp_store_rel_32(&mp_kstate.ks_running, 1);
		mp_store_rel_32(&sysp->sp_state, SP_RUNNING);
	}
	kunlock(&sysp_ctl);
	return r;
}

/*
 * sysport_stop
 *	Refuse new messages (EPIPE), return every message in flight with
 *	ECANCELED and MSGF_ABORTED (a running call that cannot be
 *	interrupted, KC_NOINTR, finishes first and brings its own result),
 *	and stop the kernel's threads.  Returns 0, or EINVAL when it is not
 *	running.  Bounded: it returns once every running call has left the
 *	kernel, which the interrupter (pool.c) forces within milliseconds
 *	for every call but KC_NOINTR ones.
 */
int
sysport_stop(void)
{
	struct mp_kstate *ks = &mp_kstate;

	klock(&sysp_ctl);
	if (sysp == NULL || mp_load_32(&sysp->sp_state) != SP_RUNNING) {
		kunlock(&sysp_ctl);
		return EINVAL;
	}
	mp_store_rel_32(&sysp->sp_state, SP_STOPPED);
	mp_store_rel_32(&ks->ks_running, 0);
	mp_faa_32(&ks->ks_gen, 1);	/* the messages plugged threads hold are canceled */
	mp_ksignal_stop();
	mp_ktimer_stop();
	mp_kreq_cancelall(ks);
	mp_pool_stop(ks);
	mp_evloop_stop(ks);
	kunlock(&sysp_ctl);
	return 0;
}

/*
 * sysport
 *	The system port, started with the defaults on first use.  NULL
 *	with errno set if it could not start.
 */
msgport_t *
sysport(void)
{
	struct sysport *s = mp_load_acq_ptr((void *const *)&sysp);
	int r;

	if (__builtin_expect(s != NULL && mp_load_32(&s->sp_state) != SP_NEVER, 1))
		return &s->sp_port;
	if ((r = sysport_start(NULL)) != 0 && r != EBUSY) {
		errno = r;
		return NULL;
	}
	return &sysp->sp_port;
}
