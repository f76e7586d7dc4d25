/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the worker pool takes queued messages in batches (kport/
 * pool.c).  Thousands of asynchronous fstatat messages sent at once to a
 * pool of two workers each come back exactly once with their own result;
 * messages aborted while queued behind a busy worker come back with
 * ECANCELED; an interruptible call queued among batched messages runs
 * alone and can still be cut short by abortsys().  MSGPORT_GUESS=pool
 * sends every fstatat to the pool.
 */
#define _GNU_SOURCE
#include "kputil.h"

#define NMSG	3000

struct smsg {
	struct sys_fstatat	m;
	struct stat		st;
	int			seen;
};

static char dir[256];
static int dirfd_;

/* Two files of different sizes and a missing name to stat. */
static const char *names[] = { "small", "large", "missing" };
static const off_t sizes[] = { 10, 5000, -1 };

static void
prep_one(struct smsg *s, int i, msgport_t *rp)
{
	memset(s, 0, sizeof(*s));
	prep_fstatat(&s->m, dirfd_, names[i % 3], &s->st, 0x100 /* AT_SYMLINK_NOFOLLOW */);
	prep_async(&s->m.hdr, rp);
	s->m.hdr.ms_cookie = s;
}

static void
thousands_each_returned_once(void **state)
{
	static struct smsg msgs[NMSG];
	msgport_t *rp = mkport_queue();
	int i, out = 0, r;
	msg_t *m;

	(void)state;
	for (i = 0; i < NMSG; i++) {
		prep_one(&msgs[i], i, rp);
		r = sendsys(sysport(), &msgs[i].m.hdr, sizeof(msgs[i].m));
		if (r == EASYNC)
			out++;
		else
			msgs[i].seen++;		/* finished in place: not queued */
	}
	while (out > 0) {
		assert_int_equal(waitsys(rp, NULL), 0);
		while ((m = getport(rp)) != NULL) {
			((struct smsg *)m->ms_cookie)->seen++;
			out--;
		}
	}
	assert_null(getport(rp));
	for (i = 0; i < NMSG; i++) {
		assert_int_equal(msgs[i].seen, 1);
		assert_true(kp_flags(&msgs[i].m.hdr) & MSGF_DONE);
		if (sizes[i % 3] < 0) {
			assert_int_equal(msgs[i].m.hdr.ms_error, ENOENT);
			assert_int_equal(msgs[i].m.hdr.ms_result, -1);
		} else {
			assert_int_equal(msgs[i].m.hdr.ms_error, 0);
			assert_int_equal(msgs[i].st.st_size, sizes[i % 3]);
		}
	}
	assert_int_equal(rmport(rp), 0);
}

/* Queue n stat messages (of names[k], or of names[i % 3] with k < 0); each must go async. */
static void
queue_stats(struct smsg *msgs, int n, int k, msgport_t *rp)
{
	for (int i = 0; i < n; i++) {
		prep_one(&msgs[i], k < 0 ? i : k, rp);
		assert_int_equal(sendsys(sysport(), &msgs[i].m.hdr, sizeof(msgs[i].m)), EASYNC);
	}
}

/* A system port with one worker, so that a sleeper holds up the queue. */
static void
one_worker(void)
{
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(sysport_start(&(struct sysport_attr){ .sa_workers = 1 }), 0);
}

/* One worker held by a long poll of nothing: everything else stays
   queued.  (An asynchronous nanosleep would hold no worker: a timer.) */
static void
sleeper(struct sys_poll *ns, msgport_t *rp)
{
	prep_poll(ns, NULL, 0, 20000);
	prep_async(&ns->hdr, rp);
	assert_int_equal(sendsys(sysport(), &ns->hdr, sizeof(*ns)), EASYNC);
}

static void
aborted_while_queued_come_back_canceled(void **state)
{
	static struct smsg msgs[100];
	msgport_t *rp = mkport_queue();
	struct sys_poll ns;
	int i;

	(void)state;
	one_worker();
	sleeper(&ns, rp);
	queue_stats(msgs, 100, -1, rp);
	for (i = 0; i < 100; i++)
		assert_int_equal(abortsys(&msgs[i].m.hdr), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(kp_waitdone(rp, &msgs[i].m.hdr), ECANCELED);
		assert_int_equal(msgs[i].m.hdr.ms_result, -1);
	}
	assert_int_equal(abortsys(&ns.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &ns.hdr), ECANCELED);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static void
interruptible_call_among_batched_ones_is_aborted(void **state)
{
	static struct smsg before[20], after[20];
	msgport_t *rp = mkport_queue();
	struct sys_poll ns;
	int i;

	(void)state;
	one_worker();
	queue_stats(before, 20, 0, rp);
	sleeper(&ns, rp);
	queue_stats(after, 20, 1, rp);
	for (i = 0; i < 20; i++)
		assert_int_equal(kp_waitdone(rp, &before[i].m.hdr), 0);
	/* queued or asleep, it must come back at once with ECANCELED */
	assert_int_equal(abortsys(&ns.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &ns.hdr), ECANCELED);
	for (i = 0; i < 20; i++) {
		assert_int_equal(kp_waitdone(rp, &after[i].m.hdr), 0);
		assert_int_equal(after[i].st.st_size, sizes[1]);
	}
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static int
setup(void **state)
{
	int fd;

	(void)state;
	kp_tmpdir(dir, sizeof(dir));
	if ((dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if ((fd = openat(dirfd_, names[i], O_CREAT | O_WRONLY, 0600)) < 0 ||
		    ftruncate(fd, sizes[i]) != 0)
			return -1;
		close(fd);
	}
	return sysport_start(&(struct sysport_attr){ .sa_workers = 2 });
}

static int
teardown(void **state)
{
	(void)state;
	sysport_stop();
	close(dirfd_);
	kp_rmtree(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(thousands_each_returned_once),
		cmocka_unit_test(aborted_while_queued_come_back_canceled),
		cmocka_unit_test(interruptible_call_among_batched_ones_is_aborted),
	};

	setenv("MSGPORT_GUESS", "pool", 1);	/* before the system port starts */
	return cmocka_run_group_tests(tests, setup, teardown);
}
