/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: signals and timers through every reply kind that
 * interrupts: an upcall port runs the upcall in its owner thread for each
 * occurrence, and the upcall hands the message back with rearmsys(); a
 * critical-section upcall port holds them while the owner is inside
 * crit_enter() -- the occurrences meanwhile are counted, not lost, and
 * delivered at the outermost crit_exit().  (Queue ports and no reply
 * port: test-signal, test-timer.)
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/syscall.h>

#include "persistutil.h"

#define SIG	(SIGRTMIN + 1)

/* What the upcall saw; it runs in signal context, so it only counts. */
struct pstat {
	volatile uint64_t	total;		/* occurrences reported */
	volatile int		calls;
	volatile int		finals;
	volatile int		wrongthread;
	volatile int		incrit;
	volatile int		rearmfail;
	volatile int		ninfo;
	int			values[64];
	pid_t			tid;
};

static volatile sig_atomic_t in_crit;
static struct pstat st;

static pid_t
gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void
persist_upcall(msgport_t *port, void *arg)
{
	struct pstat *p = arg;
	msg_t *m = getport(port);
	uint32_t i;

	p->calls++;
	if (gettid_() != p->tid)
		p->wrongthread++;
	if (in_crit)
		p->incrit++;
	if (m == NULL)
		return;
	if (m->ms_cmd == KCMD_SIGNAL) {
		struct sys_signal *sm = (struct sys_signal *)m;

		for (i = 0; i < sm->ninfo && p->ninfo < 64; i++)
			p->values[p->ninfo++] = sm->info[i].sg_value.sival_int;
	}
	if (msgflags(m) & MSGF_FINAL) {
		p->finals++;
		return;
	}
	p->total += m->ms_count;
	if (rearmsys(m) != 0)
		p->rearmfail++;
}

static void
pstat_init(void)
{
	memset(&st, 0, sizeof(st));
	st.tid = gettid_();
}

/* Sleep in small steps (upcalls run meanwhile) until cond or 30 s. */
#define WAIT_FOR(cond) ({						\
	double _end = test_now() + TEST_DEADLINE_S;			\
	while (!(cond) && test_now() < _end)				\
		test_sleep_ms(1);					\
	(bool)(cond);							\
})

static void
signal_upcall_in_owner(void **s)
{
	struct sys_signal m;
	msgport_t *port;
	pid_t pid;
	int i;

	(void)s;
	pstat_init();
	assert_non_null(port = mkport_upcall(persist_upcall, &st));
	prep_signal(&m, SIG, port);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	for (i = 0; i < 5; i++) {
		pid = ps_child_queue(SIG, i, 1, 0);
		ps_reap(pid);
		assert_true(WAIT_FOR(st.total >= (uint64_t)i + 1 || !PS_EXACT_SIGNALS));
	}
	assert_true(WAIT_FOR(st.total == 5 || !PS_EXACT_SIGNALS));
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_true(WAIT_FOR(st.finals == 1));
	ps_assert_final(&m.hdr);
	assert_int_equal(m.hdr.ms_error, ECANCELED);
	assert_int_equal(st.wrongthread, 0);
	assert_int_equal(st.rearmfail, 0);
	for (i = 0; i < st.ninfo; i++)
		assert_int_equal(st.values[i], i);
	assert_int_equal(rmport(port), 0);
}

/* Signals while the owner is inside a critical section: counted, then delivered. */
static void
signals_during_critical_section(void **s)
{
	enum { K = 10 };
	struct sys_signal m;
	msgport_t *port;
	int i;

	(void)s;
	pstat_init();
	assert_non_null(port = mkport_critupcall(persist_upcall, &st));
	prep_signal(&m, SIG, port);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	crit_enter();
	in_crit = 1;
	for (i = 0; i < K; i++)
		ps_sigqueue(getpid(), SIG, i);
	assert_true(WAIT_FOR(msgflags(&m.hdr) & MSGF_DONE));	/* returned, held back */
	test_sleep_ms(5);
	assert_int_equal(st.calls, 0);
	in_crit = 0;
	crit_exit();
	assert_true(st.calls >= 1);				/* ran at the exit */
	assert_true(WAIT_FOR(st.total == K || !PS_EXACT_SIGNALS));
	if (!PS_EXACT_SIGNALS)
		test_sleep_ms(200);
	assert_true(st.total >= 1 && st.total <= K);
	assert_int_equal(st.incrit, 0);
	assert_int_equal(st.wrongthread, 0);
	for (i = 0; i < st.ninfo; i++)
		assert_true(i == 0 || st.values[i] > st.values[i - 1]);
	if (PS_EXACT_SIGNALS) {
		assert_int_equal(st.ninfo, K);
		for (i = 0; i < K; i++)
			assert_int_equal(st.values[i], i);
	}
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_true(WAIT_FOR(st.finals == 1));
	ps_assert_final(&m.hdr);
	assert_int_equal(rmport(port), 0);
}

/* A 1 ms timer held back by a critical section: its expiries come as overruns. */
static void
timer_during_critical_section(void **s)
{
	const struct timespec ms1 = { 0, 1000000 };
	struct sys_timer m;
	msgport_t *port;
	double t0, held;

	(void)s;
	pstat_init();
	assert_non_null(port = mkport_critupcall(persist_upcall, &st));
	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms1, &ms1, port);
	crit_enter();
	in_crit = 1;
	t0 = test_now();
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	test_sleep_ms(30);
	held = test_now() - t0;
	assert_int_equal(st.calls, 0);
	in_crit = 0;
	crit_exit();
	assert_true(st.calls >= 1);		/* ran at the exit (and perhaps again since) */
	/* the first return came in the section, the rest were counted */
	assert_true(WAIT_FOR(st.total >= (uint64_t)(held * 1000.0) - 2));
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_true(WAIT_FOR(st.finals == 1));
	ps_assert_final(&m.hdr);
	assert_int_equal(st.incrit, 0);
	assert_int_equal(st.wrongthread, 0);
	assert_int_equal(st.rearmfail, 0);
	assert_int_equal(rmport(port), 0);
}

/* A 1 ms timer on a plain upcall port: every tick in the owner thread. */
static void
timer_upcall_in_owner(void **s)
{
	const struct timespec ms1 = { 0, 1000000 };
	struct sys_timer m;
	msgport_t *port;

	(void)s;
	pstat_init();
	assert_non_null(port = mkport_upcall(persist_upcall, &st));
	prep_timer(&m, CLOCK_MONOTONIC, 0, &ms1, &ms1, port);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_true(WAIT_FOR(st.total >= 200));
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_true(WAIT_FOR(st.finals == 1));
	test_sleep_ms(10);
	assert_int_equal(st.finals, 1);
	assert_int_equal(st.wrongthread, 0);
	assert_int_equal(st.rearmfail, 0);
	assert_int_equal(rmport(port), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signal_upcall_in_owner),
		cmocka_unit_test(signals_during_critical_section),
		cmocka_unit_test(timer_during_critical_section),
		cmocka_unit_test(timer_upcall_in_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
