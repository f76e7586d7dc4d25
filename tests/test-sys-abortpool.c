/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: every call a pool worker runs can be aborted.  A generic
 * indirect read(2) on an empty pipe and a blocking connect(2) that hangs
 * come back ECANCELED; a non-blocking connect waits in the event loop
 * and brings its real outcome; sysport_stop() returns with blocking reads
 * nobody will satisfy, 10,000 messages in flight and aborts racing it,
 * every message back once with ECANCELED and MSGF_ABORTED; slates'
 * running entries are cut short, in order or in parallel; an interrupt
 * meant for an aborted call never leaks into the next one.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "kputil.h"
#include "msgport-slate.h"

/* A generous deadline, shorter than kp_waitdone's: today's code fails fast. */
static int
waitdone(msgport_t *rp, msg_t *m)
{
	struct timespec t = { 10, 0 };

	return timedwaitsys(rp, m, &t);
}

static void
start(unsigned workers, unsigned slots)
{
	struct sysport_attr attr = { .sa_workers = workers, .sa_slots = slots };

	(void)sysport_stop();
	assert_int_equal(sysport_start(&attr), 0);
}

static void
pause_ms(long ms)
{
	struct timespec t = { 0, ms * 1000000L };

	nanosleep(&t, NULL);
}

static void
prep_sysread(struct sys_syscall *m, int fd, char *buf)
{
	prep_syscall(m, SYS_read, fd, (long)buf, 1, 0, 0, 0);
}

static void
indirect_read_is_aborted(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_syscall m;
	char buf[1], c;
	int p[2];

	(void)s;
	start(2, 0);
	assert_int_equal(pipe(p), 0);
	prep_sysread(&m, p[0], buf);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTABLE);
	pause_ms(20);		/* most likely in read(2) by now; either way works */
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTABLE);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(waitdone(rp, &m.hdr), ECANCELED);
	assert_int_equal(m.hdr.ms_result, -1);
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTED);
	assert_null(getport(rp));		/* once */
	/* really gone: a byte written now stays in the pipe */
	assert_int_equal(write(p[1], "a", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'a');
	close(p[0]), close(p[1]);
	assert_int_equal(rmport(rp), 0);
}

/* A loopback listener with the given backlog; its address in sin. */
static int
listener(struct sockaddr_in *sin, int backlog)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) != 0 || listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A listener whose accept queue is full: connections never accepted
 * until a further one no longer completes.  Its clients in cl (-1 ended).
 */
#define NCLIENT	16
static int
full_listener(struct sockaddr_in *sin, int *cl)
{
	struct pollfd pfd = { .events = POLLOUT };
	int fd = listener(sin, 0), i;

	if (fd < 0)
		return -1;
	for (i = 0; i < NCLIENT - 1; i++) {
		cl[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(cl[i] >= 0);
		if (connect(cl[i], (struct sockaddr *)sin, sizeof(*sin)) != 0)
			assert_int_equal(errno, EINPROGRESS);
		pfd.fd = cl[i];
		if (poll(&pfd, 1, 300) == 0) {
			cl[i + 1] = -1;		/* this one hangs: the queue is full */
			return fd;
		}
	}
	print_message("the listener's queue never filled: no hanging connect here\n");
	for (i = 0; i < NCLIENT - 1; i++)
		close(cl[i]);
	close(fd);
	return -1;
}

static void
close_all(int lfd, int *cl)
{
	int i;

	for (i = 0; cl[i] >= 0; i++)
		close(cl[i]);
	close(lfd);
}

static void
blocking_connect_is_aborted(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sockaddr_in sin;
	struct sys_connect m;
	int cl[NCLIENT], lfd, fd;

	(void)s;
	start(2, 0);
	if ((lfd = full_listener(&sin, cl)) < 0)
		skip();
	fd = socket(AF_INET, SOCK_STREAM, 0);		/* blocking */
	prep_connect(&m, fd, (struct sockaddr *)&sin, sizeof(sin));
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	pause_ms(20);
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTABLE);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(waitdone(rp, &m.hdr), ECANCELED);
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTED);
	assert_null(getport(rp));
	close(fd);

	/* non-blocking, pending in the event loop: abortable too */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	prep_connect(&m, fd, (struct sockaddr *)&sin, sizeof(sin));
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTABLE);
	pause_ms(20);
	assert_true(kp_flags(&m.hdr) & MSGF_ABORTABLE);
	assert_int_equal(abortsys(&m.hdr), 0);
	assert_int_equal(waitdone(rp, &m.hdr), ECANCELED);
	assert_null(getport(rp));
	close(fd);
	close_all(lfd, cl);
	assert_int_equal(rmport(rp), 0);
}

/* A non-blocking connect's outcome, sent asynchronously. */
static int
nb_connect(msgport_t *rp, const struct sockaddr_in *sin, int *fdp)
{
	struct sys_connect m;
	int r;

	*fdp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(*fdp >= 0);
	prep_connect(&m, *fdp, (const struct sockaddr *)sin, sizeof(*sin));
	prep_async(&m.hdr, rp);
	r = sendsys(sysport(), &m.hdr, sizeof(m));
	if (r == EASYNC)
		r = waitdone(rp, &m.hdr);
	assert_null(getport(rp));
	return r;
}

static void
nonblocking_connect_waits_in_the_loop(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sockaddr_in sin, dead;
	int lfd, fd, afd;

	(void)s;
	start(2, 0);
	if ((lfd = listener(&sin, 16)) < 0)
		skip();
	assert_int_equal(nb_connect(rp, &sin, &fd), 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(fd, "c", 1), 1);		/* really connected */
	close(afd), close(fd);

	/* a closed port: the connection's error, read from SO_ERROR */
	assert_true((afd = listener(&dead, 1)) >= 0);
	close(afd);
	assert_int_equal(nb_connect(rp, &dead, &fd), ECONNREFUSED);
	close(fd);
	close(lfd);
	assert_int_equal(rmport(rp), 0);
}

/*
 * Slates of blocking reads, in order and in parallel (its runners on
 * other workers): the abort cuts the entries running short.
 */
#define NENT	3
static void
slate_entries_are_interrupted(void **s)
{
	static const uint32_t modes[] = { 0, SLATE_PARALLEL };
	msgport_t *rp = mkport_queue();
	struct slate_entry ent[NENT];
	struct sys_syscall rd[NENT];
	struct sys_slate sl;
	char c[NENT];
	int p[NENT][2], i, k;

	(void)s;
	start(4, 0);
	for (i = 0; i < NENT; i++)
		assert_int_equal(pipe(p[i]), 0);
	for (k = 0; k < 2; k++) {
		assert_int_equal(slate_init(&sl, ent, NENT, NULL, 0), 0);
		sl.sl_flags = modes[k];
		for (i = 0; i < NENT; i++) {
			prep_sysread(&rd[i], p[i][0], &c[i]);
			assert_int_equal(slate_add(&sl, &rd[i].hdr, sizeof(rd[i]), NULL), 0);
		}
		prep_async(&sl.hdr, rp);
		assert_int_equal(sendsys(sysport(), &sl.hdr, sizeof(sl)), EASYNC);
		pause_ms(30);
		assert_int_equal(abortsys(&sl.hdr), 0);
		assert_int_equal(waitdone(rp, &sl.hdr), ECANCELED);
		for (i = 0; i < NENT; i++) {
			assert_int_equal(ent[i].se_status, SLATE_CANCELED);
			assert_int_equal(rd[i].hdr.ms_error, ECANCELED);
		}
		assert_null(getport(rp));
	}
	for (i = 0; i < NENT; i++)
		close(p[i][0]), close(p[i][1]);
	assert_int_equal(rmport(rp), 0);
}

/* sysport_stop() racing aborts, with 10,000 messages in flight. */
#define NMSG	10000
#define NPIPE	16
#define NABORTER 2

/* even: a generic read(2) for the pool; odd: a recv(2) for the loop */
static union {
	msg_t			hdr;
	struct sys_syscall	sc;
	struct sys_recvfrom	rc;
} m[NMSG];
static int nsent, stopping;	/* messages sent so far; the aborters stop */
static unsigned char seen[NMSG];
static char buf[NMSG];

static void *
aborter(void *arg)
{
	unsigned seed = (unsigned)(long)arg;
	int n;

	while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
		n = __atomic_load_n(&nsent, __ATOMIC_ACQUIRE);
		seed = seed * 1103515245u + 12345u;
		if (n > 0)
			(void)abortsys(&m[(seed >> 8) % (unsigned)n].hdr);
	}
	return NULL;
}

/* Until the stop has returned: a hung stop fails the test (SIGALRM). */
static void
stop_bounded(void)
{
	alarm(60);	/* ten thousand in flight, under TSan on two CPUs: generous */
	assert_int_equal(sysport_stop(), 0);
	alarm(0);
}

static void
stop_returns_blocked_reads(void **s)
{
	msgport_t *rp = mkport_queue();
	pthread_t ab[NABORTER];
	int p[NPIPE][2], sv[NPIPE][2], i, n = 0;
	struct sys_syscall r;
	msg_t *got;
	char c;

	(void)s;
	start(2, 16384);
	for (i = 0; i < NPIPE; i++) {
		assert_int_equal(pipe(p[i]), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
	}
	for (i = 0; i < NABORTER; i++)
		assert_int_equal(pthread_create(&ab[i], NULL, aborter, (void *)(long)(i + 1)), 0);
	for (i = 0; i < NMSG; i++) {
		if (i % 2 == 0)		/* the pool: blocking reads nobody will satisfy */
			prep_sysread(&m[i].sc, p[i / 2 % NPIPE][0], &buf[i]);
		else			/* the event loop */
			prep_recv(&m[i].rc, sv[i % NPIPE][1], &buf[i], 1, 0);
		prep_async(&m[i].hdr, rp);
		m[i].hdr.ms_cookie = (void *)(long)i;
		assert_int_equal(sendsys(sysport(), &m[i].hdr,
		    i % 2 ? sizeof(m[i].rc) : sizeof(m[i].sc)), EASYNC);
		__atomic_store_n(&nsent, i + 1, __ATOMIC_RELEASE);
	}
	pause_ms(10);
	stop_bounded();
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NABORTER; i++)
		assert_int_equal(pthread_join(ab[i], NULL), 0);
	while ((got = getport(rp)) != NULL) {
		i = (int)(long)got->ms_cookie;
		assert_true(got == &m[i].hdr);
		assert_int_equal(got->ms_error, ECANCELED);
		assert_true(kp_flags(got) & MSGF_ABORTED);
		seen[i]++;
		n++;
	}
	for (i = 0; i < NMSG; i++)
		if (seen[i] != 1)
			fail_msg("message %d returned %d times", i, seen[i]);
	assert_int_equal(n, NMSG);

	/* started again, a read in the pool works */
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(write(p[0][1], "z", 1), 1);
	prep_sysread(&r, p[0][0], &c);
	assert_int_equal(kp_send(&r.hdr, sizeof(r), 1, rp), 0);
	assert_int_equal(r.hdr.ms_result, 1);
	assert_int_equal(c, 'z');
	for (i = 0; i < NPIPE; i++) {
		close(p[i][0]), close(p[i][1]);
		close(sv[i][0]), close(sv[i][1]);
	}
	assert_int_equal(rmport(rp), 0);
}

/*
 * Stale interrupts: one worker alternates between blocking reads that
 * are aborted and short sleeps (the generic nanosleep(2), which a stray
 * EINTR would end).  The sleeps never see the aborts' interrupts.
 */
#define NROUND	200
#define NSHORT	8

static void
stale_interrupt_does_not_leak(void **s)
{
	static const struct timespec tiny = { 0, 300 * 1000 };
	msgport_t *rp = mkport_queue();
	struct sys_syscall rd, sl[NSHORT];
	int p[2], round, i, e;
	char c;

	(void)s;
	start(1, 0);
	assert_int_equal(pipe(p), 0);
	for (round = 0; round < NROUND; round++) {
		prep_sysread(&rd, p[0], &c);
		prep_async(&rd.hdr, rp);
		assert_int_equal(sendsys(sysport(), &rd.hdr, sizeof(rd)), EASYNC);
		for (i = 0; i < NSHORT; i++) {
			prep_syscall(&sl[i], SYS_nanosleep, (long)&tiny, 0, 0, 0, 0, 0);
			prep_async(&sl[i].hdr, rp);
			assert_int_equal(sendsys(sysport(), &sl[i].hdr, sizeof(sl[i])), EASYNC);
		}
		if (round % 2)
			pause_ms(1);
		assert_int_equal(abortsys(&rd.hdr), 0);
		assert_int_equal(waitdone(rp, &rd.hdr), ECANCELED);
		for (i = 0; i < NSHORT; i++) {
			e = waitdone(rp, &sl[i].hdr);
			if (e != 0)
				fail_msg("round %d sleep %d: %s", round, i, strerror(e));
			assert_int_equal(sl[i].hdr.ms_result, 0);
		}
	}
	assert_null(getport(rp));
	close(p[0]), close(p[1]);
	assert_int_equal(rmport(rp), 0);
}

/*
 * Two blocking calls queued at once: a worker must not take them as one
 * batch, or the first, aborted, would wait for the second to finish
 * before it came back.
 */
static void
aborted_call_not_held_by_its_batch(void **s)
{
	static const struct timespec half_minute = { 30, 0 };
	msgport_t *rp = mkport_queue();
	struct sys_syscall h[2];
	int round, i;

	(void)s;
	start(2, 0);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < 2; i++) {
			prep_syscall(&h[i], SYS_nanosleep, (long)&half_minute, 0, 0, 0, 0, 0);
			prep_async(&h[i].hdr, rp);
			assert_int_equal(sendsys(sysport(), &h[i].hdr, sizeof(h[i])), EASYNC);
		}
		if (round % 4)
			pause_ms(round % 4);
		for (i = 0; i < 2; i++) {
			assert_int_equal(abortsys(&h[i].hdr), 0);
			assert_int_equal(waitdone(rp, &h[i].hdr), ECANCELED);
		}
	}
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(indirect_read_is_aborted),
		cmocka_unit_test(blocking_connect_is_aborted),
		cmocka_unit_test(nonblocking_connect_waits_in_the_loop),
		cmocka_unit_test(slate_entries_are_interrupted),
		cmocka_unit_test(stop_returns_blocked_reads),
		cmocka_unit_test(stale_interrupt_does_not_leak),
		cmocka_unit_test(aborted_call_not_held_by_its_batch),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
