/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a queue reply port collects returned messages without
 * notification; the user drains it.  Async and sync sends to a server
 * port, results and errors in the message, per-sender order kept.
 */
#include "testutil.h"

static void
async_echo_comes_back_on_queue(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 42);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(rport, &tm.hdr), 0);
	assert_int_equal(tm.hdr.ms_result, 42);
	assert_true(flags_of(&tm.hdr) & MSGF_DONE);
	assert_true(flags_of(&tm.hdr) & MSGF_REPLY);
	assert_false(flags_of(&tm.hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
	assert_null(getport(rport));
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
errors_travel_in_the_message(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_FAIL, MSGF_ASYNC, rport, ENOENT);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(rport, &tm.hdr), ENOENT);
	assert_int_equal(tm.hdr.ms_error, ENOENT);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
sync_send_waits_and_skips_the_reply_port(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, 0, rport, 7);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), 0);
	assert_int_equal(tm.hdr.ms_result, 7);
	assert_true(tm.seen);
	assert_true(flags_of(&tm.hdr) & MSGF_DONE);
	assert_false(flags_of(&tm.hdr) & (MSGF_INFLIGHT | MSGF_REPLY | MSGF_SYNC));
	/* a synchronous message is never queued on its reply port */
	assert_null(getport(rport));
	assert_int_equal(errno, EAGAIN);
	testmsg_init(&tm, TCMD_FAIL, 0, NULL, EIO);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EIO);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

#define NORDER 500

static void
one_senders_replies_keep_their_order(void **state)
{
	struct testserver ts;
	static struct testmsg tm[NORDER];
	msgport_t *rport = mkport_queue();
	msg_t *m;
	int i, n = 0;

	(void)state;
	testserver_start(&ts);
	for (i = 0; i < NORDER; i++) {
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, rport, i);
		assert_int_equal(sendsys(ts.port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	while (n < NORDER) {
		assert_int_equal(waitsys(rport, NULL), 0);
		while ((m = getport(rport)) != NULL) {
			assert_ptr_equal(m, &tm[n].hdr);
			assert_int_equal(m->ms_result, n);
			n++;
		}
	}
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
cookie_and_user_bits_are_left_alone(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();
	int cookie;

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC | 0x5a000000u, rport, 1);
	tm.hdr.ms_cookie = &cookie;
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(rport, &tm.hdr), 0);
	assert_ptr_equal(tm.hdr.ms_cookie, &cookie);
	assert_int_equal(flags_of(&tm.hdr) & MSGF_USERMASK, 0x5a000000u);
	assert_int_equal(tm.hdr.ms_size, sizeof(tm));
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(async_echo_comes_back_on_queue),
		cmocka_unit_test(errors_travel_in_the_message),
		cmocka_unit_test(sync_send_waits_and_skips_the_reply_port),
		cmocka_unit_test(one_senders_replies_keep_their_order),
		cmocka_unit_test(cookie_and_user_bits_are_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
