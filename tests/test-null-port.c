/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a message with no reply port is only marked done; the
 * sender polls MSGF_DONE or sleeps on the message itself.
 */
#include <sched.h>

#include "testutil.h"

static void
poll_the_done_flag(void **state)
{
	struct testserver ts;
	struct testmsg tm;

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 99);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	while (!msgdone(&tm.hdr))
		sched_yield();
	/* done means idle again: results visible, the message ours */
	assert_false(flags_of(&tm.hdr) & (MSGF_INFLIGHT | MSGF_QUEUED | MSGF_REPLY));
	assert_int_equal(tm.hdr.ms_result, 99);
	assert_int_equal(tm.hdr.ms_error, 0);
	testserver_stop(&ts);
}

static void
waitsys_on_the_message_sleeps_until_done(void **state)
{
	struct testserver ts;
	struct testmsg held, release;

	(void)state;
	testserver_start(&ts);
	testmsg_init(&held, TCMD_HOLD, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(ts.port, &held.hdr, sizeof(held)), EASYNC);
	assert_true(flags_of(&held.hdr) & MSGF_INFLIGHT);
	/* the sync release makes the server reply the held message */
	testmsg_init(&release, TCMD_RELEASE, 0, NULL, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), 0);
	assert_int_equal(waitsys(NULL, &held.hdr), 0);
	assert_true(flags_of(&held.hdr) & MSGF_DONE);
	assert_false(flags_of(&held.hdr) & MSGF_INFLIGHT);
	testserver_stop(&ts);
}

static void
a_returned_message_can_be_sent_again(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	int i;

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	for (i = 0; i < 1000; i++) {
		tm.arg = i;
		assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
		assert_int_equal(waitsys(NULL, &tm.hdr), 0);
		assert_int_equal(tm.hdr.ms_result, i);
	}
	testserver_stop(&ts);
}

static void
waitsys_on_an_idle_message_returns_its_error(void **state)
{
	struct testmsg tm;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, 0, NULL, 0);
	tm.hdr.ms_error = EIO;
	assert_int_equal(waitsys(NULL, &tm.hdr), EIO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(poll_the_done_flag),
		cmocka_unit_test(waitsys_on_the_message_sleeps_until_done),
		cmocka_unit_test(a_returned_message_can_be_sent_again),
		cmocka_unit_test(waitsys_on_an_idle_message_returns_its_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
