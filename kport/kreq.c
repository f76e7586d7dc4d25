/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kreq.c - where an asynchronous message that would block goes, and how
 * it is taken back.
 *
 * Its try said it would block (or it has none): it takes a slot
 * (slots.c) and waits in the event loop, for a pollable descriptor or
 * as a sleep (evloop.c), or is queued for the pool (pool.c).  With no
 * slot free the sender waits for one, or is refused with EAGAIN if it
 * asked for MSGF_NONBLOCK.  Whoever moves a slot on under ks_lock owns
 * it:
 *
 *	QUEUED  -> RUNNING	a worker took it
 *	WAITING -> RUNNING	its descriptor became ready (evloop.c)
 *	QUEUED  -> (free)	abortsys() or shutdown took it back: ECANCELED
 *	WAITING -> CANCELED	abortsys() or shutdown: ECANCELED once the
 *				event is off the loop
 *	RUNNING -> (free)	mp_kreq_done(): the runner returns it
 *
 * so a message is returned exactly once however abort, shutdown and
 * completion race.  A running call is cut short by interrupting its
 * worker (pool.c).
 */
#include "config.h"

#include <sys/stat.h>

#include "evloop-internal.h"
#include "guess-internal.h"
#include "kport-internal.h"
#include "kreq-internal.h"
#include "msgport-slate.h"
#include "pool-internal.h"

/* msg cannot be taken: refuse it, or return a held one with error. */
static int
kunsent(msg_t *msg, int error, bool held)
{
	if (!held)
		return mp_msg_refuse(msg, error);
	msg->ms_result = -1;
	msg->ms_error = error;
	if (error == ECANCELED)
		mp_msg_setflags(msg, MSGF_ABORTED, 0);
	mp_msg_return(msg);
	return EASYNC;
}

/* A free slot, or NULL (ks_lock held): one freed before, else one never
   used, so that a start touches none of the array. */
static inline struct kreq *
kslot_take(struct mp_kstate *ks)
{
	struct kreq *kr = ks->ks_free;

	if (kr != NULL)
		ks->ks_free = kr->kr_next;
	else if (ks->ks_fresh < ks->ks_nslots)
		kr = &ks->ks_slots[ks->ks_fresh++];
	return kr;
}

/*
 * mp_kreq_submit
 *	Take a slot for msg, claimed and found to block, and hand it to the
 *	event loop (fd >= 0: wait for events on fd, behind whatever waits
 *	there already; chardev: the pool runs it once fd is ready) or to the
 *	pool.  KQ_SPREAD: a call the sender would run inline, queued for a
 *	helper (pool.c); with no slot free it runs inline after all.
 *	Returns EASYNC, or refuses msg: EAGAIN (no slot and MSGF_NONBLOCK),
 *	EPIPE (shutting down); ECANCELED if it was aborted meanwhile.  A
 *	held message (plugsys(): its sender was told EASYNC already) is
 *	never refused: it is returned with that error instead.
 */
int
mp_kreq_submit(msg_t *msg, const struct kcmd *kc, int fd, short events, unsigned how, bool held)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kreq *kr;

	klock(&ks->ks_lock);
	while ((kr = kslot_take(ks)) == NULL && !ks->ks_stopping) {
		if (how & KQ_SPREAD) {	/* spreading is for spare room only */
			kunlock(&ks->ks_lock);
			return ksettle(msg, mp_kguess_run(msg, kc));
		}
		if (msg->ms_flags & MSGF_NONBLOCK) {
			kunlock(&ks->ks_lock);
			return kunsent(msg, EAGAIN, held);
		}
		ks->ks_roomwait++;
		pthread_cond_wait(&ks->ks_room, &ks->ks_lock);
		ks->ks_roomwait--;
	}
	if (ks->ks_stopping) {
		kunlock(&ks->ks_lock);
		return kunsent(msg, held ? ECANCELED : EPIPE, held);
	}
	kr->kr_msg = msg;
	kr->kr_cmd = kc;
	kr->kr_onworker = false;
	kr->kr_kf = NULL;
	kr->kr_leave = NULL;
	kr->kr_nointr = (kc->kc_flags & KC_NOINTR) || (how & KQ_FILE);
	kr->kr_spread = (how & KQ_SPREAD) != 0;
	kr->kr_state = KR_WAITING;
	/* The slot first, then abortable: an abortsys() that flagged msg
	   before this found no slot and left it to us; one after finds the
	   slot and waits for ks_lock.  Either way it is canceled once. */
	mp_store_rel_ptr(&msg->ms_kstate, kr);
	if (mp_msg_setflags(msg, MSGF_ABORTABLE, 0) & MSGF_ABORTED) {
		mp_kreq_free(ks, kr);
		kunlock(&ks->ks_lock);
		if (held)
			return kunsent(msg, ECANCELED, held);
		return ksettle(msg, kcancel(msg));
	}
	if ((fd < 0 && fd != KFD_TIMER) || mp_evloop_arm(kr, fd, events, (how & KQ_CHARDEV) != 0) != 0) {
		mp_pool_enqueue(kr);
	} else {
		MP_TRACE("loop", msg, NULL, kc->kc_name, "waiting");
	}
	kunlock(&ks->ks_lock);
	return EASYNC;
}

/*
 * mp_kreq_drop
 *	abortsys() on msg (the system port's mp_dropmsg).  Takes back a
 *	message not yet started (0: the caller returns it with ECANCELED);
 *	interrupts a call running on a worker (unless KC_NOINTR), whose
 *	worker then returns it (ENOENT).
 *	NOTE: ms_kstate may be stale (msg already done, its slot reused,
 *	or inherited across fork()): the slot counts only if it is one of
 *	this run's and still holds msg.
 */
int
mp_kreq_drop(msg_t *msg)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kreq *kr = mp_load_acq_ptr(&msg->ms_kstate);
	int r = ENOENT;

	if (kr == NULL)
		return ENOENT;
	klock(&ks->ks_lock);
	if (!mp_kreq_ours(ks, kr) || kr->kr_msg != msg) {
		kunlock(&ks->ks_lock);
		return ENOENT;
	}
	switch (kr->kr_state) {
	case KR_QUEUED:
		mp_pool_unlink(ks, kr);
		mp_kreq_free(ks, kr);
		r = 0;
		break;
	case KR_WAITING:
		/* waiting in its descriptor's FIFO, which mp_kreq_free() leaves */
		mp_kreq_free(ks, kr);
		r = 0;
		break;
	case KR_RUNNING:
		/* not a parallel slate taking back its idle runners */
		if (!kaborted(msg))
			break;
		if (kr->kr_onworker)
			mp_pool_interrupt(ks, kr);
		if (kr->kr_cmd == &mp_systab[KCMD_SLATE])
			mp_pool_interrupt_runners(ks, (struct sys_slate *)msg);
		break;
	}
	kunlock(&ks->ks_lock);
	if (r == 0)
		kcancel(msg);
	return r;
}

/*
 * mp_kreq_cancelall
 *	Shutdown: refuse new messages, take back every message not started
 *	and return it with ECANCELED, abort the running ones and interrupt
 *	their calls (their workers return them).  Every message in flight
 *	is marked MSGF_ABORTED.  Running calls that cannot be interrupted
 *	(KC_NOINTR) finish normally.
 */
void
mp_kreq_cancelall(struct mp_kstate *ks)
{
	struct kreq *kr, *list = NULL;
	msg_t *msg;
	uint32_t i;

	klock(&ks->ks_lock);
	ks->ks_stopping = true;
	while ((kr = ks->ks_head) != NULL) {
		mp_pool_unlink(ks, kr);
		kr->kr_state = KR_CANCELED;
		kr->kr_next = list;
		list = kr;
	}
	for (i = 0; i < ks->ks_fresh; i++) {	/* the rest were never used */
		kr = &ks->ks_slots[i];
		if (kr->kr_state == KR_WAITING) {
			kr->kr_state = KR_CANCELED;	/* mp_kreq_free() takes it out of its FIFO */
			kr->kr_next = list;
			list = kr;
		} else if (kr->kr_state == KR_RUNNING && kr->kr_onworker) {
			/* shutdown aborts it: its worker looks at the flag */
			mp_msg_setflags(kr->kr_msg, MSGF_ABORTED, 0);
			mp_pool_interrupt(ks, kr);
		}
	}
	pthread_cond_broadcast(&ks->ks_work);
	pthread_cond_broadcast(&ks->ks_room);
	kunlock(&ks->ks_lock);

	while ((kr = list) != NULL) {
		list = kr->kr_next;
		msg = kr->kr_msg;
		klock(&ks->ks_lock);
		mp_kreq_free(ks, kr);
		kunlock(&ks->ks_lock);
		msg->ms_error = kcancel(msg);
		mp_msg_setflags(msg, MSGF_ABORTED, 0);	/* shutdown aborts it */
		mp_msg_return(msg);
	}
}

/*
 * kpollable
 *	Can the event loop wait for fd?  Sockets and pipes: they are
 *	pollable and their RWF_NOWAIT/MSG_DONTWAIT tries never block, so the
 *	loop thread can run them once ready.  Terminals and other character
 *	devices are pollable but may lack RWF_NOWAIT (a terminal's try says
 *	"would block" for ever): they wait for readiness in the loop too,
 *	and then the pool makes the call (KQ_CHARDEV).  Files go to the
 *	pool, where the kernel finishes their reads and writes (KQ_FILE).
 */
static bool
kpollable(int fd, unsigned *how)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return false;
	if (S_ISCHR(st.st_mode))
		*how |= KQ_CHARDEV;
	else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		*how |= KQ_FILE;
	return S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
}

/* Is msg's descriptor one peer's stream: a socket, pipe or character
   device, not a file?  One fstat() unless the command is a socket's. */
bool
mp_kstream(msg_t *msg, const struct kcmd *kc)
{
	unsigned how = 0;
	short events;
	int fd = kc->kc_fd(msg, &events);

	return (kc->kc_flags & KC_SOCKET) || kpollable(fd, &how);
}

/*
 * mp_kpass
 *	An asynchronous message whose try says it would block: give it a
 *	slot in the event loop (a pollable descriptor) or the pool.  EASYNC,
 *	or why not (see mp_kreq_submit(); held: see plug.c).
 */
int
mp_kpass(msg_t *msg, const struct kcmd *kc, bool held)
{
	unsigned how = 0;
	short events = 0;
	int fd = -1;

	if (kc->kc_flags & KC_POLLABLE) {
		fd = kc->kc_fd(msg, &events);
		if (!(kc->kc_flags & KC_SOCKET) && !kpollable(fd, &how))
			fd = -1;
	} else if (kc->kc_sleep != NULL) {
		struct timespec t;
		int error = kc->kc_sleep(msg, &t, false);

		if (error != 0)
			return ksettle(msg, error);	/* never held: no ring form */
		fd = KFD_TIMER;
	}
	return mp_kreq_submit(msg, kc, fd, events, how, held);
}

/*
 * mp_kbehind
 *	Must msg wait behind messages already waiting on its descriptor,
 *	rather than be tried first?  First in, first out per descriptor: a
 *	try now could take the bytes, the room or the connection that is
 *	the head's.  One load when nothing waits in the loop.
 */
bool
mp_kbehind(msg_t *msg, const struct kcmd *kc)
{
	short events;
	int fd;

	if (!(kc->kc_flags & KC_POLLABLE) || mp_load_32(&mp_kstate.ks_nfds) == 0)
		return false;
	fd = kc->kc_fd(msg, &events);
	return mp_evloop_busy(fd, events);
}
