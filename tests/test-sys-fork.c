/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: after fork() the child's system port refuses every
 * message with EOWNERDEAD until the child calls sysport_start(); then it
 * works, threads and all.  The parent is unaffected, even with a message
 * in flight across the fork.  Groups: the plain restart; a child that
 * aborts a message it inherited in flight (the parent's still comes
 * back); a restart after a busy fork (thousands in flight), where every
 * kind of call works in the child.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/wait.h>

#include <sys/syscall.h>

#include "kputil.h"

/* ThreadSanitizer refuses threads in a child of a threaded parent unless told. */
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
	return "die_after_fork=0";
}

/* Fork, run fn in the child (its exit code: 0 is success), wait for it. */
static void
kp_forkrun(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);	/* a child stuck on a lock taken at the fork fails, not hangs */
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* In the child: no cmocka, exit codes say what went wrong. */
static int
child(void *arg)
{
	static const struct timespec ms = { 0, 1000000 };
	msgport_t *rp;
	struct sys_getpid g;
	struct sys_nanosleep ns;

	(void)arg;
	prep_getpid(&g);
	if (sendsys(sysport(), &g.hdr, sizeof(g)) != EOWNERDEAD || g.hdr.ms_error != EOWNERDEAD)
		return 10;
	if ((rp = mkport_queue()) == NULL)
		return 11;
	prep_nanosleep(&ns, &ms, NULL);
	prep_async(&ns.hdr, rp);
	if (sendsys(sysport(), &ns.hdr, sizeof(ns)) != EOWNERDEAD)
		return 12;
#ifdef __SANITIZE_THREAD__
	/* TSan cannot start threads in a child of a threaded parent ("dup
	   thread"): the restart is checked in the plain and ASan builds. */
	return 0;
#endif
	if (sysport_start(NULL) != 0)
		return 13;
	if (sendsys(sysport(), &g.hdr, sizeof(g)) != 0 || g.hdr.ms_result != getpid())
		return 14;
	if (sendsys(sysport(), &ns.hdr, sizeof(ns)) != EASYNC)
		return 15;
	if (waitsys(rp, &ns.hdr) != 0)
		return 16;
	if (sysport_stop() != 0)
		return 17;
	return 0;
}

static void
child_is_refused_until_it_starts_again(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rc;
	struct sys_getpid g;
	char c = 0;
	int sv[2];

	(void)s;
	prep_getpid(&g);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_recv(&rc, sv[1], &c, 1, 0);
	prep_async(&rc.hdr, rp);
	assert_int_equal(sendsys(sysport(), &rc.hdr, sizeof(rc)), EASYNC);

#ifdef __SANITIZE_ADDRESS__
	/* ASan's allocator (gcc 12) is not fork-safe: let the loop thread
	   finish registering the receive, so it holds no allocator lock. */
	nanosleep(&(struct timespec){ 0, 200 * 1000000L }, NULL);
#endif
	kp_forkrun(child, NULL);

	/* the parent's kernel did not notice */
	assert_int_equal(write(sv[0], "f", 1), 1);
	assert_int_equal(kp_waitdone(rp, &rc.hdr), 0);
	assert_int_equal(c, 'f');
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(g.hdr.ms_result, getpid());
	close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

/* Group: a child aborts what it inherited in flight. */

static int
child_aborts(void *arg)
{
	msg_t *m = arg;

	/* the parent's message: nothing to take back here, nothing returned */
	if (abortsys(m) != 0)
		return 20;
#ifdef __SANITIZE_THREAD__
	return 0;			/* no threads in this child: see child() */
#endif
	if (sysport_start(NULL) != 0)
		return 21;
	if (abortsys(m) != 0)		/* nor after a restart */
		return 22;
	if (sysport_stop() != 0)
		return 23;
	return 0;
}

static void
child_abort_leaves_the_parents_read(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom rc;
	char c = 0;
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_recv(&rc, sv[1], &c, 1, 0);
	prep_async(&rc.hdr, rp);
	assert_int_equal(sendsys(sysport(), &rc.hdr, sizeof(rc)), EASYNC);
#ifdef __SANITIZE_ADDRESS__
	nanosleep(&(struct timespec){ 0, 200 * 1000000L }, NULL);	/* see above */
#endif
	kp_forkrun(child_aborts, &rc.hdr);

	/* the one event on sv[1] is still on the parent's loop */
	assert_int_equal(write(sv[0], "a", 1), 1);
	assert_int_equal(kp_waitdone(rp, &rc.hdr), 0);
	assert_int_equal(rc.hdr.ms_result, 1);
	assert_int_equal(c, 'a');
	close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

/* Group: a restart after a busy fork works for every kind of call. */

#define BUSY_READS	2000
#define BUSY_SLEEPS	50

/* The child's calls after its restart: a pipe read, a socket read, a pool call, a timer. */
static int
child_busy(void *arg)
{
	static const struct timespec ms = { 0, 1000000 };
	struct sys_read rd;
	struct sys_recvfrom rc;
	struct sys_syscall sc;
	struct sys_nanosleep ns;
	struct sys_timer tm;
	msgport_t *rp;
	char c = 0;
	int p[2], sv[2];

	(void)arg;
#ifdef __SANITIZE_THREAD__
	return 0;			/* no threads in this child: see child() */
#endif
	if (sysport_start(NULL) != 0)
		return 30;
	if ((rp = mkport_queue()) == NULL || pipe(p) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 31;
	prep_read(&rd, p[0], &c, 1);
	prep_async(&rd.hdr, rp);
	if (sendsys(sysport(), &rd.hdr, sizeof(rd)) != EASYNC || write(p[1], "p", 1) != 1)
		return 32;
	if (kp_waitdone(rp, &rd.hdr) != 0 || rd.hdr.ms_result != 1 || c != 'p')
		return 33;
	prep_recv(&rc, sv[1], &c, 1, 0);
	prep_async(&rc.hdr, rp);
	if (sendsys(sysport(), &rc.hdr, sizeof(rc)) != EASYNC || write(sv[0], "s", 1) != 1)
		return 34;
	if (kp_waitdone(rp, &rc.hdr) != 0 || rc.hdr.ms_result != 1 || c != 's')
		return 35;
	prep_syscall(&sc, SYS_getppid, 0, 0, 0, 0, 0, 0);	/* the generic message: the pool */
	prep_async(&sc.hdr, rp);
	if (sendsys(sysport(), &sc.hdr, sizeof(sc)) != EASYNC || kp_waitdone(rp, &sc.hdr) != 0)
		return 36;
	prep_nanosleep(&ns, &ms, NULL);				/* a timer of the loop */
	prep_async(&ns.hdr, rp);
	if (sendsys(sysport(), &ns.hdr, sizeof(ns)) != EASYNC || kp_waitdone(rp, &ns.hdr) != 0)
		return 39;
	prep_timer(&tm, CLOCK_MONOTONIC, 0, &ms, NULL, rp);
	if (sendsys(sysport(), &tm.hdr, sizeof(tm)) != EASYNC || kp_waitdone(rp, &tm.hdr) != 0 ||
	    tm.hdr.ms_count != 1)
		return 37;
	if (sysport_stop() != 0)
		return 38;
	return 0;
}

static void
child_restarts_after_a_busy_fork(void **s)
{
	static struct sys_read rd[BUSY_READS];
	static struct sys_poll ns[BUSY_SLEEPS];		/* polls of nothing: they hold workers */
	msgport_t *rp = mkport_queue();
	char buf[BUSY_READS];
	int p[2], i;

	(void)s;
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < BUSY_READS; i++) {
		prep_read(&rd[i], p[0], &buf[i], 1);
		prep_async(&rd[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &rd[i].hdr, sizeof(rd[i])), EASYNC);
	}
	for (i = 0; i < BUSY_SLEEPS; i++) {
		prep_poll(&ns[i], NULL, 0, 60 * 1000);
		prep_async(&ns[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &ns[i].hdr, sizeof(ns[i])), EASYNC);
	}
#ifdef __SANITIZE_ADDRESS__
	nanosleep(&(struct timespec){ 0, 200 * 1000000L }, NULL);	/* see above */
#endif
	kp_forkrun(child_busy, NULL);

	/* the parent's messages are all still its own: each comes back once */
	assert_int_equal(abortsys(&rd[0].hdr), 0);
	assert_int_equal(kp_waitdone(rp, &rd[0].hdr), ECANCELED);
	assert_int_equal(write(p[1], "x", 1), 1);
	for (i = 0; i < BUSY_SLEEPS; i++)
		assert_int_equal(abortsys(&ns[i].hdr), 0);
	for (i = 0; i < BUSY_SLEEPS; i++)
		assert_int_equal(kp_waitdone(rp, &ns[i].hdr), ECANCELED);
	assert_int_equal(sysport_stop(), 0);
	for (i = 0; i < BUSY_READS; i++)
		assert_true(kp_flags(&rd[i].hdr) & MSGF_DONE);
	while (getport(rp) != NULL)
		continue;
	assert_int_equal(sysport_start(NULL), 0);
	close(p[0]), close(p[1]);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(child_is_refused_until_it_starts_again),
		cmocka_unit_test(child_abort_leaves_the_parents_read),
		cmocka_unit_test(child_restarts_after_a_busy_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
