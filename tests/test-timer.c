/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: timers as persistent messages.  A 1 ms periodic timer
 * for thousands of periods: the expiries reported (ms_count, and
 * overruns = ms_count - 1) account for the time elapsed; overruns pile
 * up while the message is held and come in the next return; one-shot
 * timers, relative and absolute, on both clocks, never fire early and
 * return once, finally; abortsys() of each, a 1 ms timer included, ends
 * it with exactly one final return; a clock set ends a
 * TIMER_CANCEL_ON_SET timer (needs CAP_SYS_TIME: skipped otherwise).
 * A thread waiting for a timer message sleeps until its expiry itself:
 * giving up hands the timer back to the timer thread, an abort from
 * another thread wakes it, and one-shots taken so leave no descriptors.
 */
#define _GNU_SOURCE
#include "persistutil.h"

#include <fcntl.h>
#include <pthread.h>

static const struct timespec ms1 = { 0, 1000000 };

static struct timespec
ts_add_ms(struct timespec t, long ms)
{
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static int
ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	return (a->tv_nsec > b->tv_nsec) - (a->tv_nsec < b->tv_nsec);
}

/* Thousands of 1 ms periods: expiries + overruns account for the time. */
static void
periodic_accounts_for_time(void **s)
{
	enum { PERIODS = 3000 };
	msgport_t *rp = mkport_queue();
	struct sys_timer m;
	uint64_t total = 0;
	double t0, t1;
	int returns = 0;

	(void)s;
	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms1, &ms1, rp);
	t0 = test_now();
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	while (total < PERIODS) {
		assert_int_equal(ps_take(rp, &m.hdr), 0);
		ps_assert_occurrence(&m.hdr);
		assert_true(m.hdr.ms_count >= 1);
		assert_int_equal(m.overruns, m.hdr.ms_count - 1);
		total += m.hdr.ms_count;
		returns++;
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	t1 = test_now();
	total += ps_abort(rp, &m.hdr);
	/* never more expiries than periods elapsed; generously, not far fewer */
	assert_true((double)total <= (test_now() - t0) * 1000.0 + 1.0);
	assert_true((double)total >= (t1 - t0) * 1000.0 * 0.5 - 50.0);
	assert_true(returns >= 1);
	assert_int_equal(rmport(rp), 0);
}

/* Held for a while: the expiries meanwhile come as overruns, none lost. */
static void
overruns_while_held(void **s)
{
	msgport_t *rp = mkport_queue();
	/* static: a failed assertion leaves it armed, and the timer thread
	   must not write into a later test's stack */
	static struct sys_timer m;

	(void)s;
	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms1, &ms1, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	test_sleep_ms(50);			/* busy elsewhere: 50 periods pass */
	assert_int_equal(rearmsys(&m.hdr), 0);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	/* the expiries while held come back at the rearm, in one return.
	   Not "held / period - 2": the kernel counts an expiry only once
	   its hrtimer interrupt has run, which a loaded virtual machine can
	   delay by milliseconds.  A fifth of them is far past the one a
	   return of its own would carry. */
	assert_true(m.hdr.ms_count >= 10);
	assert_int_equal(m.overruns, m.hdr.ms_count - 1);
	ps_abort(rp, &m.hdr);
	assert_int_equal(rmport(rp), 0);
}

/* A one-shot's one return is final, and never early. */
static void
oneshot(clockid_t clock, int abs)
{
	msgport_t *rp = mkport_queue();
	struct timespec now, when, after, rel = { 0, 20000000 };
	struct sys_timer m;

	clock_gettime(clock, &now);
	when = ts_add_ms(now, 20);
	prep_timer(&m, clock, abs ? TIMER_ABSTIME : 0, abs ? &when : &rel, NULL, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	clock_gettime(clock, &after);
	assert_true(ts_cmp(&after, &when) >= 0);
	ps_assert_final(&m.hdr);
	assert_int_equal(m.hdr.ms_count, 1);
	assert_int_equal(m.overruns, 0);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);
	assert_int_equal(abortsys(&m.hdr), EINVAL);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static void oneshot_rel_mono(void **s) { (void)s; oneshot(CLOCK_MONOTONIC, 0); }
static void oneshot_abs_mono(void **s) { (void)s; oneshot(CLOCK_MONOTONIC, 1); }
static void oneshot_rel_real(void **s) { (void)s; oneshot(CLOCK_REALTIME, 0); }
static void oneshot_abs_real(void **s) { (void)s; oneshot(CLOCK_REALTIME, 1); }

/* An absolute time already past expires at once. */
static void
oneshot_in_the_past(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec past = { 1, 0 };
	struct sys_timer m;

	(void)s;
	prep_timer(&m, CLOCK_REALTIME, TIMER_ABSTIME, &past, NULL, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	ps_assert_final(&m.hdr);
	assert_int_equal(rmport(rp), 0);
}

/* Abort: one not yet fired, a 1 ms one running, one held. */
static void
abort_each(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec hour = { 3600, 0 };
	struct sys_timer a, b;
	int i;

	(void)s;
	prep_timer(&a, CLOCK_MONOTONIC, 0, &hour, NULL, rp);
	assert_int_equal(sendsys(sysport(), &a.hdr, sizeof(a)), EASYNC);
	assert_int_equal(abortsys(&a.hdr), 0);
	assert_int_equal(ps_take(rp, &a.hdr), ECANCELED);
	ps_assert_final(&a.hdr);
	assert_int_equal(a.hdr.ms_result, 0);

	/* a 1 ms timer, aborted at once, many times over */
	for (i = 0; i < 200; i++) {
		prep_timer(&b, CLOCK_MONOTONIC, 0, &ms1, &ms1, rp);
		assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
		if (i % 2)
			test_sleep_ms(1);
		ps_abort(rp, &b.hdr);
	}
	/* held while aborted: the final return follows the rearm */
	prep_timer(&b, CLOCK_MONOTONIC, 0, &ms1, &ms1, rp);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	assert_int_equal(ps_take(rp, &b.hdr), 0);
	assert_int_equal(abortsys(&b.hdr), 0);
	test_sleep_ms(5);
	assert_null(getport(rp));			/* nothing while held */
	assert_int_equal(rearmsys(&b.hdr), 0);
	assert_int_equal(ps_take(rp, &b.hdr), ECANCELED);
	ps_assert_final(&b.hdr);
	/* and nothing after the final return, ever */
	test_sleep_ms(20);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

/* A clock set ends a TIMER_CANCEL_ON_SET timer (ms_result 1). */
static void
cancel_on_clock_set(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec now, later;
	struct sys_timer m;

	(void)s;
	clock_gettime(CLOCK_REALTIME, &now);
	later = ts_add_ms(now, 3600 * 1000);
	prep_timer(&m, CLOCK_REALTIME, TIMER_ABSTIME | TIMER_CANCEL_ON_SET, &later, NULL, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	clock_gettime(CLOCK_REALTIME, &now);
	if (clock_settime(CLOCK_REALTIME, &now) != 0) {	/* a set to "now": no jump */
		ps_abort(rp, &m.hdr);
		assert_int_equal(rmport(rp), 0);
		skip();
	}
	assert_int_equal(ps_take(rp, &m.hdr), ECANCELED);
	ps_assert_final(&m.hdr);
	assert_int_equal(m.hdr.ms_result, 1);
	assert_int_equal(rmport(rp), 0);
}

/*
 * The message alone: waitsys(NULL, msg) returns each occurrence.  With a
 * reply port it takes the occurrence off, as getport() would: so it can
 * be rearmed at once, and is never handed out again.
 */
static void
message_alone(msgport_t *rp)
{
	struct sys_timer m;
	int i;

	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms1, &ms1, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	for (i = 0; i < 5; i++) {
		assert_int_equal(waitsys(NULL, &m.hdr), 0);
		ps_assert_occurrence(&m.hdr);
		assert_true(m.hdr.ms_count >= 1);
		if (rp != NULL)
			assert_null(getport(rp));
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	assert_int_equal(abortsys(&m.hdr), 0);
	while (waitsys(NULL, &m.hdr) == 0)
		assert_int_equal(rearmsys(&m.hdr), 0);
	assert_int_equal(m.hdr.ms_error, ECANCELED);
	ps_assert_final(&m.hdr);
	assert_false(msgflags(&m.hdr) & MSGF_QUEUED);
	if (rp != NULL) {
		assert_null(getport(rp));
		assert_int_equal(rmport(rp), 0);
	}
}

/* The same timers through every reply kind but a queue: none (poll MSGF_DONE). */
static void
no_reply_port(void **s)
{
	(void)s;
	message_alone(NULL);
}

static void
message_alone_takes_occurrences_off_the_port(void **s)
{
	(void)s;
	message_alone(mkport_queue());
}

/* A child after fork() restarts the kernel and has timers of its own; the parent's go on. */
static void
fork_child_starts_afresh(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_timer m;
	pid_t pid;
	int i;

	(void)s;
	if (PS_TSAN) {
		rmport(rp);
		skip();			/* the child could not start the kernel's threads */
	}
	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms1, &ms1, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	assert_int_equal(rearmsys(&m.hdr), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		msgport_t *cp;
		struct sys_timer c;
		struct timespec t = { 0, 5000000 }, dl = { 30, 0 };

		prep_timer(&c, CLOCK_MONOTONIC, 0, &t, NULL, NULL);
		if (sendsys(sysport(), &c.hdr, sizeof(c)) != EOWNERDEAD)
			_exit(1);
		if (sysport_start(NULL) != 0 || (cp = mkport_queue()) == NULL)
			_exit(2);
		prep_timer(&c, CLOCK_MONOTONIC, 0, &t, NULL, cp);
		if (sendsys(sysport(), &c.hdr, sizeof(c)) != EASYNC)
			_exit(3);
		if (timedwaitsys(cp, &c.hdr, &dl) != 0 || !(msgflags(&c.hdr) & MSGF_FINAL))
			_exit(4);
		_exit(0);
	}
	ps_reap(pid);
	for (i = 0; i < 20; i++) {
		assert_int_equal(ps_take(rp, &m.hdr), 0);
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	ps_abort(rp, &m.hdr);
	assert_int_equal(rmport(rp), 0);
}

/*
 * A thread waiting for a CLOCK_MONOTONIC timer message itself sleeps
 * until its expiry, and the timer thread is not told of the timer
 * meanwhile.  A wait that gives up first (timedwaitsys) hands the timer
 * back: waiting for the port alone, which only the timer thread can
 * serve, still brings the expiry.  And the other way: a tick taken
 * directly, rearmed, then waited for on the port alone.
 */
static void
direct_wait_hands_back(void **s)
{
	struct timespec period = { 0, 50000000 }, short_wait = { 0, 1000000 }, dl = { 30, 0 };
	msgport_t *rp = mkport_queue();
	struct sys_timer m;
	int i, tries, r;

	(void)s;
	prep_timer(&m, CLOCK_MONOTONIC, 0, &period, &period, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	for (i = tries = 0; i < 3; i++) {
		/* gives up 1 ms in, well before the expiry -- unless a slow
		   machine took so long since the last one that it came first */
		if ((r = timedwaitsys(rp, &m.hdr, &short_wait)) == 0) {
			assert_true(++tries < 100);
			assert_int_equal(rearmsys(&m.hdr), 0);
			i--;
			continue;
		}
		assert_int_equal(r, ETIMEDOUT);
		assert_int_equal(timedwaitsys(rp, NULL, &dl), 0);
		assert_ptr_equal(getport(rp), &m.hdr);
		ps_assert_occurrence(&m.hdr);
		assert_int_equal(rearmsys(&m.hdr), 0);
		/* taken directly, then the next one on the port alone */
		assert_int_equal(ps_take(rp, &m.hdr), 0);
		ps_assert_occurrence(&m.hdr);
		assert_int_equal(rearmsys(&m.hdr), 0);
		assert_int_equal(timedwaitsys(rp, NULL, &dl), 0);
		assert_ptr_equal(getport(rp), &m.hdr);
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	ps_abort(rp, &m.hdr);
	assert_int_equal(rmport(rp), 0);
}

static struct sys_timer far_timer;

static void *
abort_soon(void *arg)
{
	(void)arg;
	test_sleep_ms(20);
	assert_int_equal(abortsys(&far_timer.hdr), 0);
	return NULL;
}

/* abortsys() from another thread wakes the thread asleep until the expiry. */
static void
abort_wakes_direct_waiter(void **s)
{
	struct timespec hour = { 3600, 0 };
	msgport_t *rp = mkport_queue();
	pthread_t t;
	double t0;

	(void)s;
	prep_timer(&far_timer, CLOCK_MONOTONIC, 0, &hour, &hour, rp);
	assert_int_equal(sendsys(sysport(), &far_timer.hdr, sizeof(far_timer)), EASYNC);
	t0 = test_now();
	assert_int_equal(pthread_create(&t, NULL, abort_soon, NULL), 0);
	assert_int_equal(ps_take(rp, &far_timer.hdr), ECANCELED);
	ps_assert_final(&far_timer.hdr);
	assert_true(test_now() - t0 < 25.0);	/* woken, not by the 30 s deadline */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rmport(rp), 0);
}

static int
count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

/* Hundreds of one-shots taken directly, one after another: no descriptor piles up. */
static void
oneshots_leave_no_descriptors(void **s)
{
	struct timespec us100 = { 0, 100000 };
	msgport_t *rp = mkport_queue();
	struct sys_timer m;
	int before, i;

	(void)s;
	prep_timer(&m, CLOCK_MONOTONIC, 0, &us100, NULL, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	before = count_fds();
	for (i = 0; i < 300; i++) {
		prep_timer(&m, CLOCK_MONOTONIC, 0, &us100, NULL, rp);
		assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
		assert_int_equal(ps_take(rp, &m.hdr), 0);
		ps_assert_final(&m.hdr);
		assert_int_equal(m.hdr.ms_count, 1);
	}
	assert_true(count_fds() <= before + 1);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(periodic_accounts_for_time),
		cmocka_unit_test(overruns_while_held),
		cmocka_unit_test(oneshot_rel_mono),
		cmocka_unit_test(oneshot_abs_mono),
		cmocka_unit_test(oneshot_rel_real),
		cmocka_unit_test(oneshot_abs_real),
		cmocka_unit_test(oneshot_in_the_past),
		cmocka_unit_test(abort_each),
		cmocka_unit_test(cancel_on_clock_set),
		cmocka_unit_test(no_reply_port),
		cmocka_unit_test(message_alone_takes_occurrences_off_the_port),
		cmocka_unit_test(fork_child_starts_afresh),
		cmocka_unit_test(direct_wait_hands_back),
		cmocka_unit_test(abort_wakes_direct_waiter),
		cmocka_unit_test(oneshots_leave_no_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
