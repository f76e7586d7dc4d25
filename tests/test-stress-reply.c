/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: exactly-once under load.  Four server threads take
 * requests off one port and reply from their own threads to one owner,
 * 400,000 messages in all, 1,024 in flight at a time; every message must
 * come back exactly once (no loss, no duplicate) with its own result.
 */
#include "testutil.h"

#define NTHREADS	4
#define NTOTAL		400000
#define NWINDOW		1024

static void *
replier(void *arg)
{
	msgport_t *server = arg;
	msg_t *m;

	for (;;) {
		if (waitsys(server, NULL) == EPIPE)
			return NULL;
		while ((m = getport(server)) != NULL) {
			struct testmsg *tm = (struct testmsg *)m;

			m->ms_result = tm->arg * 3;
			assert_int_equal(replymsg(m, 0), 0);
		}
	}
}

static void
every_message_returns_exactly_once(void **state)
{
	static struct testmsg window[NWINDOW];
	static uint8_t returned[NTOTAL];
	msgport_t *server = mkport_queue(), *rport = mkport_queue();
	pthread_t threads[NTHREADS];
	long sent = 0, got = 0;
	msg_t *m;
	int i;

	(void)state;
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, replier, server), 0);
	for (i = 0; i < NWINDOW; i++) {
		testmsg_init(&window[i], TCMD_ECHO, MSGF_ASYNC, rport, sent++);
		assert_int_equal(sendsys(server, &window[i].hdr, sizeof(window[i])), EASYNC);
	}
	while (got < NTOTAL) {
		assert_int_equal(waitsys(rport, NULL), 0);
		while ((m = getport(rport)) != NULL) {
			struct testmsg *tm = (struct testmsg *)m;

			assert_true(tm->arg >= 0 && tm->arg < NTOTAL);
			assert_int_equal(returned[tm->arg], 0);
			returned[tm->arg] = 1;
			assert_int_equal(m->ms_result, tm->arg * 3);
			assert_false(flags_of(m) & (MSGF_INFLIGHT | MSGF_QUEUED));
			got++;
			if (sent < NTOTAL) {
				tm->arg = sent++;
				assert_int_equal(sendsys(server, m, sizeof(*tm)), EASYNC);
			}
		}
	}
	assert_null(getport(rport));
	for (i = 0; i < NTOTAL; i++)
		assert_int_equal(returned[i], 1);
	assert_int_equal(closeport(server), 0);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	assert_int_equal(rmport(server), 0);
	assert_int_equal(rmport(rport), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_message_returns_exactly_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
