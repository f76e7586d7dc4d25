/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Description: asynchronous calls on pollable descriptors wait in the
 * event loop and complete when a peer acts later: a receive on a
 * socketpair, an accept on loopback TCP, a send into a full socket, a
 * read from a pipe; many at once.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "kputil.h"

struct later {
	int		fd;
	const void	*buf;
	size_t		len;
	int		drain;		/* read this much instead of writing */
	struct sockaddr_in sin;	/* connect here instead */
};

static void *
peer_later(void *arg)
{
	struct later *l = arg;
	struct timespec t = { 0, 50 * 1000000L };
	char buf[65536];
	int left, r, cs;

	nanosleep(&t, NULL);
	if (l->sin.sin_family != 0) {
		cs = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(cs, (struct sockaddr *)&l->sin, sizeof(l->sin)), 0);
		return (void *)(long)cs;
	}
	if (l->drain) {
		for (left = l->drain; left > 0; left -= r)
			assert_true((r = (int)read(l->fd, buf, sizeof(buf))) > 0);
		return NULL;
	}
	assert_int_equal(write(l->fd, l->buf, l->len), (ssize_t)l->len);
	return NULL;
}

static void
recv_completes_when_the_peer_writes_later(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom m;
	struct later l;
	char buf[16] = { 0 };
	pthread_t t;
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	prep_recv(&m, sv[1], buf, sizeof(buf), 0);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	assert_false(kp_flags(&m.hdr) & MSGF_DONE);
	l = (struct later){ .fd = sv[0], .buf = "hello", .len = 5 };
	assert_int_equal(pthread_create(&t, NULL, peer_later, &l), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), 0);
	assert_int_equal(m.hdr.ms_result, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_null(getport(rp));
	close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

static void
read_from_a_pipe_completes_later(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_read m;
	struct later l;
	char buf[16] = { 0 };
	pthread_t t;
	int p[2];

	(void)s;
	assert_int_equal(pipe(p), 0);
	prep_read(&m, p[0], buf, sizeof(buf));
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	l = (struct later){ .fd = p[1], .buf = "pipe", .len = 4 };
	assert_int_equal(pthread_create(&t, NULL, peer_later, &l), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), 0);
	assert_int_equal(m.hdr.ms_result, 4);
	assert_memory_equal(buf, "pipe", 4);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(p[0]), close(p[1]);
	assert_int_equal(rmport(rp), 0);
}

static void
accept_completes_when_a_client_connects(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	struct sys_accept4 m;
	struct later l;
	void *cs;
	pthread_t t;
	int ls;

	(void)s;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	prep_accept4(&m, ls, NULL, NULL, SOCK_CLOEXEC);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	l = (struct later){ .sin = sin };
	assert_int_equal(pthread_create(&t, NULL, peer_later, &l), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), 0);
	assert_true(m.hdr.ms_result >= 0);
	assert_int_equal(pthread_join(t, &cs), 0);
	close((int)m.hdr.ms_result), close((int)(long)cs), close(ls);
	assert_int_equal(rmport(rp), 0);
}

static void
send_into_a_full_socket_completes_when_drained(void **s)
{
	msgport_t *rp = mkport_queue();
	static char big[65536];
	struct sys_sendto m;
	struct later l;
	pthread_t t;
	long filled = 0, r;
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	while ((r = send(sv[0], big, sizeof(big), MSG_DONTWAIT)) > 0)
		filled += r;
	prep_send(&m, sv[0], big, 1000, 0);
	prep_async(&m.hdr, rp);
	assert_int_equal(sendsys(sysport(), &m.hdr, sizeof(m)), EASYNC);
	l = (struct later){ .fd = sv[1], .drain = (int)filled + 1000 };
	assert_int_equal(pthread_create(&t, NULL, peer_later, &l), 0);
	assert_int_equal(kp_waitdone(rp, &m.hdr), 0);
	assert_true(m.hdr.ms_result > 0);
	if (m.hdr.ms_result < 1000)	/* a partial send: let the drainer finish */
		assert_int_equal(send(sv[0], big, 1000 - (size_t)m.hdr.ms_result, 0),
		    1000 - m.hdr.ms_result);
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sv[0]), close(sv[1]);
	assert_int_equal(rmport(rp), 0);
}

#define NPAIRS 64

static void
many_receives_at_once(void **s)
{
	msgport_t *rp = mkport_queue();
	struct sys_recvfrom m[NPAIRS];
	char buf[NPAIRS][4];
	int sv[NPAIRS][2], i, n;
	msg_t *got;

	(void)s;
	for (i = 0; i < NPAIRS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		prep_recv(&m[i], sv[i][1], buf[i], sizeof(buf[i]), 0);
		prep_async(&m[i].hdr, rp);
		m[i].hdr.ms_cookie = &m[i];
		assert_int_equal(sendsys(sysport(), &m[i].hdr, sizeof(m[i])), EASYNC);
	}
	for (i = NPAIRS; i-- > 0; )
		assert_int_equal(write(sv[i][0], &i, sizeof(i)), sizeof(i));
	for (n = 0; n < NPAIRS; ) {
		assert_int_equal(kp_waitdone(rp, NULL), 0);
		while ((got = getport(rp)) != NULL) {
			i = (int)((struct sys_recvfrom *)got->ms_cookie - m);
			assert_int_equal(got->ms_error, 0);
			assert_int_equal(got->ms_result, sizeof(int));
			assert_memory_equal(buf[i], &i, sizeof(i));
			n++;
		}
	}
	assert_int_equal(n, NPAIRS);
	for (i = 0; i < NPAIRS; i++)
		close(sv[i][0]), close(sv[i][1]);
	assert_int_equal(rmport(rp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recv_completes_when_the_peer_writes_later),
		cmocka_unit_test(read_from_a_pipe_completes_later),
		cmocka_unit_test(accept_completes_when_a_client_connects),
		cmocka_unit_test(send_into_a_full_socket_completes_when_drained),
		cmocka_unit_test(many_receives_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
