/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: aborting slates.  abortsys() on a running slate -- parallel
 * or in order, synchronous in another thread or asynchronous -- stops the
 * entries not yet started (each SLATE_CANCELED with ECANCELED), and the
 * slate is returned exactly once with ECANCELED; a slate aborted while
 * still queued for the pool comes back with every entry canceled; a
 * storm of aborts racing completion returns every slate once, with
 * consistent entries.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>

#include "kputil.h"
#include "msgport-slate.h"

#define NSLEEP 400

struct ab {
	struct sys_slate sl;
	struct slate_entry ent[NSLEEP + 1];
	int trig[2];
	struct timespec ts;
	struct sys_write tw;
	struct sys_nanosleep ns[NSLEEP];
	int result;
};

/* Entry 0 tells the test the slate runs; then NSLEEP sleeps of 100 ms:
   spread over the parallel runners they last seconds, so the abort that
   follows entry 0 surely finds some not run yet, even on a slow machine
   (it cuts them short: no run waits for them). */
static struct ab *
ab_new(uint32_t flags)
{
	struct ab *a = calloc(1, sizeof(*a));
	int i;

	assert_int_equal(pipe2(a->trig, O_CLOEXEC), 0);
	assert_int_equal(slate_init(&a->sl, a->ent, NSLEEP + 1, NULL, 0), 0);
	a->sl.sl_flags = flags;
	prep_write(&a->tw, a->trig[1], "x", 1);
	assert_int_equal(slate_add(&a->sl, &a->tw.hdr, sizeof(a->tw), NULL), 0);
	a->ts.tv_nsec = 100 * 1000 * 1000;
	for (i = 0; i < NSLEEP; i++) {
		prep_nanosleep(&a->ns[i], &a->ts, NULL);
		assert_int_equal(slate_add(&a->sl, &a->ns[i].hdr, sizeof(a->ns[i]), NULL), 0);
	}
	return a;
}

static void
ab_free(struct ab *a)
{
	close(a->trig[0]);
	close(a->trig[1]);
	free(a);
}

/* After an abort: entries ran or were canceled, nothing else. */
static void
ab_check(struct ab *a)
{
	int i, ran = 0, canceled = 0;

	for (i = 0; i <= NSLEEP; i++) {
		msg_t *m = a->ent[i].se_msg;

		if (a->ent[i].se_status == SLATE_RAN) {
			assert_int_equal(m->ms_error, 0);
			ran++;
		} else {
			assert_int_equal(a->ent[i].se_status, SLATE_CANCELED);
			assert_int_equal(m->ms_error, ECANCELED);
			assert_int_equal(m->ms_result, -1);
			canceled++;
		}
	}
	assert_int_equal(a->ent[0].se_status, SLATE_RAN);
	assert_true(canceled > 0);
	assert_int_equal(ran + canceled, NSLEEP + 1);
	assert_int_equal(a->sl.hdr.ms_result, ran);
	assert_int_equal(a->sl.hdr.ms_error, ECANCELED);
}

static void
wait_started(struct ab *a)
{
	char c;

	assert_int_equal(read(a->trig[0], &c, 1), 1);
}

static void
abort_async(uint32_t flags)
{
	struct ab *a = ab_new(flags);
	msgport_t *rp = mkport_queue();

	prep_async(&a->sl.hdr, rp);
	assert_int_equal(sendsys(sysport(), &a->sl.hdr, sizeof(a->sl)), EASYNC);
	wait_started(a);
	assert_int_equal(abortsys(&a->sl.hdr), 0);
	assert_int_equal(waitsys(rp, &a->sl.hdr), ECANCELED);
	assert_null(getport(rp));
	assert_false(kp_flags(&a->sl.hdr) & MSGF_INFLIGHT);
	ab_check(a);
	/* idle again: a short run of it goes through */
	a->sl.sl_n = 3;
	assert_int_equal(sendsys(sysport(), &a->sl.hdr, sizeof(a->sl)), EASYNC);
	assert_int_equal(waitsys(rp, &a->sl.hdr), 0);
	wait_started(a);
	assert_int_equal(a->sl.hdr.ms_result, 3);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	ab_free(a);
}

static void
async_parallel(void **s) { (void)s; abort_async(SLATE_PARALLEL); }
static void
async_inorder(void **s) { (void)s; abort_async(0); }

static void *
sync_runner(void *arg)
{
	struct ab *a = arg;

	a->result = sendsys(sysport(), &a->sl.hdr, sizeof(a->sl));
	return NULL;
}

static void
abort_sync(uint32_t flags)
{
	struct ab *a = ab_new(flags);
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, sync_runner, a), 0);
	wait_started(a);
	assert_int_equal(abortsys(&a->sl.hdr), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a->result, ECANCELED);
	ab_check(a);
	ab_free(a);
}

static void
sync_parallel(void **s) { (void)s; abort_sync(SLATE_PARALLEL); }
static void
sync_inorder(void **s) { (void)s; abort_sync(0); }

/* Queued behind polls that hold every worker (an asynchronous nanosleep
   would be a timer of the event loop): taken back unstarted. */
static void
abort_queued(void **s)
{
	struct sysport_attr at = { .sa_workers = 2 };
	struct sys_poll hold[2];
	struct ab *a;
	msgport_t *rp = mkport_queue();
	int i;

	(void)s;
	sysport_stop();
	assert_int_equal(sysport_start(&at), 0);
	for (i = 0; i < 2; i++) {
		prep_poll(&hold[i], NULL, 0, 30000);
		prep_async(&hold[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &hold[i].hdr, sizeof(hold[i])), EASYNC);
	}
	a = ab_new(SLATE_PARALLEL);
	prep_async(&a->sl.hdr, rp);
	assert_int_equal(sendsys(sysport(), &a->sl.hdr, sizeof(a->sl)), EASYNC);
	assert_int_equal(abortsys(&a->sl.hdr), 0);
	assert_int_equal(waitsys(rp, &a->sl.hdr), ECANCELED);
	assert_int_equal(a->sl.hdr.ms_result, -1);
	for (i = 0; i <= NSLEEP; i++) {
		assert_int_equal(a->ent[i].se_status, SLATE_CANCELED);
		assert_int_equal(a->ent[i].se_msg->ms_error, ECANCELED);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(abortsys(&hold[i].hdr), 0);
		assert_int_equal(waitsys(rp, &hold[i].hdr), ECANCELED);
	}
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	ab_free(a);
	sysport_stop();
	assert_int_equal(sysport_start(NULL), 0);
}

/* Aborts racing completion: each slate comes back once, consistent. */
static void
abort_storm(void **s)
{
	enum { NS = 16, NE = 24, ROUNDS = 100 };
	static struct sys_slate sl[NS];
	static struct slate_entry ent[NS][NE];
	static struct sys_getpid gp[NS][NE];
	msgport_t *rp = mkport_queue();
	msg_t *m;
	int round, k, i, back, ran;

	(void)s;
	for (round = 0; round < ROUNDS; round++) {
		for (k = 0; k < NS; k++) {
			assert_int_equal(slate_init(&sl[k], ent[k], NE, NULL, 0), 0);
			sl[k].sl_flags = k % 2 ? SLATE_PARALLEL : 0;
			for (i = 0; i < NE; i++) {
				prep_getpid(&gp[k][i]);
				assert_int_equal(slate_add(&sl[k], &gp[k][i].hdr, sizeof(gp[k][i]),
				    NULL), 0);
			}
			prep_async(&sl[k].hdr, rp);
			assert_int_equal(sendsys(sysport(), &sl[k].hdr, sizeof(sl[k])), EASYNC);
			if ((k + round) % 3 != 0)
				assert_int_equal(abortsys(&sl[k].hdr), 0);
		}
		for (back = 0; back < NS; back++) {
			assert_int_equal(waitsys(rp, NULL), 0);
			m = getport(rp);
			assert_non_null(m);
			k = (int)((struct sys_slate *)m - sl);
			assert_true(k >= 0 && k < NS);
			assert_true(m->ms_error == 0 || m->ms_error == ECANCELED);
			for (i = 0, ran = 0; i < NE; i++) {
				if (ent[k][i].se_status == SLATE_RAN) {
					assert_int_equal(gp[k][i].hdr.ms_result, getpid());
					ran++;
				} else {
					assert_int_equal(ent[k][i].se_status, SLATE_CANCELED);
				}
			}
			if (m->ms_error == 0)
				assert_int_equal(ran, NE);
			else
				assert_true(ran < NE);
		}
		assert_null(getport(rp));
	}
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(async_parallel),
		cmocka_unit_test(async_inorder),
		cmocka_unit_test(sync_parallel),
		cmocka_unit_test(sync_inorder),
		cmocka_unit_test(abort_queued),
		cmocka_unit_test(abort_storm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
