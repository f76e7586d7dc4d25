/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: abortsys() on system calls in every state: queued for the
 * pool, waiting in the event loop (a read, a nanosleep's timer), blocked
 * in a worker inside an interruptible call (poll, waitpid), finished.  Each comes
 * back exactly once.  Then a storm: thousands of messages aborted at
 * random moments while they complete.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kputil.h"

static void
startup(void)
{
	struct sysport_attr attr = { .sa_workers = 2 };

	(void)sysport_stop();		/* EINVAL if never started */
	assert_int_equal(sysport_start(&attr), 0);
}

/* Two workers held by hour-long polls of nothing: a third stays queued.
   (Asynchronous nanosleeps would hold no worker: timers of the loop.) */
static void
queued_comes_back_ecanceled(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_poll m[3];
	int i;

	(void)s;
	startup();
	for (i = 0; i < 3; i++) {
		prep_poll(&m[i], NULL, 0, 3600 * 1000);
		prep_async(&m[i].hdr, rp);
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
		assert_true(kp_flags(&m[i].hdr) & MSGF_ABORTABLE);
	}
	assert_int_equal(abortsys(&m[2].hdr), 0);
	assert_int_equal(kp_waitdone(rp, &m[2].hdr), ECANCELED);
	assert_int_equal(m[2].hdr.ms_result, -1);
	/* the running ones are interrupted: an hour's poll ends now */
	assert_int_equal(abortsys(&m[0].hdr), 0);
	assert_int_equal(abortsys(&m[1].hdr), 0);
	assert_int_equal(abortsys(&m[1].hdr), 0);	/* twice: no effect */
	assert_int_equal(kp_waitdone(rp, &m[0].hdr), ECANCELED);
	assert_int_equal(kp_waitdone(rp, &m[1].hdr), ECANCELED);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

static void
waiting_in_the_loop_comes_back_ecanceled(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom m;
	char buf[4];
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_recv(&m, sv[1], buf, sizeof(buf), 0);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), ECANCELED);
	/* it is really gone from the loop: data written now stays unread */
	assert_int_equal(write(sv[0], "abc", 3), 3);
	assert_int_equal(recv(sv[1], buf, sizeof(buf), 0), 3);
	assert_null(getport(rp));
	close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

static void
blocked_in_poll_or_waitpid_is_interrupted(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec t = { 0, 20 * 1000000L };
	struct sys_poll po;
	struct sys_waitpid wp;
	struct pollfd pfd;
	int p[2], status;
	pid_t child;

	(void)s;
	assert_int_equal(pipe(p), 0);
	pfd = (struct pollfd){ .fd = p[0], .events = POLLIN };
	prep_poll(&po, &pfd, 1, -1);
	prep_async(&po.hdr, rp);
	assert_int_equal(sendsys(sysport(), &po.hdr, sizeof(po)), EASYNC);
	if ((child = fork()) == 0) {
		pause();
		_exit(0);
	}
	prep_waitpid(&wp, child, &status, 0);
	prep_async(&wp.hdr, rp);
	assert_int_equal(sendsys(sysport(), &wp.hdr, sizeof(wp)), EASYNC);
	nanosleep(&t, NULL);	/* most likely inside the calls by now; either way works */
	assert_int_equal(abortsys(&po.hdr), 0);
	assert_int_equal(abortsys(&wp.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &po.hdr), ECANCELED);
	assert_int_equal(kp_waitdone(rp, &wp.hdr), ECANCELED);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	close(p[0]), close(p[1]);
	assert_int_equal(rmport(rp), 0);
}

static void
finished_keeps_its_result(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec t = { 0, 1000 };
	struct sys_nanosleep m;
	struct sys_getpid g;

	(void)s;
	prep_nanosleep(&m, &t, NULL);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	while (!(kp_flags(&m.hdr) & MSGF_DONE))
		sched_yield();
	assert_int_equal(abortsys(&m.hdr), 0);		/* done, not yet taken */
	assert_int_equal(kp_waitdone(rp, &m.hdr), 0);
	assert_int_equal(abortsys(&m.hdr), EINVAL);	/* idle again */
	assert_int_equal(m.hdr.ms_error, 0);
	prep_getpid(&g);
	assert_int_equal(sendsys(sysport(), &g.hdr, sizeof(g)), 0);
	assert_int_equal(abortsys(&g.hdr), EINVAL);
	assert_int_equal(g.hdr.ms_result, getpid());
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

/* The storm. */
#define NSTORM	3000
#define NPAIR	8

union stormmsg {
	msg_t			hdr;
	struct sys_nanosleep	ns;
	struct sys_recvfrom	rc;
	struct sys_poll		po;
};

static union stormmsg storm[NSTORM];
static struct timespec stormt[NSTORM];
static struct pollfd stormpfd[NSTORM];
static char stormbuf[NSTORM];
static int stormsent;			/* published count */
static int stormstop;
static int stormsv[NPAIR][2], stormpipe[2];

static unsigned
rnd(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

static void *
aborter(void *arg)
{
	unsigned seed = (unsigned)(long)arg;
	int n;

	while (!__atomic_load_n(&stormstop, __ATOMIC_ACQUIRE)) {
		n = __atomic_load_n(&stormsent, __ATOMIC_ACQUIRE);
		if (n > 0)
			(void)abortsys(&storm[rnd(&seed) % (unsigned)n].hdr);
		if (rnd(&seed) % 8 == 0)
			sched_yield();
	}
	return NULL;
}

static void *
writer(void *arg)
{
	unsigned seed = 7;
	int i;

	(void)arg;
	for (i = 0; i < NSTORM && !__atomic_load_n(&stormstop, __ATOMIC_ACQUIRE); i++) {
		/* never block: with most receives aborted the socket fills up */
		(void)send(stormsv[i % NPAIR][0], "x", 1, MSG_DONTWAIT);
		if (i % 16 == 0)
			(void)!write(stormpipe[1], "p", 1);
		if (rnd(&seed) % 4 == 0)
			sched_yield();
	}
	return NULL;
}

static void
abort_storm_returns_each_once(void **s)
{
	static unsigned char returned[NSTORM];
	msgport_t *rp = mkport_queue();
	pthread_t ab[2], wr;
	int i, r, n = 0, canceled = 0;
	unsigned seed = 1;
	msg_t *got;

	(void)s;
	for (i = 0; i < NPAIR; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, stormsv[i]), 0);
	assert_int_equal(pipe(stormpipe), 0);
	assert_int_equal(pthread_create(&ab[0], NULL, aborter, (void *)1L), 0);
	assert_int_equal(pthread_create(&ab[1], NULL, aborter, (void *)2L), 0);
	assert_int_equal(pthread_create(&wr, NULL, writer, NULL), 0);
	for (i = 0; i < NSTORM; i++) {
		switch (i % 3) {
		case 0:
			stormt[i] = (struct timespec){ 0, (long)(rnd(&seed) % 200000) };
			prep_nanosleep(&storm[i].ns, &stormt[i], NULL);
			break;
		case 1:
			prep_recv(&storm[i].rc, stormsv[i % NPAIR][1], &stormbuf[i], 1, 0);
			break;
		default:
			stormpfd[i] = (struct pollfd){ .fd = stormpipe[0], .events = POLLIN };
			prep_poll(&storm[i].po, &stormpfd[i], 1, (int)(rnd(&seed) % 3));
			break;
		}
		prep_async(&storm[i].hdr, rp);
		storm[i].hdr.ms_cookie = (void *)(long)i;
		r = sendsys(sysport(), &storm[i].hdr, i % 3 == 0 ? sizeof(storm[i].ns) :
		    i % 3 == 1 ? sizeof(storm[i].rc) : sizeof(storm[i].po));
		if (r != EASYNC) {		/* finished inline: returned now */
			assert_true(r == 0 || r == ECANCELED);
			returned[i]++;
			n++;
		}
		__atomic_store_n(&stormsent, i + 1, __ATOMIC_RELEASE);
	}
	while (n < NSTORM) {
		/* every recv left waiting gets its byte eventually, or is aborted */
		if ((r = kp_waitdone(rp, NULL)) != 0) {
			/* no progress for long: abort the rest ourselves */
			for (i = 0; i < NSTORM; i++)
				(void)abortsys(&storm[i].hdr);
			continue;
		}
		while ((got = getport(rp)) != NULL) {
			i = (int)(long)got->ms_cookie;
			assert_true(got == &storm[i].hdr);
			returned[i]++;
			n++;
			if (got->ms_error == ECANCELED)
				canceled++;
			else
				assert_int_equal(got->ms_error, 0);
		}
	}
	__atomic_store_n(&stormstop, 1, __ATOMIC_RELEASE);
	pthread_join(ab[0], NULL), pthread_join(ab[1], NULL), pthread_join(wr, NULL);
	for (i = 0; i < NSTORM; i++)
		if (returned[i] != 1)
			fail_msg("message %d returned %d times", i, returned[i]);
	assert_null(getport(rp));
	print_message("%d of %d aborted\n", canceled, NSTORM);
	for (i = 0; i < NPAIR; i++)
		close(stormsv[i][0]), close(stormsv[i][1]);
	close(stormpipe[0]), close(stormpipe[1]);
	assert_int_equal(rmport(rp), 0);
}

/*
 * An abort that lands the moment a message is claimed -- before its
 * sender has stored where it goes, or while the system port is giving
 * it a slot -- still cuts it short: a receive that no data will ever
 * finish comes back ECANCELED, every time, plugged or not.
 */
#define RACE_TRIALS	3000

static struct sys_recvfrom race_m;
static int race_go;			/* 1: abort it; -1: stop */

static void *
race_aborter(void *arg)
{
	unsigned seed = 3;
	int spin;

	(void)arg;
	for (;;) {
		while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) == 0)
			continue;
		if (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) < 0)
			return NULL;
		while (!(kp_flags(&race_m.hdr) & MSGF_INFLIGHT))
			continue;
		for (spin = (int)(rnd(&seed) % 200); spin > 0; spin--)
			__asm__ volatile ("" ::: "memory");
		(void)abortsys(&race_m.hdr);
		__atomic_store_n(&race_go, 0, __ATOMIC_RELEASE);
	}
}

static void
abort_racing_the_send_is_never_lost(void **s)
{
	struct timespec wait = { 30, 0 };
	msgport_t *rp = mkport_queue();
	pthread_t t;
	char buf[4];
	int sv[2], trial, r, plugged;

	(void)s;
	startup();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pthread_create(&t, NULL, race_aborter, NULL), 0);
	for (trial = 0; trial < RACE_TRIALS; trial++) {
		plugged = trial % 2;
		prep_recv(&race_m, sv[0], buf, sizeof(buf), 0);
		prep_async(&race_m.hdr, rp);
		if (plugged)
			assert_int_equal(plugsys(), 0);
		__atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
		r = sendsys(sysport(), &race_m.hdr, sizeof(race_m));
		if (plugged)
			assert_int_equal(unplugsys(), 0);
		while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) != 0)
			continue;			/* the abort is in */
		if (r == ECANCELED)
			continue;			/* caught before it was queued */
		assert_int_equal(r, EASYNC);
		assert_int_equal(timedwaitsys(rp, &race_m.hdr, &wait), ECANCELED);
		assert_int_equal(race_m.hdr.ms_result, -1);
		assert_null(getport(rp));
	}
	__atomic_store_n(&race_go, -1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(queued_comes_back_ecanceled),
		cmocka_unit_test(waiting_in_the_loop_comes_back_ecanceled),
		cmocka_unit_test(blocked_in_poll_or_waitpid_is_interrupted),
		cmocka_unit_test(finished_keeps_its_result),
		cmocka_unit_test(abort_storm_returns_each_once),
		cmocka_unit_test(abort_racing_the_send_is_never_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
