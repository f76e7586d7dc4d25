/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: messages waiting on one descriptor complete in the order
 * they were sent (first in, first out per descriptor): reads on a pipe, a
 * stream socket and a pty, writes to a full pipe, accept4s on one
 * listener; more waiters on one descriptor than libevent takes events
 * for; a close message returns the messages waiting on its descriptor
 * first; a terminal's read waits in the event loop, where it can be
 * aborted and shutdown returns it.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <termios.h>

#include "kputil.h"

#define NQ	64

static struct sys_read rd[NQ];
static unsigned char rbuf[NQ];

struct feeder {
	int	fd;
	int	n;
	bool	drain;		/* read instead of write */
};

/* Write bytes 0..n-1 one system call at a time (or read n + fill bytes). */
static void *
feed(void *arg)
{
	struct feeder *f = arg;
	unsigned char c;
	int i;

	for (i = 0; i < f->n; i++) {
		c = (unsigned char)i;
		if (f->drain)
			assert_int_equal(read(f->fd, &c, 1), 1);
		else
			assert_int_equal(write(f->fd, &c, 1), 1);
		if (i % 8 == 0)
			sched_yield();
	}
	return NULL;
}

static int
kp_waitport(msgport_t *rp)
{
	struct timespec t = { 30, 0 };

	return timedwaitsys(rp, NULL, &t);
}

/* Wait for msgs on rp until n have come back; each once. */
static void
take_all(msgport_t *rp, msg_t **msgs, int n)
{
	unsigned char seen[NQ * 2] = { 0 };
	msg_t *got;
	int i, k;

	for (k = 0; k < n; k++) {
		assert_int_equal(kp_waitport(rp), 0);
		assert_non_null(got = getport(rp));
		for (i = 0; i < n && msgs[i] != got; i++)
			continue;
		assert_true(i < n);
		assert_int_equal(seen[i]++, 0);
	}
	assert_null(getport(rp));
}

/* Send n one-byte reads of fd, returned to rp, into rd[first..]. */
static void
send_reads(int fd, int first, int n, msgport_t *rp, msg_t **msgs)
{
	int i;

	for (i = first; i < first + n; i++) {
		rbuf[i] = 0xff;
		prep_read(&rd[i], fd, &rbuf[i], 1);
		prep_async(&rd[i].hdr, rp);
		if (msgs != NULL)
			msgs[i] = &rd[i].hdr;
		assert_int_equal(sendsys(sysport(), &rd[i].hdr, sizeof(rd[i])), EASYNC);
	}
}

/* A pty pair; its master is a character device without a non-blocking form. */
static void
open_pty(int *m, int *sl)
{
	assert_true((*m = posix_openpt(O_RDWR | O_NOCTTY)) >= 0);
	assert_int_equal(grantpt(*m), 0);
	assert_int_equal(unlockpt(*m), 0);
	assert_true((*sl = open(ptsname(*m), O_RDWR | O_NOCTTY)) >= 0);
}

/* NQ one-byte reads on fd queue, then bytes 0..NQ-1 come one by one from wfd. */
static void
reads_in_order(int fd, int wfd)
{
	msgport_t *rp = mkport_queue();
	msg_t *msgs[NQ];
	struct feeder f = { wfd, NQ, false };
	pthread_t t;
	int i;

	send_reads(fd, 0, NQ, rp, msgs);
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
	take_all(rp, msgs, NQ);
	assert_int_equal(pthread_join(t, NULL), 0);
	for (i = 0; i < NQ; i++) {
		assert_int_equal(rd[i].hdr.ms_error, 0);
		assert_int_equal(rd[i].hdr.ms_result, 1);
		assert_int_equal(rbuf[i], i);
	}
	assert_int_equal(rmport(rp), 0);
}

static void
pipe_reads_in_order(void **s)
{
	int p[2];

	(void)s;
	assert_int_equal(pipe(p), 0);
	reads_in_order(p[0], p[1]);
	close(p[0]);
	close(p[1]);
}

static void
socket_reads_in_order(void **s)
{
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	reads_in_order(sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* A pty master: a character device, which has no non-blocking read form. */
static void
pty_reads_in_order(void **s)
{
	struct termios t;
	int m, sl;

	(void)s;
	open_pty(&m, &sl);
	/* raw mode: bytes pass as they are */
	assert_int_equal(tcgetattr(sl, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(sl, TCSANOW, &t), 0);
	reads_in_order(m, sl);
	close(sl);
	close(m);
}

/* Fill the pipe, queue NQ one-byte writes, drain: the bytes come in order. */
static void
full_pipe_writes_in_order(void **s)
{
	static struct sys_write wr[NQ];
	static unsigned char wbuf[NQ];
	msgport_t *rp = mkport_queue();
	msg_t *msgs[NQ];
	unsigned char junk[4096], c;
	int p[2], i, fill = 0;
	ssize_t r;

	(void)s;
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	memset(junk, 0xee, sizeof(junk));
	while ((r = write(p[1], junk, sizeof(junk))) > 0)
		fill += (int)r;
	while ((r = write(p[1], junk, 1)) > 0)
		fill += (int)r;
	assert_int_equal(fcntl(p[1], F_SETFL, 0), 0);
	for (i = 0; i < NQ; i++) {
		wbuf[i] = (unsigned char)i;
		prep_write(&wr[i], p[1], &wbuf[i], 1);
		prep_async(&wr[i].hdr, rp);
		msgs[i] = &wr[i].hdr;
		assert_int_equal(sendsys(sysport(), &wr[i].hdr, sizeof(wr[i])), EASYNC);
	}
	assert_int_equal(fcntl(p[0], F_SETFL, 0), 0);
	for (i = 0; i < fill; i++)
		assert_int_equal(read(p[0], &c, 1), 1);
	for (i = 0; i < NQ; i++) {
		assert_int_equal(read(p[0], &c, 1), 1);
		assert_int_equal(c, i);
	}
	take_all(rp, msgs, NQ);
	for (i = 0; i < NQ; i++)
		assert_int_equal(wr[i].hdr.ms_result, 1);
	assert_int_equal(rmport(rp), 0);
	close(p[0]);
	close(p[1]);
}

/* NA accept4s on one listener, then NA connections in turn: the ith gets the ith. */
#define NA	16
static void
accepts_in_order(void **s)
{
	static struct sys_accept4 ac[NA];
	msgport_t *rp = mkport_queue();
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in peer, mine;
	socklen_t len = sizeof(a);
	msg_t *msgs[NA];
	int l, c[NA], i;

	(void)s;
	assert_true((l = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, NA), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	for (i = 0; i < NA; i++) {
		prep_accept4(&ac[i], l, NULL, NULL, SOCK_CLOEXEC);
		prep_async(&ac[i].hdr, rp);
		msgs[i] = &ac[i].hdr;
		assert_int_equal(sendsys(sysport(), &ac[i].hdr, sizeof(ac[i])), EASYNC);
	}
	for (i = 0; i < NA; i++) {
		assert_true((c[i] = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		assert_int_equal(connect(c[i], (struct sockaddr *)&a, sizeof(a)), 0);
	}
	take_all(rp, msgs, NA);
	for (i = 0; i < NA; i++) {
		assert_int_equal(ac[i].hdr.ms_error, 0);
		len = sizeof(peer);
		assert_int_equal(getpeername((int)ac[i].hdr.ms_result, (struct sockaddr *)&peer, &len), 0);
		len = sizeof(mine);
		assert_int_equal(getsockname(c[i], (struct sockaddr *)&mine, &len), 0);
		assert_int_equal(peer.sin_port, mine.sin_port);
		close((int)ac[i].hdr.ms_result);
		close(c[i]);
	}
	assert_int_equal(rmport(rp), 0);
	close(l);
}

/*
 * More waiters on one descriptor than libevent takes events for (65,535),
 * then sysport_stop(): every one comes back, once, ECANCELED.
 */
#define NMANY	66000
static void
many_waiters_then_stop(void **s)
{
	struct sysport_attr attr = { .sa_workers = 2, .sa_slots = NMANY + 64 };
	static struct sys_read many[NMANY];
	static unsigned char back[NMANY];
	msgport_t *rp = mkport_queue();
	unsigned char b;
	msg_t *got;
	int p[2], i, n = 0;

	(void)s;
	(void)sysport_stop();
	assert_int_equal(sysport_start(&attr), 0);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < NMANY; i++) {
		prep_read(&many[i], p[0], &b, 1);
		prep_async(&many[i].hdr, rp);
		many[i].hdr.ms_cookie = (void *)(long)i;
		assert_int_equal(sendsys(sysport(), &many[i].hdr, sizeof(many[i])), EASYNC);
	}
	/* nothing went to the pool: every worker is free for this */
	{
		static const struct timespec ms = { 0, 1000000 };
		struct sys_nanosleep ns;

		prep_nanosleep(&ns, &ms, NULL);
		assert_int_equal(kp_send(&ns.hdr, sizeof(ns), 1, rp), 0);
	}
	assert_int_equal(sysport_stop(), 0);
	while ((got = getport(rp)) != NULL) {
		i = (int)(long)got->ms_cookie;
		assert_true(got == &many[i].hdr);
		assert_int_equal(got->ms_error, ECANCELED);
		assert_true(kp_flags(got) & MSGF_ABORTED);
		assert_int_equal(back[i]++, 0);
		n++;
	}
	assert_int_equal(n, NMANY);
	assert_int_equal(rmport(rp), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(sysport_start(NULL), 0);
}

/* A close message returns what waits on its descriptor first, then closes it. */
static void
close_returns_waiters_first(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_close cl;
	msg_t *msgs[8];
	int p[2], i;

	(void)s;
	assert_int_equal(pipe(p), 0);
	send_reads(p[0], 0, 8, rp, msgs);
	prep_close(&cl, p[0]);
	assert_int_equal(sendsys(sysport(), &cl.hdr, sizeof(cl)), 0);
	/* every waiter is back already: the close went after them */
	for (i = 0; i < 8; i++) {
		assert_true(kp_flags(&rd[i].hdr) & MSGF_DONE);
		assert_int_equal(rd[i].hdr.ms_error, ECANCELED);
	}
	take_all(rp, msgs, 8);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	/* a new descriptor of the same number works at once */
	{
		int q[2];
		char c = 'x';

		assert_int_equal(pipe(q), 0);
		prep_read(&rd[0], q[0], &rbuf[0], 1);
		prep_async(&rd[0].hdr, rp);
		assert_int_equal(sendsys(sysport(), &rd[0].hdr, sizeof(rd[0])), EASYNC);
		assert_int_equal(write(q[1], &c, 1), 1);
		assert_int_equal(kp_waitdone(rp, &rd[0].hdr), 0);
		assert_int_equal(rbuf[0], 'x');
		close(q[0]);
		close(q[1]);
	}
	close(p[1]);
	assert_int_equal(rmport(rp), 0);
}

/* A terminal's read waits in the event loop: abortable, and stop returns it. */
static void
pty_read_abort_and_stop(void **s)
{
	msgport_t *rp = mkport_queue();
	int m, sl;

	(void)s;
	open_pty(&m, &sl);
	prep_read(&rd[0], m, &rbuf[0], 1);
	prep_async(&rd[0].hdr, rp);
	assert_int_equal(sendsys(sysport(), &rd[0].hdr, sizeof(rd[0])), EASYNC);
	usleep(20000);	/* not a timing assertion: lets it reach where it waits */
	assert_true(kp_flags(&rd[0].hdr) & MSGF_ABORTABLE);
	assert_int_equal(abortsys(&rd[0].hdr), 0);
	assert_int_equal(kp_waitdone(rp, &rd[0].hdr), ECANCELED);

	prep_read(&rd[1], m, &rbuf[1], 1);
	prep_async(&rd[1].hdr, rp);
	assert_int_equal(sendsys(sysport(), &rd[1].hdr, sizeof(rd[1])), EASYNC);
	assert_int_equal(sysport_stop(), 0);
	assert_int_equal(kp_waitdone(rp, &rd[1].hdr), ECANCELED);
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(rmport(rp), 0);
	close(sl);
	close(m);
}

/* A plugged thread's reads go behind the ones already waiting. */
static void
plugged_reads_behind_waiters(void **s)
{
	msgport_t *rp = mkport_queue();
	msg_t *msgs[16];
	unsigned char c[16];
	int p[2], i;

	(void)s;
	assert_int_equal(pipe(p), 0);
	send_reads(p[0], 0, 8, rp, msgs);
	plugsys();
	send_reads(p[0], 8, 8, rp, msgs);
	/* the bytes are there before the held reads are tried */
	for (i = 0; i < 16; i++)
		c[i] = (unsigned char)i;
	assert_int_equal(write(p[1], c, 16), 16);
	unplugsys();
	take_all(rp, msgs, 16);
	for (i = 0; i < 16; i++)
		assert_int_equal(rbuf[i], i);
	assert_int_equal(rmport(rp), 0);
	close(p[0]);
	close(p[1]);
}

/*
 * close(2) straight on a descriptor messages wait on: they wait on
 * (msgport holds no reference), and sysport_stop() returns them.
 */
static void
direct_close_then_stop(void **s)
{
	msgport_t *rp = mkport_queue();
	int p[2], i;
	msg_t *got;

	(void)s;
	assert_int_equal(pipe(p), 0);
	send_reads(p[0], 0, 8, rp, NULL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(sysport_stop(), 0);
	for (i = 0; i < 8; i++) {
		assert_non_null(got = getport(rp));
		assert_int_equal(got->ms_error, ECANCELED);
	}
	assert_null(getport(rp));
	assert_int_equal(sysport_start(NULL), 0);
	assert_int_equal(rmport(rp), 0);
}

/*
 * Close a descriptor the moment its last message is back, and at once
 * make a new one of the same number: its messages are waited for (the
 * loop let go of the old one before the message came back).
 */
static void
close_after_last_then_reuse(void **s)
{
	msgport_t *rp = mkport_queue();
	struct timespec t = { 10, 0 };
	int p[2], i;
	char c = 'y';

	(void)s;
	for (i = 0; i < 2000; i++) {
		assert_int_equal(pipe(p), 0);
		send_reads(p[0], 0, 1, rp, NULL);
		assert_int_equal(write(p[1], &c, 1), 1);
		assert_int_equal(timedwaitsys(rp, &rd[0].hdr, &t), 0);
		assert_int_equal(rbuf[0], 'y');
		close(p[0]);
		close(p[1]);
	}
	assert_int_equal(rmport(rp), 0);
}

/*
 * Within one plugged batch: a big write that must wait for room goes
 * first, and a small one after it waits behind it rather than slip into
 * the room that is there (io_uring's order, as unplugged).
 */
static void
plugged_writes_keep_their_order(void **s)
{
	static char fill[65536], big[4096], small[10], out[70000];
	msgport_t *rp = mkport_queue();
	struct sys_write ma, mb;
	size_t got = 0;
	char *pa, *pb;
	int p[2];
	ssize_t n;

	(void)s;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(write(p[1], fill, 65536 - 100), 65536 - 100);	/* room: 100 */
	assert_int_equal(fcntl(p[1], F_SETFL, 0), 0);
	memset(big, 'A', sizeof(big));
	memset(small, 'B', sizeof(small));
	prep_write(&ma, p[1], big, sizeof(big));
	prep_async(&ma.hdr, rp);
	prep_write(&mb, p[1], small, sizeof(small));
	prep_async(&mb.hdr, rp);
	assert_int_equal(plugsys(), 0);
	assert_int_equal(sendsys(sysport(), &ma.hdr, sizeof(ma)), EASYNC);
	assert_int_equal(sendsys(sysport(), &mb.hdr, sizeof(mb)), EASYNC);
	assert_int_equal(unplugsys(), 0);
	while (got < 65536 - 100 + sizeof(big) + sizeof(small)) {
		assert_true((n = read(p[0], out + got, sizeof(out) - got)) > 0);
		got += (size_t)n;
	}
	assert_int_equal(kp_waitdone(rp, &ma.hdr), 0);
	assert_int_equal(kp_waitdone(rp, &mb.hdr), 0);
	assert_non_null(pa = memchr(out, 'A', got));
	assert_non_null(pb = memchr(out, 'B', got));
	assert_true(pa < pb);
	assert_int_equal(rmport(rp), 0);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pipe_reads_in_order),
		cmocka_unit_test(socket_reads_in_order),
		cmocka_unit_test(pty_reads_in_order),
		cmocka_unit_test(full_pipe_writes_in_order),
		cmocka_unit_test(accepts_in_order),
		cmocka_unit_test(close_returns_waiters_first),
		cmocka_unit_test(pty_read_abort_and_stop),
		cmocka_unit_test(plugged_reads_behind_waiters),
		cmocka_unit_test(plugged_writes_keep_their_order),
		cmocka_unit_test(direct_close_then_stop),
		cmocka_unit_test(close_after_last_then_reuse),
		cmocka_unit_test(many_waiters_then_stop),
	};

	alarm(300);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
