/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: abortsys() on a message sent to a queue port: taken back
 * unstarted with ECANCELED, flagged for a server that already has it,
 * harmless once done; each message still returned exactly once.
 */
#include <sched.h>

#include "testutil.h"

static void
unstarted_request_comes_back_ecanceled(void **state)
{
	msgport_t *server = mkport_queue(), *rport = mkport_queue();
	struct testmsg tm;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EASYNC);
	assert_true(flags_of(&tm.hdr) & MSGF_ABORTABLE);
	assert_int_equal(abortsys(&tm.hdr), 0);
	assert_int_equal(waitsys(rport, &tm.hdr), ECANCELED);
	assert_true(flags_of(&tm.hdr) & MSGF_ABORTED);
	assert_null(getport(server));		/* gone from the server */
	assert_null(getport(rport));		/* returned once */
	assert_int_equal(rmport(server), 0);
	assert_int_equal(rmport(rport), 0);
}

static void
started_request_is_flagged_and_finishes(void **state)
{
	msgport_t *server = mkport_queue();
	struct testmsg tm;
	msg_t *req;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EASYNC);
	req = getport(server);
	/* taken by a server: no longer something abort can cut short */
	assert_false(flags_of(req) & MSGF_ABORTABLE);
	assert_int_equal(abortsys(&tm.hdr), 0);
	assert_int_equal(abortsys(&tm.hdr), 0);		/* again: no effect */
	assert_true(flags_of(req) & MSGF_ABORTED);
	assert_false(flags_of(req) & MSGF_DONE);
	req->ms_result = 77;
	assert_int_equal(replymsg(req, 0), 0);
	assert_int_equal(waitsys(NULL, &tm.hdr), 0);	/* its real result */
	assert_int_equal(tm.hdr.ms_result, 77);
	assert_int_equal(rmport(server), 0);
}

struct syncsend {
	msgport_t	*server;
	struct testmsg	tm;
	int		r;
};

static void *
send_sync(void *arg)
{
	struct syncsend *ss = arg;

	ss->r = sendsys(ss->server, &ss->tm.hdr, sizeof(ss->tm));
	return NULL;
}

static void
sync_sender_is_released_by_abort(void **state)
{
	struct syncsend ss;
	pthread_t t;

	(void)state;
	ss.server = mkport_queue();
	ss.r = -1;
	testmsg_init(&ss.tm, TCMD_ECHO, 0, NULL, 0);
	assert_int_equal(pthread_create(&t, NULL, send_sync, &ss), 0);
	/* nobody serves the port: the sender sleeps until we abort */
	while (!(flags_of(&ss.tm.hdr) & MSGF_SYNC))
		sched_yield();
	assert_int_equal(abortsys(&ss.tm.hdr), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(ss.r, ECANCELED);
	assert_false(flags_of(&ss.tm.hdr) & MSGF_INFLIGHT);
	assert_null(getport(ss.server));
	assert_int_equal(rmport(ss.server), 0);
}

static void
abort_after_done_keeps_the_result(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 5);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	testserver_sync(&ts);
	assert_true(flags_of(&tm.hdr) & MSGF_QUEUED);	/* done, still queued */
	assert_int_equal(abortsys(&tm.hdr), 0);
	assert_int_equal(waitsys(rport, &tm.hdr), 0);
	assert_int_equal(tm.hdr.ms_result, 5);
	assert_null(getport(rport));
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unstarted_request_comes_back_ecanceled),
		cmocka_unit_test(started_request_is_flagged_and_finishes),
		cmocka_unit_test(sync_sender_is_released_by_abort),
		cmocka_unit_test(abort_after_done_keeps_the_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
