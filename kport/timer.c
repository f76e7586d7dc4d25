/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * timer.c - timers as persistent messages (KCMD_TIMER).
 *
 * Each timer message is a timerfd, armed once with its first expiry and
 * its period: the kernel keeps the absolute schedule (start + k *
 * interval), so nothing drifts however late the timer thread runs, and
 * a read tells how many expiries passed since the last one.  One timer
 * thread (every signal blocked) waits on all the timerfds with epoll.
 * On each expiry it returns the message with the expiries since its last
 * return (ms_count; `overruns` is ms_count - 1); while the user holds the
 * message it only adds them up.  A one-shot timer's one return is its
 * final one.
 *
 * An absolute CLOCK_REALTIME timer follows the wall clock: when the
 * clock is set, its expiries stay at the same wall-clock times (a jump
 * forward fires the passed ones at once, counted as overruns; a jump
 * back delays them).  With TIMER_CANCEL_ON_SET it ends instead: its
 * final return carries ECANCELED with ms_result 1 (0 after abortsys).
 *
 * Slots: a fixed array of KTIMER_SLOTS ($MSGPORT_TIMERS) timers, made on
 * first use; each costs one descriptor while armed.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "kport-internal.h"
#include "persist-internal.h"
#include "thread-internal.h"

#define KTIMER_SLOTS	256
#define KT_KICK		UINT64_MAX	/* the epoll tag of the kick eventfd */

struct ktimer {
	struct mp_persist kt_ps;	/* first: ms_kstate points here */
	struct sys_timer *kt_msg;	/* NULL: free (also once kt_ps.pp_dead == 2) */
	int		kt_fd;		/* its timerfd */
	uint32_t	kt_gen;		/* bumped on every arming: tags its epoll events */
	uint64_t	kt_pending;	/* expiries since the last return */
	uint32_t	kt_kicked;	/* rearmsys() asked for a look */
	bool		kt_oneshot;
	bool		kt_clockset;	/* TIMER_CANCEL_ON_SET and the clock was set */
};

static struct ktimer *kt_slots;
static uint32_t kt_nslots;
static pthread_mutex_t kt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t kt_thread;
static bool kt_running;
static uint32_t kt_stopping;
static int kt_epfd = -1, kt_efd = -1;

static void ktimer_kick(struct mp_persist *ps);
static int ktimer_drop(struct mp_persist *ps, msg_t *msg);

static const struct mp_persist_ops ktimer_ops = {
	.pp_kick = ktimer_kick,
	.pp_drop = ktimer_drop,
	.pp_name = "timer",
};

/* Disarm t and give its slot back; kt_lock held. */
static void
ktimer_free(struct ktimer *t)
{
	epoll_ctl(kt_epfd, EPOLL_CTL_DEL, t->kt_fd, NULL);
	close(t->kt_fd);
	t->kt_fd = -1;
	t->kt_msg = NULL;
}

/* Copy the expiries counted into the message, for a return. */
static void
ktimer_fill(struct ktimer *t)
{
	struct sys_timer *m = t->kt_msg;

	m->hdr.ms_error = 0;
	m->hdr.ms_count = t->kt_pending;
	m->hdr.ms_result = (int64_t)t->kt_pending;
	m->overruns = t->kt_pending ? t->kt_pending - 1 : 0;
	t->kt_pending = 0;
}

/*
 * ktimer_try
 *	t has something: return its message unless the user holds it; end
 *	it if it was aborted, its clock was set, or it was a one-shot.
 *	kt_lock held.
 */
static void
ktimer_try(struct ktimer *t)
{
	msg_t *msg = &t->kt_msg->hdr;
	bool clockset = t->kt_clockset;

	if (mp_persist_held(msg, &t->kt_ps)) {
		MP_TRACE("owe", msg, NULL, "timer", "held");	/* counted, returned at rearmsys() */
		return;
	}
	if ((mp_load_acq_32(&msg->ms_flags) & MSGF_ABORTED) || clockset) {
		ktimer_fill(t);
		msg->ms_result = clockset;
		ktimer_free(t);
		mp_persist_final(msg, ECANCELED);
		return;
	}
	if (t->kt_pending == 0)
		return;
	ktimer_fill(t);
	if (t->kt_oneshot) {
		ktimer_free(t);
		mp_persist_final(msg, 0);
	} else {
		mp_persist_return(msg, &t->kt_ps);
	}
}

/* Add up t's expiries not read yet; kt_lock held.  False: none. */
static bool
ktimer_collect(struct ktimer *t)
{
	uint64_t n;
	ssize_t r = read(t->kt_fd, &n, sizeof(n));

	if (r == (ssize_t)sizeof(n)) {
		t->kt_pending += n;
		return true;
	}
	if (r < 0 && errno == ECANCELED) {
		t->kt_clockset = true;
		return true;
	}
	return false;
}

static void *
ktimer_main(void *arg)
{
	struct epoll_event ev[64];
	struct ktimer *t;
	uint64_t n;
	uint32_t i, idx;
	int nev, j;
	bool kicked;

	(void)arg;
	mp_name_thread("timer", -1);
	for (;;) {
		nev = epoll_wait(kt_epfd, ev, 64, -1);
		klock(&kt_lock);
		if (mp_load_32(&kt_stopping)) {
			kunlock(&kt_lock);
			break;
		}
		kicked = false;
		for (j = 0; j < nev; j++) {
			if (ev[j].data.u64 == KT_KICK) {
				if (read(kt_efd, &n, sizeof(n)) < 0)
					continue;
				kicked = true;
				continue;
			}
			idx = (uint32_t)ev[j].data.u64;
			t = &kt_slots[idx];
			/* a stale event: the slot was freed, perhaps reused */
			if (t->kt_msg == NULL || t->kt_gen != (uint32_t)(ev[j].data.u64 >> 32) ||
			    mp_load_32(&t->kt_ps.pp_dead) != 0)
				continue;
			if (ktimer_collect(t))
				ktimer_try(t);
		}
		for (i = 0; kicked && i < kt_nslots; i++) {
			t = &kt_slots[i];
			if (mp_load_32(&t->kt_kicked) == 0)
				continue;
			mp_store_32(&t->kt_kicked, 0);
			/* handed back: with every expiry up to now */
			if (t->kt_msg != NULL && mp_load_32(&t->kt_ps.pp_dead) == 0) {
				ktimer_collect(t);
				ktimer_try(t);
			}
		}
		kunlock(&kt_lock);
	}
	return NULL;
}

/* Wake the timer thread: async-signal-safe. */
static void
ktimer_wake(void)
{
	uint64_t one = 1;

	if (write(kt_efd, &one, sizeof(one)) < 0)
		return;		/* the count is saturated: it is awake anyway */
}

static void
ktimer_kick(struct mp_persist *ps)
{
	struct ktimer *t = (struct ktimer *)ps;

	mp_or_32(&t->kt_kicked, 1);
	ktimer_wake();
}

/*
 * ktimer_drop
 *	abortsys(): end the message now unless the user holds it.
 */
static int
ktimer_drop(struct mp_persist *ps, msg_t *msg)
{
	struct ktimer *t = (struct ktimer *)ps;
	int r = ENOENT;

	klock(&kt_lock);
	if (t->kt_msg != NULL && &t->kt_msg->hdr == msg && mp_load_32(&ps->pp_dead) == 0 &&
	    !mp_persist_held(msg, ps)) {
		ktimer_collect(t);
		ktimer_fill(t);
		ktimer_free(t);
		mp_msg_setflags(msg, MSGF_FINAL, 0);
		r = 0;
	}
	kunlock(&kt_lock);
	return r;
}

/*
 * ktimer_atfork_child
 *	The timers are the parent's, and so is the epoll instance (shared
 *	with the parent): let go of our copies of the descriptors, so that
 *	a restarted kernel in the child starts afresh.  Closing them here
 *	changes nothing for the parent, which still holds its own.
 */
static void
ktimer_atfork_child(void)
{
	uint32_t i;

	pthread_mutex_init(&kt_lock, NULL);
	kt_running = false;
	for (i = 0; i < kt_nslots; i++) {
		if (kt_slots[i].kt_fd >= 0 && kt_slots[i].kt_msg != NULL)
			close(kt_slots[i].kt_fd);
		kt_slots[i].kt_fd = -1;
		kt_slots[i].kt_msg = NULL;
	}
	if (kt_epfd >= 0)
		close(kt_epfd);
	if (kt_efd >= 0)
		close(kt_efd);
	kt_epfd = kt_efd = -1;
}

/* The thread, its epoll instance and kick eventfd, the slots: once. */
static int
ktimer_start(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = KT_KICK };
	static bool atfork;
	sigset_t all, old;
	const char *s;
	long v;
	int r;

	if (kt_slots == NULL) {
		s = getenv("MSGPORT_TIMERS");
		v = s ? strtol(s, NULL, 10) : 0;
		kt_nslots = v > 0 && v < (1L << 20) ? (uint32_t)v : KTIMER_SLOTS;
		if ((kt_slots = calloc(kt_nslots, sizeof(*kt_slots))) == NULL)
			return ENOMEM;
	}
	if (!atfork) {
		pthread_atfork(NULL, NULL, ktimer_atfork_child);
		atfork = true;
	}
	if (kt_epfd < 0 && (kt_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return errno;
	if (kt_efd < 0) {
		if ((kt_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			return errno;
		if (epoll_ctl(kt_epfd, EPOLL_CTL_ADD, kt_efd, &ev) != 0) {
			r = errno;
			close(kt_efd);
			kt_efd = -1;
			return r;
		}
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&kt_thread, NULL, ktimer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		kt_running = true;
	return r;
}

static bool
ts_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

/*
 * mp_krun_timer
 *	Arm a timer message: check it, take a slot and a timerfd, start it.
 *	EASYNC, or why not (EINVAL, EAGAIN: no slot free, a timerfd errno).
 */
int
mp_krun_timer(msg_t *msg)
{
	struct sys_timer *m = (struct sys_timer *)msg;
	struct itimerspec its;
	struct epoll_event ev = { .events = EPOLLIN };
	struct ktimer *t = NULL;
	uint32_t i;
	int r, fd;

	if ((m->clock != CLOCK_MONOTONIC && m->clock != CLOCK_REALTIME) ||
	    (m->flags & ~(TIMER_ABSTIME | TIMER_CANCEL_ON_SET)) ||
	    ((m->flags & TIMER_CANCEL_ON_SET) &&
	     (m->clock != CLOCK_REALTIME || !(m->flags & TIMER_ABSTIME))) ||
	    !ts_valid(&m->value) || !ts_valid(&m->interval) ||
	    (m->value.tv_sec == 0 && m->value.tv_nsec == 0))
		return EINVAL;

	klock(&kt_lock);
	if (!kt_running && (r = ktimer_start()) != 0)
		goto out;
	for (i = 0; i < kt_nslots; i++) {
		if (kt_slots[i].kt_msg == NULL || mp_load_32(&kt_slots[i].kt_ps.pp_dead) == 2) {
			t = &kt_slots[i];
			break;
		}
	}
	if (t == NULL) {
		r = EAGAIN;
		goto out;
	}
	fd = timerfd_create(m->clock, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		r = errno;
		goto out;
	}
	t->kt_fd = fd;
	t->kt_gen++;
	t->kt_pending = 0;
	t->kt_oneshot = m->interval.tv_sec == 0 && m->interval.tv_nsec == 0;
	t->kt_clockset = false;
	mp_store_32(&t->kt_kicked, 0);
	t->kt_ps.pp_ops = &ktimer_ops;
	t->kt_msg = m;
	m->overruns = 0;
	mp_persist_bind(msg, &t->kt_ps);
	ev.data.u64 = (uint64_t)t->kt_gen << 32 | (uint32_t)(t - kt_slots);
	if (kaborted(msg)) {
		r = ECANCELED;
	} else if (epoll_ctl(kt_epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		r = errno;
	} else {
		its.it_value = m->value;
		its.it_interval = m->interval;
		r = timerfd_settime(fd, ((m->flags & TIMER_ABSTIME) ? TFD_TIMER_ABSTIME : 0) |
		    ((m->flags & TIMER_CANCEL_ON_SET) ? TFD_TIMER_CANCEL_ON_SET : 0),
		    &its, NULL) == 0 ? EASYNC : errno;
	}
	if (r != EASYNC)
		ktimer_free(t);
out:
	kunlock(&kt_lock);
	return r;
}

/*
 * mp_ktimer_stop
 *	sysport_stop(): stop the timer thread and end every timer message
 *	(ECANCELED; at rearmsys() if held).
 */
void
mp_ktimer_stop(void)
{
	struct ktimer *t;
	uint32_t i;

	/* one section across both holds and the join: an upcall that
	   stopped the kernel again meanwhile would join the thread twice */
	mp_libcrit_enter();
	klock(&kt_lock);
	if (!kt_running) {
		kunlock(&kt_lock);
		mp_libcrit_exit();
		return;
	}
	mp_store_32(&kt_stopping, 1);
	ktimer_wake();
	kunlock(&kt_lock);
	pthread_join(kt_thread, NULL);
	klock(&kt_lock);
	kt_running = false;
	mp_store_32(&kt_stopping, 0);
	for (i = 0; i < kt_nslots; i++) {
		t = &kt_slots[i];
		if (t->kt_msg == NULL || mp_load_32(&t->kt_ps.pp_dead) != 0)
			continue;
		epoll_ctl(kt_epfd, EPOLL_CTL_DEL, t->kt_fd, NULL);
		close(t->kt_fd);
		t->kt_fd = -1;
		if (!mp_persist_held(&t->kt_msg->hdr, &t->kt_ps))
			ktimer_fill(t);
		mp_persist_kill(&t->kt_msg->hdr, &t->kt_ps);
	}
	kunlock(&kt_lock);
	mp_libcrit_exit();
}
