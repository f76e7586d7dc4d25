/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * signal.c - signals as persistent messages (KCMD_SIGNAL).
 *
 * One message per signal number.  While a message for signo is in
 * flight, the kernel's handler is installed on signo; the application's
 * own disposition is saved and put back before the final return.  No
 * other signal is touched, and no thread's mask is changed but the
 * kernel's own threads', which block every signal so that a signal lands
 * in one of the application's threads.
 *
 * The handler runs in whatever thread the signal hits.  It pushes the
 * siginfo into a bounded lock-free ring (any thread produces, whoever
 * holds ksig_lock consumes), then drains the ring itself if it can, or
 * else bumps a futex word the signal thread sleeps on.  Whoever drains,
 * the handler or the signal thread (every signal blocked), does it under
 * ksig_lock and, per occurrence,
 * either returns the message with it, or -- while the user holds the
 * message -- counts it and keeps its info, up to the message's qmax
 * (SIGMSG_QMAX at most); past that it is counted in `dropped`.  An
 * occurrence that finds the ring full (KSIG_RING in transit) is still
 * counted, but its info is lost: also reported as dropped.  So every
 * occurrence the handler saw is in some return's ms_count, and
 * ms_count == ninfo + dropped in each.
 *
 * The handler may drain when the thread it interrupted is outside every
 * library section: every library lock (ksig_lock, a port's queue locks)
 * is only ever taken inside one (klock), so then this thread holds none
 * of them and taking them cannot deadlock; the upcall signal is blocked
 * while the handler runs, so no upcall interleaves.  It only tries
 * ksig_lock: when the signal thread (or another handler) holds it, that
 * holder's drain or the wakeup covers the push.  So the common case, a
 * signal landing in an application thread, returns the message from the
 * handler: the signal crosses one thread, as with signalfd, not two.
 * Draining there is not async-signal-safe by POSIX's list (a mutex, the
 * reply port's put), but it is safe here for the reason above.
 *
 * $MSGPORT_SIGSPIN makes the signal thread poll the ring that many
 * pauses before it sleeps, which saves its wakeup when signals come close
 * together, at the cost of a busy core; 0 (the default) never spins.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "futex-internal.h"
#include "kport-internal.h"
#include "persist-internal.h"
#include "upcall-internal.h"

#define KSIG_N		65		/* signal numbers 1..64 */

/* A ring cell: rc_seq == position + 1 once published, + KSIG_RING once consumed. */
struct rcell {
	uint32_t	rc_seq;
	struct sig_info	rc_info;
};

/* The kernel's state for one signal number. */
struct ksig {
	struct mp_persist kg_ps;	/* first: ms_kstate points here */
	struct sys_signal *kg_msg;	/* NULL: none (also free once kg_ps.pp_dead == 2) */
	uint64_t	kg_count;	/* occurrences since the last return */
	uint32_t	kg_ninfo;	/* of them, with info kept in kg_info */
	uint32_t	kg_qmax;
	uint32_t	kg_kicked;	/* rearmsys() asked for a look */
	bool		kg_installed;	/* our handler is on the signal; kg_old saved */
	struct sigaction kg_old;
	struct sig_info	kg_info[SIGMSG_QMAX];
};

static struct ksig ksigs[KSIG_N];

/* The ring: producers are handlers in any thread, the consumer the signal thread. */
static struct rcell ring[KSIG_RING];
static uint32_t ring_tail;		/* producers: the next position to claim */
static uint32_t ring_head;		/* the signal thread's */
static uint32_t ring_lost[KSIG_N];	/* occurrences that found the ring full */

/* The signal thread sleeps on kwake: bit 0 "asleep", +2 per event. */
static uint32_t kwake;
static uint32_t kstopping;

static pthread_mutex_t ksig_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t ksig_once = PTHREAD_ONCE_INIT;
static pthread_t ksig_thread;
static bool ksig_running;
static uint32_t ksig_spin;		/* $MSGPORT_SIGSPIN: pauses before sleeping */

static void ksig_kick(struct mp_persist *ps);
static bool ksig_drain_here(void);
static int ksig_drop(struct mp_persist *ps, msg_t *msg);

static const struct mp_persist_ops ksig_ops = {
	.pp_kick = ksig_kick,
	.pp_drop = ksig_drop,
	.pp_name = "signal",
};

/* Wake the signal thread if it sleeps.  Async-signal-safe. */
static void
kwake_up(void)
{
	if (mp_faa_32(&kwake, 2) & 1)
		mp_futex_wake(&kwake);
}

/*
 * ksig_handler
 *	The handler on every signal that has a message: push the occurrence,
 *	then drain the ring here or wake the signal thread to.
 */
static void
ksig_handler(int signo, siginfo_t *si, void *uc)
{
	int saved = errno;
	uint32_t pos = mp_load_32(&ring_tail), seq;
	struct rcell *c;

	(void)uc;
	for (;;) {
		c = &ring[pos & (KSIG_RING - 1)];
		seq = mp_load_acq_32(&c->rc_seq);
		if (seq == pos) {
			if (mp_cas_32(&ring_tail, &pos, pos + 1))
				break;
		} else if ((int32_t)(seq - pos) < 0) {
			c = NULL;		/* full */
			break;
		} else {
			pos = mp_load_32(&ring_tail);
		}
	}
	if (c != NULL) {
		c->rc_info.sg_signo = signo;
		c->rc_info.sg_code = si->si_code;
		c->rc_info.sg_pid = si->si_pid;
		c->rc_info.sg_uid = si->si_uid;
		c->rc_info.sg_value = si->si_value;
		mp_store_rel_32(&c->rc_seq, pos + 1);
	} else if (signo > 0 && signo < KSIG_N) {
		mp_faa_32(&ring_lost[signo], 1);
	}
	if (!ksig_drain_here())
		kwake_up();
	errno = saved;
}

/* Take the oldest published occurrence; false if none (yet). */
static bool
ring_take(struct sig_info *info)
{
	struct rcell *c = &ring[ring_head & (KSIG_RING - 1)];

	if (mp_load_acq_32(&c->rc_seq) != ring_head + 1)
		return false;
	*info = c->rc_info;
	mp_store_rel_32(&c->rc_seq, ring_head + KSIG_RING);
	ring_head++;
	return true;
}

/* Copy what k has counted into its message, for a return. */
static void
ksig_fill(struct ksig *k)
{
	struct sys_signal *m = k->kg_msg;

	m->hdr.ms_error = 0;
	m->hdr.ms_count = k->kg_count;
	m->hdr.ms_result = (int64_t)k->kg_count;
	m->ninfo = k->kg_ninfo;
	m->dropped = k->kg_count - k->kg_ninfo;
	memcpy(m->info, k->kg_info, k->kg_ninfo * sizeof(m->info[0]));
	k->kg_count = 0;
	k->kg_ninfo = 0;
}

/* Give signo back to the application; ksig_lock held. */
static void
ksig_uninstall(int signo, struct ksig *k)
{
	if (k->kg_installed)
		sigaction(signo, &k->kg_old, NULL);
	k->kg_installed = false;
}

/*
 * ksig_try
 *	k has something (an occurrence, or an abort): return its message if
 *	the user does not hold it.  ksig_lock held.
 */
static void
ksig_try(int signo, struct ksig *k)
{
	msg_t *msg = &k->kg_msg->hdr;

	if (mp_persist_held(msg, &k->kg_ps)) {
		MP_TRACE("owe", msg, NULL, "signal", "held");	/* counted, returned at rearmsys() */
		return;
	}
	if (mp_load_acq_32(&msg->ms_flags) & MSGF_ABORTED) {
		ksig_fill(k);
		ksig_uninstall(signo, k);
		k->kg_msg = NULL;
		mp_persist_final(msg, ECANCELED);
		return;
	}
	if (k->kg_count == 0)
		return;
	ksig_fill(k);
	mp_persist_return(msg, &k->kg_ps);
}

/* n occurrences of signo, the first with info (NULL: none); ksig_lock held. */
static void
ksig_occur(int signo, const struct sig_info *info, uint32_t n)
{
	struct ksig *k = &ksigs[signo];

	if (k->kg_msg == NULL || mp_load_32(&k->kg_ps.pp_dead) != 0)
		return;			/* in transit when its message ended */
	k->kg_count += n;
	if (info != NULL && k->kg_ninfo < k->kg_qmax)
		k->kg_info[k->kg_ninfo++] = *info;
	ksig_try(signo, k);
}

/* Everything pending: the ring, the lost counts, the kicks.  ksig_lock held. */
static void
ksig_drain(void)
{
	struct sig_info info;
	uint32_t n;
	int signo;

	while (ring_take(&info))
		if (info.sg_signo > 0 && info.sg_signo < KSIG_N)
			ksig_occur(info.sg_signo, &info, 1);
	for (signo = 1; signo < KSIG_N; signo++) {
		if ((n = mp_load_32(&ring_lost[signo])) != 0) {
			while (!mp_cas_32(&ring_lost[signo], &n, 0))
				continue;
			ksig_occur(signo, NULL, n);
		}
		if (mp_load_32(&ksigs[signo].kg_kicked) != 0) {
			mp_store_32(&ksigs[signo].kg_kicked, 0);
			if (ksigs[signo].kg_msg != NULL &&
			    mp_load_32(&ksigs[signo].kg_ps.pp_dead) == 0)
				ksig_try(signo, &ksigs[signo]);
		}
	}
}

/*
 * ksig_drain_here
 *	From the handler: drain the ring now, if this thread holds no library
 *	lock and ksig_lock is free (see the top of the file); false if not.
 *	NOTE: no library section here: the handler blocks every signal, the
 *	upcall signal too, and ending one could run held-back upcalls.
 */
static bool
ksig_drain_here(void)
{
	if (mp_td.td_libcrit != 0 || pthread_mutex_trylock(&ksig_lock) != 0)
		return false;
	if (mp_load_32(&kstopping) == 0)
		ksig_drain();
	pthread_mutex_unlock(&ksig_lock);
	return true;
}

/*
 * ksig_main
 *	The signal thread: drain, then sleep until a handler or a kick bumps
 *	kwake.  The snapshot is taken before draining, so a push that lands
 *	after the drain changes kwake and the thread does not sleep.
 */
static void *
ksig_main(void *arg)
{
	uint32_t v, spin;

	(void)arg;
	mp_name_thread("signal", -1);
	for (;;) {
		v = mp_load_acq_32(&kwake) & ~1u;
		klock(&ksig_lock);
		if (mp_load_32(&kstopping)) {
			kunlock(&ksig_lock);
			break;
		}
		ksig_drain();
		kunlock(&ksig_lock);
		for (spin = 0; spin < ksig_spin; spin++) {
			if ((mp_load_acq_32(&kwake) & ~1u) != v)
				break;
			mp_pause();
		}
		if (mp_cas_32(&kwake, &v, v | 1))
			mp_futex_wait(&kwake, v | 1, NULL);
		v = mp_load_32(&kwake);
		while ((v & 1) && !mp_cas_32(&kwake, &v, v & ~1u))
			continue;
	}
	return NULL;
}

/* rearmsys() handed a message back with something owed: have a look. */
static void
ksig_kick(struct mp_persist *ps)
{
	struct ksig *k = (struct ksig *)ps;

	mp_or_32(&k->kg_kicked, 1);
	kwake_up();
}

/*
 * ksig_drop
 *	abortsys(): end the message now unless the user holds it.
 */
static int
ksig_drop(struct mp_persist *ps, msg_t *msg)
{
	struct ksig *k = (struct ksig *)ps;
	int r = ENOENT;

	mp_libcrit_enter();
	klock(&ksig_lock);
	if (k->kg_msg != NULL && &k->kg_msg->hdr == msg && mp_load_32(&ps->pp_dead) == 0 &&
	    !mp_persist_held(msg, ps)) {
		ksig_fill(k);
		ksig_uninstall((int)(k - ksigs), k);	/* not the message's field: the user's memory */
		k->kg_msg = NULL;
		mp_msg_setflags(msg, MSGF_FINAL, 0);
		r = 0;
	}
	kunlock(&ksig_lock);
	mp_libcrit_exit();
	return r;
}

/*
 * mp_ksignal_hold
 *	For tests of the ring's bound: hold ksig_lock (true) so that nothing
 *	drains and occurrences pile up in transit, or let go (false).
 *	Call both from the same thread.
 */
void
mp_ksignal_hold(bool hold)
{
	if (hold) {
		klock(&ksig_lock);
	} else {
		kunlock(&ksig_lock);
		kwake_up();
	}
}

/* A child after fork(): the messages are the parent's; give the signals back. */
static void
ksig_atfork_child(void)
{
	int signo;

	pthread_mutex_init(&ksig_lock, NULL);
	ksig_running = false;
	for (signo = 1; signo < KSIG_N; signo++) {
		ksig_uninstall(signo, &ksigs[signo]);
		ksigs[signo].kg_msg = NULL;
	}
}

static void
ksig_init(void)
{
	uint32_t i;

	const char *s = getenv("MSGPORT_SIGSPIN");

	ksig_spin = s ? (uint32_t)strtoul(s, NULL, 10) : 0;
	for (i = 0; i < KSIG_RING; i++)
		mp_store_32(&ring[i].rc_seq, i);
	pthread_atfork(NULL, NULL, ksig_atfork_child);
}

/* Signals no message may take: ones that cannot be caught, faults, msgport's own. */
static bool
ksig_valid(int signo)
{
	if (signo <= 0 || signo >= KSIG_N || signo > SIGRTMAX)
		return false;
	switch (signo) {
	case SIGKILL: case SIGSTOP:
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS:
		return false;
	}
	return signo != mp_kstate.ks_intrsig && signo != mp_up_signal();
}

static int
ksig_start(void)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&ksig_thread, NULL, ksig_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		ksig_running = true;
	return r;
}

/*
 * mp_krun_signal
 *	Arm a signal message: take its signal number (EBUSY if another
 *	message has it), install the handler.  EASYNC, or why not.
 */
int
mp_krun_signal(msg_t *msg)
{
	struct sys_signal *m = (struct sys_signal *)msg;
	struct sigaction sa;
	struct ksig *k;
	int signo = m->signo, r;

	if (!ksig_valid(signo) || m->qmax < 1 || m->qmax > SIGMSG_QMAX)
		return EINVAL;
	pthread_once(&ksig_once, ksig_init);
	k = &ksigs[signo];
	mp_libcrit_enter();
	klock(&ksig_lock);
	if (k->kg_msg != NULL && mp_load_32(&k->kg_ps.pp_dead) != 2) {
		r = EBUSY;
		goto out;
	}
	if (!ksig_running && (r = ksig_start()) != 0)
		goto out;
	k->kg_msg = m;
	k->kg_ps.pp_ops = &ksig_ops;
	k->kg_count = 0;
	k->kg_ninfo = 0;
	k->kg_qmax = m->qmax;
	mp_store_32(&k->kg_kicked, 0);
	m->ninfo = 0;
	m->dropped = 0;
	mp_persist_bind(msg, &k->kg_ps);
	if (kaborted(msg)) {
		k->kg_msg = NULL;
		r = ECANCELED;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ksig_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);	/* one handler at a time per thread: the ring keeps order */
	if (sigaction(signo, &sa, &k->kg_old) != 0) {
		r = errno;
		k->kg_msg = NULL;
		goto out;
	}
	k->kg_installed = true;
	r = EASYNC;
out:
	kunlock(&ksig_lock);
	mp_libcrit_exit();
	return r;
}

/*
 * mp_ksignal_stop
 *	sysport_stop(): stop the signal thread, give every signal back, and
 *	end every signal message (ECANCELED; at rearmsys() if held).
 */
void
mp_ksignal_stop(void)
{
	struct ksig *k;
	int signo;

	mp_libcrit_enter();
	klock(&ksig_lock);
	if (!ksig_running) {
		kunlock(&ksig_lock);
		mp_libcrit_exit();
		return;
	}
	mp_store_32(&kstopping, 1);
	kunlock(&ksig_lock);
	kwake_up();
	pthread_join(ksig_thread, NULL);
	klock(&ksig_lock);
	ksig_running = false;
	mp_store_32(&kstopping, 0);
	for (signo = 1; signo < KSIG_N; signo++) {
		k = &ksigs[signo];
		if (k->kg_msg == NULL || mp_load_32(&k->kg_ps.pp_dead) != 0)
			continue;
		ksig_uninstall(signo, k);
		if (!mp_persist_held(&k->kg_msg->hdr, &k->kg_ps))
			ksig_fill(k);
		mp_persist_kill(&k->kg_msg->hdr, &k->kg_ps);
	}
	kunlock(&ksig_lock);
	mp_libcrit_exit();
}
