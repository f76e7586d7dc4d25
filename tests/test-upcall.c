/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: an upcall port runs its upcall in the thread that made it,
 * interrupting whatever that thread does: spinning, blocked in read()
 * (restarted afterwards, SA_RESTART) or in poll() (EINTR, never
 * restarted), even inside a critical section.  Replies come from other
 * threads; an upcall may send messages and enter critical sections, and
 * never runs on top of itself for the same port.
 */
#include <poll.h>

#include "upcallutil.h"

/* Reply to rport from a helper thread once the owner sleeps in the kernel. */
struct helper {
	pthread_t		thread;
	pid_t			owner;
	struct testserver	*ts;
	msgport_t		*rport;
	struct upstat		*st;
	struct testmsg		tm;
	int			wfd;	/* >= 0: write a byte here after the upcall */
	volatile int		ok;
};

static void *
helper_main(void *arg)
{
	struct helper *h = arg;
	double end = test_now() + TEST_DEADLINE_S;

	while (!test_sleeping(h->owner) && test_now() < end)
		sched_yield();
	testmsg_init(&h->tm, TCMD_ECHO, MSGF_ASYNC, h->rport, 42);
	if (sendsys(h->ts->port, &h->tm.hdr, sizeof(h->tm)) != EASYNC)
		return NULL;
	while (upcalls_seen(h->st) == 0 && test_now() < end)
		sched_yield();
	h->ok = upcalls_seen(h->st) == 1;
	if (h->wfd >= 0 && write(h->wfd, "x", 1) != 1)
		h->ok = 0;
	return NULL;
}

static void
upcall_interrupts_spinning_owner(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;
	double end;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	send_echoes(&ts, &tm, 1, port, 7);
	/* a pure user-space spin: no system call to deliver the signal at */
	end = test_now() + TEST_DEADLINE_S;
	while (st.calls == 0 && test_now() < end)
		continue;
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.taken, 1);
	assert_int_equal(st.order[0], 7);
	assert_int_equal(st.wrongthread, 0);
	assert_false(flags_of(&tm.hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
	assert_true(flags_of(&tm.hdr) & MSGF_DONE);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
upcall_interrupts_blocked_read_which_restarts(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct helper h;
	msgport_t *port;
	int fds[2];
	char c = 0;

	(void)state;
#if defined(__SANITIZE_THREAD__)
	/* TSan holds a signal that arrives inside read() (not one of its
	   "blocking" interceptors) until read() returns: the kernel restarts
	   the read, so the upcall could only run after it.  poll() is one,
	   and the next test covers delivery into a blocked call. */
	skip();
#endif
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	assert_int_equal(pipe(fds), 0);
	memset(&h, 0, sizeof(h));
	h.owner = test_tid();
	h.ts = &ts;
	h.rport = port;
	h.st = &st;
	h.wfd = fds[1];
	assert_int_equal(pthread_create(&h.thread, NULL, helper_main, &h), 0);
	/* the upcall runs inside this read(); then the read goes on, and
	   returns the byte written only after the upcall ran */
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_int_equal(pthread_join(h.thread, NULL), 0);
	assert_true(h.ok);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.order[0], 42);
	assert_int_equal(st.wrongthread, 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
upcall_interrupts_poll_with_eintr(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct helper h;
	struct pollfd pfd;
	msgport_t *port;
	int fds[2], r;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	assert_int_equal(pipe(fds), 0);
	memset(&h, 0, sizeof(h));
	h.owner = test_tid();
	h.ts = &ts;
	h.rport = port;
	h.st = &st;
	h.wfd = -1;
	assert_int_equal(pthread_create(&h.thread, NULL, helper_main, &h), 0);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	/* poll() is never restarted after a handler: EINTR, as documented */
	r = poll(&pfd, 1, (int)(TEST_DEADLINE_S * 1000));
	assert_int_equal(r, -1);
	assert_int_equal(errno, EINTR);
	assert_int_equal(st.calls, 1);
	assert_int_equal(pthread_join(h.thread, NULL), 0);
	assert_true(h.ok);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void
upcall_ignores_critical_sections(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	crit_enter();
	send_echoes(&ts, &tm, 1, port, 3);
	server_sync(&ts);
	/* a plain upcall port is not held by crit_enter() */
	assert_true(WAIT_UNTIL(st.calls == 1));
	crit_exit();
	assert_int_equal(st.calls, 1);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

/* An upcall that sends a message of its own, inside a critical section. */
static struct testserver *g_ts;
static struct testmsg g_more;

static void
send_more(msgport_t *port, struct upstat *st)
{
	if (st->calls != 1)
		return;
	crit_enter();
	testmsg_init(&g_more, TCMD_ECHO, MSGF_ASYNC, port, 99);
	if (sendsys(g_ts->port, &g_more.hdr, sizeof(g_more)) != EASYNC)
		st->wrongthread++;	/* counted as a failure */
	crit_exit();
}

static void
upcall_may_send_and_enter_crit(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	g_ts = &ts;
	upstat_init(&st);
	st.extra = send_more;
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	send_echoes(&ts, &tm, 1, port, 1);
	assert_true(WAIT_UNTIL(st.calls == 2));
	assert_int_equal(st.taken, 2);
	assert_int_equal(st.order[0], 1);
	assert_int_equal(st.order[1], 99);
	assert_int_equal(st.wrongthread, 0);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

/*
 * P's upcall (run by flushsys(), so signals are open) gets a second reply
 * for P and one for Q while it runs.  Q's upcall interrupts it; P's must
 * not run on top of itself, but once more after it returns.
 */
static msgport_t *g_q;
static struct upstat g_stq;
static struct testmsg g_p2, g_q1;

static void
nest_attempt(msgport_t *port, struct upstat *st)
{
	if (st->calls != 1)
		return;
	testmsg_init(&g_p2, TCMD_ECHO, MSGF_ASYNC, port, 2);
	testmsg_init(&g_q1, TCMD_ECHO, MSGF_ASYNC, g_q, 10);
	if (sendsys(g_ts->port, &g_p2.hdr, sizeof(g_p2)) != EASYNC ||
	    sendsys(g_ts->port, &g_q1.hdr, sizeof(g_q1)) != EASYNC)
		st->wrongthread++;
	/* the server answers in order: P's reply is in before Q's upcall */
	WAIT_UNTIL(g_stq.calls == 1);
}

static void
upcall_never_runs_on_top_of_itself(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	g_ts = &ts;
	upstat_init(&st);
	upstat_init(&g_stq);
	st.extra = nest_attempt;
	assert_non_null(port = mkport_critupcall(record_upcall, &st));
	assert_non_null(g_q = mkport_upcall(record_upcall, &g_stq));
	crit_enter();
	send_echoes(&ts, &tm, 1, port, 1);
	server_sync(&ts);
	assert_int_equal(st.calls, 0);
	assert_int_equal(flushsys(), 2);
	crit_exit();
	assert_int_equal(g_stq.calls, 1);
	assert_int_equal(st.calls, 2);
	assert_int_equal(st.maxdepth, 1);
	assert_int_equal(st.order[0], 1);
	assert_int_equal(st.order[1], 2);
	assert_int_equal(st.wrongthread, 0);
	assert_int_equal(rmport(g_q), 0);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

/*
 * The owner drains the port itself while upcalls interrupt it and drain
 * it too: an upcall must never land while the owner holds the port's
 * lock (it would deadlock on it).  SIGALRM ends a hung run.
 */
#define NRACE 64000	/* a multiple of 32 */
/* Two counters, one writer each: one shared counter's ++ in the owner is a load
   and a store (UBSan's overflow check splits it), and an upcall landing
   between them would have its count overwritten. */
static volatile long race_upcalled;

static void
race_upcall(msgport_t *port, void *arg)
{
	(void)arg;
	if (getport(port) != NULL)
		race_upcalled++;
}

static void
owner_drains_while_upcalls_drain(void **state)
{
	struct testserver ts;
	struct testmsg *tm = calloc(NRACE, sizeof(*tm));
	msgport_t *port;
	long owner_took = 0;
	int i;

	(void)state;
	assert_non_null(tm);
	testserver_start(&ts);
	race_upcalled = 0;
	assert_non_null(port = mkport_upcall(race_upcall, NULL));
	alarm(120);
	/* batches of 32 held then released at once: the owner sits in
	   getport() while they come back in a burst */
	for (i = 0; i < NRACE; i++) {
		testmsg_init(&tm[i], i % 32 == 31 ? TCMD_RELEASE : TCMD_HOLD, MSGF_ASYNC, port, i);
		assert_int_equal(sendsys(ts.port, &tm[i].hdr, sizeof(tm[i])), EASYNC);
		if (i % 32 == 31)
			while (owner_took + race_upcalled <= i)
				if (getport(port) != NULL)
					owner_took++;
	}
	alarm(0);
	assert_int_equal(owner_took + race_upcalled, NRACE);
	for (i = 0; i < NRACE; i++)
		assert_false(flags_of(&tm[i].hdr) & MSGF_INFLIGHT);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
	free(tm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(upcall_interrupts_spinning_owner),
		cmocka_unit_test(upcall_interrupts_blocked_read_which_restarts),
		cmocka_unit_test(upcall_interrupts_poll_with_eintr),
		cmocka_unit_test(upcall_ignores_critical_sections),
		cmocka_unit_test(upcall_may_send_and_enter_crit),
		cmocka_unit_test(upcall_never_runs_on_top_of_itself),
		cmocka_unit_test(owner_drains_while_upcalls_drain),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
