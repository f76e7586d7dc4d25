/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a critical-section upcall port holds its upcalls while its
 * owner is inside crit_enter(), however deeply nested: replies from
 * another thread only leave a mark, and the outermost crit_exit() runs
 * every held upcall, in the order the replies came.  Outside a critical
 * section it interrupts like an upcall port.
 */
#include "upcallutil.h"

#define N 5

static volatile sig_atomic_t in_crit;

static void
held_until_outermost_exit(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[N];
	msgport_t *port;
	int i;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	st.critflag = &in_crit;
	assert_non_null(port = mkport_critupcall(record_upcall, &st));
	crit_enter();
	crit_enter();
	in_crit = 1;
	send_echoes(&ts, tm, N, port, 100);
	assert_true(WAIT_UNTIL(all_done(tm, N)));
	server_sync(&ts);
	/* every signal has been taken by now, and only marked */
	assert_int_equal(st.calls, 0);
	in_crit = 0;
	crit_exit();
	assert_int_equal(st.calls, 0);
	crit_exit();
	assert_int_equal(st.calls, N);
	assert_int_equal(st.taken, N);
	for (i = 0; i < N; i++)
		assert_int_equal(st.order[i], 100 + i);
	assert_int_equal(st.incrit, 0);
	assert_int_equal(st.wrongthread, 0);
	/* nothing is left to run twice */
	assert_int_equal(flushsys(), 0);
	assert_int_equal(st.calls, N);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
interrupts_outside_critical_sections(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;
	double end;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_critupcall(record_upcall, &st));
	send_echoes(&ts, &tm, 1, port, 5);
	end = test_now() + TEST_DEADLINE_S;
	while (st.calls == 0 && test_now() < end)
		continue;
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.order[0], 5);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

/* Replies that land after the mark, before the exit, are all run too. */
static void
late_replies_join_the_held_ones(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg a[2], b[2];
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_critupcall(record_upcall, &st));
	crit_enter();
	send_echoes(&ts, a, 2, port, 0);
	server_sync(&ts);
	send_echoes(&ts, b, 2, port, 2);
	server_sync(&ts);
	assert_int_equal(st.calls, 0);
	crit_exit();
	assert_int_equal(st.calls, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(st.order[i], i);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(held_until_outermost_exit),
		cmocka_unit_test(interrupts_outside_critical_sections),
		cmocka_unit_test(late_replies_join_the_held_ones),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
