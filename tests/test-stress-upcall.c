/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: under load, every returned message gets its upcall exactly
 * once and none runs inside a critical section: four server threads reply
 * to 200,000 messages on a critical-section upcall port while the owner
 * keeps entering and leaving (nested) critical sections at random.
 */
#include "upcallutil.h"

#define NMSG	200000
#define NSERVER	4

static volatile sig_atomic_t in_crit;	/* the test's own mark, set inside */
static unsigned char *seen;		/* per message: upcalls that took it */
static volatile long calls, taken, bad;

static void
stress_upcall(msgport_t *port, void *arg)
{
	msg_t *m;

	(void)arg;
	calls++;
	if (in_crit)
		bad++;
	if ((m = getport(port)) == NULL) {
		bad++;
		return;
	}
	if (m->ms_result < 0 || m->ms_result >= NMSG || seen[m->ms_result]++ != 0)
		bad++;
	taken++;
}

/* One random step: maybe enter, maybe leave. */
static void
crit_step(unsigned *rnd, int *depth)
{
	*rnd = *rnd * 1103515245u + 12345u;
	switch ((*rnd >> 16) % 4) {
	case 0:
		if (*depth < 3) {
			crit_enter();
			(*depth)++;
			in_crit = 1;
		}
		break;
	case 1:
		if (*depth > 0) {
			if (--*depth == 0)
				in_crit = 0;
			crit_exit();
		}
		break;
	default:
		break;
	}
}

static void
every_upcall_exactly_once_never_in_crit(void **state)
{
	struct testserver ts[NSERVER];
	struct testmsg *tm;
	msgport_t *port;
	unsigned rnd = 12345;
	int depth = 0, i;
	double end;

	(void)state;
	tm = calloc(NMSG, sizeof(*tm));
	seen = calloc(NMSG, 1);
	assert_non_null(tm);
	assert_non_null(seen);
	for (i = 0; i < NSERVER; i++)
		testserver_start(&ts[i]);
	assert_non_null(port = mkport_critupcall(stress_upcall, NULL));
	for (i = 0; i < NMSG; i++) {
		crit_step(&rnd, &depth);
		testmsg_init(&tm[i], TCMD_ECHO, MSGF_ASYNC, port, i);
		assert_int_equal(sendsys(ts[i % NSERVER].port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
	}
	end = test_now() + 120;
	while (taken < NMSG && test_now() < end) {
		crit_step(&rnd, &depth);
		if ((rnd >> 8) % 64 == 0)
			sched_yield();
	}
	while (depth > 0) {
		if (--depth == 0)
			in_crit = 0;
		crit_exit();
	}
	assert_true(WAIT_UNTIL(taken == NMSG));
	for (i = 0; i < NSERVER; i++)
		server_sync(&ts[i]);
	assert_int_equal(flushsys(), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(taken, NMSG);
	assert_int_equal(calls, NMSG);
	for (i = 0; i < NMSG; i++) {
		assert_int_equal(seen[i], 1);
		assert_false(flags_of(&tm[i].hdr) & MSGF_INFLIGHT);
	}
	assert_int_equal(rmport(port), 0);
	for (i = 0; i < NSERVER; i++)
		testserver_stop(&ts[i]);
	free(tm);
	free(seen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_upcall_exactly_once_never_in_crit),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
