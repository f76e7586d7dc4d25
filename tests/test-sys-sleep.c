/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: an asynchronous nanosleep is a timer of the event loop
 * and holds no worker: 100,000 sleeping messages with two workers leave
 * both free for other calls, complete in about their sleep time, and
 * can each be aborted (what was left goes to rem); a sleep never comes
 * back early, and sleeps of different lengths end in the order of their
 * deadlines; a bad request is refused at once; sysport_stop() returns
 * the sleepers.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "kputil.h"

#define NSLEEP	100000

static struct sys_nanosleep ns[NSLEEP];
static struct timespec rem[NSLEEP];
static unsigned char back[NSLEEP];

static void
start(unsigned slots)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = slots };

	(void)sysport_stop();
	assert_int_equal(sysport_start(&attr), 0);
}

static void
send_sleeps(const struct timespec *req, msgport_t *rp, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		prep_nanosleep(&ns[i], req, &rem[i]);
		prep_async(&ns[i].hdr, rp);
		ns[i].hdr.ms_cookie = (void *)(long)i;
		back[i] = 0;
		assert_int_equal(sendsys(sysport(), &ns[i].hdr, sizeof(ns[i])), EASYNC);
	}
}

/* Take n messages off rp, each once, each with error e. */
static void
take(msgport_t *rp, int n, int e)
{
	struct timespec t = { 120, 0 };
	msg_t *got;
	int i, k;

	for (k = 0; k < n; k++) {
		while ((got = getport(rp)) == NULL)
			assert_int_equal(timedwaitsys(rp, NULL, &t), 0);
		i = (int)(long)got->ms_cookie;
		assert_true(got == &ns[i].hdr);
		assert_int_equal(got->ms_error, e);
		assert_int_equal(back[i]++, 0);
	}
	assert_null(getport(rp));
}

/* 100,000 hour-long sleeps: a pool call still runs at once; then abort them. */
static void
sleepers_hold_no_worker(void **s)
{
	static const struct timespec hour = { 3600, 0 };
	msgport_t *rp = mkport_queue(), *pp = mkport_queue();
	struct sys_syscall sc;
	int i;

	(void)s;
	start(NSLEEP + 16);
	send_sleeps(&hour, rp, NSLEEP);
	/* with both workers asleep this would wait behind them for an hour */
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(kp_send(&sc.hdr, sizeof(sc), 1, pp), 0);
	assert_int_equal(sc.hdr.ms_result, getppid());
	assert_null(getport(rp));		/* nobody woke early */
	for (i = 0; i < NSLEEP; i++) {
		assert_true(kp_flags(&ns[i].hdr) & MSGF_ABORTABLE);
		assert_int_equal(abortsys(&ns[i].hdr), 0);
	}
	take(rp, NSLEEP, ECANCELED);
	/* what was left of the hour, as an interrupted nanosleep(2) says */
	assert_true(rem[0].tv_sec > 3000 && rem[0].tv_sec < 3600);
	assert_true(rem[NSLEEP - 1].tv_sec > 3000);
	assert_int_equal(rmport(rp), 0);
	assert_int_equal(rmport(pp), 0);
}

/* 100,000 one-second sleeps with two workers complete (in a pool: 14 hours). */
static void
many_short_sleeps_complete(void **s)
{
	static const struct timespec second = { 1, 0 };
	msgport_t *rp = mkport_queue();
	int i;

	(void)s;
	start(NSLEEP + 16);
	send_sleeps(&second, rp, NSLEEP);
	take(rp, NSLEEP, 0);
	for (i = 0; i < NSLEEP; i++)
		assert_int_equal(ns[i].hdr.ms_result, 0);
	assert_int_equal(rmport(rp), 0);
}

/* A sleep never comes back before its time. */
static void
never_early(void **s)
{
	static const struct timespec req = { 0, 30000000 };
	msgport_t *rp = mkport_queue();
	struct timespec t0, t1;
	long ns_;
	int i;

	(void)s;
	start(0);
	for (i = 0; i < 20; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		send_sleeps(&req, rp, 1);
		assert_int_equal(kp_waitdone(rp, &ns[0].hdr), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns_ = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
		assert_true(ns_ >= req.tv_nsec);
	}
	assert_int_equal(rmport(rp), 0);
}

static long
ts_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000L + t->tv_nsec;
}

/*
 * Sleeps of many lengths end in the order of their deadlines, a third of
 * them aborted from all over the timers' order: each comes back once;
 * only an aborted one comes back ECANCELED, and every one whose abort
 * returned before its deadline does (one that ended first keeps its
 * result, as abortsys(3) says: on a slow run, as under TSan, the first
 * sleeps end while the others are still being sent); the others are
 * never early and never before one whose deadline was earlier (a
 * deadline is known to lie between the clock before its send and after
 * it, plus its length).
 */
static void
mixed_sleeps_end_in_deadline_order(void **s)
{
	enum { N = 600 };
	static struct timespec len[N];
	static long lo[N], hi[N], aborted[N];	/* aborted: when its abortsys() returned */
	msgport_t *rp = mkport_queue();
	struct timespec t = { 120, 0 }, now;
	long last = 0;
	msg_t *got;
	int i, j, k, n, cancelled;

	(void)s;
	start(0);
	for (i = 0; i < N; i++) {
		len[i].tv_sec = 0;
		len[i].tv_nsec = (5 + (i * 37) % 60) * 2000000L;	/* 10 to 128 ms */
		clock_gettime(CLOCK_MONOTONIC, &now);
		lo[i] = ts_ns(&now) + len[i].tv_nsec;
		prep_nanosleep(&ns[i], &len[i], &rem[i]);
		prep_async(&ns[i].hdr, rp);
		ns[i].hdr.ms_cookie = (void *)(long)i;
		back[i] = 0;
		aborted[i] = 0;
		assert_int_equal(sendsys(sysport(), &ns[i].hdr, sizeof(ns[i])), EASYNC);
		clock_gettime(CLOCK_MONOTONIC, &now);
		hi[i] = ts_ns(&now) + len[i].tv_nsec;
	}
	for (i = 0; i < N; i += 3) {
		j = (i * 7) % N;	/* 7 and N share no factor: 200 distinct */
		assert_int_equal(abortsys(&ns[j].hdr), 0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		aborted[j] = ts_ns(&now);
	}
	for (k = n = cancelled = 0; k < N; k++) {
		while ((got = getport(rp)) == NULL)
			assert_int_equal(timedwaitsys(rp, NULL, &t), 0);
		i = (int)(long)got->ms_cookie;
		assert_true(got == &ns[i].hdr);
		assert_int_equal(back[i]++, 0);
		if (got->ms_error == ECANCELED) {
			assert_true(aborted[i] != 0);		/* only an aborted one */
			cancelled++;
			continue;
		}
		assert_int_equal(got->ms_error, 0);
		/* the loop ends a sleep only once the clock has passed its
		   deadline: an abort that returned before then came first */
		assert_true(aborted[i] == 0 || aborted[i] >= lo[i]);
		clock_gettime(CLOCK_MONOTONIC, &now);
		assert_true(ts_ns(&now) >= lo[i]);		/* never early */
		assert_true(hi[i] >= last);			/* in deadline order */
		last = lo[i];
		n++;
	}
	assert_int_equal(n + cancelled, N);
	assert_true(cancelled <= N / 3);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

/* A bad request is refused in place, as nanosleep(2) refuses it. */
static void
bad_requests(void **s)
{
	static const struct timespec neg = { -1, 0 }, big = { 0, 1000000000L };
	msgport_t *rp = mkport_queue();

	(void)s;
	start(0);
	prep_nanosleep(&ns[0], (const struct timespec *)8, NULL);
	prep_async(&ns[0].hdr, rp);
	assert_int_equal(sendsys(sysport(), &ns[0].hdr, sizeof(ns[0])), EFAULT);
	prep_nanosleep(&ns[0], &neg, NULL);
	prep_async(&ns[0].hdr, rp);
	assert_int_equal(sendsys(sysport(), &ns[0].hdr, sizeof(ns[0])), EINVAL);
	prep_nanosleep(&ns[0], &big, NULL);
	prep_async(&ns[0].hdr, rp);
	assert_int_equal(sendsys(sysport(), &ns[0].hdr, sizeof(ns[0])), EINVAL);
	assert_int_equal(ns[0].hdr.ms_result, -1);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

/* sysport_stop() returns every sleeper, ECANCELED, aborted. */
static void
stop_returns_sleepers(void **s)
{
	static const struct timespec hour = { 3600, 0 }, ever = { 1000L * 366 * 24 * 3600, 0 };
	msgport_t *rp = mkport_queue();
	int i;

	(void)s;
	start(0);
	send_sleeps(&hour, rp, 1000);
	prep_nanosleep(&ns[1000], &ever, NULL);		/* further than a century */
	prep_async(&ns[1000].hdr, rp);
	ns[1000].hdr.ms_cookie = (void *)1000L;
	back[1000] = 0;
	assert_int_equal(sendsys(sysport(), &ns[1000].hdr, sizeof(ns[1000])), EASYNC);
	assert_int_equal(sysport_stop(), 0);
	take(rp, 1001, ECANCELED);
	for (i = 0; i <= 1000; i++)
		assert_true(kp_flags(&ns[i].hdr) & MSGF_ABORTED);
	assert_int_equal(rmport(rp), 0);
	assert_int_equal(sysport_start(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_requests),
		cmocka_unit_test(never_early),
		cmocka_unit_test(stop_returns_sleepers),
		cmocka_unit_test(sleepers_hold_no_worker),
		cmocka_unit_test(many_short_sleeps_complete),
		cmocka_unit_test(mixed_sleeps_end_in_deadline_order),
	};

	alarm(600);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
