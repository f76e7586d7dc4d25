/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the system port's size is configurable: worker threads
 * and slots from the environment (MSGPORT_WORKERS, MSGPORT_SLOTS) or
 * from struct sysport_attr, which wins.  Workers start on demand: the
 * system port starts with the loop, the interrupter and one worker, calls
 * that finish in place start no more, and calls that block in the pool
 * start one each, up to the bound and never beyond it; the rest wait
 * their turn and complete.  Counted as the process's threads and as the
 * slots a NONBLOCK message finds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>

#include "kputil.h"

static void *
nothing(void *arg)
{
	return arg;
}

/* Fill every slot with hour-long sleeps: how many fit before EAGAIN? */
static int
count_slots(msgport_t *rp, struct sys_nanosleep *m, int max)
{
	static const struct timespec hour = { 3600, 0 };
	int n, i, r;

	for (n = 0; n < max; n++) {
		prep_nanosleep(&m[n], &hour, NULL);
		prep_async(&m[n].hdr, rp);
		m[n].hdr.ms_flags |= MSGF_NONBLOCK;
		if ((r = sendsys(sysport(), &m[n].hdr, sizeof(m[n]))) == EAGAIN)
			break;
		assert_int_equal(r, EASYNC);
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(abortsys(&m[i].hdr), 0);
		assert_int_equal(kp_waitdone(rp, &m[i].hdr), ECANCELED);
	}
	return n;
}

#define AT_START	3	/* threads: the loop, the interrupter, one worker */

static int base;		/* the process's threads without the system port */

static void
pause_ms(long ms)
{
	struct timespec t = { 0, ms * 1000000L };

	nanosleep(&t, NULL);
}

/* The system port's threads now. */
static int
kthreads(void)
{
	return kp_nentries("/proc/self/task") - base;
}

/*
 * workers_for
 *	n reads of an empty pipe, each a generic read(2) that only a worker
 *	can wait in: how many threads the system port has once it has as
 *	many as it should, want (workers start on demand, from another
 *	thread: up to 30 s on a slow machine), and 200 ms more (so that too
 *	many show); then the reads all complete.  Also: calls that finish
 *	in place started none.
 */
static int
workers_for(int n, int want)
{
	msgport_t *rp = mkport_queue();
	struct sys_syscall m[8];
	char buf[8];
	int p[2], i, last;

	assert_true(n <= 8);
	for (i = 0; i < 1000; i++) {
		struct sys_getpid g;

		prep_getpid(&g);
		prep_async(&g.hdr, rp);
		assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
		assert_int_equal(g.hdr.ms_result, getpid());
	}
	assert_int_equal(kthreads(), AT_START);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < n; i++) {
		prep_syscall(&m[i], SYS_read, p[0], (long)&buf[i], 1, 0, 0, 0);
		prep_async(&m[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
	}
	for (i = 0; i < 3000 && kthreads() < want; i++)
		pause_ms(10);
	pause_ms(200);
	last = kthreads();
	for (i = 0; i < n; i++)
		assert_false(kp_flags(&m[i].hdr) & MSGF_DONE);
	assert_int_equal(write(p[1], "abcdefgh", (size_t)n), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(kp_waitdone(rp, &m[i].hdr), 0);
		assert_int_equal(m[i].hdr.ms_result, 1);
	}
	close(p[0]), close(p[1]);
	assert_int_equal(rmport(rp), 0);
	return last;
}

static void
environment_and_attributes(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = 5 };
	msgport_t *rp = mkport_queue();
	struct sys_nanosleep m[16];

	(void)s;
	/* a first thread, so that a sanitizer's helper thread exists already */
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, nothing, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	base = kp_nentries("/proc/self/task");
	setenv("MSGPORT_WORKERS", "3", 1);
	setenv("MSGPORT_SLOTS", "7", 1);
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(kthreads(), AT_START);
	assert_int_equal(workers_for(5, 2 + 3), 2 + 3);	/* 3 workers, 2 reads queued */
	assert_int_equal(count_slots(rp, m, 16), 7);
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(kthreads(), 0);

	assert_int_equal(sysport_start(&attr), 0);	/* the API wins */
	assert_int_equal(kthreads(), AT_START);
	assert_int_equal(workers_for(5, 2 + 2), 2 + 2);
	assert_int_equal(count_slots(rp, m, 16), 5);
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(kthreads(), 0);
	attr.sa_workers = 8;
	assert_int_equal(sysport_start(&attr), 0);
	assert_int_equal(workers_for(4, 2 + 4), 2 + 4);	/* no more than asked for */
	assert_int_equal(sysport_stop(), 0);

	unsetenv("MSGPORT_WORKERS");
	unsetenv("MSGPORT_SLOTS");
	attr = (struct sysport_attr){ .sa_intrsig = SIGUSR1 };	/* not real-time */
	assert_int_equal(sysport_start(&attr), EINVAL);
	assert_int_equal(kp_nentries("/proc/self/task"), base);
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(kthreads(), AT_START);
	assert_int_equal(workers_for(2, 2 + 2), 2 + 2);	/* CPUs, at least 2 */
	assert_int_equal(count_slots(rp, m, 16), 16);		/* 4096 */
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(environment_and_attributes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
