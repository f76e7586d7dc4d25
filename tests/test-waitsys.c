/*
 * Description: the three forms of waitsys(): one message, anything on a
 * port, one message on its reply port (taken off, the rest left queued).
 */
#include "testutil.h"

static void
form_message_only(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_FAIL, MSGF_ASYNC, rport, EAGAIN);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	/* with a reply port, waiting on the message alone leaves it queued */
	assert_int_equal(waitsys(NULL, &tm.hdr), EAGAIN);
	assert_true(flags_of(&tm.hdr) & MSGF_DONE);
	assert_true(flags_of(&tm.hdr) & MSGF_QUEUED);
	assert_ptr_equal(getport(rport), &tm.hdr);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
form_port_only(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 5);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(rport, NULL), 0);
	/* pending means getport has it */
	assert_ptr_equal(getport(rport), &tm.hdr);
	assert_int_equal(tm.hdr.ms_result, 5);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
form_both_takes_that_message_only(void **state)
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
	assert_int_equal(waitsys(rport, &tm[2].hdr), 0);
	assert_int_equal(tm[2].hdr.ms_result, 2);
	assert_false(flags_of(&tm[2].hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
	/* the others are still there, in order */
	assert_int_equal(waitsys(rport, &tm[0].hdr), 0);
	assert_ptr_equal(getport(rport), &tm[1].hdr);
	assert_null(getport(rport));
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
form_both_wakes_when_the_reply_comes_later(void **state)
{
	struct testserver ts;
	struct testmsg held, release;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&held, TCMD_HOLD, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(ts.port, &held.hdr, sizeof(held)), EASYNC);
	testmsg_init(&release, TCMD_RELEASE, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), EASYNC);
	assert_int_equal(waitsys(rport, &held.hdr), 0);
	assert_int_equal(waitsys(NULL, &release.hdr), 0);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
form_both_needs_the_messages_own_reply_port(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue(), *other = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 1);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(other, &tm.hdr), EINVAL);
	assert_int_equal(waitsys(rport, &tm.hdr), 0);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
	assert_int_equal(rmport(other), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(form_message_only),
		cmocka_unit_test(form_port_only),
		cmocka_unit_test(form_both_takes_that_message_only),
		cmocka_unit_test(form_both_wakes_when_the_reply_comes_later),
		cmocka_unit_test(form_both_needs_the_messages_own_reply_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
