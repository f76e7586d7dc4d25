/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the system port's size is configurable: worker threads
 * and slots from the environment (MSGPORT_WORKERS, MSGPORT_SLOTS) or
 * from struct sysport_attr, which wins.  Counted as the process's
 * threads (main + loop + workers) and as the slots a NONBLOCK message
 * finds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>

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

static void
environment_and_attributes(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = 5 };
	msgport_t *rp = mkport_queue();
	struct sys_nanosleep m[16];
	int base;

	(void)s;
	/* a first thread, so that a sanitizer's helper thread exists already */
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, nothing, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	base = kp_nentries("/proc/self/task");
	setenv("MSGPORT_WORKERS", "3", 1);
	setenv("MSGPORT_SLOTS", "7", 1);
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(kp_nentries("/proc/self/task"), base + 2 + 3);
	assert_int_equal(count_slots(rp, m, 16), 7);
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(kp_nentries("/proc/self/task"), base);

	assert_int_equal(sysport_start(&attr), 0);	/* the API wins */
	assert_int_equal(kp_nentries("/proc/self/task"), base + 2 + 2);
	assert_int_equal(count_slots(rp, m, 16), 5);
	assert_int_equal(sysport_stop(), 0);

	unsetenv("MSGPORT_WORKERS");
	unsetenv("MSGPORT_SLOTS");
	attr = (struct sysport_attr){ .sa_intrsig = SIGUSR1 };	/* not real-time */
	assert_int_equal(sysport_start(&attr), EINVAL);
	assert_int_equal(kp_nentries("/proc/self/task"), base);
	assert_int_equal(sysport_start(NULL), 0);
	assert_true(kp_nentries("/proc/self/task") >= base + 2 + 2);		/* CPUs, at least 2 */
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
