/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: getdents64 messages read a directory to its end.  A
 * message fills its buffer with as many calls as fit and says when the
 * end was reached (eof), so a directory that fits is read in one message;
 * one that does not is read in several, every entry exactly once, as the
 * raw calls see them.  Both ways: inline and in the worker pool.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include "kputil.h"

enum { NFILES = 3000 };

static msgport_t *rp;

static int
setup(void **state)
{
	char name[32];
	int i, fd;

	kp_group_tmpdir(state);
	for (i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		assert_true((fd = open(name, O_CREAT | O_WRONLY, 0644)) >= 0);
		close(fd);
	}
	return 0;
}

/* Count a buffer's entries, and add up their inode numbers. */
static int
tally(const char *buf, long len, unsigned long long *sum)
{
	const struct dirent64 *de;
	long pos;
	int n = 0;

	for (pos = 0; pos < len; pos += de->d_reclen, n++) {
		de = (const struct dirent64 *)(buf + pos);
		*sum += de->d_ino;
	}
	return n;
}

/* The raw calls' view: entries, and the sum of their inode numbers. */
static int
raw_tally(unsigned long long *sum)
{
	static char buf[65536];
	long len;
	int fd = open(".", O_RDONLY | O_DIRECTORY), n = 0;

	assert_true(fd >= 0);
	*sum = 0;
	while ((len = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		n += tally(buf, len, sum);
	assert_int_equal(len, 0);
	close(fd);
	return n;
}

static void
read_in_pieces(int async, size_t size)
{
	static char buf[1 << 20];
	struct sys_getdents64 m;
	unsigned long long sum = 0, rawsum;
	int fd = open(".", O_RDONLY | O_DIRECTORY), n = 0, messages = 0, raw = raw_tally(&rawsum);

	assert_true(fd >= 0);
	assert_true(size <= sizeof(buf));
	for (;;) {
		prep_getdents64(&m, fd, buf, size);
		assert_int_equal(kp_send(&m.hdr, sizeof(m), async, rp), 0);
		messages++;
		n += tally(buf, m.hdr.ms_result, &sum);
		if (m.eof)
			break;
		/* not at the end: the buffer had no room for another entry */
		assert_true(m.hdr.ms_result > 0);
		assert_true((size_t)m.hdr.ms_result + 280 > size);
	}
	assert_int_equal(n, raw);
	assert_int_equal(n, NFILES + 2);	/* with . and .. */
	assert_true(sum == rawsum);
	if (size >= sizeof(buf))
		assert_int_equal(messages, 1);	/* it fits: one message, end included */
	else
		assert_true(messages > 1);
	/* and at the end a message says so at once */
	prep_getdents64(&m, fd, buf, size);
	assert_int_equal(kp_send(&m.hdr, sizeof(m), async, rp), 0);
	assert_int_equal(m.hdr.ms_result, 0);
	assert_int_equal(m.eof, 1);
	close(fd);
}

static void small_buffer_sync(void **s) { (void)s; read_in_pieces(0, 4096); }
static void small_buffer_async(void **s) { (void)s; read_in_pieces(1, 4096); }
static void large_buffer_sync(void **s) { (void)s; read_in_pieces(0, 1 << 20); }
static void large_buffer_async(void **s) { (void)s; read_in_pieces(1, 1 << 20); }

static void
errors_are_the_calls(void **state)
{
	struct sys_getdents64 m;
	char buf[4096];
	int fd = open(".", O_RDONLY | O_DIRECTORY);

	(void)state;
	prep_getdents64(&m, -1, buf, sizeof(buf));
	assert_int_equal(kp_send(&m.hdr, sizeof(m), 1, rp), EBADF);
	assert_int_equal(m.eof, 0);
	prep_getdents64(&m, fd, buf, 8);		/* too small for any entry */
	assert_int_equal(kp_send(&m.hdr, sizeof(m), 1, rp), EINVAL);
	prep_getdents64(&m, fd, (void *)16, sizeof(buf));
	assert_int_equal(kp_send(&m.hdr, sizeof(m), 1, rp), EFAULT);
	assert_int_equal(m.eof, 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_buffer_sync),
		cmocka_unit_test(small_buffer_async),
		cmocka_unit_test(large_buffer_sync),
		cmocka_unit_test(large_buffer_async),
		cmocka_unit_test(errors_are_the_calls),
	};
	int r;

	setenv("MSGPORT_GUESS", "pool", 1);	/* asynchronous ones: the pool */
	rp = mkport_queue();
	r = cmocka_run_group_tests(tests, setup, kp_group_rmtree);
	rmport(rp);
	return r;
}
