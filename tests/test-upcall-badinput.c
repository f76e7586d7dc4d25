/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every bad argument to the upcall calls gets its error and
 * changes nothing: NULL functions and bad timeouts (EINVAL), signals that
 * are not real-time (EINVAL), a second signal or one the application
 * handles itself (EBUSY), a bad $MSGPORT_UPCALL_SIGNAL (EINVAL), requests
 * sent to an upcall port (EOPNOTSUPP); an unbalanced crit_exit() aborts.
 * The application's own handlers for other signals are left alone.
 */
#include <sys/wait.h>

#include "upcallutil.h"

static void
nop_upcall(msgport_t *port, void *arg)
{
	(void)port, (void)arg;
}

#define ASSERT_NULL_ERRNO(call, e) do {		\
	errno = 0;				\
	assert_null(call);			\
	assert_int_equal(errno, (e));		\
} while (0)

static void
null_functions_are_einval(void **state)
{
	struct timespec t = { .tv_sec = 1 };

	(void)state;
	ASSERT_NULL_ERRNO(mkport_upcall(NULL, NULL), EINVAL);
	ASSERT_NULL_ERRNO(mkport_critupcall(NULL, NULL), EINVAL);
	ASSERT_NULL_ERRNO(mkport_passive(NULL, NULL, &t), EINVAL);
}

static void
bad_timeouts_are_einval(void **state)
{
	const struct timespec bad[] = {
		{ .tv_sec = -1 },
		{ .tv_nsec = -1 },
		{ .tv_nsec = 1000000000L },
		{ .tv_sec = 0, .tv_nsec = 0 },
	};

	(void)state;
	ASSERT_NULL_ERRNO(mkport_passive(nop_upcall, NULL, NULL), EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_NULL_ERRNO(mkport_passive(nop_upcall, NULL, &bad[i]), EINVAL);
}

static void
bad_signals_are_einval_second_is_ebusy(void **state)
{
	(void)state;
	assert_int_equal(upcallsig(0), EINVAL);
	assert_int_equal(upcallsig(-1), EINVAL);
	assert_int_equal(upcallsig(SIGINT), EINVAL);
	assert_int_equal(upcallsig(SIGUSR1), EINVAL);
	assert_int_equal(upcallsig(SIGRTMAX + 1), EINVAL);
	assert_int_equal(upcallsig(TEST_UPCALL_SIG), 0);	/* again: fine */
	assert_int_equal(upcallsig(TEST_UPCALL_SIG + 1), EBUSY);
}

static void
requests_to_an_upcall_port_are_refused(void **state)
{
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	assert_non_null(port = mkport_upcall(nop_upcall, NULL));
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, NULL, 0);
	assert_int_equal(sendsys(port, &tm.hdr, sizeof(tm)), EOPNOTSUPP);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	assert_int_equal(abortsys(&tm.hdr), EINVAL);
	assert_int_equal(rmport(port), 0);
}

/* Closed, an upcall port refuses to be named as a reply port, as a queue port does. */
static void
closed_upcall_port_is_epipe(void **state)
{
	struct testserver ts;
	struct testmsg tm;
	msgport_t *port;

	(void)state;
	assert_non_null(port = mkport_critupcall(nop_upcall, NULL));
	testserver_start(&ts);
	assert_int_equal(closeport(port), 0);
	testmsg_init(&tm, TCMD_ECHO, MSGF_ASYNC, port, 0);
	assert_int_equal(sendsys(ts.port, &tm.hdr, sizeof(tm)), EPIPE);
	assert_false(flags_of(&tm.hdr) & MSGF_INFLIGHT);
	assert_int_equal(waitsys(port, NULL), EPIPE);
	testserver_stop(&ts);
	assert_int_equal(rmport(port), 0);
}

/* Run fn in a child process; return its wait status. */
static int
in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int
unbalanced_exit(void)
{
	crit_enter();
	crit_exit();
	crit_exit();
	return 0;
}

static void
unbalanced_crit_exit_aborts(void **state)
{
	int status = in_child(unbalanced_exit);

	(void)state;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static volatile sig_atomic_t app_hits;

static void
app_handler(int signo)
{
	(void)signo;
	app_hits++;
}

/* In a fresh process: the application handles the signal msgport wants. */
static int
taken_signal(void)
{
	struct sigaction sa, now;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_handler;
	sigaction(SIGRTMIN + 2, &sa, NULL);
	if (upcallsig(SIGRTMIN + 2) != EBUSY)
		return 1;
	sigaction(SIGRTMIN + 2, NULL, &now);
	if (now.sa_handler != app_handler)
		return 2;
	/* the default one is free, so a port still works */
	if (mkport_upcall(nop_upcall, NULL) == NULL)
		return 3;
	return 0;
}

static void
application_handler_is_ebusy_and_kept(void **state)
{
	int status = in_child(taken_signal);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int
bad_env(void)
{
	setenv("MSGPORT_UPCALL_SIGNAL", "SIGRTMIN", 1);
	errno = 0;
	if (mkport_upcall(nop_upcall, NULL) != NULL || errno != EINVAL)
		return 1;
	setenv("MSGPORT_UPCALL_SIGNAL", "2", 1);	/* SIGINT: not real-time */
	if (mkport_critupcall(nop_upcall, NULL) != NULL || errno != EINVAL)
		return 2;
	return 0;
}

static int
good_env(void)
{
	struct sigaction now;
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", SIGRTMIN + 4);
	setenv("MSGPORT_UPCALL_SIGNAL", buf, 1);
	if (mkport_upcall(nop_upcall, NULL) == NULL)
		return 1;
	sigaction(SIGRTMIN + 4, NULL, &now);
	return (now.sa_flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART) ? 0 : 2;
}

static void
environment_chooses_the_signal(void **state)
{
	int status;

	(void)state;
	status = in_child(bad_env);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	status = in_child(good_env);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
other_signals_keep_their_handlers(void **state)
{
	struct sigaction sa, now;
	msgport_t *port;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_handler;
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	assert_non_null(port = mkport_critupcall(nop_upcall, NULL));
	assert_int_equal(sigaction(SIGUSR1, NULL, &now), 0);
	assert_ptr_equal(now.sa_handler, app_handler);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(app_hits, 1);
	assert_int_equal(rmport(port), 0);
	signal(SIGUSR1, SIG_DFL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unbalanced_crit_exit_aborts),
		cmocka_unit_test(application_handler_is_ebusy_and_kept),
		cmocka_unit_test(environment_chooses_the_signal),
		cmocka_unit_test(null_functions_are_einval),
		cmocka_unit_test(bad_timeouts_are_einval),
		cmocka_unit_test(bad_signals_are_einval_second_is_ebusy),
		cmocka_unit_test(requests_to_an_upcall_port_are_refused),
		cmocka_unit_test(closed_upcall_port_is_epipe),
		cmocka_unit_test(other_signals_keep_their_handlers),
	};

	/* the fork tests first: their children must start with no signal chosen */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
