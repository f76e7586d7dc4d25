/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the three forms of waitsys(): one message, anything on a
 * port, one message on its reply port (taken off, the rest left queued).
 * Then the message alone, when it has a reply port: as DragonFly's
 * lwkt_waitmsg(), waitsys(NULL, msg) takes it off that port, so it is
 * idle on return, whatever the port's kind, delivered exactly once
 * (to the waiter or to the port's upcall), even with many threads.
 */
#include "upcallutil.h"

static void
form_message_only(void **state)
{
	struct testserver ts;
	struct testmsg tm;

	(void)state;
	testserver_start(&ts);
	testmsg_init(&tm, TCMD_FAIL, MSGF_ASYNC, NULL, EAGAIN);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EASYNC);
	assert_int_equal(waitsys(NULL, &tm.hdr), EAGAIN);
	assert_true(flags_of(&tm.hdr) & MSGF_DONE);
	assert_false(flags_of(&tm.hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
	testserver_stop(&ts);
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

/* ---- waitsys(NULL, msg) on a message with a reply port ---- */

static const struct timespec zero, generous = { 30, 0 };

/* Each test's server, queue reply port and messages: static, so that a
   failed test's message left on a port is never a dead stack frame. */
struct alone {
	struct testserver ts;
	msgport_t	*rport;
	struct testmsg	tm, held, release;
	struct upstat	st;		/* for an upcall port's record_upcall */
};

static int
alone_setup(void **state)
{
	static struct alone a;

	memset(&a, 0, sizeof(a));
	testserver_start(&a.ts);
	a.rport = mkport_queue();
	*state = &a;
	return a.rport == NULL ? -1 : 0;
}

static int
alone_teardown(void **state)
{
	struct alone *a = *state;

	testserver_stop(&a->ts);
	return a->rport != NULL && rmport(a->rport) != 0 ? -1 : 0;
}

/* Send tm (cmd, arg) to the server, returned to port. */
static void
alone_send(struct alone *a, struct testmsg *tm, uint32_t cmd, msgport_t *port, int64_t arg)
{
	testmsg_init(tm, cmd, MSGF_ASYNC, port, arg);
	assert_int_equal(sendsys(a->ts.port, &tm->hdr, sizeof(*tm)), EASYNC);
}

static void
assert_idle(msg_t *m)
{
	assert_true(flags_of(m) & MSGF_DONE);
	assert_false(flags_of(m) & (MSGF_INFLIGHT | MSGF_QUEUED));
}

static void
alone_takes_it_off_its_queue_port(void **state)
{
	struct alone *a = *state;

	alone_send(a, &a->tm, TCMD_FAIL, a->rport, EAGAIN);
	assert_int_equal(waitsys(NULL, &a->tm.hdr), EAGAIN);
	assert_idle(&a->tm.hdr);
	errno = 0;
	assert_null(getport(a->rport));		/* never handed out again */
	assert_int_equal(errno, EAGAIN);
	/* idle, so it goes again as it is (not EBUSY) */
	a->tm.hdr.ms_cmd = TCMD_ECHO;
	a->tm.arg = 7;
	assert_int_equal(sendsys(a->ts.port, &a->tm.hdr, sizeof(a->tm)), EASYNC);
	assert_int_equal(waitsys(NULL, &a->tm.hdr), 0);
	assert_int_equal(a->tm.hdr.ms_result, 7);
	assert_idle(&a->tm.hdr);
	assert_null(getport(a->rport));
}

static void
alone_sleeps_then_takes_it_off(void **state)
{
	struct alone *a = *state;

	alone_send(a, &a->held, TCMD_HOLD, a->rport, 0);
	/* timed, it changes nothing when the time runs out */
	assert_int_equal(timedwaitsys(NULL, &a->held.hdr, &zero), ETIMEDOUT);
	assert_true(flags_of(&a->held.hdr) & MSGF_INFLIGHT);
	assert_false(flags_of(&a->held.hdr) & MSGF_DONE);
	alone_send(a, &a->release, TCMD_RELEASE, NULL, 0);
	assert_int_equal(timedwaitsys(NULL, &a->held.hdr, &generous), 0);
	assert_idle(&a->held.hdr);
	assert_null(getport(a->rport));
	assert_int_equal(waitsys(NULL, &a->release.hdr), 0);
}

static void
alone_on_a_taken_message_returns_at_once(void **state)
{
	struct alone *a = *state;

	alone_send(a, &a->tm, TCMD_FAIL, a->rport, ENOENT);
	assert_int_equal(waitsys(a->rport, NULL), 0);
	assert_ptr_equal(getport(a->rport), &a->tm.hdr);
	/* idle: its reply port, gone now, is not even looked at */
	assert_int_equal(rmport(a->rport), 0);
	a->rport = NULL;
	assert_int_equal(waitsys(NULL, &a->tm.hdr), ENOENT);
	assert_int_equal(timedwaitsys(NULL, &a->tm.hdr, &zero), ENOENT);
	assert_idle(&a->tm.hdr);
}

/*
 * One echo returned to port, and waitsys(NULL) on it: taken off, idle,
 * nothing left for anyone; then the port's upcall has not run (the
 * caller sees to it that it cannot run meanwhile) and never will.
 */
static void
alone_takes_it_from(struct alone *a, msgport_t *port)
{
	alone_send(a, &a->tm, TCMD_ECHO, port, 11);
	assert_int_equal(waitsys(NULL, &a->tm.hdr), 0);
	assert_int_equal(a->tm.hdr.ms_result, 11);
	assert_idle(&a->tm.hdr);
	server_sync(&a->ts);			/* its upcall signal has come */
	assert_null(getport(port));
	assert_int_equal(upcalls_seen(&a->st), 0);
}

/* ... and once the upcall may run again, it still does not. */
static void
alone_never_upcalled(struct alone *a, msgport_t *port)
{
	sched_yield();
	assert_int_equal(flushsys(), 0);	/* would run a queued one at once */
	assert_int_equal(upcalls_seen(&a->st), 0);
	assert_int_equal(rmport(port), 0);
}

static void
alone_on_an_upcall_port(void **state)
{
	struct alone *a = *state;
	msgport_t *port;
	sigset_t sig, old;

	upstat_init(&a->st);
	assert_non_null(port = mkport_upcall(record_upcall, &a->st));
	sigemptyset(&sig);
	sigaddset(&sig, TEST_UPCALL_SIG);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &sig, &old), 0);
	alone_takes_it_from(a, port);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	alone_never_upcalled(a, port);	/* the held signal came, found nothing */
}

static void
alone_on_a_critupcall_port(void **state)
{
	struct alone *a = *state;
	msgport_t *port;

	upstat_init(&a->st);
	assert_non_null(port = mkport_critupcall(record_upcall, &a->st));
	crit_enter();
	alone_takes_it_from(a, port);
	crit_exit();				/* nothing held to run */
	alone_never_upcalled(a, port);
}

static void
alone_on_a_passive_port(void **state)
{
	struct alone *a = *state;
	msgport_t *port;

	upstat_init(&a->st);
	assert_non_null(port = mkport_passive(record_upcall, &a->st, &generous));
	alone_takes_it_from(a, port);
	alone_never_upcalled(a, port);
}

/* The upcall free to run: whichever takes it has it, the other never. */
static void
alone_races_the_upcall_fairly(void **state)
{
	enum { ROUNDS = 60 };
	struct alone *a = *state;
	msgport_t *port;
	int i, before;

	upstat_init(&a->st);
	assert_non_null(port = mkport_upcall(record_upcall, &a->st));
	testmsg_init(&a->tm, TCMD_ECHO, MSGF_ASYNC, port, 0);
	for (i = 0; i < ROUNDS; i++) {
		before = a->st.taken;
		a->tm.arg = i;
		assert_int_equal(sendsys(a->ts.port, &a->tm.hdr, sizeof(a->tm)), EASYNC);
		assert_int_equal(waitsys(NULL, &a->tm.hdr), 0);
		assert_idle(&a->tm.hdr);
		server_sync(&a->ts);
		assert_null(getport(port));
		/* taken by the upcall, or by waitsys: not both */
		assert_true(a->st.taken - before <= 1);
		if (a->st.taken > before)
			assert_int_equal(a->st.order[before], i);
	}
	assert_int_equal(rmport(port), 0);
}

/* Two servers return to one queue port; each waiter waits for its own. */
enum { STRESS_WAITERS = 4, STRESS_ROUNDS = 2000 };

struct waiter {
	pthread_t	thread;
	struct testmsg	tm;
	struct testserver *ts[2];
	msgport_t	*rport;
	int		id;
	int		bad;		/* the round that went wrong, + 1 */
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct testmsg *tm = &w->tm;
	int i;

	testmsg_init(tm, TCMD_ECHO, MSGF_ASYNC, w->rport, 0);
	for (i = 0; i < STRESS_ROUNDS && !w->bad; i++) {
		tm->arg = (int64_t)w->id * STRESS_ROUNDS + i;
		if (sendsys(w->ts[i % 2]->port, &tm->hdr, sizeof(*tm)) != EASYNC ||
		    waitsys(NULL, &tm->hdr) != 0 || tm->hdr.ms_result != tm->arg ||
		    (flags_of(&tm->hdr) & (MSGF_INFLIGHT | MSGF_QUEUED)))
			w->bad = i + 1;
	}
	return NULL;
}

static void
alone_stress_many_waiters_one_port(void **state)
{
	static struct testserver other;
	static struct waiter w[STRESS_WAITERS];	/* their messages outlive a failure */
	struct alone *a = *state;
	int i;

	testserver_start(&other);
	for (i = 0; i < STRESS_WAITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].ts[0] = &a->ts;
		w[i].ts[1] = &other;
		w[i].rport = a->rport;
		w[i].id = i;
		assert_int_equal(pthread_create(&w[i].thread, NULL, waiter_main, &w[i]), 0);
	}
	for (i = 0; i < STRESS_WAITERS; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	assert_null(getport(a->rport));		/* nothing left behind, nothing twice */
	testserver_stop(&other);
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

#define ALONE(t)	cmocka_unit_test_setup_teardown(t, alone_setup, alone_teardown)
	const struct CMUnitTest alone_with_a_reply_port[] = {
		ALONE(alone_takes_it_off_its_queue_port),
		ALONE(alone_sleeps_then_takes_it_off),
		ALONE(alone_on_a_taken_message_returns_at_once),
		ALONE(alone_on_an_upcall_port),
		ALONE(alone_on_a_critupcall_port),
		ALONE(alone_on_a_passive_port),
		ALONE(alone_races_the_upcall_fairly),
		ALONE(alone_stress_many_waiters_one_port),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL) |
	    cmocka_run_group_tests(alone_with_a_reply_port, NULL, NULL);
}
