/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: flushsys() runs, in the calling thread and right away,
 * what was held back for it: upcalls a critical section held (even while
 * still inside it) and passive ports' messages whose timeout has not run
 * out.  It returns how many upcalls ran, and nothing runs twice.
 */
#include "upcallutil.h"

static volatile sig_atomic_t in_crit;

static void
nothing_held_runs_nothing(void **state)
{
	(void)state;
	assert_int_equal(flushsys(), 0);
	crit_enter();
	assert_int_equal(flushsys(), 0);
	crit_exit();
}

static void
runs_held_upcalls_inside_a_critical_section(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[3];
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	st.critflag = &in_crit;
	assert_non_null(port = mkport_critupcall(record_upcall, &st));
	crit_enter();
	send_echoes(&ts, tm, 3, port, 20);
	assert_true(WAIT_UNTIL(all_done(tm, 3)));
	server_sync(&ts);
	assert_int_equal(st.calls, 0);
	assert_int_equal(flushsys(), 3);
	assert_int_equal(st.calls, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(st.order[i], 20 + i);
	assert_int_equal(st.wrongthread, 0);
	/* still inside: new replies are held again */
	in_crit = 1;
	send_echoes(&ts, tm, 1, port, 30);
	server_sync(&ts);
	assert_int_equal(st.calls, 3);
	in_crit = 0;
	crit_exit();
	assert_int_equal(st.calls, 4);
	assert_int_equal(st.order[3], 30);
	assert_int_equal(st.incrit, 0);
	assert_int_equal(flushsys(), 0);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
runs_passive_ports_before_their_timeout(void **state)
{
	struct timespec timeout = { .tv_sec = 3600 };
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[2];
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_passive(record_upcall, &st, &timeout));
	send_echoes(&ts, tm, 2, port, 50);
	assert_true(WAIT_UNTIL(all_done(tm, 2)));
	server_sync(&ts);
	assert_int_equal(st.calls, 0);
	assert_int_equal(flushsys(), 2);
	assert_int_equal(st.calls, 2);
	assert_int_equal(st.order[0], 50);
	assert_int_equal(st.order[1], 51);
	assert_int_equal(flushsys(), 0);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_held_runs_nothing),
		cmocka_unit_test(runs_held_upcalls_inside_a_critical_section),
		cmocka_unit_test(runs_passive_ports_before_their_timeout),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
