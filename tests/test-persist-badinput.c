/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every bad input to the persistent messages gets its error
 * and changes nothing: signal numbers that cannot or may not be taken
 * (0, 65, SIGKILL, SIGSTOP, a fault, msgport's own), a bad qmax, a second
 * message for a taken signal (EBUSY); a bad clock, flags, timespec,
 * interval or first expiry; a persistent command sent synchronously or
 * without MSGF_PERSISTENT, MSGF_PERSISTENT on any other command, a wrong
 * size; rearmsys() on what cannot be handed back; rmport() of a port a
 * persistent message still returns to.
 */
#define _GNU_SOURCE
#include "persistutil.h"

static int
send_signal(int signo, uint32_t qmax, msgport_t *rp)
{
	struct sys_signal m;
	int r;

	prep_signal(&m, signo, rp);
	m.qmax = qmax;
	r = sendsys(sysport(), &m.hdr, sizeof(m));
	if (r == EASYNC) {
		ps_abort(rp, &m.hdr);
		return 0;
	}
	assert_false(msgflags(&m.hdr) & MSGF_INFLIGHT);
	return r;
}

static void
bad_signals(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sysport_attr attr = { .sa_intrsig = SIGRTMAX - 2 };
	int bad[] = { 0, -1, 65, 1000, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL,
		SIGTRAP, SIGSYS, SIGRTMAX - 2 };
	unsigned i;

	(void)s;
	(void)sysport_stop();
	assert_int_equal(sysport_start(&attr), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(send_signal(bad[i], SIGMSG_QMAX, rp), EINVAL);
	assert_int_equal(send_signal(SIGUSR1, 0, rp), EINVAL);
	assert_int_equal(send_signal(SIGUSR1, SIGMSG_QMAX + 1, rp), EINVAL);
	/* the good ones, at both ends */
	assert_int_equal(send_signal(SIGHUP, 1, rp), 0);
	assert_int_equal(send_signal(SIGRTMAX, SIGMSG_QMAX, rp), 0);
	assert_int_equal(rmport(rp), 0);
}

static void
second_message_for_a_signal(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal a, b;

	(void)s;
	prep_signal(&a, SIGUSR1, rp);
	prep_signal(&b, SIGUSR1, rp);
	assert_int_equal(sendsys(sysport(), &a.hdr, sizeof(a)), EASYNC);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EBUSY);
	assert_false(msgflags(&b.hdr) & MSGF_INFLIGHT);
	/* the same message again: in flight */
	assert_int_equal(sendsys(sysport(), &a.hdr, sizeof(a)), EBUSY);
	ps_abort(rp, &a.hdr);
	/* free again once the first is gone */
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	ps_abort(rp, &b.hdr);
	assert_int_equal(rmport(rp), 0);
}

static int
send_timer(clockid_t clock, int flags, long vs, long vns, long is, long ins, msgport_t *rp)
{
	struct timespec v = { vs, vns }, i = { is, ins };
	struct sys_timer m;
	int r;

	prep_timer(&m, clock, flags, &v, &i, rp);
	r = sendsys(sysport(), &m.hdr, sizeof(m));
	if (r == EASYNC) {
		ps_abort(rp, &m.hdr);
		return 0;
	}
	assert_false(msgflags(&m.hdr) & MSGF_INFLIGHT);
	return r;
}

static void
bad_timers(void **s)
{
	msgport_t *rp = mkport_queue();
	const long B = 1000000000L;

	(void)s;
	/* clocks */
	assert_int_equal(send_timer(CLOCK_PROCESS_CPUTIME_ID, 0, 1, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_BOOTTIME, 0, 1, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(-1, 0, 1, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(99, 0, 1, 0, 0, 0, rp), EINVAL);
	/* flags */
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0x100, 1, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_REALTIME, TIMER_CANCEL_ON_SET, 1, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, TIMER_ABSTIME | TIMER_CANCEL_ON_SET,
	    1, 0, 0, 0, rp), EINVAL);
	/* first expiry: not zero, not negative, nanoseconds in range */
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 0, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, TIMER_ABSTIME, 0, 0, 1, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, -1, 0, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 0, -1, 0, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 0, B, 0, 0, rp), EINVAL);
	/* interval: zero is a one-shot, negative or malformed is refused */
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 1, 0, -1, 0, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 1, 0, 0, -5, rp), EINVAL);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 1, 0, 0, B, rp), EINVAL);
	/* the good ones */
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 3600, 0, 0, 0, rp), 0);
	assert_int_equal(send_timer(CLOCK_REALTIME, TIMER_ABSTIME | TIMER_CANCEL_ON_SET,
	    4000000000L, 0, 1, 0, rp), 0);
	assert_int_equal(send_timer(CLOCK_MONOTONIC, 0, 0, 1, 0, B - 1, rp), 0);
	assert_int_equal(rmport(rp), 0);
}

/* Persistent commands only as MSGF_ASYNC | MSGF_PERSISTENT, others never persistent. */
static void
bad_flags_and_sizes(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	struct sys_timer t;
	struct sys_getpid g;
	struct timespec hour = { 3600, 0 };

	(void)s;
	prep_signal(&m, SIGUSR1, rp);
	m.hdr.ms_flags &= ~MSGF_PERSISTENT;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EINVAL);
	prep_signal(&m, SIGUSR1, rp);
	m.hdr.ms_flags &= ~MSGF_ASYNC;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EINVAL);
	prep_signal(&m, SIGUSR1, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m) - 1), EINVAL);
	prep_timer(&t, CLOCK_MONOTONIC, 0, &hour, NULL, rp);
	t.hdr.ms_flags &= ~(MSGF_ASYNC | MSGF_PERSISTENT);
	assert_int_equal(sendsys(sysport(), &t.hdr, sizeof(t)), EINVAL);
	prep_timer(&t, CLOCK_MONOTONIC, 0, &hour, NULL, rp);
	assert_int_equal(sendsys(sysport(), &t.hdr, sizeof(t) + 8), EINVAL);

	prep_getpid(&g);
	g.hdr.ms_flags |= MSGF_PERSISTENT;
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), EINVAL);
	prep_getpid(&g);
	prep_async(&g.hdr, rp);
	g.hdr.ms_flags |= MSGF_PERSISTENT;
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), EINVAL);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static void
bad_rearms(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_signal m;
	struct sys_getpid g;

	(void)s;
	assert_int_equal(rearmsys(NULL), EFAULT);
	prep_signal(&m, SIGUSR1, rp);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);		/* never sent */
	prep_getpid(&g);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(rearmsys(&g.hdr), EINVAL);		/* not persistent */

	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);		/* not returned yet */
	assert_int_equal(raise(SIGUSR1), 0);
	while (!(msgflags(&m.hdr) & MSGF_DONE))
		test_sleep_ms(1);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);		/* still queued: take it first */
	assert_int_equal(ps_take(rp, &m.hdr), 0);
	assert_int_equal(rmport(rp), EBUSY);			/* it still returns here */
	assert_int_equal(rearmsys(&m.hdr), 0);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);		/* twice */
	ps_abort(rp, &m.hdr);
	assert_int_equal(rearmsys(&m.hdr), EINVAL);		/* final: idle */
	assert_int_equal(abortsys(&m.hdr), EINVAL);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_signals),
		cmocka_unit_test(second_message_for_a_signal),
		cmocka_unit_test(bad_timers),
		cmocka_unit_test(bad_flags_and_sizes),
		cmocka_unit_test(bad_rearms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
