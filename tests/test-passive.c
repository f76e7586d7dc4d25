/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a passive port queues replies quietly; the owner is
 * expected to drain it.  Drained in time, no upcall ever runs; messages
 * still queued when the timeout runs out get exactly one upcall each, in
 * the owner thread, and not before the timeout.  A timeout that runs out
 * inside a critical section waits for its end.
 */
#include "upcallutil.h"

/* Upcall that also notes when it first ran. */
static double first_upcall;

static void
note_time(msgport_t *port, struct upstat *st)
{
	(void)port;
	if (st->calls == 1)
		first_upcall = test_now();
}

static void
drained_in_time_no_upcall(void **state)
{
	struct timespec timeout = { .tv_sec = 2 };
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[3];
	msgport_t *port;
	int i;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_passive(record_upcall, &st, &timeout));
	send_echoes(&ts, tm, 3, port, 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(waitsys(port, &tm[i].hdr), 0);
	/* well past the timeout: the timer fires and finds nothing */
	test_sleep_ms(2500);
	assert_int_equal(st.calls, 0);
	assert_int_equal(flushsys(), 0);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
not_drained_one_upcall_each_after_timeout(void **state)
{
	struct timespec timeout = { .tv_nsec = 200 * 1000000L };
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[3];
	msgport_t *port;
	double sent;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	st.extra = note_time;
	assert_non_null(port = mkport_passive(record_upcall, &st, &timeout));
	sent = test_now();
	send_echoes(&ts, tm, 3, port, 10);
	assert_true(WAIT_UNTIL(st.calls == 3));
	/* the timer starts at the first reply, which came after sent */
	assert_true(first_upcall - sent >= 0.2);
	assert_int_equal(st.taken, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(st.order[i], 10 + i);
	assert_int_equal(st.wrongthread, 0);
	/* exactly once: another timeout's worth adds nothing */
	test_sleep_ms(500);
	assert_int_equal(st.calls, 3);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
partly_drained_upcalls_the_rest(void **state)
{
	struct timespec timeout = { .tv_sec = 2 };
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[3];
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_passive(record_upcall, &st, &timeout));
	send_echoes(&ts, tm, 3, port, 10);
	assert_int_equal(waitsys(port, &tm[0].hdr), 0);
	assert_true(WAIT_UNTIL(st.calls == 2));
	assert_int_equal(st.order[0], 11);
	assert_int_equal(st.order[1], 12);
	test_sleep_ms(500);
	assert_int_equal(st.calls, 2);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static volatile sig_atomic_t in_crit;

static void
timeout_inside_crit_waits_for_exit(void **state)
{
	struct timespec timeout = { .tv_nsec = 50 * 1000000L };
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[2];
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	st.critflag = &in_crit;
	assert_non_null(port = mkport_passive(record_upcall, &st, &timeout));
	crit_enter();
	in_crit = 1;
	send_echoes(&ts, tm, 2, port, 0);
	server_sync(&ts);
	test_sleep_ms(300);
	assert_int_equal(st.calls, 0);
	in_crit = 0;
	crit_exit();
	/* the timer may fire late on a busy machine: then it runs outside */
	assert_true(WAIT_UNTIL(st.calls == 2));
	assert_int_equal(st.incrit, 0);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drained_in_time_no_upcall),
		cmocka_unit_test(not_drained_one_upcall_each_after_timeout),
		cmocka_unit_test(partly_drained_upcalls_the_rest),
		cmocka_unit_test(timeout_inside_crit_waits_for_exit),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
