/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: removing a port never loses or corrupts a message: queued
 * replies go back to the user done and idle, unreceived requests return
 * to their senders with ECANCELED, and replies still owed refuse (EBUSY).
 */
#include "testutil.h"

static void
queued_replies_are_handed_back(void **state)
{
	struct testserver ts;
	struct testmsg tm[3];
	msgport_t *rport = mkport_queue();
	int i;

	(void)state;
	testserver_start(&ts);
	for (i = 0; i < 3; i++) {
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, rport, i);
		assert_int_equal(sendsys(ts.port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	testserver_sync(&ts);			/* all three queued, none taken */
	assert_int_equal(rmport(rport), 0);
	for (i = 0; i < 3; i++) {
		assert_true(flags_of(&tm[i].hdr) & MSGF_DONE);
		assert_false(flags_of(&tm[i].hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
		assert_int_equal(tm[i].hdr.ms_result, i);
	}
	testserver_stop(&ts);
}

static void
owed_replies_make_it_ebusy(void **state)
{
	struct testserver ts;
	struct testmsg held, release;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&held, TCMD_HOLD, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(ts.port, &held.hdr, sizeof(held)), EASYNC);
	assert_int_equal(rmport(rport), EBUSY);
	/* refused, but closed: no new message may name it */
	testmsg_init(&release, TCMD_ECHO, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), EPIPE);
	/* a closed port still owed a reply is waited on, not EPIPE */
	testmsg_init(&release, TCMD_RELEASE, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), EASYNC);
	assert_int_equal(waitsys(rport, NULL), 0);
	assert_ptr_equal(getport(rport), &held.hdr);
	assert_int_equal(waitsys(rport, NULL), EPIPE);	/* now owed nothing */
	assert_int_equal(waitsys(NULL, &release.hdr), 0);
	assert_int_equal(rmport(rport), 0);
	testserver_stop(&ts);
}

static void
requests_being_served_make_it_ebusy(void **state)
{
	msgport_t *server = mkport_queue();
	struct testmsg tm;
	msg_t *req;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EASYNC);
	req = getport(server);
	assert_ptr_equal(req, &tm.hdr);
	/* the request still points at its port: it must not go yet */
	assert_int_equal(rmport(server), EBUSY);
	assert_int_equal(abortsys(req), 0);		/* safe: the port is there */
	assert_int_equal(replymsg(req, 0), 0);
	assert_int_equal(waitsys(NULL, &tm.hdr), 0);
	assert_int_equal(rmport(server), 0);
}

static void
unreceived_requests_return_ecanceled(void **state)
{
	msgport_t *server = mkport_queue(), *rport = mkport_queue();
	struct testmsg tm[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		/* two come back to a reply port, two are only marked done */
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, i < 2 ? rport : NULL, i);
		assert_int_equal(sendsys(server, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	assert_int_equal(rmport(server), 0);
	assert_ptr_equal(getport(rport), &tm[0].hdr);
	assert_ptr_equal(getport(rport), &tm[1].hdr);
	assert_null(getport(rport));
	for (i = 0; i < 4; i++) {
		assert_int_equal(tm[i].hdr.ms_error, ECANCELED);
		assert_false(flags_of(&tm[i].hdr) & MSGF_INFLIGHT);
	}
	assert_int_equal(rmport(rport), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queued_replies_are_handed_back),
		cmocka_unit_test(owed_replies_make_it_ebusy),
		cmocka_unit_test(requests_being_served_make_it_ebusy),
		cmocka_unit_test(unreceived_requests_return_ecanceled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
