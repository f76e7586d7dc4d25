/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: signals as persistent messages.  Real signals from a
 * forked child (kill, sigqueue with values) come back with their info;
 * a storm of real-time signals while the message is held is counted
 * exactly, its infos kept up to qmax and the rest counted as dropped; a
 * signal that hits another thread still arrives; the application's
 * disposition is back after the final return; abortsys() in the middle
 * of a storm gives exactly one final return and nothing after it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>

#include "persistutil.h"

#define STORM_SIG	(SIGRTMIN + 1)
#define BARRIER_SIG	(SIGRTMIN + 3)

static void
kill_from_child(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	pid_t pid;

	(void)s;
	prep_signal(&m, SIGUSR1, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_true(msgflags(&m.hdr) & MSGF_INFLIGHT);
	pid = ps_child_queue(SIGUSR1, 0, 1, 1);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	ps_assert_occurrence(&m.hdr);
	assert_int_equal(m.hdr.ms_count, 1);
	assert_int_equal(m.ninfo, 1);
	assert_int_equal(m.dropped, 0);
	assert_int_equal(m.info[0].sg_signo, SIGUSR1);
	assert_int_equal(m.info[0].sg_code, SI_USER);
	assert_int_equal(m.info[0].sg_pid, pid);
	assert_int_equal(m.info[0].sg_uid, getuid());
	ps_reap(pid);

	/* handed back, it comes again */
	assert_int_equal(rearmsys(&m.hdr), 0);
	assert_false(msgflags(&m.hdr) & MSGF_DONE);
	pid = ps_child_queue(SIGUSR1, 0, 1, 1);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	assert_int_equal(m.hdr.ms_count, 1);
	assert_int_equal(m.info[0].sg_pid, pid);
	ps_reap(pid);

	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(rearmsys(&m.hdr), 0);	/* aborted while held: final on rearm */
	assert_int_equal(ps_take(rp, &m.hdr), ECANCELED);
	ps_assert_final(&m.hdr);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static void
sigqueue_values_from_child(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	pid_t pid;
	int i;

	(void)s;
	prep_signal(&m, STORM_SIG, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	for (i = 0; i < 5; i++) {
		pid = ps_child_queue(STORM_SIG, 100 + i, 1, 0);
		assert_int_equal(ps_take(rp, &m.hdr), 0);
		ps_assert_occurrence(&m.hdr);
		assert_int_equal(m.hdr.ms_count, 1);
		assert_int_equal(m.info[0].sg_signo, STORM_SIG);
		assert_int_equal(m.info[0].sg_code, SI_QUEUE);
		assert_int_equal(m.info[0].sg_pid, pid);
		assert_int_equal(m.info[0].sg_value.sival_int, 100 + i);
		ps_reap(pid);
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	/* not held: abortsys ends it at once */
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(ps_take(rp, &m.hdr), ECANCELED);
	ps_assert_final(&m.hdr);
	assert_int_equal(rmport(rp), 0);
}

/*
 * Thousands of real-time signals while the message is held: the first
 * occurrence returns it, the rest are counted; the barrier proves all of
 * them reached the kernel; the next return reports them, qmax infos in
 * order, the others as dropped.
 */
static void
storm_while_held(void **s)
{
	enum { N = 3000, QMAX = 8 };
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	uint64_t total = 0;
	uint32_t i;
	int last = -1;
	bool have = false;
	msg_t *g;
	pid_t pid;

	(void)s;
	prep_signal(&m, STORM_SIG, rp);
	m.qmax = QMAX;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	pid = ps_child_queue(STORM_SIG, 0, N, 0);
	ps_reap(pid);
	ps_barrier(rp, BARRIER_SIG);

	while (total < N) {
		if (!have)
			assert_int_equal(ps_take(rp, &m.hdr), 0);
		have = false;
		ps_assert_occurrence(&m.hdr);
		assert_true(m.hdr.ms_count >= 1);
		assert_int_equal(m.ninfo, m.hdr.ms_count < QMAX ? m.hdr.ms_count : QMAX);
		assert_int_equal(m.dropped, m.hdr.ms_count - m.ninfo);
		for (i = 0; i < m.ninfo; i++) {
			assert_true(m.info[i].sg_value.sival_int > last);
			last = m.info[i].sg_value.sival_int;
		}
		if (PS_EXACT_SIGNALS) {
			if (total == 0) {
				/* the first occurrence returned it; the rest came while held */
				assert_int_equal(m.hdr.ms_count, 1);
				assert_int_equal(m.info[0].sg_value.sival_int, 0);
			} else {
				assert_int_equal(m.hdr.ms_count, N - 1);
				for (i = 0; i < QMAX; i++)
					assert_int_equal(m.info[i].sg_value.sival_int, (int)i + 1);
			}
		}
		total += m.hdr.ms_count;
		assert_int_equal(rearmsys(&m.hdr), 0);
		if (!PS_EXACT_SIGNALS) {
			/* the sanitizer may have folded some: take what came */
			ps_barrier(rp, BARRIER_SIG);
			if ((g = getport(rp)) == NULL)
				break;
			assert_ptr_equal(g, &m.hdr);
			have = true;
		}
	}
	total += ps_abort(rp, &m.hdr);
	if (PS_EXACT_SIGNALS)
		assert_int_equal(total, N);
	else
		assert_true(total >= 1 && total <= N);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

/* The signal hits a thread other than the one that waits. */
static int other_stop;		/* atomics: the thread polls it */

static void *
other_main(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!__atomic_load_n(&other_stop, __ATOMIC_ACQUIRE))
		test_sleep_ms(1);
	return NULL;
}

static void
signal_on_another_thread(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	sigset_t set, old;
	pthread_t t;
	pid_t pid;

	(void)s;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	__atomic_store_n(&other_stop, 0, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&t, NULL, other_main, NULL), 0);
	prep_signal(&m, SIGUSR2, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	pid = ps_child_queue(SIGUSR2, 0, 1, 1);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	assert_int_equal(m.info[0].sg_signo, SIGUSR2);
	assert_int_equal(m.info[0].sg_pid, pid);
	ps_reap(pid);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(rearmsys(&m.hdr), 0);
	assert_int_equal(ps_take(rp, &m.hdr), ECANCELED);
	__atomic_store_n(&other_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(rmport(rp), 0);
}

/* The application's handler is left alone meanwhile, and back after. */
static volatile sig_atomic_t app_hits;

static void
app_handler(int sig)
{
	(void)sig;
	app_hits++;
}

static void
disposition_restored(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sigaction sa, cur;
	struct sys_signal m;

	(void)s;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_handler;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	app_hits = 0;

	prep_signal(&m, SIGUSR1, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	assert_int_equal(m.info[0].sg_pid, getpid());
	assert_int_equal(app_hits, 0);		/* caught as a message, not stolen twice */
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(rearmsys(&m.hdr), 0);
	assert_int_equal(ps_take(rp, &m.hdr), ECANCELED);

	assert_int_equal(sigaction(SIGUSR1, NULL, &cur), 0);
	assert_ptr_equal(cur.sa_handler, app_handler);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(app_hits, 1);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGUSR1, &sa, NULL);
	assert_int_equal(rmport(rp), 0);
}

/*
 * abortsys() while a child storms: one final return, ECANCELED, then
 * nothing, ever (the barrier proves the storm's tail was dealt with; the
 * storm's signal is ignored once the message is gone, as it was before).
 */
static void
abort_under_storm(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sigaction ign, old;
	struct sys_signal m;
	int returns = 0, r;
	pid_t pid;

	(void)s;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(STORM_SIG, &ign, &old), 0);
	prep_signal(&m, STORM_SIG, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	pid = ps_child_queue(STORM_SIG, 0, 20000, 0);
	for (;;) {
		r = ps_take(rp, &m.hdr);
		if (r == ECANCELED)
			break;
		assert_int_equal(r, 0);
		ps_assert_occurrence(&m.hdr);
		/* the first return is certain; the storm usually goes on after */
		if (++returns == 1)
			assert_int_equal(abortsys(&m.hdr), 0);
		assert_int_equal(rearmsys(&m.hdr), 0);
	}
	ps_assert_final(&m.hdr);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);
	ps_reap(pid);
	ps_barrier(rp, BARRIER_SIG);
	assert_null(getport(rp));
	assert_int_equal(sigaction(STORM_SIG, NULL, &ign), 0);
	assert_ptr_equal(ign.sa_handler, SIG_IGN);
	sigaction(STORM_SIG, &old, NULL);
	assert_int_equal(rmport(rp), 0);
}

/* sysport_stop() ends every signal message: at once, or at rearm if held. */
static void
stop_ends_them(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal a, b;

	(void)s;
	prep_signal(&a, SIGUSR1, rp);
	prep_signal(&b, SIGUSR2, rp);
	assert_int_equal(sendsys(sysport(), &a.hdr, sizeof(a)), EASYNC);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(ps_take(rp, &a.hdr), 0);		/* a held */
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(ps_take(rp, &b.hdr), ECANCELED);
	ps_assert_final(&b.hdr);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), EBUSY);			/* a is still owed */
	assert_int_equal(rearmsys(&a.hdr), 0);
	assert_int_equal(ps_take(rp, &a.hdr), ECANCELED);
	ps_assert_final(&a.hdr);
	assert_int_equal(rmport(rp), 0);
	assert_int_equal(sysport_start(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill_from_child),
		cmocka_unit_test(sigqueue_values_from_child),
		cmocka_unit_test(storm_while_held),
		cmocka_unit_test(signal_on_another_thread),
		cmocka_unit_test(disposition_restored),
		cmocka_unit_test(abort_under_storm),
		cmocka_unit_test(stop_ends_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
