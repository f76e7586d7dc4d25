/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: fstatatv, a directory's worth of fstatat() calls in one
 * message: every name's outcome agrees with the raw fstatat(), sent
 * synchronously (the caller's thread) and asynchronously (the worker
 * pool: MSGPORT_GUESS=pool); bad arrays and bad pointers inside them are
 * refused, never a crash, even arrays in unmapped or read-only pages and
 * NULL names; a queued one aborts; a slate can feed it the
 * descriptor it opened.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>

#include "kputil.h"
#include "msgport-slate.h"

static msgport_t *rp;
static int dfd;

/* Names of every kind: file, directory, symlinks, missing, odd characters. */
static const char *names[] = {
	"file", "sub", "link", "dangling", "missing", "sub/inner", "with space",
	"new\nline", "", ".", "..",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static int
setup(void **state)
{
	int fd;

	kp_group_tmpdir(state);
	assert_true((fd = open("file", O_CREAT | O_WRONLY, 0644)) >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(mkdir("sub", 0755), 0);
	assert_true((fd = open("sub/inner", O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	assert_int_equal(symlink("file", "link"), 0);
	assert_int_equal(symlink("nothing", "dangling"), 0);
	assert_true((fd = open("with space", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	assert_true((fd = open("new\nline", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	assert_true((dfd = open(".", O_RDONLY | O_DIRECTORY)) >= 0);
	return 0;
}

static int
teardown(void **state)
{
	close(dfd);
	return kp_group_rmtree(state);
}

static int
sendv(struct sys_fstatatv *m, int async)
{
	return kp_send(&m->hdr, sizeof(*m), async, rp);
}

/* Every outcome as the raw call's, with and without following symlinks. */
static void
outcomes(int async)
{
	static const int flags[] = { AT_SYMLINK_NOFOLLOW, 0 };
	struct sys_fstatatv m;
	struct stat st[NNAMES], raw;
	int errs[NNAMES], ok;
	size_t f, i;

	for (f = 0; f < 2; f++) {
		memset(errs, 0x55, sizeof(errs));
		prep_fstatatv(&m, dfd, names, st, errs, NNAMES, flags[f]);
		assert_int_equal(sendv(&m, async), 0);
		for (ok = 0, i = 0; i < NNAMES; i++) {
			assert_int_equal(errs[i], RAWERR(fstatat(dfd, names[i], &raw, flags[f])));
			if (errs[i] != 0)
				continue;
			ok++;
			assert_int_equal(st[i].st_ino, raw.st_ino);
			assert_int_equal(st[i].st_mode, raw.st_mode);
			assert_int_equal(st[i].st_size, raw.st_size);
		}
		assert_int_equal(m.hdr.ms_result, ok);
	}
	assert_int_equal(errs[4], ENOENT);			/* missing */
	assert_true(S_ISREG(st[2].st_mode));			/* link, followed */
	assert_int_equal(errs[3], ENOENT);			/* dangling, followed */
}

static void outcomes_sync(void **s) { (void)s; outcomes(0); }
static void outcomes_async(void **s) { (void)s; outcomes(1); }

/* Bad input: refused as a whole, or the real call's errno per name. */
static void
bad_input(int async)
{
	const char *bad[] = { "file", (const char *)1, "missing" };
	struct sys_fstatatv m;
	struct stat st[3];
	int errs[3];

	memset(errs, 0x55, sizeof(errs));
	prep_fstatatv(&m, dfd, bad, st, errs, 3, 0);
	assert_int_equal(sendv(&m, async), 0);
	assert_int_equal(m.hdr.ms_result, 1);
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], EFAULT);			/* a bad name pointer */
	assert_int_equal(errs[2], ENOENT);

	prep_fstatatv(&m, dfd, names, (struct stat *)16, errs, 3, 0);
	assert_int_equal(sendv(&m, async), 0);			/* bad st: each call's EFAULT */
	assert_int_equal(m.hdr.ms_result, 0);
	assert_int_equal(errs[0], EFAULT);
	assert_int_equal(errs[2], EFAULT);

	prep_fstatatv(&m, -1, names, st, errs, 3, 0);
	assert_int_equal(sendv(&m, async), 0);
	assert_int_equal(m.hdr.ms_result, 0);
	assert_int_equal(errs[0], EBADF);

	memset(errs, 0x55, sizeof(errs));
	prep_fstatatv(&m, dfd, NULL, st, errs, 3, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	prep_fstatatv(&m, dfd, names, NULL, errs, 3, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	prep_fstatatv(&m, dfd, names, st, NULL, 3, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	assert_int_equal(m.hdr.ms_result, -1);
	prep_fstatatv(&m, dfd, names, st, errs, FSTATATV_MAX + 1, 0);
	assert_int_equal(sendv(&m, async), EINVAL);
	assert_int_equal(errs[0], 0x55555555);			/* refused: nothing ran */

	prep_fstatatv(&m, dfd, NULL, NULL, NULL, 0, 0);
	assert_int_equal(sendv(&m, async), 0);			/* nothing to do */
	assert_int_equal(m.hdr.ms_result, 0);
	prep_fstatatv(&m, dfd, names, st, errs, 1, 0);
	if (async)
		prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m) - 1), EINVAL);	/* refused */
}

static void bad_input_sync(void **s) { (void)s; bad_input(0); }
static void bad_input_async(void **s) { (void)s; bad_input(1); }

/*
 * Arrays the library copies, at addresses that fault: a names[] or
 * errs[] that is unmapped, runs into an unmapped page or (errs) is
 * read-only is the message's EFAULT; an unmapped st[] each call's; a
 * NULL name that name's, even with AT_EMPTY_PATH (which would take it
 * for the directory).
 */
static void
wild_arrays(int async)
{
	const char *nul[] = { "file", NULL, "missing" };
	long pg = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	char *ro = map, *none = map + pg, *rw = map + 2 * pg;
	const char **tail = (const char **)none - 1;	/* one name readable, the next not */
	struct sys_fstatatv m;
	struct stat st[3];
	int errs[3];

	assert_true(map != MAP_FAILED);
	tail[0] = "file";
	assert_int_equal(mprotect(ro, (size_t)pg, PROT_READ), 0);
	assert_int_equal(mprotect(none, (size_t)pg, PROT_NONE), 0);
	memset(errs, 0x55, sizeof(errs));

	prep_fstatatv(&m, dfd, (const char *const *)none, st, errs, 3, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	assert_int_equal(m.hdr.ms_result, -1);
	assert_int_equal(errs[0], 0x55555555);			/* nothing ran */
	prep_fstatatv(&m, dfd, tail, st, errs, 2, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	assert_int_equal(errs[0], 0x55555555);

	prep_fstatatv(&m, dfd, names, st, (int *)none, 3, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	assert_int_equal(m.hdr.ms_result, -1);
	prep_fstatatv(&m, dfd, names, st, (int *)ro, 3, 0);
	assert_int_equal(sendv(&m, async), EFAULT);
	prep_fstatatv(&m, dfd, names, st, (int *)none - 1, 2, 0);
	assert_int_equal(sendv(&m, async), EFAULT);

	prep_fstatatv(&m, dfd, names, (struct stat *)none, (int *)rw, 3, 0);
	assert_int_equal(sendv(&m, async), 0);
	assert_int_equal(m.hdr.ms_result, 0);
	assert_int_equal(((int *)rw)[0], EFAULT);
	assert_int_equal(((int *)rw)[2], EFAULT);

	prep_fstatatv(&m, dfd, nul, st, errs, 3, 0x1000 /* AT_EMPTY_PATH */);
	assert_int_equal(sendv(&m, async), 0);
	assert_int_equal(m.hdr.ms_result, 1);
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], EFAULT);
	assert_int_equal(errs[2], ENOENT);
	munmap(map, (size_t)pg * 3);
}

static void wild_arrays_sync(void **s) { (void)s; wild_arrays(0); }
static void wild_arrays_async(void **s) { (void)s; wild_arrays(1); }

/* The most a message may carry, many in flight at once: all succeed. */
static void
full_vectors_in_flight(void **state)
{
	enum { NMSG = 16 };
	static const char *many[FSTATATV_MAX];
	static struct stat st[NMSG][FSTATATV_MAX];
	static int errs[NMSG][FSTATATV_MAX];
	static struct sys_fstatatv m[NMSG];
	int i, k, r;

	(void)state;
	for (i = 0; i < FSTATATV_MAX; i++)
		many[i] = i % 2 ? "file" : "sub/inner";
	for (k = 0; k < NMSG; k++) {
		prep_fstatatv(&m[k], dfd, many, st[k], errs[k], FSTATATV_MAX, 0);
		prep_async(&m[k].hdr, rp);
		r = sendsys(sysport(), &m[k].hdr, sizeof(m[k]));
		assert_true(r == EASYNC || r == 0);
	}
	for (k = 0; k < NMSG; k++) {
		assert_int_equal(kp_waitdone(rp, &m[k].hdr), 0);
		assert_int_equal(m[k].hdr.ms_result, FSTATATV_MAX);
		assert_int_equal(st[k][FSTATATV_MAX - 1].st_size, 10);
		assert_int_equal(errs[k][0], 0);
	}
	assert_null(getport(rp));
}

/* Queued behind a poll of nothing on the only worker: abortsys() returns it unrun. */
static void
aborted_while_queued(void **state)
{
	struct sys_poll ns;
	struct sys_fstatatv m;
	struct stat st[NNAMES];
	int errs[NNAMES];

	(void)state;
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(sysport_start(&(struct sysport_attr){ .sa_workers = 1 }), 0);
	prep_poll(&ns, NULL, 0, 20000);
	prep_async(&ns.hdr, rp);
	assert_int_equal(sendsys(sysport(), &ns.hdr, sizeof(ns)), EASYNC);
	memset(errs, 0x55, sizeof(errs));
	prep_fstatatv(&m, dfd, names, st, errs, NNAMES, 0);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), ECANCELED);
	assert_int_equal(errs[0], 0x55555555);
	assert_int_equal(abortsys(&ns.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &ns.hdr), ECANCELED);
	assert_null(getport(rp));
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(sysport_start(NULL), 0);
}

/* In a slate: open the directory, then stat names in it through register 1. */
static void
in_a_slate(void **state)
{
	struct slate_entry ent[3];
	struct sys_slate sl;
	struct sys_openat op;
	struct sys_fstatatv m;
	struct sys_close cl;
	struct stat st[2];
	int64_t regs[2];
	int errs[2];

	(void)state;
	assert_int_equal(slate_init(&sl, ent, 3, regs, 2), 0);
	prep_openat(&op, AT_FDCWD, kp_dir, O_RDONLY | O_DIRECTORY, 0);
	assert_int_equal(slate_add(&sl, &op.hdr, sizeof(op), &(struct slate_opts){ .out = 1 }), 0);
	prep_fstatatv(&m, -1, names, st, errs, 2, 0);
	assert_int_equal(slate_add(&sl, &m.hdr, sizeof(m),
	    &(struct slate_opts){ .inarg = { 0 }, .inreg = { 1 } }), 0);
	prep_close(&cl, -1);
	assert_int_equal(slate_add(&sl, &cl.hdr, sizeof(cl),
	    &(struct slate_opts){ .inarg = { 0 }, .inreg = { 1 } }), 0);
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(m.hdr.ms_error, 0);
	assert_int_equal(m.hdr.ms_result, 2);
	assert_int_equal(st[0].st_size, 10);
	assert_true(S_ISDIR(st[1].st_mode));
	assert_int_equal(cl.hdr.ms_error, 0);

	/* the count may be fed too (slot 4); the name array, a pointer, not */
	assert_int_equal(slate_init(&sl, ent, 3, regs, 2), 0);
	assert_int_equal(slate_add(&sl, &m.hdr, sizeof(m),
	    &(struct slate_opts){ .inarg = { 1 }, .inreg = { 1 } }), EINVAL);
	assert_int_equal(slate_add(&sl, &m.hdr, sizeof(m),
	    &(struct slate_opts){ .inarg = { 4 }, .inreg = { 1 } }), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(outcomes_sync),
		cmocka_unit_test(outcomes_async),
		cmocka_unit_test(bad_input_sync),
		cmocka_unit_test(bad_input_async),
		cmocka_unit_test(wild_arrays_sync),
		cmocka_unit_test(wild_arrays_async),
		cmocka_unit_test(full_vectors_in_flight),
		cmocka_unit_test(aborted_while_queued),
		cmocka_unit_test(in_a_slate),
	};
	int r;

	setenv("MSGPORT_GUESS", "pool", 1);	/* asynchronous ones: the pool, always */
	rp = mkport_queue();
	r = cmocka_run_group_tests(tests, setup, teardown);
	rmport(rp);
	return r;
}
