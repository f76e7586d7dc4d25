/*
 * Description: after fork() the child's system port refuses every
 * message with EOWNERDEAD until the child calls sysport_start(); then it
 * works, threads and all.  The parent is unaffected, even with a message
 * in flight across the fork.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/wait.h>

#include "kputil.h"

/* ThreadSanitizer refuses threads in a child of a threaded parent unless told. */
const char *__tsan_default_options(void);
const char *
__tsan_default_options(void)
{
	return "die_after_fork=0";
}

/* In the child: no cmocka, exit codes say what went wrong. */
static int
child(void)
{
	static const struct timespec ms = { 0, 1000000 };
	msgport_t *rp;
	struct sys_getpid g;
	struct sys_nanosleep ns;

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
	int sv[2], status;
	pid_t pid;

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
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* the parent's kernel did not notice */
	assert_int_equal(write(sv[0], "f", 1), 1);
	assert_int_equal(kp_waitdone(rp, &rc.hdr), 0);
	assert_int_equal(c, 'f');
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(g.hdr.ms_result, getpid());
	close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(child_is_refused_until_it_starts_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
