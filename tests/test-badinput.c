/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every bad input gets its error and changes nothing:
 * EFAULT for NULL, EINVAL for sizes and headers, EBUSY in flight, EPIPE
 * for closed ports, and refusals of replies that make no sense; a
 * misaligned header is EINVAL and left untouched by every call that
 * takes a message.
 */
#include "testutil.h"

static void
null_pointers_are_efault(void **state)
{
	msgport_t *port = mkport_queue();
	struct testmsg tm;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, 0, NULL, 0);
	assert_int_equal(sendsys(port, NULL, sizeof(tm)), EFAULT);
	assert_int_equal(sendsys(NULL, &tm.hdr, sizeof(tm)), EFAULT);
	assert_int_equal(replymsg(NULL, 0), EFAULT);
	assert_int_equal(abortsys(NULL), EFAULT);
	assert_int_equal(closeport(NULL), EFAULT);
	assert_int_equal(rmport(NULL), EFAULT);
	errno = 0;
	assert_null(getport(NULL));
	assert_int_equal(errno, EFAULT);
	errno = 0;
	assert_int_equal(portfd(NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(portcmdnames(NULL, NULL, 0), EFAULT);
	assert_int_equal(portcmdnames(port, NULL, 1), EFAULT);
	assert_int_equal(portcmdnames(port, NULL, 0), 0);	/* no names: numbers again */
	assert_int_equal(waitsys(NULL, NULL), EINVAL);
	assert_int_equal(flags_of(&tm.hdr), 0);
	assert_int_equal(rmport(port), 0);
}

static void
sizes_and_headers_are_einval(void **state)
{
	msgport_t *port = mkport_queue();
	struct testmsg tm;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(port, &tm.hdr, sizeof(msg_t) - 1), EINVAL);
	assert_int_equal(sendsys(port, &tm.hdr, 0), EINVAL);
	assert_int_equal(sendsys(port, &tm.hdr, (size_t)1 << 40), EINVAL);
	assert_int_equal(portcmdnames(port, (const char *const[]){ "x" }, 0x80000000u), EINVAL);
	/* unknown request bits */
	tm.hdr.ms_flags = MSGF_ASYNC | 0x80u;
	assert_int_equal(sendsys(port, &tm.hdr, sizeof(tm)), EINVAL);
	assert_int_equal(flags_of(&tm.hdr), MSGF_ASYNC | 0x80u);
	/* a queue port carries no persistent messages */
	tm.hdr.ms_flags = MSGF_ASYNC | MSGF_PERSISTENT;
	assert_int_equal(sendsys(port, &tm.hdr, sizeof(tm)), EINVAL);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	assert_null(getport(port));
	assert_int_equal(rmport(port), 0);
}

static void
in_flight_is_ebusy(void **state)
{
	msgport_t *server = mkport_queue(), *other = mkport_queue();
	struct testmsg tm;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EBUSY);
	assert_int_equal(sendsys(other, &tm.hdr, sizeof(tm)), EBUSY);
	/* the first send is intact: one message queued, once */
	assert_ptr_equal(getport(server), &tm.hdr);
	assert_null(getport(server));
	assert_null(getport(other));
	assert_int_equal(replymsg(&tm.hdr, 0), 0);
	assert_int_equal(rmport(server), 0);
	assert_int_equal(rmport(other), 0);
}

static void
closed_ports_are_epipe(void **state)
{
	msgport_t *server = mkport_queue(), *rport = mkport_queue();
	struct testmsg tm;

	(void)state;
	assert_int_equal(closeport(rport), 0);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 0);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EPIPE);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	assert_int_equal(tm.hdr.ms_error, EPIPE);
	assert_null(getport(server));

	assert_int_equal(closeport(server), 0);
	assert_int_equal(closeport(server), 0);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EPIPE);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	assert_int_equal(waitsys(server, NULL), EPIPE);
	assert_int_equal(rmport(server), 0);
	assert_int_equal(rmport(rport), 0);
}

static void
senseless_replies_are_refused(void **state)
{
	msgport_t *server = mkport_queue(), *rport = mkport_queue();
	struct testmsg tm;
	msg_t *req;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rport, 0);
	assert_int_equal(replymsg(&tm.hdr, 0), EINVAL);	/* never sent */
	assert_int_equal(sendsys(server, &tm.hdr, sizeof(tm)), EASYNC);
	/* still queued on the server: not the replier's to return yet */
	assert_int_equal(replymsg(&tm.hdr, 0), EINVAL);
	req = getport(server);
	assert_ptr_equal(req, &tm.hdr);
	/* errors a sender could not tell from the transport's */
	assert_int_equal(replymsg(req, EASYNC), EINVAL);
	assert_int_equal(replymsg(req, -1), EINVAL);
	assert_true(flags_of(req) & MSGF_INFLIGHT);
	assert_int_equal(replymsg(req, 0), 0);
	assert_int_equal(replymsg(req, EIO), EINVAL);	/* twice */
	assert_ptr_equal(getport(rport), &tm.hdr);
	assert_null(getport(rport));			/* queued once */
	assert_null(getport(server));
	assert_int_equal(tm.hdr.ms_error, 0);
	assert_int_equal(replymsg(&tm.hdr, 0), EINVAL);	/* idle again */
	assert_int_equal(abortsys(&tm.hdr), EINVAL);
	assert_int_equal(rmport(server), 0);
	assert_int_equal(rmport(rport), 0);
}

/*
 * A copy of m at an odd address (one byte past alignment), its flags set
 * to f: what a call on it must refuse without touching it.
 */
static msg_t *
misaligned(unsigned char *buf, const struct testmsg *m, uint32_t f)
{
	struct testmsg c = *m;

	c.hdr.ms_flags = f;
	memcpy(buf + 1, &c, sizeof(c));
	return (msg_t *)(void *)(buf + 1);
}

static void
misaligned_header_is_einval(void **state)
{
	_Alignas(64) unsigned char buf[sizeof(struct testmsg) + 64], copy[sizeof(buf)];
	static const struct timespec zero;
	msgport_t *port = mkport_queue(), *rp = mkport_queue();
	struct testmsg tm;
	msg_t *m;

	(void)state;
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, rp, 0);
	m = misaligned(buf, &tm, MSGF_ASYNC);
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(sendsys(port, m, sizeof(tm)), EINVAL);
	assert_memory_equal(buf, copy, sizeof(buf));
	assert_null(getport(port));

	/* calls on a message in flight, returned, persistent: none of them touches it */
	m = misaligned(buf, &tm, MSGF_INFLIGHT);
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(abortsys(m), EINVAL);
	assert_int_equal(replymsg(m, 0), EINVAL);
	assert_memory_equal(buf, copy, sizeof(buf));
	m = misaligned(buf, &tm, MSGF_INFLIGHT | MSGF_DONE | MSGF_PERSISTENT);
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(rearmsys(m), EINVAL);
	assert_int_equal(waitsys(NULL, m), EINVAL);
	assert_int_equal(timedwaitsys(NULL, m, &zero), EINVAL);
	assert_int_equal(timedwaitsys(rp, m, &zero), EINVAL);
	assert_memory_equal(buf, copy, sizeof(buf));

	/* and the ports work on */
	assert_int_equal(sendsys(port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_ptr_equal(getport(port), &tm.hdr);
	assert_int_equal(replymsg(&tm.hdr, 0), 0);
	assert_int_equal(waitsys(rp, &tm.hdr), 0);
	assert_int_equal(rmport(port), 0);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(null_pointers_are_efault),
		cmocka_unit_test(sizes_and_headers_are_einval),
		cmocka_unit_test(in_flight_is_ebusy),
		cmocka_unit_test(closed_ports_are_epipe),
		cmocka_unit_test(senseless_replies_are_refused),
		cmocka_unit_test(misaligned_header_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
