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
 * A thread that waits for a CLOCK_MONOTONIC timer's message (waitsys
 * with the message) does not wait for the timer thread: it sleeps until
 * the next expiry itself, with no timer slack, then takes the expiries
 * and returns the message to itself (ktimer_next, ktimer_poll), while
 * the timer's epoll registration is disabled.  Handed on, every expiry
 * cost two wake-ups, the timer thread's and then the waiter's, about
 * 1.7x a timerfd read's lateness here; now it costs one, as timerfd.
 *
 * An absolute CLOCK_REALTIME timer follows the wall clock: when the
 * clock is set, its expiries stay at the same wall-clock times (a jump
 * forward fires the passed ones at once, counted as overruns; a jump
 * back delays them).  With TIMER_CANCEL_ON_SET it ends instead: its
 * final return carries ECANCELED with ms_result 1 (0 after abortsys).
 *
 * Slots: a fixed array of KTIMER_SLOTS ($MSGPORT_TIMERS) timers, made on
 * first use; each costs one descriptor while armed, and a fired one-shot
 * its descriptor until its slot is used again (or sysport_stop).
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
#include "upcall-internal.h"

#define KTIMER_SLOTS	256
#define KT_KICK		UINT64_MAX	/* the epoll tag of the kick eventfd */

struct ktimer {
	struct mp_persist kt_ps;	/* first: ms_kstate points here */
	struct sys_timer *kt_msg;	/* NULL: free (also once kt_ps.pp_dead == 2) */
	int		kt_fd;		/* its timerfd */
	uint32_t	kt_gen;		/* bumped on every arming: tags its epoll events */
	uint64_t	kt_pending;	/* expiries since the last return */
	uint32_t	kt_kicked;	/* rearmsys() asked for a look */
	uint32_t	kt_waiters;	/* threads asleep until kt_next (ktimer_next) */
	bool		kt_quiet;	/* its epoll registration disabled for them */
	bool		kt_spent;	/* free, kt_fd a fired one-shot's, still open */
	bool		kt_oneshot;
	bool		kt_clockset;	/* TIMER_CANCEL_ON_SET and the clock was set */
	bool		kt_known;	/* kt_next is known (CLOCK_MONOTONIC, not fired) */
	int64_t		kt_next;	/* the next expiry due, CLOCK_MONOTONIC ns */
	int64_t		kt_period;	/* ns; 0: a one-shot */
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
static bool ktimer_next(struct mp_persist *ps, msg_t *msg, struct timespec *due);
static void ktimer_poll(struct mp_persist *ps, msg_t *msg);

static const struct mp_persist_ops ktimer_ops = {
	.pp_kick = ktimer_kick,
	.pp_drop = ktimer_drop,
	.pp_name = "timer",
	.pp_next = ktimer_next,
	.pp_poll = ktimer_poll,
};

static int64_t
ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

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
		/* its spent timerfd is closed when the slot is next used: the
		   thread that waits need not wait for two more system calls */
		t->kt_msg = NULL;
		t->kt_spent = true;
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
		/* the kernel's schedule: the next expiry after the n passed */
		t->kt_next += (int64_t)n * t->kt_period;
		t->kt_known = t->kt_known && t->kt_period != 0;
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
			if (t->kt_waiters != 0)
				continue;	/* the waiter's (ktimer_next); disabled by now */
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

	mp_libcrit_enter();
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
	mp_libcrit_exit();
	return r;
}

/* Let the timer thread see t's expiries (EPOLLIN) or not (0); kt_lock held. */
static int
ktimer_watch(struct ktimer *t, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	ev.data.u64 = (uint64_t)t->kt_gen << 32 | (uint32_t)(t - kt_slots);
	return epoll_ctl(kt_epfd, EPOLL_CTL_MOD, t->kt_fd, &ev);
}

/*
 * ktimer_next
 *	A thread is about to wait for msg: when is its next expiry due?  Now
 *	if it has expiries counted while it was held.  True: known, and the
 *	thread is counted as a waiter until its ktimer_poll(); meanwhile the
 *	timer thread is not told of the timer's expiries, so one thread
 *	wakes per expiry, not two, and the timer thread cannot preempt the
 *	waiter on its CPU (persist-internal.h).
 */
static bool
ktimer_next(struct mp_persist *ps, msg_t *msg, struct timespec *due)
{
	struct ktimer *t = (struct ktimer *)ps;
	bool known;
	int64_t at;

	mp_libcrit_enter();
	klock(&kt_lock);
	known = t->kt_msg != NULL && &t->kt_msg->hdr == msg && mp_load_32(&ps->pp_dead) == 0 &&
	    (t->kt_known || t->kt_pending != 0 || mp_load_32(&t->kt_kicked) != 0);
	at = t->kt_pending != 0 || mp_load_32(&t->kt_kicked) != 0 ? 0 : t->kt_next;
	if (known && t->kt_waiters++ == 0 && !t->kt_quiet)
		t->kt_quiet = ktimer_watch(t, 0) == 0;
	kunlock(&kt_lock);
	mp_libcrit_exit();
	due->tv_sec = (time_t)(at / 1000000000);
	due->tv_nsec = (long)(at % 1000000000);
	return known;
}

/*
 * ktimer_poll
 *	The thread waiting for msg woke (at its due time, or because msg was
 *	returned or ended): no longer a waiter, it takes the expiries and
 *	returns msg, as the timer thread would have.
 */
static void
ktimer_poll(struct mp_persist *ps, msg_t *msg)
{
	struct ktimer *t = (struct ktimer *)ps;

	mp_libcrit_enter();
	klock(&kt_lock);
	/* the timer thread looks at t again once its last waiter is gone, so
	   what it skipped meanwhile is collected now */
	t->kt_waiters--;
	if (t->kt_msg != NULL && &t->kt_msg->hdr == msg && mp_load_32(&ps->pp_dead) == 0) {
		ktimer_collect(t);
		ktimer_try(t);
	}
	/* last, once the message is back: the timer thread's again */
	if (t->kt_waiters == 0 && t->kt_quiet && t->kt_msg != NULL)
		t->kt_quiet = ktimer_watch(t, EPOLLIN) != 0;
	kunlock(&kt_lock);
	mp_libcrit_exit();
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
		if (kt_slots[i].kt_fd >= 0 && (kt_slots[i].kt_msg != NULL || kt_slots[i].kt_spent))
			close(kt_slots[i].kt_fd);
		kt_slots[i].kt_spent = false;
		kt_slots[i].kt_quiet = false;
		kt_slots[i].kt_waiters = 0;	/* the parent's waiters are not here */
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

	mp_libcrit_enter();
	klock(&kt_lock);
	if (!kt_running && (r = ktimer_start()) != 0)
		goto out;
	for (i = 0; i < kt_nslots; i++) {
		/* not while a thread that waited for its last timer is still
		   counted there (ktimer_next, ktimer_poll) */
		if ((kt_slots[i].kt_msg == NULL || mp_load_32(&kt_slots[i].kt_ps.pp_dead) == 2) &&
		    mp_load_32(&kt_slots[i].kt_waiters) == 0) {
			t = &kt_slots[i];
			break;
		}
	}
	if (t == NULL) {
		r = EAGAIN;
		goto out;
	}
	if (t->kt_spent) {
		t->kt_spent = false;
		ktimer_free(t);
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
	t->kt_known = false;
	t->kt_quiet = false;
	t->kt_period = ts_to_ns(&m->interval);
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
		/* a waiter may sleep until the first expiry itself: relative,
		   now + value is that or a little after (armed just before) */
		if (r == EASYNC && m->clock == CLOCK_MONOTONIC) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			t->kt_next = ts_to_ns(&m->value) +
			    ((m->flags & TIMER_ABSTIME) ? 0 : ts_to_ns(&now));
			t->kt_known = true;
		}
	}
	if (r != EASYNC)
		ktimer_free(t);
out:
	kunlock(&kt_lock);
	mp_libcrit_exit();
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
		if (t->kt_spent) {
			t->kt_spent = false;
			ktimer_free(t);
		}
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
