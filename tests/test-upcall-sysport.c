/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: an upcall may send to the system port while the thread it
 * interrupted was itself inside the system port, holding the kernel's
 * lock: the kernel's locks are library sections, so the upcall waits for
 * the lock to be released instead of deadlocking on it.
 */
#include <msgport-sys.h>

#include "upcallutil.h"

#define NREPLIES	2000

static struct sys_nanosleep from_upcall[NREPLIES];
static const struct timespec nap = { 0, 1000 };
static volatile int upcalls;

/* Each upcall takes its message and sends a message of its own. */
static void
send_from_upcall(msgport_t *port, void *arg)
{
	msg_t *m = getport(port);
	int i = upcalls;

	(void)arg;
	if (m == NULL || i >= NREPLIES)
		return;
	prep_nanosleep(&from_upcall[i], &nap, NULL);
	prep_async(&from_upcall[i].hdr, NULL);		/* to the pool, through the lock */
	sendsys(sysport(), &from_upcall[i].hdr, sizeof(from_upcall[i]));
	upcalls = i + 1;
}

static void
upcall_sends_while_owner_holds_the_kernel_lock(void **state)
{
	static struct testmsg tm[NREPLIES];
	struct sys_nanosleep mine;
	struct testserver ts;
	msgport_t *port;
	int i, sent = 0;

	(void)state;
	assert_int_equal(upcallsig(TEST_UPCALL_SIG), 0);
	assert_non_null(sysport());
	assert_non_null(port = mkport_upcall(send_from_upcall, NULL));
	testserver_start(&ts);
	/* Replies arrive at random moments while this thread goes in and out
	   of the kernel's lock with messages of its own. */
	alarm(120);				/* a deadlock ends the test, not CI */
	while (upcalls < NREPLIES) {
		if (sent < NREPLIES) {
			testmsg_init(&tm[sent], TCMD_ECHO, MSGF_ASYNC, port, sent);
			assert_int_equal(sendsys(ts.port, &tm[sent].hdr, sizeof(tm[sent])), EASYNC);
			sent++;
		}
		prep_nanosleep(&mine, &nap, NULL);
		prep_async(&mine.hdr, NULL);
		i = sendsys(sysport(), &mine.hdr, sizeof(mine));
		assert_true(i == EASYNC || i == 0);
		if (i == EASYNC)
			assert_int_equal(waitsys(NULL, &mine.hdr), 0);
	}
	alarm(0);
	for (i = 0; i < NREPLIES; i++)
		assert_int_equal(waitsys(NULL, &from_upcall[i].hdr), 0);
	testserver_stop(&ts);
	assert_int_equal(rmport(port), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(upcall_sends_while_owner_holds_the_kernel_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
