/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pool.c - the bounded pool of worker threads, for the calls that can
 * only block, and the interrupter that cuts aborted ones short.
 *
 * A running call is cut short by interrupting its worker: workers keep
 * the interrupt signal unblocked for their whole life (its handler does
 * nothing and is installed without SA_RESTART), so a blocking call the
 * signal lands in returns EINTR, and the worker returns the aborted
 * message with ECANCELED; an EINTR without an abort (a signal meant for
 * an earlier message) restarts the call.  A call that finished first
 * keeps its result.  A call flagged KC_NOINTR (file system work the
 * kernel does not cut short) loses MSGF_ABORTABLE while it runs and is
 * not signalled: it finishes first.  See mp_pool_interrupt() for the
 * repetition.
 *
 * One mutex (ks_lock) guards the slots and the queue.  Workers take
 * messages in batches: a worker takes its share of the queue (up to
 * POOL_BATCH, and no more than the queue spread over the idle workers and
 * itself), runs them one after another, then in one hold of the lock
 * frees their slots and takes its next batch, and only then returns them.
 * A sender that queues many messages (a tree walk's lstat()s) thus pays
 * one lock round trip and one wake-up per batch, not per message: on a
 * small machine those hand-offs, not the disk, are what a cold walk waits
 * for.  And a sender wakes one worker at a time (ks_waking): while the
 * woken worker is on its way, further messages only queue up for it to
 * take as one batch; it wakes the next idle worker if it leaves work
 * behind.
 *
 * Workers are started on demand, up to the bound (sa_workers): one at
 * start, and another whenever work is queued while none is idle.  A
 * program whose calls all complete in place (a hot tree walk) so never
 * pays for threads it does not use.  The interrupter starts them, not
 * the sender: a sender may be an upcall in a signal handler, where
 * pthread_create() (which allocates) is not safe.
 */
#include "config.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "guess-internal.h"
#include "kport-internal.h"
#include "msgport-slate.h"
#include "pool-internal.h"

__thread bool mp_kpool_worker __attribute__((tls_model("initial-exec")));

#define SPREAD_QUEUE	2	/* spread messages queued per helper, at most */

/* Take kr, queued, off the queue (ks_lock held). */
void
mp_pool_unlink(struct mp_kstate *ks, struct kreq *kr)
{
	ks->ks_queued--;
	if (kr->kr_spread)
		mp_store_32(&ks->ks_spreadq, ks->ks_spreadq - 1);
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

/* Wake an idle worker for the queue, unless one is on its way already
   or the queue holds only spread work and enough helpers run it; with
   none idle, have the interrupter start one, below the bound. */
static void
kwake(struct mp_kstate *ks)
{
	if (ks->ks_queued == ks->ks_spreadq && ks->ks_helping >= ks->ks_helpers)
		return;
	if (ks->ks_idle > 0) {
		if (!ks->ks_waking) {
			ks->ks_waking = true;
			pthread_cond_signal(&ks->ks_work);
		}
	} else if (ks->ks_nthreads < ks->ks_nworkers && !ks->ks_wantmore &&
	    ks->ks_queued > ks->ks_starting) {
		ks->ks_wantmore = true;
		pthread_cond_signal(&ks->ks_intrcv);
	}
}

/* Queue kr for a worker (ks_lock held). */
void
mp_pool_enqueue(struct kreq *kr)
{
	struct mp_kstate *ks = &mp_kstate;

	MP_TRACE("pool", kr->kr_msg, NULL, kr->kr_cmd->kc_name, kr->kr_spread ? "spread" : "queued");
	kr->kr_state = KR_QUEUED;
	kr->kr_next = NULL;
	kr->kr_prev = ks->ks_tail;
	if (ks->ks_tail != NULL)
		ks->ks_tail->kr_next = kr;
	else
		ks->ks_head = kr;
	ks->ks_tail = kr;
	ks->ks_queued++;
	if (kr->kr_spread)
		mp_store_32(&ks->ks_spreadq, ks->ks_spreadq + 1);
	kwake(ks);
}

/*
 * mp_pool_spreadable
 *	May a sender in a burst queue its next inline call for a helper?
 *	Not from a worker, not with no helpers, not with a full share queued.
 */
bool
mp_pool_spreadable(void)
{
	struct mp_kstate *ks = &mp_kstate;
	uint32_t helpers = mp_load_32(&ks->ks_helpers);

	return helpers != 0 && !mp_kpool_worker &&
	    mp_load_32(&ks->ks_spreadq) < SPREAD_QUEUE * helpers;
}

/*
 * mp_pool_interrupt
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
 *	cleared when the slot is freed (mp_kreq_free()), which ends the repetition.
 */
void
mp_pool_interrupt(struct mp_kstate *ks, struct kreq *kr)
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
 * mp_pool_abort
 *	Abort kr, which its descriptor's close found running (ks_lock
 *	held): flagged, it comes back ECANCELED from the queue, or from a
 *	try that would block; a call a worker runs is interrupted.
 */
void
mp_pool_abort(struct kreq *kr)
{
	mp_msg_setflags(kr->kr_msg, MSGF_ABORTED, 0);
	if (kr->kr_state == KR_RUNNING && kr->kr_onworker)
		mp_pool_interrupt(&mp_kstate, kr);
}

/*
 * mp_pool_interrupt_runners
 *	A parallel slate was aborted (ks_lock held): interrupt the calls its
 *	runners run on other workers too; they see the slate's MSGF_ABORTED.
 *	NOTE: a runner not running yet sees the flag before its first entry
 *	(it is taken under ks_lock, after this); a runner's ms_kstate may be
 *	stale (an earlier run's), so its slot counts only if it holds it.
 */
void
mp_pool_interrupt_runners(struct mp_kstate *ks, struct sys_slate *sl)
{
	struct kreq *rk;
	uint32_t i;

	for (i = 0; i < SLATE_RUNNERS; i++) {
		rk = mp_load_acq_ptr(&sl->sl_runner[i].ms_kstate);
		if (rk != NULL && rk->kr_msg == &sl->sl_runner[i] && rk->kr_state == KR_RUNNING &&
		    rk->kr_onworker)
			mp_pool_interrupt(ks, rk);
	}
}

#define KINTR_FIRST_NS	1000000L	/* the interrupter's first pause: 1 ms */
#define KINTR_MAX_NS	16000000L	/* and its longest: 16 ms */

static void *worker_main(void *arg);

/*
 * kspawn
 *	Start workers for the queued messages no worker is on its way to,
 *	up to the bound (ks_lock held, on the interrupter, or at start with
 *	every signal blocked: a worker starts with them all blocked).  Under
 *	the lock, so that a stop sees every worker there is.  0, or why the
 *	first could not start; one that cannot start leaves the work to the
 *	others (there is always one), and the next queued message asks again.
 */
static int
kspawn(struct mp_kstate *ks, uint32_t want)
{
	struct kworker *kw;
	int r = 0;

	ks->ks_wantmore = false;
	while (want > 0 && ks->ks_nthreads < ks->ks_nworkers && !ks->ks_stopping) {
		kw = &ks->ks_workers[ks->ks_nthreads];
		if ((r = pthread_create(&kw->kw_thread, NULL, worker_main, kw)) != 0)
			break;
		ks->ks_nthreads++;
		ks->ks_starting++;
		want--;
	}
	return r;
}

/*
 * intr_main
 *	The interrupter: while aborted calls run (ks_intrs), signal each
 *	worker whose current call is one, pausing 1 ms, 2, 4 ... 16 ms
 *	between rounds; when asked (ks_wantmore), start workers; sleep while
 *	there is neither to do.
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
		if (ks->ks_wantmore && ks->ks_idle == 0 && ks->ks_queued > ks->ks_starting)
			(void)kspawn(ks, ks->ks_queued - ks->ks_starting);
		ks->ks_wantmore = false;
		if (ks->ks_intrs == 0) {
			ns = KINTR_FIRST_NS;
			pthread_cond_wait(&ks->ks_intrcv, &ks->ks_lock);
			continue;
		}
		for (i = 0; i < ks->ks_nthreads; i++) {
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
 * ktake
 *	Take this worker's batch off the queue (ks_lock held): at most
 *	POOL_BATCH messages, and the queue's share of one of the idle
 *	workers, those on their way from their start, and this one.  Only KC_NOINTR calls, which the kernel
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
	uint32_t others = ks->ks_idle + ks->ks_starting;
	uint32_t n, want = (ks->ks_queued + others) / (others + 1);

	if (want > POOL_BATCH)
		want = POOL_BATCH;
	for (n = 0; n < want && (kr = ks->ks_head) != NULL; n++) {
		if (!kr->kr_nointr && n > 0)
			break;
		mp_pool_unlink(ks, kr);
		kr->kr_state = KR_RUNNING;
		kr->kr_wk = self;
		kr->kr_onworker = true;
		if (kr->kr_spread && !self->kw_helping) {
			self->kw_helping = true;
			ks->ks_helping++;
		}
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
	bool slept = true;
	sigset_t intr;
	uint32_t i, n;

	mp_kpool_worker = true;
	mp_name_thread("pool", (int)(self - ks->ks_workers));
	sigemptyset(&intr);
	sigaddset(&intr, ks->ks_intrsig);
	pthread_sigmask(SIG_UNBLOCK, &intr, NULL);
	klock(&ks->ks_lock);
	ks->ks_starting--;		/* at the queue now */
	for (;;) {
		/* free the last batch's slots; return its messages once unlocked */
		for (n = 0, kr = batch; kr != NULL; kr = next) {
			next = kr->kr_next;
			done[n++] = kr->kr_msg;
			mp_kreq_free(ks, kr);
		}
		if (self->kw_helping) {
			self->kw_helping = false;
			ks->ks_helping--;
		}
		while (ks->ks_head == NULL && !ks->ks_stopping) {
			if (n > 0)
				break;
			ks->ks_idle++;
			pthread_cond_wait(&ks->ks_work, &ks->ks_lock);
			ks->ks_idle--;
			ks->ks_waking = false;
			slept = true;
		}
		batch = ktake(ks, self);
		kunlock(&ks->ks_lock);
		for (i = 0; i < n; i++)
			mp_msg_return(done[i]);
		if (batch == NULL && n == 0)
			break;		/* stopping, and nothing queued */
		if (batch != NULL && slept) {	/* only a sleep is not a run's */
			mp_kguess_resync();
			slept = false;
		}
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
 *	Start the interrupter and the first worker with every signal
 *	blocked (the workers unblock the interrupt signal); the others start
 *	on demand (kwake()).
 */
int
mp_pool_start(struct mp_kstate *ks)
{
	sigset_t all, old;
	cpu_set_t cpus;
	uint32_t ncpu = 1;
	int r;

	ks->ks_workers = calloc(ks->ks_nworkers, sizeof(*ks->ks_workers));
	if (ks->ks_workers == NULL)
		return ENOMEM;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1)
		ncpu = (uint32_t)CPU_COUNT(&cpus);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	klock(&ks->ks_lock);
	ks->ks_idle = 0;		/* no worker yet, none on its way */
	ks->ks_waking = false;
	ks->ks_nthreads = ks->ks_starting = 0;
	ks->ks_wantmore = false;
	ks->ks_helping = 0;
	ks->ks_spreadq = 0;
	mp_store_32(&ks->ks_helpers, ncpu - 1 < ks->ks_nworkers ? ncpu - 1 : ks->ks_nworkers);
	ks->ks_intrs = 0;
	ks->ks_intrquit = false;
	r = kspawn(ks, 1);
	kunlock(&ks->ks_lock);
	if (r == 0 && (r = pthread_create(&ks->ks_intrthread, NULL, intr_main, ks)) != 0) {
		klock(&ks->ks_lock);
		ks->ks_stopping = true;
		pthread_cond_broadcast(&ks->ks_work);
		kunlock(&ks->ks_lock);
		pthread_join(ks->ks_workers[0].kw_thread, NULL);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		free(ks->ks_workers);
		ks->ks_workers = NULL;
		ks->ks_nworkers = ks->ks_nthreads = 0;
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
	mp_store_32(&ks->ks_helpers, 0);
	pthread_cond_broadcast(&ks->ks_work);
	kunlock(&ks->ks_lock);
	for (i = 0; i < ks->ks_nthreads; i++)	/* none starts once stopping */
		pthread_join(ks->ks_workers[i].kw_thread, NULL);
	klock(&ks->ks_lock);
	ks->ks_intrquit = true;
	pthread_cond_signal(&ks->ks_intrcv);
	kunlock(&ks->ks_lock);
	pthread_join(ks->ks_intrthread, NULL);
	free(ks->ks_workers);
	ks->ks_workers = NULL;
	ks->ks_nworkers = ks->ks_nthreads = 0;
}
