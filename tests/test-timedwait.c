/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: timedwaitsys() gives up with ETIMEDOUT, leaves the message
 * in flight, and still sees a reply that comes before its deadline.
 */
#include "testutil.h"

static const struct timespec ms10 = { 0, 10 * 1000 * 1000 };
static const struct timespec zero = { 0, 0 };
static const struct timespec generous = { 30, 0 };

static void
empty_port_times_out(void **state)
{
	msgport_t *port = mkport_queue();

	(void)state;
	assert_int_equal(timedwaitsys(port, NULL, &ms10), ETIMEDOUT);
	assert_int_equal(timedwaitsys(port, NULL, &zero), ETIMEDOUT);
	assert_int_equal(rmport(port), 0);
}

static void
held_message_times_out_then_completes(void **state)
{
	struct testserver ts;
	struct testmsg held, release;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&held, TCMD_HOLD, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(ts.port, &held.hdr, sizeof(held)), EASYNC);
	assert_int_equal(timedwaitsys(NULL, &held.hdr, &ms10), ETIMEDOUT);
	assert_int_equal(timedwaitsys(rport, &held.hdr, &ms10), ETIMEDOUT);
	assert_int_equal(timedwaitsys(rport, &held.hdr, &zero), ETIMEDOUT);
	assert_true(flags_of(&held.hdr) & MSGF_INFLIGHT);
	assert_false(flags_of(&held.hdr) & MSGF_DONE);

	testmsg_init(&release, TCMD_RELEASE, 0, NULL, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), 0);
	assert_int_equal(timedwaitsys(rport, &held.hdr, &generous), 0);
	assert_false(flags_of(&held.hdr) & MSGF_INFLIGHT);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
pending_port_returns_at_once(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *rport = mkport_queue();

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 3);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(timedwaitsys(rport, NULL, &generous), 0);
	assert_int_equal(timedwaitsys(rport, NULL, &zero), 0);
	/* a timeout too far to add to the clock means for ever */
	struct timespec huge = { (time_t)1 << 62, 999999999 };
	assert_int_equal(timedwaitsys(rport, NULL, &huge), 0);
	assert_ptr_equal(getport(rport), &tm.hdr);
	testserver_stop(&ts);
	assert_int_equal(rmport(rport), 0);
}

static void
bad_timeouts_are_refused(void **state)
{
	msgport_t *port = mkport_queue();
	struct timespec bad = { 0, 1000000000L }, neg = { -1, 0 };

	(void)state;
	assert_int_equal(timedwaitsys(port, NULL, &bad), EINVAL);
	assert_int_equal(timedwaitsys(port, NULL, &neg), EINVAL);
	assert_int_equal(rmport(port), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_port_times_out),
		cmocka_unit_test(held_message_times_out_then_completes),
		cmocka_unit_test(pending_port_returns_at_once),
		cmocka_unit_test(bad_timeouts_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
