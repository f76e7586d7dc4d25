/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: sysport_stop() with 10,000 messages in flight (waiting in
 * the event loop, queued for the pool, running in workers) returns every
 * one exactly once with ECANCELED, refuses new messages with EPIPE, and
 * the port starts again.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include "kputil.h"

#define NMSG	10000
#define NPAIR	16

union anymsg {
	msg_t			hdr;
	struct sys_poll	ns;
	struct sys_recvfrom	rc;
};

static union anymsg m[NMSG];
static char buf[NMSG];
static unsigned char returned[NMSG];

static void
stop_returns_everything_in_flight(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = 16384 };
	msgport_t *rp = mkport_queue();
	struct sys_getpid g;
	int sv[NPAIR][2], i, n = 0;
	msg_t *got;

	(void)s;
	(void)sysport_stop();
	assert_int_equal(sysport_start(&attr), 0);
	for (i = 0; i < NPAIR; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
	for (i = 0; i < NMSG; i++) {
		if (i % 2)
			prep_recv(&m[i].rc, sv[i % NPAIR][1], &buf[i], 1, 0);
		else
			prep_poll(&m[i].ns, NULL, 0, 3600 * 1000);
		prep_async(&m[i].hdr, rp);
		m[i].hdr.ms_cookie = (void *)(long)i;
		assert_int_equal(sendsys(sysport(), &m[i].hdr,
		    i % 2 ? sizeof(m[i].rc) : sizeof(m[i].ns)), EASYNC);
	}
	assert_int_equal(sysport_stop(), 0);
	while ((got = getport(rp)) != NULL) {
		i = (int)(long)got->ms_cookie;
		assert_true(got == &m[i].hdr);
		assert_int_equal(got->ms_error, ECANCELED);
		returned[i]++;
		n++;
	}
	assert_int_equal(n, NMSG);
	for (i = 0; i < NMSG; i++)
		if (returned[i] != 1)
			fail_msg("message %d returned %d times", i, returned[i]);

	/* refused until started again, synchronous calls too */
	prep_getpid(&g);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), EPIPE);
	assert_int_equal(g.hdr.ms_error, EPIPE);
	assert_false(kp_flags(&g.hdr) & MSGF_INFLIGHT);
	prep_recv(&m[1].rc, sv[1][1], &buf[1], 1, 0);
	prep_async(&m[1].hdr, rp);
	assert_int_equal(sendsys(sysport(), &m[1].hdr, sizeof(m[1].rc)), EPIPE);
	assert_int_equal(sysport_stop(), EINVAL);

	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(g.hdr.ms_result, getpid());
	assert_int_equal(sendsys(sysport(), &m[1].hdr, sizeof(m[1].rc)), EASYNC);
	assert_int_equal(write(sv[1][0], "z", 1), 1);
	assert_int_equal(kp_waitdone(rp, &m[1].hdr), 0);
	assert_int_equal(buf[1], 'z');
	assert_null(getport(rp));
	for (i = 0; i < NPAIR; i++)
		close(sv[i][0]), close(sv[i][1]);
	assert_int_equal(rmport(rp), 0);
}

/* Stop and start again and again, with a few messages in flight each time. */
static void
stop_start_cycles(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_poll ns[8];
	int round, i;

	(void)s;
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 8; i++) {
			prep_poll(&ns[i], NULL, 0, 3600 * 1000);
			prep_async(&ns[i].hdr, rp);
			assert_int_equal(sendsys(sysport(), &ns[i].hdr, sizeof(ns[i])), EASYNC);
		}
		assert_int_equal(sysport_stop(), 0);
		for (i = 0; i < 8; i++)
			assert_int_equal(kp_waitdone(rp, &ns[i].hdr), ECANCELED);
		assert_int_equal(sysport_start(NULL), 0);
	}
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stop_returns_everything_in_flight),
		cmocka_unit_test(stop_start_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
