/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: polling slates.  A slate of "done yet?" calls -- reads on
 * non-blocking pipes, poll() with timeout 0, waitpid(WNOHANG) -- is
 * re-run by slate_run_until() until every entry is done, while another
 * thread writes the pipes and lets a child exit.  Entries done in an
 * earlier round are not run again; an entry that never gets done ends
 * the wait with ETIMEDOUT at the deadline; in order and in parallel,
 * synchronous and asynchronous.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>

#include "kputil.h"
#include "msgport-slate.h"

#define NPIPE 4

struct pl {
	struct sys_slate sl;
	struct slate_entry ent[8];
	int64_t regs[4];
	int p[NPIPE][2];	/* data pipes, read ends non-blocking */
	int trig[2];		/* entry 0 writes here: the writer starts */
	int kid[2];		/* the child waits on this */
	pid_t pid;
	int status;
	char buf[NPIPE][16];
	struct pollfd pfd;
	struct sys_write tw;
	struct sys_read rd[NPIPE - 1];
	struct sys_poll po;
	struct sys_waitpid wp;
};

static void *
writer(void *arg)
{
	struct pl *l = arg;
	char c;
	int k;

	/* wait for the slate's first round to start */
	assert_int_equal(read(l->trig[0], &c, 1), 1);
	for (k = 0; k < NPIPE; k++) {
		usleep(2000);
		assert_int_equal(write(l->p[k][1], "B", 1), 1);
	}
	usleep(2000);
	assert_int_equal(write(l->kid[1], "go", 2), 2);
	return NULL;
}

static void
pl_setup(struct pl *l, uint32_t flags)
{
	char c;
	int k;

	for (k = 0; k < NPIPE; k++) {
		assert_int_equal(pipe2(l->p[k], O_CLOEXEC), 0);
		assert_int_equal(fcntl(l->p[k][0], F_SETFL, O_NONBLOCK), 0);
	}
	assert_int_equal(pipe2(l->trig, O_CLOEXEC), 0);
	assert_int_equal(pipe2(l->kid, O_CLOEXEC), 0);
	l->pid = fork();
	assert_true(l->pid >= 0);
	if (l->pid == 0) {
		_exit(read(l->kid[0], &c, 1) == 1 ? 7 : 1);
	}
	/* pipe 0 holds data before the run: its read is done in round 1 */
	assert_int_equal(write(l->p[0][1], "A", 1), 1);

	assert_int_equal(slate_init(&l->sl, l->ent, 8, l->regs, 4), 0);
	l->sl.sl_flags = flags;
	prep_write(&l->tw, l->trig[1], "x", 1);
	assert_int_equal(slate_add(&l->sl, &l->tw.hdr, sizeof(l->tw), NULL), 0);
	/* pipe 0's read takes one byte: the writer's "B" may already be there
	   when it runs (2 ms after entry 0 is a short time under TSan) */
	for (k = 0; k < NPIPE - 1; k++) {
		prep_read(&l->rd[k], l->p[k][0], l->buf[k], k == 0 ? 1 : sizeof(l->buf[k]));
		assert_int_equal(slate_add(&l->sl, &l->rd[k].hdr, sizeof(l->rd[k]), NULL), 0);
	}
	l->pfd.fd = l->p[NPIPE - 1][0];
	l->pfd.events = POLLIN;
	prep_poll(&l->po, &l->pfd, 1, 0);
	assert_int_equal(slate_add(&l->sl, &l->po.hdr, sizeof(l->po), NULL), 0);
	prep_waitpid(&l->wp, l->pid, &l->status, WNOHANG);
	assert_int_equal(slate_add(&l->sl, &l->wp.hdr, sizeof(l->wp), NULL), 0);
}

static void
pl_teardown(struct pl *l)
{
	int k;

	for (k = 0; k < NPIPE; k++) {
		close(l->p[k][0]);
		close(l->p[k][1]);
	}
	close(l->trig[0]);
	close(l->trig[1]);
	close(l->kid[0]);
	close(l->kid[1]);
}

static void
until_done(uint32_t flags, int async)
{
	struct pl *l = calloc(1, sizeof(*l));
	msgport_t *rp = mkport_queue();
	struct timespec dl;
	pthread_t th;
	char c[4];
	int k, r;

	pl_setup(l, flags);
	if (async)
		prep_async(&l->sl.hdr, rp);
	assert_int_equal(pthread_create(&th, NULL, writer, l), 0);
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 30;	/* generous: it should take ~10 ms */
	r = slate_run_until(&l->sl, &dl);
	assert_int_equal(r, 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(l->sl.sl_rounds >= 1);
	for (k = 0; k < 6; k++)
		assert_int_equal(l->ent[k].se_status, SLATE_RAN);
	/* pipe 0 was read once, in round 1: its "B" is still there */
	assert_int_equal(l->rd[0].hdr.ms_result, 1);
	assert_int_equal(l->buf[0][0], 'A');
	assert_int_equal(read(l->p[0][0], c, sizeof(c)), 1);
	assert_int_equal(c[0], 'B');
	for (k = 1; k < NPIPE - 1; k++) {
		assert_int_equal(l->rd[k].hdr.ms_result, 1);
		assert_int_equal(l->buf[k][0], 'B');
	}
	assert_int_equal(l->po.hdr.ms_result, 1);
	assert_true(l->pfd.revents & POLLIN);
	assert_int_equal(l->wp.hdr.ms_result, l->pid);
	assert_true(WIFEXITED(l->status));
	assert_int_equal(WEXITSTATUS(l->status), 7);
	/* the trigger was written exactly once */
	assert_int_equal(l->tw.hdr.ms_result, 1);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	pl_teardown(l);
	free(l);
}

static void
until_inorder(void **s) { (void)s; until_done(0, 0); }
static void
until_parallel(void **s) { (void)s; until_done(SLATE_PARALLEL, 0); }
static void
until_async(void **s) { (void)s; until_done(0, 1); }
static void
until_async_parallel(void **s) { (void)s; until_done(SLATE_PARALLEL, 1); }

/* A pipe nobody writes: the deadline ends the wait, the others are done. */
static void
deadline(uint32_t flags)
{
	struct sys_slate sl;
	struct slate_entry ent[2];
	struct sys_read rd[2];
	struct sys_getpid gp;
	struct timespec dl;
	char buf[8];
	int p[2], r;

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(slate_init(&sl, ent, 2, NULL, 0), 0);
	sl.sl_flags = flags;
	prep_getpid(&gp);
	assert_int_equal(slate_add(&sl, &gp.hdr, sizeof(gp), NULL), 0);
	prep_read(&rd[0], p[0], buf, sizeof(buf));
	assert_int_equal(slate_add(&sl, &rd[0].hdr, sizeof(rd[0]), NULL), 0);
	/* long enough that the first round surely ends before it (a slow
	   first round, as under TSan, would be the only one: the deadline is
	   looked at after each round) */
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += 500 * 1000 * 1000;
	if (dl.tv_nsec >= 1000000000)
		dl.tv_sec++, dl.tv_nsec -= 1000000000;
	r = slate_run_until(&sl, &dl);
	assert_int_equal(r, ETIMEDOUT);
	assert_true(sl.sl_rounds >= 2);
	assert_int_equal(ent[0].se_status, SLATE_RAN);
	assert_int_equal(gp.hdr.ms_result, getpid());
	assert_int_equal(ent[1].se_status, SLATE_AGAIN);
	assert_int_equal(rd[0].hdr.ms_error, EAGAIN);
	/* a plain run reports "not done yet" as SLATE_AGAIN, not a failure */
	sl.sl_flags |= SLATE_STOPFAIL;
	assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), 0);
	assert_int_equal(ent[1].se_status, SLATE_AGAIN);
	/* written, the next wait ends at once */
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(slate_run_until(&sl, NULL), 0);
	assert_int_equal(sl.sl_rounds, 1);
	assert_int_equal(ent[1].se_status, SLATE_RAN);
	assert_int_equal(buf[0], 'z');
	close(p[0]);
	close(p[1]);
}

static void
deadline_inorder(void **s) { (void)s; deadline(0); }
static void
deadline_parallel(void **s) { (void)s; deadline(SLATE_PARALLEL); }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(until_inorder),
		cmocka_unit_test(until_parallel),
		cmocka_unit_test(until_async),
		cmocka_unit_test(until_async_parallel),
		cmocka_unit_test(deadline_inorder),
		cmocka_unit_test(deadline_parallel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
