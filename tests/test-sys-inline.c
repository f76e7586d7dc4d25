/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a synchronous message runs in the sender's own thread and
 * costs no system call but its own: the indirect gettid message returns
 * the sender's thread id, and under strace a loop of synchronous getpid
 * messages shows nothing but getpid calls (skipped without strace).
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kputil.h"

#define NLOOP 200

static void
runs_in_the_senders_thread(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_syscall m;

	(void)s;
	prep_syscall(&m, SYS_gettid, 0, 0, 0, 0, 0, 0);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), 0);
	assert_int_equal(m.hdr.ms_result, gettid());
	/* the asynchronous indirect message goes to a worker: another thread */
	prep_syscall(&m, SYS_gettid, 0, 0, 0, 0, 0, 0);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(kp_waitdone(rp, &m.hdr), 0);
	assert_true(m.hdr.ms_result != gettid());
	assert_int_equal(rmport(rp), 0);
}

/* An async message that finishes in the sender's thread is not queued too. */
static void
async_finished_inline_is_returned_by_sendsys_only(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_getpid g;
	struct sys_syscall m;

	(void)s;
	prep_getpid(&g);
	prep_async(&g.hdr, rp);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(g.hdr.ms_result, getpid());
	assert_true(kp_flags(&g.hdr) & MSGF_DONE);
	assert_false(kp_flags(&g.hdr) & (MSGF_INFLIGHT | MSGF_QUEUED | MSGF_REPLY));
	assert_null(getport(rp));
	/* one that goes to the pool, with no reply port: the done flag tells */
	prep_syscall(&m, SYS_close, -1, 0, 0, 0, 0, 0);
	m.hdr.ms_flags |= MSGF_ASYNC;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(waitsys(NULL, &m.hdr), EBADF);
	assert_int_equal(m.hdr.ms_result, -1);
	assert_int_equal(rmport(rp), 0);
}

/* The traced loop, between two markers strace will show. */
static int
getpid_loop(void)
{
	struct sys_getpid m;
	int i;

	if (sysport() == NULL)
		return 1;
	prep_getpid(&m);
	(void)!write(-1, "begin", 5);
	for (i = 0; i < NLOOP; i++)
		if (sendsys(sysport(), &m.hdr, sizeof(m)) != 0)
			return 1;
	(void)!write(-1, "end", 3);
	return 0;
}

static void
strace_shows_only_getpid(void **s)
{
	char out[] = "/tmp/msgport-strace-XXXXXX", line[512], exe[4096] = { 0 };
	int fd, status, in = 0, getpids = 0, others = 0;
	pid_t pid, tid = -1;
	FILE *f;

	(void)s;
	if (access("/usr/bin/strace", X_OK) != 0)
		skip();
	assert_true((fd = mkstemp(out)) >= 0);
	close(fd);
	assert_true(readlink("/proc/self/exe", exe, sizeof(exe) - 1) > 0);
	if ((pid = fork()) == 0) {
		execl("/usr/bin/strace", "strace", "-f", "-qq", "-o", out, exe, "--loop", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(out);
		print_message("strace exited with %d: skipped\n", status);
		skip();		/* no ptrace here */
	}
	assert_non_null(f = fopen(out, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		pid_t p = (pid_t)strtol(line, NULL, 10);
		const char *call = strchr(line, ' ');

		if (call == NULL)
			continue;
		while (*call == ' ')
			call++;
		if (strncmp(call, "write(-1, \"begin\"", 17) == 0) {
			in = 1, tid = p;
			continue;
		}
		if (strncmp(call, "write(-1, \"end\"", 15) == 0)
			break;
		if (!in || p != tid)
			continue;
		if (strncmp(call, "getpid(", 7) == 0)
			getpids++;
		else if (strncmp(call, "<... ", 5) == 0)
			continue;	/* the rest of a line another thread split */
		else
			others++, print_message("extra: %s", call);
	}
	fclose(f);
	unlink(out);
	assert_int_equal(getpids, NLOOP);
	assert_int_equal(others, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runs_in_the_senders_thread),
		cmocka_unit_test(async_finished_inline_is_returned_by_sendsys_only),
		cmocka_unit_test(strace_shows_only_getpid),
	};

	if (argc > 1 && strcmp(argv[1], "--loop") == 0)
		return getpid_loop();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
