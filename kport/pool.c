/* SPDX-License-Identifier: BSD-2-Clause */
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
 *	RUNNING -> (free)	mp_kreq_done(): the runner returns it
 *
 * so a message is returned exactly once however abort, shutdown and
 * completion race.
 *
 * A running call is cut short by interrupting its worker: workers keep
 * the interrupt signal unblocked for their whole life (its handler does
 * nothing and is installed without SA_RESTART), so a blocking call the
 * signal lands in returns EINTR, and the worker returns the aborted
 * message with ECANCELED; an EINTR without an abort (a signal meant for
 * an earlier message) restarts the call.  A call that finished first
 * keeps its result.  A call flagged KC_NOINTR (file system work the
 * kernel does not cut short) loses MSGF_ABORTABLE while it runs and is
 * not signalled: it finishes first.  See kintr_arm() for the repetition.
 *
 * One mutex guards the slots and the queue.  Workers take messages in
 * batches: a worker takes its share of the queue (up to POOL_BATCH, and
 * no more than the queue spread over the idle workers and itself), runs
 * them one after another, then in one hold of the lock frees their slots
 * and takes its next batch, and only then returns them.  A sender that
 * queues many messages (a tree walk's lstat()s) thus pays one lock round
 * trip and one wake-up per batch, not per message: on a small machine
 * those hand-offs, not the disk, are what a cold walk waits for.  And a
 * sender wakes one worker at a time (ks_waking): while the woken worker
 * is on its way, further messages only queue up for it to take as one
 * batch; it wakes the next idle worker if it leaves work behind.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "kport-internal.h"
#include "msgport-slate.h"

__thread bool mp_kpool_worker __attribute__((tls_model("initial-exec")));

static void
kfree(struct mp_kstate *ks, struct kreq *kr)
{
	if (kr->kr_kf != NULL)
		mp_evloop_disarm(kr);	/* out of its descriptor's FIFO: the next one's turn */
	kr->kr_state = KR_FREE;
	kr->kr_msg = NULL;
	kr->kr_onworker = false;
	if (kr->kr_intr) {
		kr->kr_intr = false;
		ks->ks_intrs--;
	}
	kr->kr_next = ks->ks_free;
	ks->ks_free = kr;
	if (ks->ks_roomwait != 0)
		pthread_cond_signal(&ks->ks_room);
}

static void
kunlink(struct mp_kstate *ks, struct kreq *kr)
{
	ks->ks_queued--;
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

/* Wake an idle worker for the queue, unless one is on its way already. */
static void
kwake(struct mp_kstate *ks)
{
	if (ks->ks_idle > 0 && !ks->ks_waking) {
		ks->ks_waking = true;
		pthread_cond_signal(&ks->ks_work);
	}
}

static void
kenqueue(struct mp_kstate *ks, struct kreq *kr)
{
	kr->kr_state = KR_QUEUED;
	kr->kr_next = NULL;
	kr->kr_prev = ks->ks_tail;
	if (ks->ks_tail != NULL)
		ks->ks_tail->kr_next = kr;
	else
		ks->ks_head = kr;
	ks->ks_tail = kr;
	ks->ks_queued++;
	kwake(ks);
}

static void kintr_arm(struct mp_kstate *ks, struct kreq *kr);

/*
 * mp_kreq_interrupt
 *	Abort kr, which its descriptor's close found running (ks_lock
 *	held): flagged, it comes back ECANCELED from the queue, or from a
 *	try that would block; a call a worker runs is interrupted.
 */
void
mp_kreq_interrupt(struct kreq *kr)
{
	mp_msg_setflags(kr->kr_msg, MSGF_ABORTED, 0);
	if (kr->kr_state == KR_RUNNING && kr->kr_onworker)
		kintr_arm(&mp_kstate, kr);
}

/* The event loop hands kr to the pool (ks_lock held). */
void
mp_kreq_queue(struct kreq *kr)
{
	MP_TRACE("pool", kr->kr_msg, NULL, kr->kr_cmd->kc_name, "queued");
	kenqueue(&mp_kstate, kr);
}

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

/*
 * kintr_arm
 *	kr, on a worker, was aborted (ks_lock held): unless the kernel
 *	cannot cut its call short (KC_NOINTR), signal the worker now if it
 *	is in that call, and have the interrupter signal it again and again
 *	until it has left the call.
 *	NOTE: the repetition is what makes it sure.  The worker checks
 *	MSGF_ABORTED before each call and keeps the signal unblocked, so a
 *	signal that lands between the check and the system call is spent on
 *	the handler and the call blocks: the next one, a millisecond or so
 *	later, finds it in the kernel.  A signal only ever goes to a worker
 *	whose kw_cur is an aborted slot, under ks_lock: the worker is alive
 *	(it takes ks_lock before it can leave).  One that lands just after
 *	the call ended hits the next call on that worker, whose message is
 *	not aborted: that EINTR restarts the call (krun()).  kr_intr is
 *	cleared when the slot is freed (kfree()), which ends the repetition.
 */
static void
kintr_arm(struct mp_kstate *ks, struct kreq *kr)
{
	if (kr->kr_nointr || kr->kr_intr)
		return;
	kr->kr_intr = true;
	if (ks->ks_intrs++ == 0)
		pthread_cond_signal(&ks->ks_intrcv);
	if (mp_load_acq_ptr((void *const *)&kr->kr_wk->kw_cur) == kr)
		pthread_kill(kr->kr_wk->kw_thread, ks->ks_intrsig);
}

/*
 * kintr_runners
 *	A parallel slate was aborted (ks_lock held): interrupt the calls its
 *	runners run on other workers too; they see the slate's MSGF_ABORTED.
 *	NOTE: a runner not running yet sees the flag before its first entry
 *	(it is taken under ks_lock, after this); a runner's ms_kstate may be
 *	stale (an earlier run's), so its slot counts only if it holds it.
 */
static void
kintr_runners(struct mp_kstate *ks, struct sys_slate *sl)
{
	struct kreq *rk;
	uint32_t i;

	for (i = 0; i < SLATE_RUNNERS; i++) {
		rk = mp_load_acq_ptr(&sl->sl_runner[i].ms_kstate);
		if (rk != NULL && rk->kr_msg == &sl->sl_runner[i] && rk->kr_state == KR_RUNNING &&
		    rk->kr_onworker)
			kintr_arm(ks, rk);
	}
}

#define KINTR_FIRST_NS	1000000L	/* the interrupter's first pause: 1 ms */
#define KINTR_MAX_NS	16000000L	/* and its longest: 16 ms */

/*
 * intr_main
 *	The interrupter: while aborted calls run (ks_intrs), signal each
 *	worker whose current call is one, pausing 1 ms, 2, 4 ... 16 ms
 *	between rounds; sleep while there are none.
 *	NOTE: a thread of its own because abortsys() must return at once and
 *	the event loop is not ours to block; it costs nothing while no abort
 *	is pending (it waits on ks_intrcv).
 */
static void *
intr_main(void *arg)
{
	struct mp_kstate *ks = arg;
	struct timespec pause;
	struct kreq *kr;
	long ns = KINTR_FIRST_NS;
	uint32_t i;

	mp_name_thread("intr", -1);
	klock(&ks->ks_lock);
	while (!ks->ks_intrquit) {
		if (ks->ks_intrs == 0) {
			ns = KINTR_FIRST_NS;
			pthread_cond_wait(&ks->ks_intrcv, &ks->ks_lock);
			continue;
		}
		for (i = 0; i < ks->ks_nworkers; i++) {
			kr = mp_load_acq_ptr((void *const *)&ks->ks_workers[i].kw_cur);
			if (kr != NULL && kr->kr_intr)
				pthread_kill(ks->ks_workers[i].kw_thread, ks->ks_intrsig);
		}
		kunlock(&ks->ks_lock);
		pause.tv_sec = 0;
		pause.tv_nsec = ns;
		nanosleep(&pause, NULL);
		ns = ns * 2 > KINTR_MAX_NS ? KINTR_MAX_NS : ns * 2;
		klock(&ks->ks_lock);
	}
	kunlock(&ks->ks_lock);
	return NULL;
}

/*
 * mp_kreq_submit
 *	Take a slot for msg, claimed and found to block, and hand it to the
 *	event loop (fd >= 0: wait for events on fd, behind whatever waits
 *	there already; chardev: the pool runs it once fd is ready) or to the
 *	pool.
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
	while ((kr = ks->ks_free) == NULL && !ks->ks_stopping) {
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
	ks->ks_free = kr->kr_next;
	kr->kr_msg = msg;
	kr->kr_cmd = kc;
	kr->kr_onworker = false;
	kr->kr_kf = NULL;
	kr->kr_nointr = (kc->kc_flags & KC_NOINTR) || (how & KQ_FILE);
	kr->kr_state = KR_WAITING;
	/* The slot first, then abortable: an abortsys() that flagged msg
	   before this found no slot and left it to us; one after finds the
	   slot and waits for ks_lock.  Either way it is canceled once. */
	mp_store_rel_ptr(&msg->ms_kstate, kr);
	if (mp_msg_setflags(msg, MSGF_ABORTABLE, 0) & MSGF_ABORTED) {
		kfree(ks, kr);
		kunlock(&ks->ks_lock);
		if (held)
			return kunsent(msg, ECANCELED, held);
		return ksettle(msg, kcancel(msg));
	}
	if ((fd < 0 && fd != KFD_TIMER) || mp_evloop_arm(kr, fd, events, (how & KQ_CHARDEV) != 0) != 0) {
		MP_TRACE("pool", msg, NULL, kc->kc_name, "queued");
		kenqueue(ks, kr);
	} else {
		MP_TRACE("loop", msg, NULL, kc->kc_name, "waiting");
	}
	kunlock(&ks->ks_lock);
	return EASYNC;
}

/*
 * mp_kreq_done
 *	The runner of kr is done with its message: free the slot and return
 *	the message with error.  The last touch of kr.
 */
void
mp_kreq_done(struct kreq *kr, int error)
{
	struct mp_kstate *ks = &mp_kstate;
	msg_t *msg = kr->kr_msg;

	msg->ms_error = error;
	klock(&ks->ks_lock);
	kfree(ks, kr);
	kunlock(&ks->ks_lock);
	mp_msg_return(msg);
}

/*
 * kreq_ours
 *	Is kr a slot of this run's array (ks_lock held)?  A stale pointer
 *	may point into a retired array, whose slots hold nothing, or into
 *	the parent's array in a child of fork(): those slots and their
 *	events are the parent's, never to be touched here.
 */
static bool
kreq_ours(const struct mp_kstate *ks, const struct kreq *kr)
{
	uintptr_t p = (uintptr_t)kr, base = (uintptr_t)ks->ks_slots;

	return p >= base && p < base + (uintptr_t)ks->ks_nslots * sizeof(*kr);
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
	if (!kreq_ours(ks, kr) || kr->kr_msg != msg) {
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
		/* waiting in its descriptor's FIFO, which kfree() leaves */
		kfree(ks, kr);
		r = 0;
		break;
	case KR_RUNNING:
		/* not a parallel slate taking back its idle runners */
		if (!kaborted(msg))
			break;
		if (kr->kr_onworker)
			kintr_arm(ks, kr);
		if (kr->kr_cmd == &mp_systab[KCMD_SLATE])
			kintr_runners(ks, (struct sys_slate *)msg);
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
		kunlink(ks, kr);
		kr->kr_state = KR_CANCELED;
		kr->kr_next = list;
		list = kr;
	}
	for (i = 0; i < ks->ks_nslots; i++) {
		kr = &ks->ks_slots[i];
		if (kr->kr_state == KR_WAITING) {
			kr->kr_state = KR_CANCELED;	/* kfree() takes it out of its FIFO */
			kr->kr_next = list;
			list = kr;
		} else if (kr->kr_state == KR_RUNNING && kr->kr_onworker) {
			/* shutdown aborts it: its worker looks at the flag */
			mp_msg_setflags(kr->kr_msg, MSGF_ABORTED, 0);
			kintr_arm(ks, kr);
		}
	}
	pthread_cond_broadcast(&ks->ks_work);
	pthread_cond_broadcast(&ks->ks_room);
	kunlock(&ks->ks_lock);

	while ((kr = list) != NULL) {
		list = kr->kr_next;
		msg = kr->kr_msg;
		klock(&ks->ks_lock);
		kfree(ks, kr);
		kunlock(&ks->ks_lock);
		msg->ms_error = kcancel(msg);
		mp_msg_setflags(msg, MSGF_ABORTED, 0);	/* shutdown aborts it */
		mp_msg_return(msg);
	}
}

/*
 * ktake
 *	Take this worker's batch off the queue (ks_lock held): at most
 *	POOL_BATCH messages, and the queue's share of one of the idle
 *	workers and this one.  Only KC_NOINTR calls, which the kernel
 *	finishes, share a batch: any other may wait without bound (a read
 *	of a pipe, a generic call, an open of a FIFO), and the messages done
 *	before it in its batch would wait with it, returned only after it.
 *	So it runs alone.  A KC_NOINTR one is no longer abortable.  Returns
 *	the batch, linked by kr_next, or NULL when the queue is empty.
 */
static struct kreq *
ktake(struct mp_kstate *ks, struct kworker *self)
{
	struct kreq *first = NULL, **tail = &first, *kr;
	uint32_t n, want = (ks->ks_queued + ks->ks_idle) / (ks->ks_idle + 1);

	if (want > POOL_BATCH)
		want = POOL_BATCH;
	for (n = 0; n < want && (kr = ks->ks_head) != NULL; n++) {
		if (!kr->kr_nointr && n > 0)
			break;
		kunlink(ks, kr);
		kr->kr_state = KR_RUNNING;
		kr->kr_wk = self;
		kr->kr_onworker = true;
		if (kr->kr_nointr)	/* the kernel will not cut it short */
			mp_msg_setflags(kr->kr_msg, 0, MSGF_ABORTABLE);
		*tail = kr;
		tail = &kr->kr_next;
		if (!kr->kr_nointr)
			break;
	}
	if (ks->ks_head != NULL)
		kwake(ks);		/* work left behind: the next one */
	return first;
}

/*
 * krun
 *	Run kr's message on this worker: its outcome.  An EINTR is the
 *	abort's (ECANCELED) or a stray interrupt meant for an earlier
 *	message (the call is made again).
 */
static int
krun(struct kreq *kr)
{
	const struct kcmd *kc = kr->kr_cmd;
	msg_t *msg = kr->kr_msg;
	int error;

	MP_TRACE("run", msg, NULL, kc->kc_name, "pool");
	for (;;) {
		if (kaborted(msg))
			return kcancel(msg);
		if (kc->kc_intr != NULL)
			error = kc->kc_intr(msg);
		else if (kc->kc_flags & KC_GUESS)
			error = mp_kguess_run(msg, kc);	/* the pool's runs teach the guess too */
		else
			error = kc->kc_run(msg);
		if (error != EINTR || !krestarts(msg))
			return error;
	}
}

/*
 * worker_main
 *	A worker: the interrupt signal unblocked for good (one call per
 *	life, none per message), then batches until the pool stops.  Per
 *	message, beyond the call: one store of kw_cur (and one per batch);
 *	a KC_NOINTR one also loses MSGF_ABORTABLE in ktake() (one atomic
 *	update, no system call).
 */
static void *
worker_main(void *arg)
{
	struct mp_kstate *ks = &mp_kstate;
	struct kworker *self = arg;
	struct kreq *batch = NULL, *kr, *next;
	msg_t *done[POOL_BATCH];
	sigset_t intr;
	uint32_t i, n;

	mp_kpool_worker = true;
	mp_name_thread("pool", (int)(self - ks->ks_workers));
	sigemptyset(&intr);
	sigaddset(&intr, ks->ks_intrsig);
	pthread_sigmask(SIG_UNBLOCK, &intr, NULL);
	klock(&ks->ks_lock);
	for (;;) {
		/* free the last batch's slots; return its messages once unlocked */
		for (n = 0, kr = batch; kr != NULL; kr = next) {
			next = kr->kr_next;
			done[n++] = kr->kr_msg;
			kfree(ks, kr);
		}
		while (ks->ks_head == NULL && !ks->ks_stopping) {
			if (n > 0)
				break;
			ks->ks_idle++;
			pthread_cond_wait(&ks->ks_work, &ks->ks_lock);
			ks->ks_idle--;
			ks->ks_waking = false;
		}
		batch = ktake(ks, self);
		kunlock(&ks->ks_lock);
		for (i = 0; i < n; i++)
			mp_msg_return(done[i]);
		if (batch == NULL && n == 0)
			break;		/* stopping, and nothing queued */
		if (batch != NULL)
			mp_kguess_resync();
		for (kr = batch; kr != NULL; kr = kr->kr_next) {
			mp_store_rel_ptr((void **)&self->kw_cur, kr);
			kr->kr_msg->ms_error = krun(kr);
		}
		mp_store_rel_ptr((void **)&self->kw_cur, NULL);
		klock(&ks->ks_lock);
	}
	return NULL;
}

/*
 * mp_pool_start
 *	Start the interrupter and ks_nworkers workers with every signal
 *	blocked; the workers unblock the interrupt signal.
 */
int
mp_pool_start(struct mp_kstate *ks)
{
	sigset_t all, old;
	uint32_t i;
	int r = 0;

	ks->ks_workers = calloc(ks->ks_nworkers, sizeof(*ks->ks_workers));
	if (ks->ks_workers == NULL)
		return ENOMEM;
	klock(&ks->ks_lock);
	ks->ks_idle = 0;		/* no worker yet, none on its way */
	ks->ks_waking = false;
	ks->ks_intrs = 0;
	ks->ks_intrquit = false;
	kunlock(&ks->ks_lock);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((r = pthread_create(&ks->ks_intrthread, NULL, intr_main, ks)) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		free(ks->ks_workers);
		ks->ks_workers = NULL;
		ks->ks_nworkers = 0;
		return r;
	}
	for (i = 0; i < ks->ks_nworkers; i++)
		if ((r = pthread_create(&ks->ks_workers[i].kw_thread, NULL, worker_main,
		    &ks->ks_workers[i])) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		klock(&ks->ks_lock);
		ks->ks_nworkers = i;
		kunlock(&ks->ks_lock);
		mp_pool_stop(ks);
	}
	return r;
}

/*
 * mp_pool_stop
 *	Wait for the workers to finish what they run and leave (ks_stopping
 *	is set; mp_kreq_cancelall() has aborted their calls, which the
 *	interrupter keeps interrupting), then stop the interrupter.
 */
void
mp_pool_stop(struct mp_kstate *ks)
{
	uint32_t i;

	klock(&ks->ks_lock);
	ks->ks_stopping = true;
	pthread_cond_broadcast(&ks->ks_work);
	kunlock(&ks->ks_lock);
	for (i = 0; i < ks->ks_nworkers; i++)
		pthread_join(ks->ks_workers[i].kw_thread, NULL);
	klock(&ks->ks_lock);
	ks->ks_intrquit = true;
	pthread_cond_signal(&ks->ks_intrcv);
	kunlock(&ks->ks_lock);
	pthread_join(ks->ks_intrthread, NULL);
	free(ks->ks_workers);
	ks->ks_workers = NULL;
	ks->ks_nworkers = 0;
}
