/*
 * pool.c - per-message kernel state and the bounded worker pool.
 *
 * An asynchronous message that would block takes a slot (struct kreq)
 * from a fixed array: the bound on messages in flight.  With none free
 * the sender waits for one, or is refused with EAGAIN if it asked for
 * MSGF_NONBLOCK.  A slot is then either queued for the pool (KR_QUEUED)
 * or waiting for readiness in the event loop (KR_WAITING); whoever moves
 * it on under ks_lock owns it:
 *
 *	QUEUED  -> RUNNING	a worker took it
 *	WAITING -> RUNNING	its descriptor became ready (evloop.c)
 *	QUEUED  -> (free)	abortsys() or shutdown took it back: ECANCELED
 *	WAITING -> CANCELED	abortsys() or shutdown: ECANCELED once the
 *				event is off the loop
 *	RUNNING -> (free)	kreq_done(): the runner returns it
 *
 * so a message is returned exactly once however abort, shutdown and
 * completion race.  A running interruptible call is cut short by
 * signalling its worker (see sys_proc.c); it then returns ECANCELED.
 *
 * One mutex guards the slots and the queue: a worker takes it twice per
 * message, which costs less than the wakeup that got it there.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kport-internal.h"

static void
kfree(struct kstate *ks, struct kreq *kr)
{
	kr->kr_state = KR_FREE;
	kr->kr_msg = NULL;
	kr->kr_onworker = false;
	kr->kr_next = ks->ks_free;
	ks->ks_free = kr;
	if (ks->ks_roomwait != 0)
		pthread_cond_signal(&ks->ks_room);
}

static void
kunlink(struct kstate *ks, struct kreq *kr)
{
	if (kr->kr_prev != NULL)
		kr->kr_prev->kr_next = kr->kr_next;
	else
		ks->ks_head = kr->kr_next;
	if (kr->kr_next != NULL)
		kr->kr_next->kr_prev = kr->kr_prev;
	else
		ks->ks_tail = kr->kr_prev;
	kr->kr_next = kr->kr_prev = NULL;
}

static void
kenqueue(struct kstate *ks, struct kreq *kr)
{
	kr->kr_state = KR_QUEUED;
	kr->kr_next = NULL;
	kr->kr_prev = ks->ks_tail;
	if (ks->ks_tail != NULL)
		ks->ks_tail->kr_next = kr;
	else
		ks->ks_head = kr;
	ks->ks_tail = kr;
	pthread_cond_signal(&ks->ks_work);
}

/*
 * kreq_submit
 *	Take a slot for msg, claimed and found to block, and hand it to the
 *	event loop (fd >= 0: wait for events on fd) or to the pool.
 *	Returns EASYNC, or refuses msg: EAGAIN (no slot and MSGF_NONBLOCK),
 *	EPIPE (shutting down); ECANCELED if it was aborted meanwhile.
 */
int
kreq_submit(msg_t *msg, const struct kcmd *kc, int fd, short events)
{
	struct kstate *ks = &kstate;
	struct kreq *kr;

	klock(&ks->ks_lock);
	while ((kr = ks->ks_free) == NULL && !ks->ks_stopping) {
		if (msg->ms_flags & MSGF_NONBLOCK) {
			kunlock(&ks->ks_lock);
			return msg_refuse(msg, EAGAIN);
		}
		ks->ks_roomwait++;
		pthread_cond_wait(&ks->ks_room, &ks->ks_lock);
		ks->ks_roomwait--;
	}
	if (ks->ks_stopping) {
		kunlock(&ks->ks_lock);
		return msg_refuse(msg, EPIPE);
	}
	if (kaborted(msg)) {
		kunlock(&ks->ks_lock);
		return ksettle(msg, kcancel(msg));
	}
	ks->ks_free = kr->kr_next;
	kr->kr_msg = msg;
	kr->kr_cmd = kc;
	kr->kr_onworker = false;
	msg_setflags(msg, MSGF_ABORTABLE, 0);
	mp_store_rel_ptr(&msg->ms_kstate, kr);
	kr->kr_state = KR_WAITING;
	if (fd < 0 || evloop_arm(kr, fd, events) != 0)
		kenqueue(ks, kr);
	kunlock(&ks->ks_lock);
	return EASYNC;
}

/*
 * kreq_done
 *	The runner of kr is done with its message: free the slot and return
 *	the message with error.  The last touch of kr.
 */
void
kreq_done(struct kreq *kr, int error)
{
	struct kstate *ks = &kstate;
	msg_t *msg = kr->kr_msg;

	msg->ms_error = error;
	klock(&ks->ks_lock);
	kfree(ks, kr);
	kunlock(&ks->ks_lock);
	msg_return(msg);
}

/*
 * kreq_drop
 *	abortsys() on msg (the system port's mp_dropmsg).  Takes back a
 *	message not yet started (0: the caller returns it with ECANCELED);
 *	interrupts a running interruptible call, or lets a running call
 *	finish (ENOENT).
 *	NOTE: ms_kstate may be stale (msg already done, its slot reused):
 *	the slot counts only if it still holds msg.
 */
int
kreq_drop(msg_t *msg)
{
	struct kstate *ks = &kstate;
	struct kreq *kr = mp_load_acq_ptr(&msg->ms_kstate);
	int r = ENOENT;

	if (kr == NULL)
		return ENOENT;
	klock(&ks->ks_lock);
	if (kr->kr_msg != msg) {
		kunlock(&ks->ks_lock);
		return ENOENT;
	}
	switch (kr->kr_state) {
	case KR_QUEUED:
		kunlink(ks, kr);
		kfree(ks, kr);
		r = 0;
		break;
	case KR_WAITING:
		/* off the loop first: its callback may be running right now */
		kr->kr_state = KR_CANCELED;
		ks->ks_dropping++;
		kunlock(&ks->ks_lock);
		evloop_disarm(kr);
		klock(&ks->ks_lock);
		kfree(ks, kr);
		if (--ks->ks_dropping == 0)
			pthread_cond_broadcast(&ks->ks_room);
		r = 0;
		break;
	case KR_RUNNING:
		if (kr->kr_onworker && kr->kr_cmd->kc_intr != NULL)
			pthread_kill(kr->kr_worker, ks->ks_intrsig);
		break;
	}
	kunlock(&ks->ks_lock);
	if (r == 0)
		kcancel(msg);
	return r;
}

/*
 * kreq_cancelall
 *	Shutdown: refuse new messages, take back every message not started
 *	and return it with ECANCELED, interrupt the running interruptible
 *	ones.  Running calls that cannot be interrupted finish normally.
 */
void
kreq_cancelall(struct kstate *ks)
{
	struct kreq *kr, *list = NULL;
	msg_t *msg;
	uint32_t i;

	klock(&ks->ks_lock);
	ks->ks_stopping = true;
	while ((kr = ks->ks_head) != NULL) {
		kunlink(ks, kr);
		kr->kr_state = KR_CANCELED;
		kr->kr_next = list;
		list = kr;
	}
	for (i = 0; i < ks->ks_nslots; i++) {
		kr = &ks->ks_slots[i];
		if (kr->kr_state == KR_WAITING) {
			kr->kr_state = KR_CANCELED;
			kr->kr_next = list;
			list = kr;
			kr->kr_prev = kr;	/* mark: on the loop */
		} else if (kr->kr_state == KR_RUNNING && kr->kr_onworker &&
		    kr->kr_cmd->kc_intr != NULL) {
			/* shutdown aborts it: the interrupted call looks at the flag */
			msg_setflags(kr->kr_msg, MSGF_ABORTED, 0);
			pthread_kill(kr->kr_worker, ks->ks_intrsig);
		}
	}
	pthread_cond_broadcast(&ks->ks_work);
	pthread_cond_broadcast(&ks->ks_room);
	kunlock(&ks->ks_lock);

	while ((kr = list) != NULL) {
		list = kr->kr_next;
		if (kr->kr_prev == kr)
			evloop_disarm(kr);
		kr->kr_prev = NULL;
		msg = kr->kr_msg;
		klock(&ks->ks_lock);
		kfree(ks, kr);
		kunlock(&ks->ks_lock);
		msg->ms_error = kcancel(msg);
		msg_return(msg);
	}
	/* aborts still taking events off the loop */
	klock(&ks->ks_lock);
	while (ks->ks_dropping != 0)
		pthread_cond_wait(&ks->ks_room, &ks->ks_lock);
	kunlock(&ks->ks_lock);
}

static void *
worker_main(void *arg)
{
	struct kstate *ks = arg;
	const struct kcmd *kc;
	struct kreq *kr;
	msg_t *msg;
	int error;

	klock(&ks->ks_lock);
	for (;;) {
		while (ks->ks_head == NULL && !ks->ks_stopping)
			pthread_cond_wait(&ks->ks_work, &ks->ks_lock);
		if ((kr = ks->ks_head) == NULL)
			break;
		kunlink(ks, kr);
		kr->kr_state = KR_RUNNING;
		kr->kr_worker = pthread_self();
		kr->kr_onworker = true;
		kunlock(&ks->ks_lock);

		msg = kr->kr_msg;
		kc = kr->kr_cmd;
		if (kaborted(msg))
			error = kcancel(msg);
		else if (kc->kc_intr != NULL)
			error = kc->kc_intr(msg);
		else if (kc->kc_flags & KC_GUESS)
			error = kguess_run_worker(msg, kc);	/* the pool's runs teach the guess too */
		else
			error = kc->kc_run(msg);
		kreq_done(kr, error);
		klock(&ks->ks_lock);
	}
	kunlock(&ks->ks_lock);
	return NULL;
}

/*
 * pool_start
 *	Start ks_nworkers workers with every signal blocked; they unblock
 *	the interrupt signal only inside ppoll().
 */
int
pool_start(struct kstate *ks)
{
	sigset_t all, old;
	uint32_t i;
	int r = 0;

	ks->ks_workers = calloc(ks->ks_nworkers, sizeof(*ks->ks_workers));
	if (ks->ks_workers == NULL)
		return ENOMEM;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < ks->ks_nworkers; i++)
		if ((r = pthread_create(&ks->ks_workers[i], NULL, worker_main, ks)) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		ks->ks_nworkers = i;
		pool_stop(ks);
	}
	return r;
}

/* Wait for the workers to finish what they run and leave (ks_stopping is set). */
void
pool_stop(struct kstate *ks)
{
	uint32_t i;

	klock(&ks->ks_lock);
	ks->ks_stopping = true;
	pthread_cond_broadcast(&ks->ks_work);
	kunlock(&ks->ks_lock);
	for (i = 0; i < ks->ks_nworkers; i++)
		pthread_join(ks->ks_workers[i], NULL);
	free(ks->ks_workers);
	ks->ks_workers = NULL;
	ks->ks_nworkers = 0;
}
