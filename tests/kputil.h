/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * kputil.h - what the system port tests share: sending a message
 * synchronously or asynchronously the same way, a scratch directory, and
 * a record of which commands a test program exercised in which mode.
 */
#ifndef MSGPORT_KPUTIL_H
#define MSGPORT_KPUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "msgport.h"
#include "msgport-sys.h"

static inline uint32_t
kp_flags(msg_t *m)
{
	return __atomic_load_n(&m->ms_flags, __ATOMIC_ACQUIRE);
}

/* Which commands ran in which mode (0 sync, 1 async): a bit per command. */
#define KP_SEEN_WORDS	((KCMD_MAX + 63) / 64)
static uint64_t kp_seen[2][KP_SEEN_WORDS];

static inline bool
kp_was_seen(int async, uint32_t cmd)
{
	return (kp_seen[async != 0][cmd / 64] >> (cmd % 64)) & 1;
}

/*
 * kp_send
 *	Send msg to the system port, synchronously or asynchronously with a
 *	reply port, and wait for it: the call's errno (0 on success) either
 *	way.  Checks it came back idle and done, and returned once.
 */
static inline int
kp_send(msg_t *m, size_t size, int async, msgport_t *rport)
{
	int r;

	if (m->ms_cmd < KCMD_MAX)
		kp_seen[async != 0][m->ms_cmd / 64] |= 1ull << (m->ms_cmd % 64);
	if (async)
		prep_async(m, rport);
	r = sendsys(sysport(), m, size);
	if (r == EASYNC) {
		r = waitsys(rport, m);
		assert_null(getport(rport));
	}
	assert_true(kp_flags(m) & MSGF_DONE);
	assert_false(kp_flags(m) & MSGF_INFLIGHT);
	return r;
}

/* A raw call's outcome as an errno (0 on success). */
#define RAWERR(expr) ((expr) < 0 ? errno : 0)

/* A fresh scratch directory; chdir into it. */
static inline char *
kp_tmpdir(char *buf, size_t len)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, len, "%s/msgport-test-XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(buf));
	assert_int_equal(chdir(buf), 0);
	return buf;
}

static inline void
kp_rmtree(const char *dir)
{
	char cmd[600];

	assert_int_equal(chdir("/"), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A file holding text, made afresh. */
static inline void
kp_mkfile(const char *name, const char *text)
{
	int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The entries of a directory, . and .. left out (/proc/self/fd: the
   open descriptors, one more while it is read). */
static inline int
kp_nentries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A group's scratch directory, kp_dir: made (and entered) before the
 * group's tests, removed after them.  For cmocka_run_group_tests().
 */
static char kp_dir[256];

static inline int
kp_group_tmpdir(void **state)
{
	(void)state;
	kp_tmpdir(kp_dir, sizeof(kp_dir));
	return 0;
}

static inline int
kp_group_rmtree(void **state)
{
	(void)state;
	kp_rmtree(kp_dir);
	return 0;
}

/* Does it complete: a generous deadline, never a timing assertion. */
static inline int
kp_waitdone(msgport_t *rport, msg_t *m)
{
	struct timespec t = { 30, 0 };

	return timedwaitsys(rport, m, &t);
}

/*
 * kp_rerun
 *	Run this test program again in a fresh process (what the library
 *	reads when it loads, such as MSGPORT_TRACE or MSGPORT_GUESS, is
 *	read anew) with var=value in its environment and role as its
 *	argument, in the same directory; assert that it exits 0.
 */
static inline void
kp_rerun(const char *var, const char *value, const char *role)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		setenv(var, value, 1);
		execl("/proc/self/exe", "kp_rerun", role, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#endif /* MSGPORT_KPUTIL_H */
