/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: the system port's synchronous fast path (claimed, run and
 * settled in sendsys's own frame) keeps sendsys's contract: a second send
 * of a synchronous message still running in another thread is refused
 * with EBUSY, abortsys() on it is harmless and it is returned once; two
 * threads sending one message over and over each get 0 or EBUSY, never
 * anything else; a message reused after an asynchronous life comes
 * back with the old state bits gone and the user's bits kept; and a call
 * made in place (getpid, kill, lseek) reads the kernel's answer as libc
 * does: an lseek() result above 2^63 is an offset, not an error.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "kputil.h"

#define NRACE	20000

struct sleeper {
	struct sys_nanosleep m;
	int r;
};

static void *
sleeper_main(void *arg)
{
	struct sleeper *s = arg;

	s->r = sendsys(sysport(), &s->m.hdr, sizeof(s->m));
	return NULL;
}

static void
inflight_sync_is_ebusy_and_abort_harmless(void **st)
{
	struct timespec t = { 0, 200 * 1000 * 1000 };
	struct sleeper s;
	pthread_t th;

	(void)st;
	prep_nanosleep(&s.m, &t, NULL);
	s.r = -1;
	assert_int_equal(pthread_create(&th, NULL, sleeper_main, &s), 0);
	while (!(kp_flags(&s.m.hdr) & MSGF_INFLIGHT) && !(kp_flags(&s.m.hdr) & MSGF_DONE))
		sched_yield();
	if (kp_flags(&s.m.hdr) & MSGF_INFLIGHT) {
		assert_int_equal(sendsys(sysport(), &s.m.hdr, sizeof(s.m)), EBUSY);
		assert_int_equal(abortsys(&s.m.hdr), 0);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	/* it ran to its end inline: its real result, once */
	assert_true(s.r == 0 || s.r == ECANCELED);
	assert_int_equal(s.m.hdr.ms_error, s.r);
	assert_true(kp_flags(&s.m.hdr) & MSGF_DONE);
	assert_false(kp_flags(&s.m.hdr) & MSGF_INFLIGHT);
	/* and can be sent again */
	t.tv_nsec = 1000;
	assert_int_equal(sendsys(sysport(), &s.m.hdr, sizeof(s.m)), 0);
}

struct racer {
	struct sys_getpid *m;
	long ok, busy, other;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	long i;
	int e;

	for (i = 0; i < NRACE; i++) {
		e = sendsys(sysport(), &r->m->hdr, sizeof(*r->m));
		if (e == 0)
			r->ok++;
		else if (e == EBUSY)
			r->busy++;
		else
			r->other++;
	}
	return NULL;
}

static void
racing_sends_get_0_or_ebusy(void **st)
{
	struct sys_getpid m;
	struct racer r[2] = { { &m, 0, 0, 0 }, { &m, 0, 0, 0 } };
	pthread_t th[2];
	int i;

	(void)st;
	prep_getpid(&m);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(r[i].other, 0);
		assert_int_equal(r[i].ok + r[i].busy, NRACE);
	}
	/* one may see it in flight every time: it is, nearly all the time */
	assert_true(r[0].ok + r[1].ok > 0);
	assert_int_equal(m.hdr.ms_result, getpid());
	assert_int_equal(m.hdr.ms_error, 0);
	assert_int_equal(kp_flags(&m.hdr) & MSGF_STATE, MSGF_DONE);
}

static void
reuse_after_async_clears_old_state(void **st)
{
	msgport_t *rp = mkport_queue();
	struct sys_getpid m;

	(void)st;
	assert_non_null(rp);
	prep_getpid(&m);
	m.hdr.ms_flags |= 0x01000000u;		/* a user bit */
	prep_async(&m.hdr, rp);
	m.hdr.ms_count = 7;
	/* getpid never blocks: asynchronous, it still runs in place */
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), 0);
	/* the same message, synchronous now */
	m.hdr.ms_flags &= ~MSGF_ASYNC;
	m.hdr.ms_count = 7;
	m.hdr.ms_result = -5;
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), 0);
	assert_int_equal(m.hdr.ms_result, getpid());
	assert_int_equal(m.hdr.ms_count, 0);
	assert_int_equal(m.hdr.ms_size, sizeof(m));
	assert_int_equal(kp_flags(&m.hdr), 0x01000000u | MSGF_DONE);
	/* a wrong size still goes the slow way to EINVAL, user bits kept */
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m) + 8), EINVAL);
	assert_int_equal(m.hdr.ms_error, EINVAL);
	assert_int_equal(kp_flags(&m.hdr) & ~MSGF_STATE, 0x01000000u);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static void
in_place_calls_read_results_as_libc(void **state)
{
	const off_t far = (off_t)0xffffffffff600000ull;	/* a "negative" offset */
	struct sys_lseek m;
	struct sys_kill k;
	off_t raw;
	int fd;

	(void)state;
	prep_kill(&k, getpid(), 0);
	assert_int_equal(sendsys(sysport(), &k.hdr, sizeof(k)), 0);
	prep_kill(&k, getpid(), -1);
	assert_int_equal(sendsys(sysport(), &k.hdr, sizeof(k)), RAWERR(kill(getpid(), -1)));
	assert_int_equal(k.hdr.ms_result, -1);
	prep_lseek(&m, -1, 0, SEEK_SET);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EBADF);
	assert_int_equal(m.hdr.ms_result, -1);

	if ((fd = open("/proc/self/mem", O_RDONLY)) < 0)
		skip();
	errno = 0;
	raw = lseek(fd, far, SEEK_SET);
	if (raw != far || errno != 0) {
		close(fd);
		skip();			/* this kernel refuses it: nothing to compare */
	}
	prep_lseek(&m, fd, far, SEEK_SET);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), 0);
	assert_true(m.hdr.ms_result == (int64_t)far);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(inflight_sync_is_ebusy_and_abort_harmless),
		cmocka_unit_test(racing_sends_get_0_or_ebusy),
		cmocka_unit_test(reuse_after_async_clears_old_state),
		cmocka_unit_test(in_place_calls_read_results_as_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
