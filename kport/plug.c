/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * plug.c - plugsys(): a thread holds its asynchronous messages back and
 * has them tried together, in one system call.
 *
 * Linux's block layer plugs a queue to merge what a thread submits in a
 * burst; io_uring lets the user say when a batch goes.  Here a plugged
 * thread's asynchronous messages that the ring can express (reads,
 * writes, sends, receives: kc_sqe in the table) are held in a fixed
 * per-thread array, and sendsys() says EASYNC for each.  The held
 * messages go, all together, when
 *
 *	KRING_MAX of them are held,
 *	the outermost unplugsys() is called,
 *	the thread calls waitsys(), timedwaitsys() or flushsys(),
 *	or the thread exits;
 *
 * and they are tried the same way an unplugged message is tried, only
 * all in one io_uring_enter() (ring.c): what finishes is returned to its
 * reply port at once, what would block goes on to the event loop or the
 * pool.  Without a ring (an old kernel, a seccomp filter, sa_noring) the
 * held messages are tried one by one instead: the same outcome, slower.
 *
 * A held message is in flight like any other, but still in its sender's
 * hands: abortsys() can only flag it, and it comes back with ECANCELED
 * when it goes (so does one held across sysport_stop()); a message
 * already tried finishes with its result.  Either way it is returned
 * exactly once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kport-internal.h"
#include "kreq-internal.h"
#include "ksys-internal.h"
#include "plug-internal.h"

__thread uint32_t mp_kplug_depth __attribute__((tls_model("initial-exec")));

struct kheld {
	msg_t		*kh_msg;
	uint32_t	kh_gen;		/* ks_gen when it was held */
};

/* A thread's plug: set up at its first plugsys(), freed when it exits. */
struct kplug {
	uint32_t	kp_n;		/* messages held */
	bool		kp_noring;	/* no ring could be set up here: one by one */
	struct kheld	kp_held[KRING_MAX];
	struct kring	kp_ring;	/* kg_index -1: none yet, or none to be had */
};

static __thread struct kplug *kplug_self __attribute__((tls_model("initial-exec")));
static pthread_key_t kplug_key;
static uint32_t kplug_keyed;		/* kplug_key was made (release) */
static pthread_mutex_t kplug_initlock = PTHREAD_MUTEX_INITIALIZER;

/*
 * kplug_ring
 *	May this thread use a ring now?  Set one up at its first batch.  A
 *	kernel without (a usable) io_uring is final; a shortage (memory,
 *	descriptors) only costs this batch its ring: the next tries again.
 */
static bool
kplug_ring(struct kplug *p)
{
	int e;

	if (mp_load_32(&mp_kstate.ks_noring) || p->kp_noring)
		return false;
	if (p->kp_ring.kg_index < 0 && (e = mp_kring_open(&p->kp_ring)) != 0) {
		p->kp_noring = e != ENOMEM && e != EMFILE && e != ENFILE && e != EAGAIN;
		return false;
	}
	return true;
}

/*
 * kplug_ringrun
 *	Run the k requests written for the held messages at[0..k-1] in the
 *	ring: their outcomes into err[] (KRING_UNSENT: the ring failed
 *	before taking it; the rest of the batch goes one by one).
 */
static void
kplug_ringrun(struct kplug *p, const unsigned *at, unsigned k, int *err, bool *ringed)
{
	int res[KRING_MAX];
	unsigned i;
	msg_t *msg;

	if (k == 0)
		return;
	if (mp_kring_run(&p->kp_ring, k, res) != 0)
		p->kp_noring = true;
	for (i = 0; i < k; i++) {
		msg = p->kp_held[at[i]].kh_msg;
		ringed[at[i]] = res[i] != KRING_UNSENT;
		/* io_uring's result is the kernel's, as ksys() returns it */
		err[at[i]] = res[i] == KRING_UNSENT ? KRING_UNSENT : kwould(kret_sys(msg, res[i]));
	}
}

/* Do a and b wait on the same descriptor, in the same direction? */
static bool
kplug_samefd(msg_t *a, msg_t *b)
{
	const struct kcmd *ka = &mp_systab[a->ms_cmd], *kb = &mp_systab[b->ms_cmd];
	short ea, eb;

	if (!(ka->kc_flags & KC_POLLABLE) || !(kb->kc_flags & KC_POLLABLE))
		return false;
	return ka->kc_fd(a, &ea) == kb->kc_fd(b, &eb) && ((ea ^ eb) & KEV_WRITE) == 0;
}

/*
 * kplug_behind
 *	Must held message i wait behind an earlier one of the batch on its
 *	descriptor, which would block (first in, first out per descriptor,
 *	as mp_kbehind() for the loop's waiters)?  An earlier one still in
 *	the unsent ring batch is run first, to know.
 */
static bool
kplug_behind(struct kplug *p, unsigned i, int *err, bool *ringed, unsigned *at, unsigned *k)
{
	msg_t *msg = p->kp_held[i].kh_msg;
	unsigned j;

	for (j = 0; j < i; j++) {
		if (!kplug_samefd(p->kp_held[j].kh_msg, msg))
			continue;
		if (err[j] == KRING_UNSENT && *k > 0) {
			kplug_ringrun(p, at, *k, err, ringed);
			*k = 0;
		}
		if (err[j] == EAGAIN)
			return true;
	}
	return false;
}

/*
 * kplug_try
 *	Try the held messages p->kp_held[0..n-1], none aborted or canceled,
 *	in the order they were sent: their outcomes (0, an errno, EAGAIN:
 *	would block) into err[], and whether the ring ran it into ringed[].
 *	A message the ring cannot express is tried the plain way between
 *	the ring runs before and after it.
 */
static void
kplug_try(struct kplug *p, unsigned n, int *err, bool *ringed)
{
	unsigned i, k = 0, at[KRING_MAX];
	msg_t *msg;

	for (i = 0; i < n; i++) {
		msg = p->kp_held[i].kh_msg;
		err[i] = KRING_UNSENT;
		ringed[i] = false;
		if (kplug_behind(p, i, err, ringed, at, &k) ||
		    mp_kbehind(msg, &mp_systab[msg->ms_cmd])) {
			err[i] = EAGAIN;	/* behind its descriptor's waiters */
			continue;
		}
		if (kplug_ring(p) && mp_systab[msg->ms_cmd].kc_sqe(msg, mp_kring_sqe(&p->kp_ring, k)) == 0) {
			at[k++] = i;
			continue;
		}
		kplug_ringrun(p, at, k, err, ringed);
		k = 0;
		err[i] = mp_systab[msg->ms_cmd].kc_try(msg);
	}
	kplug_ringrun(p, at, k, err, ringed);
	/* what a failing ring did not take */
	for (i = 0; i < n; i++) {
		if (err[i] == KRING_UNSENT) {
			msg = p->kp_held[i].kh_msg;
			err[i] = mp_systab[msg->ms_cmd].kc_try(msg);
		}
	}
}

/*
 * kplug_send
 *	Send what p holds: try it all, return what finished, pass on what
 *	would block.  Upcalls are held off meanwhile: one that sent a
 *	message itself would find the array half done.
 */
static void
kplug_send(struct kplug *p)
{
	struct kheld held[KRING_MAX];
	int err[KRING_MAX];
	bool ringed[KRING_MAX];
	uint32_t gen = mp_load_acq_32(&mp_kstate.ks_gen);
	unsigned i, n, k = 0;
	msg_t *msg;

	mp_libcrit_enter();
	mp_held_send = NULL;
	n = p->kp_n;
	p->kp_n = 0;
	/* the aborted and the canceled come back unstarted; the rest are tried */
	for (i = 0; i < n; i++) {
		msg = p->kp_held[i].kh_msg;
		if (kaborted(msg) || p->kp_held[i].kh_gen != gen || !kstate_running()) {
			msg->ms_result = -1;
			msg->ms_error = ECANCELED;
			mp_msg_return(msg);
		} else {
			held[k++] = p->kp_held[i];
		}
	}
	memcpy(p->kp_held, held, k * sizeof(held[0]));
	if (k > 0)
		kplug_try(p, k, err, ringed);
	for (i = 0; i < k; i++) {
		msg = held[i].kh_msg;
		if (err[i] == EAGAIN) {
			mp_kpass(msg, &mp_systab[msg->ms_cmd], true);
			continue;
		}
		msg->ms_error = err[i];
		MP_TRACE("run", msg, NULL, mp_systab[msg->ms_cmd].kc_name, ringed[i] ? "ring" : "plug");
		mp_msg_return(msg);
	}
	mp_libcrit_exit();
}

/* waitsys(), flushsys(): send what this thread holds before it waits. */
static void
kplug_send_self(void)
{
	if (kplug_self != NULL && kplug_self->kp_n > 0)
		kplug_send(kplug_self);
}

/* The thread is exiting: its held messages go, and its ring. */
static void
kplug_exit(void *arg)
{
	struct kplug *p = arg;

	if (p->kp_n > 0)
		kplug_send(p);
	mp_kring_close(&p->kp_ring);
	kplug_self = NULL;
	mp_kplug_depth = 0;
	free(p);
}

/*
 * The child of fork() has copies of the messages the forking thread held
 * (the parent sends the real ones) and of its ring, whose mappings it
 * shares with the parent: it forgets both.
 */
static void
kplug_atfork_child(void)
{
	struct kplug *p = kplug_self;

	if (p == NULL)
		return;
	p->kp_n = 0;
	mp_held_send = NULL;
	mp_kring_close(&p->kp_ring);
	p->kp_noring = false;
}

/*
 * kplug_init
 *	Make the thread key once: true once it is made.  Not pthread_once():
 *	a key refused (EAGAIN) is tried again at the next plugsys().
 */
static bool
kplug_init(void)
{
	if (mp_load_acq_32(&kplug_keyed))
		return true;
	pthread_mutex_lock(&kplug_initlock);
	if (!mp_load_32(&kplug_keyed) && pthread_key_create(&kplug_key, kplug_exit) == 0) {
		pthread_atfork(NULL, NULL, kplug_atfork_child);
		mp_store_rel_32(&kplug_keyed, 1);
	}
	pthread_mutex_unlock(&kplug_initlock);
	return mp_load_32(&kplug_keyed) != 0;
}

/*
 * mp_kplug_hold
 *	Hold msg, an asynchronous message the ring can express, sent by
 *	this plugged thread: EASYNC.  The last that fits sends them all.
 */
int
mp_kplug_hold(msg_t *msg, const struct kcmd *kc)
{
	struct kplug *p = kplug_self;
	bool full;

	mp_libcrit_enter();		/* an upcall that sends must not find it half held */
	p->kp_held[p->kp_n].kh_msg = msg;
	/* NOTE: a send that passed the port's RUNNING check just before a
	   sysport_stop() may read the new generation; if the port is started
	   again before the flush, that one message runs rather than coming
	   back ECANCELED.  Either way it is returned once. */
	p->kp_held[p->kp_n].kh_gen = mp_load_32(&mp_kstate.ks_gen);
	full = ++p->kp_n == KRING_MAX;
	mp_held_send = kplug_send_self;
	MP_TRACE("hold", msg, NULL, kc->kc_name, "plug");
	if (full)
		kplug_send(p);	/* before an upcall held back meanwhile could hold one more */
	mp_libcrit_exit();
	return EASYNC;
}

/*
 * plugsys
 *	Plug this thread (nestable): from now until the outermost
 *	unplugsys(), its asynchronous messages that can be tried together
 *	are held and tried together.  Returns 0, or ENOMEM (the thread's
 *	plug could not be set up; nothing changed).
 */
int
plugsys(void)
{
	struct kplug *p = kplug_self;

	if (p == NULL) {
		if (!kplug_init() || (p = calloc(1, sizeof(*p))) == NULL)
			return ENOMEM;
		p->kp_ring.kg_index = -1;
		mp_libcrit_enter();	/* an upcall that plugs must find it set up, or not at all */
		if (kplug_self != NULL || pthread_setspecific(kplug_key, p) != 0) {
			mp_libcrit_exit();
			free(p);
			return kplug_self != NULL ? plugsys() : ENOMEM;
		}
		kplug_self = p;
		mp_libcrit_exit();
	}
	if (mp_kplug_depth == UINT32_MAX)
		return EOVERFLOW;
	mp_kplug_depth++;
	return 0;
}

/*
 * unplugsys
 *	Undo one plugsys(); the outermost sends what the thread holds.
 *	Returns 0, or EINVAL when the thread is not plugged.
 */
int
unplugsys(void)
{
	if (mp_kplug_depth == 0)
		return EINVAL;
	if (--mp_kplug_depth == 0)
		kplug_send_self();
	return 0;
}
