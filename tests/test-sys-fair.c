/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: a receive or send that finishes in place while earlier
 * replies wait, untaken, on its reply port takes its turn behind them
 * (EASYNC, returned to the port after them), so one busy descriptor
 * cannot starve the others of a thread that serves them all; with
 * nothing waiting it still finishes in place, and so do an accept and
 * a read of a file.  Every message once.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sched.h>

#include "clockutil.h"
#include "kputil.h"

/* Until a reply is on rp, untaken (its descriptor says so). */
static void
until_landed(msgport_t *rp)
{
	struct pollfd p = { .fd = portfd(rp), .events = POLLIN };

	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 30000), 1);
}

/* A receive on a, parked (nothing to read), then completed by its peer
   and left on rp. */
static void
parked_reply(msgport_t *rp, int sv[2], struct sys_recvfrom *m, char *buf, size_t len)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	prep_recv(m, sv[0], buf, len, 0);
	prep_async(&m->hdr, rp);
	assert_int_equal(sendsys(sysport(), &m->hdr, sizeof(*m)), EASYNC);
	assert_int_equal(write(sv[1], "first", 5), 5);
	until_landed(rp);
}

static void
ready_receive_waits_its_turn(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom a, b;
	char abuf[16], bbuf[16];
	int sa[2], sb[2];

	(void)s;
	parked_reply(rp, sa, &a, abuf, sizeof(abuf));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	assert_int_equal(write(sb[1], "second", 6), 6);
	prep_recv(&b, sb[0], bbuf, sizeof(bbuf), 0);
	prep_async(&b.hdr, rp);
	/* ready, but a's reply waits: b comes back after it */
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	assert_ptr_equal(getport(rp), &a.hdr);
	assert_int_equal(a.hdr.ms_error, 0);
	assert_int_equal(a.hdr.ms_result, 5);
	assert_memory_equal(abuf, "first", 5);
	assert_int_equal(kp_waitdone(rp, &b.hdr), 0);
	assert_int_equal(b.hdr.ms_result, 6);
	assert_memory_equal(bbuf, "second", 6);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}

/* The send is made at once (the peer has the bytes before the reply is
   taken); only its reply waits its turn. */
static void
ready_send_is_made_at_once_and_waits_its_turn(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom a;
	struct sys_sendto b;
	char abuf[16], got[16];
	int sa[2], sb[2];

	(void)s;
	parked_reply(rp, sa, &a, abuf, sizeof(abuf));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	prep_send(&b, sb[0], "reply", 5, MSG_NOSIGNAL);
	prep_async(&b.hdr, rp);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	assert_int_equal(read(sb[1], got, sizeof(got)), 5);
	assert_memory_equal(got, "reply", 5);
	assert_ptr_equal(getport(rp), &a.hdr);
	assert_ptr_equal(getport(rp), &b.hdr);
	assert_int_equal(b.hdr.ms_error, 0);
	assert_int_equal(b.hdr.ms_result, 5);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}

/* Nothing waits on the port: a ready receive finishes in place, as ever. */
static void
alone_it_finishes_in_place(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom b;
	char bbuf[16];
	int sb[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	assert_int_equal(write(sb[1], "alone", 5), 5);
	prep_recv(&b, sb[0], bbuf, sizeof(bbuf), 0);
	prep_async(&b.hdr, rp);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), 0);
	assert_int_equal(b.hdr.ms_result, 5);
	assert_false(kp_flags(&b.hdr) & (MSGF_INFLIGHT | MSGF_QUEUED));
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	close(sb[0]), close(sb[1]);
}

static void
take_all(msgport_t *port, void *arg)
{
	while (getport(port) != NULL)
		(*(volatile int *)arg)++;
}

/*
 * An upcall port's replies take no turn: the turn's put would run the
 * upcall inside sendsys() (the sender owns the port), before it said
 * EASYNC.  A critical-section port holds a reply while its owner is in
 * crit_enter(), so it waits on the port; a
 * ready receive to the same port still finishes in place.
 */
static void
upcall_port_reply_takes_no_turn(void **s)
{
	static volatile int taken;
	msgport_t *up = mkport_critupcall(take_all, (void *)&taken);
	static struct sys_recvfrom a;
	struct sys_recvfrom b;
	static char abuf[16];
	char bbuf[16];
	double end;
	int sa[2], sb[2];

	(void)s;
	assert_non_null(up);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	crit_enter();
	prep_recv(&a, sa[0], abuf, sizeof(abuf), 0);
	prep_async(&a.hdr, up);
	assert_int_equal(sendsys(sysport(), &a.hdr, sizeof(a)), EASYNC);
	assert_int_equal(write(sa[1], "first", 5), 5);
	for (end = test_now() + TEST_DEADLINE_S; !(msgflags(&a.hdr) & MSGF_DONE) && test_now() < end; )
		sched_yield();
	assert_true(msgflags(&a.hdr) & MSGF_DONE);	/* on the port, its upcall held */
	assert_int_equal(write(sb[1], "second", 6), 6);
	prep_recv(&b, sb[0], bbuf, sizeof(bbuf), 0);
	prep_async(&b.hdr, up);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), 0);
	assert_int_equal(b.hdr.ms_result, 6);
	assert_int_equal(taken, 0);
	crit_exit();
	/* its upcall takes a: at once, or once the upcall's signal lands
	   (the sanitizers defer a signal's delivery) */
	for (end = test_now() + TEST_DEADLINE_S; taken == 0 && test_now() < end; sched_yield())
		flushsys();
	assert_int_equal(taken, 1);
	assert_int_equal(a.hdr.ms_result, 5);
	assert_int_equal(rmport(up), 0);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}

/*
 * Not an accept: a listening socket stands for many clients, and one
 * accept a turn would keep a backlog of them from their first request.
 * Nor a read of a file, which no peer feeds.  Both finish in place
 * with a reply waiting.
 */
static void
accept_and_file_read_finish_in_place(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct sys_recvfrom a;
	struct sys_accept4 acc;
	/* static: were it sent on after all, a worker would write here late */
	static struct sys_read rd;
	static char got[8];
	char abuf[16], path[] = "msgport-fair-XXXXXX";
	struct iovec iov = { got, sizeof(got) };
	int sa[2], ls, cs, fd;

	(void)s;
	parked_reply(rp, sa, &a, abuf, sizeof(abuf));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(ls, 8), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	assert_true((cs = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(cs, (struct sockaddr *)&sin, sizeof(sin)), 0);
	prep_accept4(&acc, ls, NULL, NULL, SOCK_CLOEXEC);
	prep_async(&acc.hdr, rp);
	assert_int_equal(sendsys(sysport(), &acc.hdr, sizeof(acc)), 0);
	assert_true(acc.hdr.ms_result >= 0);
	close((int)acc.hdr.ms_result);

	/* a file system without RWF_NOWAIT reads (some tmpfs, overlayfs)
	   never has them tried in place: nothing to see there */
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(write(fd, "file", 4), 4);
	if (preadv2(fd, &iov, 1, 0, RWF_NOWAIT) == 4) {
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		prep_read(&rd, fd, got, sizeof(got));
		prep_async(&rd.hdr, rp);
		assert_int_equal(sendsys(sysport(), &rd.hdr, sizeof(rd)), 0);
		assert_int_equal(rd.hdr.ms_result, 4);
	} else {
		print_message("no RWF_NOWAIT reads here: the file's read not tried\n");
	}

	assert_ptr_equal(getport(rp), &a.hdr);	/* the reply that waited, alone */
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	close(fd), close(cs), close(ls), close(sa[0]), close(sa[1]);
}

/*
 * A server's loop, as examples/httpd's: take a reply, send the
 * connection's next receive, serve it while it finishes in place.  One
 * connection's peer keeps it always readable; another's request comes
 * once.  The second is served within a turn of the first, not after the
 * first has taken every byte its peer wrote.
 */
static void
busy_descriptor_cannot_starve_another(void **s)
{
	enum { CHUNK = 64, BUSY = 256 };
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom a, b;
	char abuf[CHUNK], bbuf[16], fill[CHUNK * BUSY];
	int sa[2], sb[2], served = 0, r;
	msg_t *m;

	(void)s;
	memset(fill, 'x', sizeof(fill));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	prep_recv(&b, sb[0], bbuf, sizeof(bbuf), 0);
	prep_async(&b.hdr, rp);
	assert_int_equal(sendsys(sysport(), &b.hdr, sizeof(b)), EASYNC);
	assert_int_equal(write(sa[1], fill, sizeof(fill)), (ssize_t)sizeof(fill));
	assert_int_equal(write(sb[1], "once", 4), 4);
	until_landed(rp);		/* b's request is in */
	/* a's receives, each finishing in place while they may */
	for (;;) {
		prep_recv(&a, sa[0], abuf, sizeof(abuf), 0);
		prep_async(&a.hdr, rp);
		if ((r = sendsys(sysport(), &a.hdr, sizeof(a))) != 0)
			break;
		assert_int_equal(a.hdr.ms_result, CHUNK);
		served++;
	}
	assert_int_equal(r, EASYNC);
	assert_int_equal(served, 0);	/* b's reply was waiting: a goes behind it */
	assert_ptr_equal(m = getport(rp), &b.hdr);
	assert_int_equal(b.hdr.ms_result, 4);
	assert_int_equal(kp_waitdone(rp, &a.hdr), 0);
	assert_int_equal(a.hdr.ms_result, CHUNK);
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	close(sa[0]), close(sa[1]), close(sb[0]), close(sb[1]);
}

/*
 * Stress, for TSan: four threads, each serving eight connections whose
 * peers (the same thread) answer every reply at once, so some receives
 * finish in place and some take their turn.  Every receive comes back
 * exactly once, by sendsys or by the port, and every byte is read.
 */
enum { THREADS = 4, CONNS = 8, ROUNDS = 2000 };

struct conn {
	struct sys_recvfrom m;
	int		sv[2];
	int		out;		/* sent, not back yet */
	char		buf[8];
};

static void *
server(void *arg)
{
	struct conn c[CONNS];
	msgport_t *rp = mkport_queue();
	long sent = 0, got = 0, bytes = 0, turns = 0;
	msg_t *m;
	int i, r, late;

	(void)arg;
	assert_non_null(rp);
	for (i = 0; i < CONNS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, c[i].sv), 0);
		c[i].out = 0;
	}
	while (got < (long)ROUNDS * CONNS || sent > got) {
		for (i = 0; i < CONNS; i++) {
			if (c[i].out || sent >= (long)ROUNDS * CONNS)
				continue;
			/* every third request comes after its receive: that one
			   waits in the loop, and its reply then on the port */
			late = sent % 3 == 0;
			if (!late)
				assert_int_equal(write(c[i].sv[1], "y", 1), 1);
			prep_recv(&c[i].m, c[i].sv[0], c[i].buf, sizeof(c[i].buf), 0);
			prep_async(&c[i].m.hdr, rp);
			c[i].m.hdr.ms_cookie = &c[i];
			sent++;
			r = sendsys(sysport(), &c[i].m.hdr, sizeof(c[i].m));
			if (late)
				assert_int_equal(write(c[i].sv[1], "y", 1), 1);
			if (r == EASYNC) {
				c[i].out = 1;
				turns += !late;
				continue;
			}
			assert_int_equal(r, 0);
			got++;
			bytes += c[i].m.hdr.ms_result;
		}
		if (sent == got)
			continue;
		assert_int_equal(waitsys(rp, NULL), 0);
		while ((m = getport(rp)) != NULL) {
			struct conn *k = m->ms_cookie;

			assert_true(k->out);	/* once */
			k->out = 0;
			assert_int_equal(m->ms_error, 0);
			got++;
			bytes += m->ms_result;
		}
	}
	assert_int_equal(got, (long)ROUNDS * CONNS);
	assert_int_equal(bytes, (long)ROUNDS * CONNS);
	assert_true(turns > 0);		/* ready ones did take their turn */
	assert_null(getport(rp));
	assert_int_equal(rmport(rp), 0);
	for (i = 0; i < CONNS; i++)
		close(c[i].sv[0]), close(c[i].sv[1]);
	return NULL;
}

static void
threads_each_message_once(void **s)
{
	pthread_t t[THREADS];
	int i;

	(void)s;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, server, NULL), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ready_receive_waits_its_turn),
		cmocka_unit_test(ready_send_is_made_at_once_and_waits_its_turn),
		cmocka_unit_test(alone_it_finishes_in_place),
		cmocka_unit_test(accept_and_file_read_finish_in_place),
		cmocka_unit_test(upcall_port_reply_takes_no_turn),
		cmocka_unit_test(busy_descriptor_cannot_starve_another),
		cmocka_unit_test(threads_each_message_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
