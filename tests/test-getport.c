/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: getport() takes without waiting: NULL/EAGAIN when empty,
 * messages in arrival order, EPIPE once closed and empty.
 */
#include "testutil.h"

static void
empty_then_filled_then_closed(void **state)
{
	struct testserver ts;
	struct testmsg tm[4];
	msgport_t *rport = mkport_queue();
	int i;

	(void)state;
	testserver_start(&ts);
	errno = 0;
	assert_null(getport(rport));
	assert_int_equal(errno, EAGAIN);
	for (i = 0; i < 4; i++) {
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, rport, 10 + i);
		assert_int_equal(sendsys(ts.port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	assert_int_equal(waitsys(rport, &tm[3].hdr), 0);
	assert_int_equal(closeport(rport), 0);
	/* a closed port still hands over what it holds */
	for (i = 0; i < 3; i++) {
		msg_t *m = getport(rport);

		assert_ptr_equal(m, &tm[i].hdr);
		assert_int_equal(m->ms_result, 10 + i);
		assert_false(flags_of(m) & (MSGF_INFLIGHT | MSGF_QUEUED));
	}
	errno = 0;
	assert_null(getport(rport));
	assert_int_equal(errno, EPIPE);
	assert_int_equal(waitsys(rport, NULL), EPIPE);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
server_side_takes_requests(void **state)
{
	msgport_t *server = mkport_queue(), *rport = mkport_queue();
	struct testmsg tm;
	msg_t *req;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 1);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EASYNC);
	req = getport(server);
	assert_ptr_equal(req, &tm.hdr);
	/* a request taken by a server is still in flight, not done */
	assert_true(flags_of(req) & MSGF_INFLIGHT);
	assert_false(flags_of(req) & (MSGF_DONE | MSGF_QUEUED));
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EBUSY);
	assert_int_equal(replymsg(req, 0), 0);
	assert_ptr_equal(getport(rport), &tm.hdr);
	assert_int_equal(rmport(server), 0);
	assert_int_equal(rmport(rport), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_then_filled_then_closed),
		cmocka_unit_test(server_side_takes_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
