/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: running out of descriptors at the first sysport() is an
 * error (EMFILE), never an exit and never a permanent failure: once
 * descriptors are free again sysport() starts the port and calls work.
 * With exactly N descriptors free (N = 0..8) the program never dies and
 * never prints; it gets an error or a port, and recovers.  Each case runs
 * in a child of its own (a process whose system port was never started),
 * under a small RLIMIT_NOFILE.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kputil.h"

#define NOFILE_LIMIT	64

/* Descriptors taken to use up the limit, given back by kp_release(). */
static int fill[NOFILE_LIMIT];
static int nfill;

/* Lower the limit and take every descriptor under it but `left`. */
static int
kp_exhaust(int left)
{
	struct rlimit rl = { NOFILE_LIMIT, NOFILE_LIMIT };
	int fd;

	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	for (nfill = 0; (fd = dup(0)) >= 0; )
		fill[nfill++] = fd;
	if (errno != EMFILE || nfill < left)
		return -1;
	while (left-- > 0)
		close(fill[--nfill]);
	return 0;
}

static void
kp_release(void)
{
	while (nfill > 0)
		close(fill[--nfill]);
}

/* An asynchronous pipe read through the port completes: 0, or a code. */
static int
kp_readworks(void)
{
	struct sys_read rd;
	msgport_t *rp;
	char c = 0;
	int p[2];

	if ((rp = mkport_queue()) == NULL || pipe(p) != 0)
		return 50;
	prep_read(&rd, p[0], &c, 1);
	prep_async(&rd.hdr, rp);
	if (sendsys(sysport(), &rd.hdr, sizeof(rd)) != EASYNC || write(p[1], "r", 1) != 1)
		return 51;
	if (kp_waitdone(rp, &rd.hdr) != 0 || rd.hdr.ms_result != 1 || c != 'r')
		return 52;
	close(p[0]), close(p[1]);
	return rmport(rp) == 0 ? 0 : 53;
}

/* The child with none free: EMFILE, then a port once they are back. */
static int
child_none_free(int left)
{
	if (kp_exhaust(left) != 0)
		return 40;
	if (sysport() != NULL || errno != EMFILE)
		return 41;
	if (sysport() != NULL || errno != EMFILE)	/* again: still an error, the same */
		return 42;
	kp_release();
	if (sysport() == NULL)
		return 43;
	return kp_readworks();
}

/* The child with `left` free: an error as it is, or a port; then it works. */
static int
child_some_free(int left)
{
	msgport_t *port;

	if (kp_exhaust(left) != 0)
		return 40;
	port = sysport();
	if (port == NULL && errno != EMFILE && errno != ENFILE && errno != ENOMEM)
		return 44;
	kp_release();
	if (port == NULL && sysport() == NULL)
		return 45;
	return kp_readworks();
}

/*
 * kp_inchild
 *	Run fn(left) in a child whose standard output and error go to a
 *	pipe; its exit code (0: it worked), and whether it printed anything.
 */
static int
kp_inchild(int (*fn)(int), int left, bool *printed)
{
	char buf[256];
	int out[2], status;
	pid_t pid;

	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]), close(out[1]);
		_exit(fn(left));
	}
	close(out[1]);
	*printed = read(out[0], buf, sizeof(buf)) > 0;
	close(out[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
exhausted_then_recovered(void **s)
{
	bool printed;

	(void)s;
	assert_int_equal(kp_inchild(child_none_free, 0, &printed), 0);
	assert_false(printed);
}

static void
exactly_n_free(void **s)
{
	bool printed;
	int n;

	(void)s;
	for (n = 0; n <= 8; n++) {
		print_message("%d free\n", n);
		assert_int_equal(kp_inchild(child_some_free, n, &printed), 0);
		assert_false(printed);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exhausted_then_recovered),
		cmocka_unit_test(exactly_n_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
