/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: removing an upcall port never loses a message and never
 * lets an upcall, a signal or a timer touch the freed port: queued
 * replies go back to the user done and idle, a held or pending upcall
 * and an armed timeout are dropped with the port.  Only the owner may
 * remove it (EPERM), not from its own upcall (EBUSY), nor while replies
 * are owed (EBUSY).  When the owner exits, the port becomes a plain
 * queue any thread may drain and remove; so does every port a fork
 * child inherits (a reply there must not signal the parent).
 */
#include <sys/wait.h>

#include "upcallutil.h"

static void
queued_replies_handed_back_held_upcalls_dropped(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[3];
	msgport_t *port;
	int i;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_critupcall(record_upcall, &st));
	crit_enter();
	send_echoes(&ts, tm, 3, port, 0);
	server_sync(&ts);
	assert_int_equal(rmport(port), 0);
	for (i = 0; i < 3; i++) {
		assert_true(flags_of(&tm[i].hdr) & MSGF_DONE);
		assert_false(flags_of(&tm[i].hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
		assert_int_equal(tm[i].hdr.ms_result, i);
	}
	crit_exit();		/* the held mark finds no port: nothing runs */
	assert_int_equal(flushsys(), 0);
	assert_int_equal(st.calls, 0);
	testserver_stop(&ts);
}

static void
pending_signal_finds_nothing(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm[2];
	msgport_t *port;
	sigset_t set, pending;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	sigemptyset(&set);
	sigaddset(&set, TEST_UPCALL_SIG);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	send_echoes(&ts, tm, 2, port, 0);
	server_sync(&ts);
	assert_int_equal(sigpending(&pending), 0);
	assert_true(sigismember(&pending, TEST_UPCALL_SIG));
	assert_int_equal(rmport(port), 0);
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, TEST_UPCALL_SIG));
	assert_int_equal(st.calls, 0);
	assert_false(flags_of(&tm[1].hdr) & MSGF_INFLIGHT);
	testserver_stop(&ts);
}

static void
armed_timeout_is_dropped(void **state)
{
	/* a second: the reply must still be waiting when rmport() drops it
	   (a slow machine may take a while between the two), and the
	   dropped timeout would have fired well before the 1.3 s wait ends */
	struct timespec timeout = { .tv_sec = 1 };
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_passive(record_upcall, &st, &timeout));
	send_echoes(&ts, &tm, 1, port, 0);
	server_sync(&ts);
	assert_int_equal(rmport(port), 0);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	test_sleep_ms(1300);
	assert_int_equal(st.calls, 0);
	testserver_stop(&ts);
}

static void
owed_replies_make_it_ebusy(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg held, release;
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	testmsg_init(&held, TCMD_HOLD, MSGF_ASYNC, port, 0);
	assert_int_equal(sendsys(ts.port, &held.hdr, sizeof(held)), EASYNC);
	assert_int_equal(rmport(port), EBUSY);
	/* still an upcall port: the owed reply gets its upcall */
	testmsg_init(&release, TCMD_RELEASE, 0, NULL, 0);
	assert_int_equal(sendsys(ts.port, &release.hdr, sizeof(release)), 0);
	assert_true(WAIT_UNTIL(st.calls == 1));
	assert_int_equal(st.taken, 1);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

struct other {
	msgport_t	*port;
	int		r;
};

static void *
rmport_elsewhere(void *arg)
{
	struct other *o = arg;

	o->r = rmport(o->port);
	return NULL;
}

static void
only_the_owner_removes_it(void **state)
{
	struct upstat st;
	struct other o;
	pthread_t t;

	(void)state;
	upstat_init(&st);
	assert_non_null(o.port = mkport_upcall(record_upcall, &st));
	assert_int_equal(pthread_create(&t, NULL, rmport_elsewhere, &o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.r, EPERM);
	assert_int_equal(rmport(o.port), 0);
}

static volatile int self_rm = -1;

static void
rm_self(msgport_t *port, struct upstat *st)
{
	(void)st;
	self_rm = rmport(port);
}

static void
not_from_its_own_upcall(void **state)
{
	struct testserver ts;
	struct upstat st;
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	testserver_start(&ts);
	upstat_init(&st);
	st.extra = rm_self;
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	send_echoes(&ts, &tm, 1, port, 0);
	assert_true(WAIT_UNTIL(st.calls == 1));
	assert_int_equal(self_rm, EBUSY);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static void *
make_and_exit(void *arg)
{
	*(msgport_t **)arg = mkport_upcall(record_upcall, NULL);
	return NULL;
}

static void
owner_exit_leaves_a_queue(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *port = NULL;
	pthread_t t;

	(void)state;
	testserver_start(&ts);
	assert_int_equal(pthread_create(&t, NULL, make_and_exit, &port), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(port);
	/* no owner to interrupt: the reply just queues (NULL arg never runs) */
	send_echoes(&ts, &tm, 1, port, 8);
	assert_int_equal(waitsys(port, &tm.hdr), 0);
	assert_int_equal(tm.hdr.ms_result, 8);
	assert_int_equal(rmport(port), 0);
	testserver_stop(&ts);
}

static int
child_replies_to_inherited(msgport_t *port, struct upstat *st)
{
	msgport_t *server = mkport_queue();
	struct testmsg tm;
	msg_t *m;

	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, port, 0);
	if (server == NULL || sendsys(server, &tm.hdr, sizeof(tm)) != EASYNC)
		return 1;
	if ((m = getport(server)) == NULL || replymsg(m, 0) != 0)
		return 2;
	sched_yield();
	if (st->calls != 0)
		return 3;			/* no upcall in the child */
	if (getport(port) != &tm.hdr)
		return 4;			/* just queued */
	if (rmport(port) != 0 || rmport(server) != 0)
		return 5;			/* any thread of the child may */
	return 0;
}

static void
fork_child_inherits_plain_queues(void **state)
{
	struct upstat st;
	msgport_t *port;
	sigset_t set, pending;
	int status;
	pid_t pid;

	(void)state;
	upstat_init(&st);
	assert_non_null(port = mkport_upcall(record_upcall, &st));
	/* a stray signal from the child would stay pending here */
	sigemptyset(&set);
	sigaddset(&set, TEST_UPCALL_SIG);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_replies_to_inherited(port, &st));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, TEST_UPCALL_SIG));
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
	assert_int_equal(st.calls, 0);
	assert_int_equal(rmport(port), 0);
}

/* A port owned by another thread of the parent: the child knows it by pid. */
struct keeper {
	msgport_t	*port;
	struct upstat	st;
	int		go[2];		/* main -> keeper: look now */
	volatile int	ready, stray;
};

static void *
keeper_main(void *arg)
{
	struct keeper *k = arg;
	sigset_t set, pending;
	char c;

	upstat_init(&k->st);
	k->port = mkport_upcall(record_upcall, &k->st);
	sigemptyset(&set);
	sigaddset(&set, TEST_UPCALL_SIG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	__atomic_store_n(&k->ready, 1, __ATOMIC_SEQ_CST);
	if (read(k->go[0], &c, 1) != 1)
		return NULL;
	sigpending(&pending);
	k->stray = sigismember(&pending, TEST_UPCALL_SIG);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return NULL;
}

static void
fork_child_never_signals_parent_threads(void **state)
{
	struct keeper k;
	pthread_t t;
	int status;
	pid_t pid;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_int_equal(pipe(k.go), 0);
	assert_int_equal(pthread_create(&t, NULL, keeper_main, &k), 0);
	assert_true(WAIT_UNTIL(__atomic_load_n(&k.ready, __ATOMIC_SEQ_CST)));
	assert_non_null(k.port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_replies_to_inherited(k.port, &k.st));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(write(k.go[1], "x", 1), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_false(k.stray);
	assert_int_equal(k.st.calls, 0);
	/* its owner exited: any thread may remove it now */
	assert_int_equal(rmport(k.port), 0);
	close(k.go[0]);
	close(k.go[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queued_replies_handed_back_held_upcalls_dropped),
		cmocka_unit_test(pending_signal_finds_nothing),
		cmocka_unit_test(armed_timeout_is_dropped),
		cmocka_unit_test(owed_replies_make_it_ebusy),
		cmocka_unit_test(only_the_owner_removes_it),
		cmocka_unit_test(not_from_its_own_upcall),
		cmocka_unit_test(owner_exit_leaves_a_queue),
		cmocka_unit_test(fork_child_inherits_plain_queues),
		cmocka_unit_test(fork_child_never_signals_parent_threads),
	};

	if (upcallsig(TEST_UPCALL_SIG) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
